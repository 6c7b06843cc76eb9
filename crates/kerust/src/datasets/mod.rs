//! Datasets: MNIST, Fashion-MNIST and the embedded UCI digits.
//!
//! [`mnist::load_data`] and [`fashion_mnist::load_data`] follow `keras.datasets`: they return
//! `((x_train, y_train), (x_test, y_test))` as `u8` arrays. kerust does not download yet; the
//! files are looked up, in this order, in
//!
//! 1. `$KERUST_DATA/<name>/` (a folder holding `mnist/` and `fashion-mnist/`), then
//!    `$KERUST_DATA/` itself (the four files directly in it);
//! 2. the cache `~/.kerust/datasets/<name>/`,
//!
//! where `<name>` is [`DatasetSpec::name`] (`mnist` or `fashion-mnist`) and the four files are
//! those of [`DatasetSpec::files`]. [`digits::load_data`] needs no file: the UCI digits are
//! embedded in the crate.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3};

use crate::{Error, Result};

pub mod digits;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;

/// The environment variable naming a folder of datasets (holding `mnist/`, `fashion-mnist/`).
pub const DATA_ENV_VAR: &str = "KERUST_DATA";

/// `((x_train, y_train), (x_test, y_test))`, the return type of `keras.datasets.*.load_data()`.
pub type ImageData = ((Array3<u8>, Array1<u8>), (Array3<u8>, Array1<u8>));

/// A dataset distributed as four gzip-compressed IDX files: where it lives and what it holds.
///
/// The SHA-256 values are those of the original releases; they are kept for the download
/// support to come (the loaders do not hash the files).
///
/// # Examples
///
/// ```
/// use kerust::datasets::mnist;
///
/// assert_eq!(mnist::SPEC.name, "mnist");
/// assert_eq!(mnist::SPEC.files[0].0, "train-images-idx3-ubyte.gz");
/// assert_eq!(mnist::SPEC.files[0].1.len(), 64); // hex SHA-256
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatasetSpec {
    /// The folder name of the dataset (`mnist`, `fashion-mnist`).
    pub name: &'static str,
    /// A human-readable title for messages (`MNIST`, `Fashion-MNIST`).
    pub title: &'static str,
    /// `(file name, hex SHA-256)` of the training images, training labels, test images and
    /// test labels, in that order.
    pub files: [(&'static str, &'static str); 4],
    /// The height and width of every image.
    pub image_size: (usize, usize),
}

/// The four file names shared by MNIST and Fashion-MNIST.
pub(crate) const IDX_FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

impl DatasetSpec {
    /// The file names, in the order of [`DatasetSpec::files`].
    ///
    /// # Examples
    ///
    /// ```
    /// let names = kerust::datasets::fashion_mnist::SPEC.file_names();
    /// assert_eq!(names[3], "t10k-labels-idx1-ubyte.gz");
    /// ```
    pub fn file_names(&self) -> [&'static str; 4] {
        self.files.map(|(name, _)| name)
    }

