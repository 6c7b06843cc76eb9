//! `.npz` files: zip archives of `.npy` files, one per named array.

use std::io::{BufReader, Read};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use super::{parse_npy, NpyArray, NpyView};
use crate::{Error, Result};

/// The largest expansion ratio of a deflate stream.
const MAX_DEFLATE_RATIO: u64 = 1032;
/// The most memory reserved ahead of the data actually read.
const MAX_RESERVE: u64 = 1 << 26;

/// The arrays of a `.npz` file, by name, in archive order (`numpy.savez`'s keyword names, or
/// `arr_0`, `arr_1`... for positional arrays).
///
/// # Examples
///
/// ```
/// use kerust::npy::{read_npz, write_npz, NpyView};
/// use ndarray::array;
///
/// let path = std::env::temp_dir().join(format!("kerust-npz-doc-{}.npz", std::process::id()));
/// let (x, y) = (array![[0.5f32, 1.5]], array![7i64]);
/// write_npz(&path, &[("x", NpyView::from(&x)), ("y", (&y).into())])?;
/// let mut npz = read_npz(&path)?;
/// assert_eq!(npz.names().collect::<Vec<_>>(), ["x", "y"]);
/// assert_eq!(npz.get("y").unwrap().shape(), &[1]);
/// let x_back = npz.take("x").unwrap().into_f32();
/// assert_eq!(x_back, x.into_dyn());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Npz {
    arrays: Vec<(String, NpyArray)>,
}

impl Npz {
    /// The array named `name` (without the `.npy` suffix).
    pub fn get(&self, name: &str) -> Option<&NpyArray> {
        self.arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Removes and returns the array named `name`.
    pub fn take(&mut self, name: &str) -> Option<NpyArray> {
        let i = self.arrays.iter().position(|(n, _)| n == name)?;
        Some(self.arrays.remove(i).1)
    }

    /// The names, in archive order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arrays.iter().map(|(n, _)| n.as_str())
    }

    /// The number of arrays.
    pub fn len(&self) -> usize {
        self.arrays.len()
    }

    /// Whether there is no array.
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty()
    }

    /// The `(name, array)` pairs, in archive order.
    pub fn into_vec(self) -> Vec<(String, NpyArray)> {
        self.arrays
    }
}

impl IntoIterator for Npz {
    type Item = (String, NpyArray);
    type IntoIter = std::vec::IntoIter<(String, NpyArray)>;

    fn into_iter(self) -> Self::IntoIter {
        self.arrays.into_iter()
    }
}

/// Reads a `.npz` file (from `numpy.savez` or `numpy.savez_compressed`). Entries whose names
/// do not end in `.npy` are skipped.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] when it is not a zip
/// archive, an entry is corrupt (CRC, truncated, compression method not supported) or not a
/// valid `.npy` (the message names the file and the entry).
///
/// # Examples
///
/// ```no_run
/// let mut data = kerust::npy::read_npz("mnist.npz")?;
/// let x_train = data.take("x_train").unwrap().into_array::<u8>()?;
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn read_npz(path: impl AsRef<Path>) -> Result<Npz> {
    let path = path.as_ref();
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let format_err = |where_: &str, reason: String| Error::Format {
        format: ".npz",
        path: format!("{source}{where_}"),
        reason,
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| format_err("", format!("not a readable zip archive: {e}")))?;
    let mut arrays = Vec::with_capacity(archive.len().min(1024));
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format_err("", format!("entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| format_err("", format!("entry {i}: {e}")))?
            .into_owned();
        let Some(key) = name.strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        let where_ = format!(" (entry {name})");
        let declared = entry.size();
        // Reserve no more than the archive could hold; grow only with data really read.
        let reserve = declared
            .min(file_len.saturating_mul(MAX_DEFLATE_RATIO))
            .min(MAX_RESERVE);
        let mut bytes = Vec::with_capacity(reserve as usize);
        (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format_err(&where_, format!("cannot decompress: {e}")))?;
        if bytes.len() as u64 != declared {
            return Err(format_err(
                &where_,
                format!(
                    "the entry declares {declared} bytes but holds {}",
                    bytes.len()
                ),
            ));
        }
        let array = parse_npy(&bytes, &format!("{source}:{name}"))?;
        arrays.push((key, array));
    }
    Ok(Npz { arrays })
}

/// Writes named arrays to a `.npz` file without compression, like `numpy.savez(path, **arrays)`;
/// atomically (a temporary file renamed into place).
///
/// # Errors
///
/// [`Error::InvalidArgument`] for an empty or repeated name; [`Error::Io`] when the file
/// cannot be written.
///
/// # Examples
///
/// ```
/// use kerust::npy::{write_npz, NpyView};
///
/// let path = std::env::temp_dir().join(format!("kerust-npz-w-{}.npz", std::process::id()));
/// let w = ndarray::Array2::<f64>::eye(3);
/// write_npz(&path, &[("weights", NpyView::from(&w))])?;
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, NpyView<'_>)]) -> Result<()> {
    write(path.as_ref(), arrays, CompressionMethod::Stored)
}

/// Writes named arrays to a deflate-compressed `.npz` file, like
/// `numpy.savez_compressed(path, **arrays)`; atomically.
///
/// # Errors
///
/// As [`write_npz`].
///
/// # Examples
///
/// ```
/// use kerust::npy::{read_npz, write_npz_compressed, NpyView};
///
/// let path = std::env::temp_dir().join(format!("kerust-npz-c-{}.npz", std::process::id()));
/// let zeros = ndarray::Array2::<u8>::zeros((100, 100));
/// write_npz_compressed(&path, &[("zeros", NpyView::from(&zeros))])?;
/// assert!(std::fs::metadata(&path)?.len() < 1000);
/// assert_eq!(read_npz(&path)?.get("zeros").unwrap().shape(), &[100, 100]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npz_compressed(path: impl AsRef<Path>, arrays: &[(&str, NpyView<'_>)]) -> Result<()> {
    write(path.as_ref(), arrays, CompressionMethod::Deflated)
}

fn write(path: &Path, arrays: &[(&str, NpyView<'_>)], method: CompressionMethod) -> Result<()> {
    for (i, (name, _)) in arrays.iter().enumerate() {
        if name.is_empty() {
            return Err(Error::arg("arrays", format!("array {i} has an empty name")));
        }
        if arrays[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::arg(
                "arrays",
                format!("the name '{name}' is given twice"),
            ));
        }
    }
    crate::atomic::write_atomic(path, |w| {
        let mut zip = zip::ZipWriter::new(w);
        for (name, view) in arrays {
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(view.encoded_len() >= u64::from(u32::MAX));
            zip.start_file(format!("{name}.npy"), options)
                .map_err(std::io::Error::other)?;
            view.write_to(&mut zip)?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        Ok(())
    })
}