    /// The folders [`DatasetSpec::locate`] searches, in order, with the current environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let dirs = kerust::datasets::mnist::SPEC.search_dirs();
    /// for dir in &dirs {
    ///     println!("{}", dir.display());
    /// }
    /// ```
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        search_places(self, env_data_dir().as_deref(), home_dir().as_deref())
            .into_iter()
            .filter_map(|place| place.dir)
            .collect()
    }

    /// Finds the folder holding all four files of this dataset.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] of kind [`std::io::ErrorKind::NotFound`] when no searched folder holds the
    /// four files; the message lists every place looked at (and which files each one lacks) and
    /// says how to provide the files.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let dir = kerust::datasets::mnist::SPEC.locate()?;
    /// println!("MNIST is in {}", dir.display());
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn locate(&self) -> Result<PathBuf> {
        locate_in(self, env_data_dir().as_deref(), home_dir().as_deref())
    }

    /// The cache folder of this dataset, `~/.kerust/datasets/<name>/`, or `None` without a home
    /// folder.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(dir) = kerust::datasets::mnist::SPEC.cache_dir() {
    ///     assert!(dir.ends_with(".kerust/datasets/mnist"));
    /// }
    /// ```
    pub fn cache_dir(&self) -> Option<PathBuf> {
        home_dir().map(|home| cache_dir_in(&home, self))
    }

    /// Loads the dataset from the first folder found by [`DatasetSpec::locate`].
    ///
    /// # Errors
    ///
    /// The errors of [`DatasetSpec::locate`] and [`DatasetSpec::load_from`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let ((x_train, _), _) = kerust::datasets::mnist::SPEC.load()?;
    /// assert_eq!(x_train.shape(), &[60000, 28, 28]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn load(&self) -> Result<ImageData> {
        let dir = self.locate()?;
        load_files(self, &dir)
    }

    /// Loads the dataset from `dir`, which holds the four files directly or in a `<name>/`
    /// subfolder.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (kind `NotFound`) when neither `dir` nor `dir/<name>` holds the four
    /// files, listing what is missing; [`Error::Io`] when a file cannot be read;
    /// [`Error::Format`] for a corrupt file (naming it); [`Error::Shape`] when the image and
    /// label counts differ or an image is not of size [`DatasetSpec::image_size`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let data = kerust::datasets::fashion_mnist::SPEC.load_from("/data/fashion-mnist")?;
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn load_from(&self, dir: impl AsRef<Path>) -> Result<ImageData> {
        let dir = dir.as_ref();
        let places = [
            Place {
                label: "the given folder".to_string(),
                dir: Some(dir.to_path_buf()),
            },
            Place {
                label: format!("its `{}` subfolder", self.name),
                dir: Some(dir.join(self.name)),
            },
        ];
        let found = find_in_places(self, &places).map_err(|report| {
            not_found(
                dir,
                format!(
                    "{} files not found in {}:\n{report}\nGive a folder that holds the files {} (directly or in a `{}` subfolder).",
                    self.title,
                    dir.display(),
                    self.file_names().join(", "),
                    self.name,
                ),
            )
        })?;
        load_files(self, &found)
    }
}

/// A place to look for a dataset, for messages.
struct Place {
    label: String,
    dir: Option<PathBuf>,
}

fn env_data_dir() -> Option<PathBuf> {
    std::env::var_os(DATA_ENV_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home_dir() -> Option<PathBuf> {
    ["HOME", "USERPROFILE"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn cache_dir_in(home: &Path, spec: &DatasetSpec) -> PathBuf {
    home.join(".kerust").join("datasets").join(spec.name)
}

fn search_places(spec: &DatasetSpec, data_dir: Option<&Path>, home: Option<&Path>) -> Vec<Place> {
    let mut places = Vec::with_capacity(3);
    match data_dir {
        Some(d) => {
            places.push(Place {
                label: format!("${DATA_ENV_VAR}/{}", spec.name),
                dir: Some(d.join(spec.name)),
            });
            places.push(Place {
                label: format!("${DATA_ENV_VAR}"),
                dir: Some(d.to_path_buf()),
            });
        }
        None => places.push(Place {
            label: format!("${DATA_ENV_VAR}"),
            dir: None,
        }),
    }
    places.push(Place {
        label: "the kerust cache".to_string(),
        dir: home.map(|h| cache_dir_in(h, spec)),
    });
    places
}

/// Returns the first place holding all the files, or a report of every place, one per line.
fn find_in_places(spec: &DatasetSpec, places: &[Place]) -> std::result::Result<PathBuf, String> {
    let mut report = Vec::with_capacity(places.len());
    for (i, place) in places.iter().enumerate() {
        let line = match &place.dir {
            None if place.label.starts_with('$') => "not set".to_string(),
            None => "unknown (neither HOME nor USERPROFILE is set)".to_string(),
            Some(dir) if !dir.is_dir() => format!("{}: no such folder", dir.display()),
            Some(dir) => {
                let missing: Vec<&str> = spec
                    .file_names()
                    .into_iter()
                    .filter(|f| !dir.join(f).is_file())
                    .collect();
                if missing.is_empty() {
                    return Ok(dir.clone());
                }
                format!("{}: missing {}", dir.display(), missing.join(", "))
            }
        };
        report.push(format!("  {}. {} -> {line}", i + 1, place.label));
    }
    Err(report.join("\n"))
}

fn not_found(path: &Path, message: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::NotFound, message),
    )
}

fn locate_in(spec: &DatasetSpec, data_dir: Option<&Path>, home: Option<&Path>) -> Result<PathBuf> {
    let places = search_places(spec, data_dir, home);
    find_in_places(spec, &places).map_err(|report| {
        let cache = home.map_or_else(
            || format!("~/.kerust/datasets/{}", spec.name),
            |h| cache_dir_in(h, spec).display().to_string(),
        );
        let path = places
            .iter()
            .find_map(|p| p.dir.clone())
            .unwrap_or_else(|| PathBuf::from(DATA_ENV_VAR));
        not_found(
            &path,
            format!(
                "{title} dataset files not found; looked in:\n{report}\n\
                 kerust does not download datasets yet. To provide {title}, set the {DATA_ENV_VAR} \
                 environment variable to a folder holding a `{name}/` subfolder with the four files \
                 {files} (as released at the dataset's origin), or copy them into {cache}.",
                title = spec.title,
                name = spec.name,
                files = spec.file_names().join(", "),
            ),
        )
    })
}

/// Reads the four files of `spec` from `dir` and checks that they fit together.
fn load_files(spec: &DatasetSpec, dir: &Path) -> Result<ImageData> {
    let [train_x, train_y, test_x, test_y] = spec.file_names().map(|f| dir.join(f));
    // Decompressing the two image files dominates: do them in parallel.
    let ((xtr, ytr), (xte, yte)) = rayon::join(
        || {
            (
                idx::read_idx_images(&train_x),
                idx::read_idx_labels(&train_y),
            )
        },
        || (idx::read_idx_images(&test_x), idx::read_idx_labels(&test_y)),
    );
    let (xtr, ytr, xte, yte) = (xtr?, ytr?, xte?, yte?);
    for (x, y, x_path, y_path) in [
        (&xtr, &ytr, &train_x, &train_y),
        (&xte, &yte, &test_x, &test_y),
    ] {
        let (rows, cols) = (x.shape()[1], x.shape()[2]);
        if (rows, cols) != spec.image_size {
            return Err(Error::shape(
                format!("{} images in {}", spec.title, x_path.display()),
                format!("images of {} x {}", spec.image_size.0, spec.image_size.1),
                format!("images of {rows} x {cols}"),
            ));
        }
        if x.shape()[0] != y.len() {
            return Err(Error::shape(
                format!(
                    "{} images {} against labels {}",
                    spec.title,
                    x_path.display(),
                    y_path.display()
                ),
                format!("as many labels as images ({})", x.shape()[0]),
                format!("{} labels", y.len()),
            ));
        }
    }
    Ok(((xtr, ytr), (xte, yte)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_lists_every_place() {
        let root = std::env::temp_dir().join(format!("kerust-locate-{}", std::process::id()));
        let data = root.join("data");
        std::fs::create_dir_all(data.join("mnist")).unwrap();
        std::fs::write(data.join("mnist").join(IDX_FILE_NAMES[0]), b"x").unwrap();
        let home = root.join("home");
        let err = locate_in(&mnist::SPEC, Some(&data), Some(&home)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );
        assert!(
            msg.contains(&data.join("mnist").display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("missing train-labels-idx1-ubyte.gz"), "{msg}");
        assert!(
            msg.contains(&cache_dir_in(&home, &mnist::SPEC).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("KERUST_DATA"), "{msg}");

        let err = locate_in(&fashion_mnist::SPEC, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("$KERUST_DATA -> not set"), "{err}");
        assert!(err.contains("HOME"), "{err}");
        assert!(err.contains("fashion-mnist/"), "{err}");

        // All four files directly in KERUST_DATA are accepted.
        for f in IDX_FILE_NAMES {
            std::fs::write(data.join(f), b"x").unwrap();
        }
        assert_eq!(locate_in(&mnist::SPEC, Some(&data), None).unwrap(), data);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
