//! Datasets: MNIST, Fashion-MNIST, the embedded UCI digits, and the user's own CSV files.
//!
//! [`mnist::load_data`] and [`fashion_mnist::load_data`] follow `keras.datasets`: they return
//! `((x_train, y_train), (x_test, y_test))` as `u8` arrays. The files are looked up, in this
//! order, in
//!
//! 1. `$KERUST_DATA/<name>/` (a folder holding `mnist/` and `fashion-mnist/`), then
//!    `$KERUST_DATA/` itself (the four files directly in it);
//! 2. the cache `~/.kerust/datasets/<name>/` (or `$KERUST_CACHE/<name>/`),
//!
//! where `<name>` is [`DatasetSpec::name`] (`mnist` or `fashion-mnist`) and the four files are
//! those of [`DatasetSpec::files`]. `load_data_from(dir)` reads an explicit folder instead.
//!
//! When no folder holds the files, and kerust is built with the default cargo feature
//! `download`, the missing files are downloaded from the dataset's public origin
//! ([`DatasetSpec::base_url`], or the mirror named by `$KERUST_DATA_URL`) into the cache; each
//! is checked against the SHA-256 of the original release before it is kept, and written
//! atomically, so the cache never holds a partial or corrupted file. [`LoadOptions`] sets all
//! of this explicitly, without environment variables.
//!
//! [`digits::load_data`] needs no file: the UCI digits are embedded in the crate.
//! [`csv::load_csv`] reads tabular data, and [`crate::npy`] reads and writes NumPy arrays.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ndarray::{Array1, Array3};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

pub mod csv;
pub mod digits;
#[cfg(feature = "download")]
mod download;
pub mod fashion_mnist;
pub mod idx;
pub mod mnist;

/// The environment variable naming a folder of datasets (holding `mnist/`, `fashion-mnist/`).
pub const DATA_ENV_VAR: &str = "KERUST_DATA";
/// The environment variable naming the cache folder (default `~/.kerust/datasets`).
pub const CACHE_ENV_VAR: &str = "KERUST_CACHE";
/// The environment variable naming a download mirror: files are fetched from
/// `$KERUST_DATA_URL/<name>/<file>` instead of the dataset's origin.
pub const URL_ENV_VAR: &str = "KERUST_DATA_URL";

/// `((x_train, y_train), (x_test, y_test))`, the return type of `keras.datasets.*.load_data()`.
pub type ImageData = ((Array3<u8>, Array1<u8>), (Array3<u8>, Array1<u8>));

/// A dataset distributed as four gzip-compressed IDX files: where it lives and what it holds.
///
/// The SHA-256 values and sizes are those of the original releases; downloads are checked
/// against them (files found on disk are trusted, see [`DatasetSpec::verify`]).
///
/// # Examples
///
/// ```
/// use kerust::datasets::mnist;
///
/// assert_eq!(mnist::SPEC.name, "mnist");
/// assert_eq!(mnist::SPEC.files[0].0, "train-images-idx3-ubyte.gz");
/// assert_eq!(mnist::SPEC.files[0].1.len(), 64); // hex SHA-256
/// assert_eq!(mnist::SPEC.sizes[0], 9_912_422);
/// assert!(mnist::SPEC.base_url.ends_with('/'));
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
    /// The size in bytes of each file of [`DatasetSpec::files`]; a download that is larger is
    /// refused.
    pub sizes: [u64; 4],
    /// The public origin: a URL ending in `/` under which the four files are served.
    pub base_url: &'static str,
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

/// Where [`DatasetSpec::load_with`] looks for a dataset and whether it may download it.
///
/// [`LoadOptions::from_env`] (what `load_data()` uses) reads `KERUST_DATA`, `KERUST_CACHE`,
/// `KERUST_DATA_URL` and the home folder; [`LoadOptions::new`] reads nothing, so a program (or
/// a test) can set every place explicitly.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use kerust::datasets::{mnist, LoadOptions};
///
/// let options = LoadOptions::new()
///     .cache_root("/tmp/kerust-cache") // MNIST is kept in /tmp/kerust-cache/mnist/
///     .mirror_url("http://127.0.0.1:8000") // fetched from http://127.0.0.1:8000/mnist/...
///     .timeout(Duration::from_secs(10));
/// let ((x_train, _), _) = mnist::load_data_with(&options)?;
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// A folder searched first, as `$KERUST_DATA`: `<data_dir>/<name>/`, then `<data_dir>/`.
    pub data_dir: Option<PathBuf>,
    /// The cache root: a dataset is cached in `<cache_root>/<name>/`. `None`: no cache, so
    /// nothing is downloaded.
    pub cache_root: Option<PathBuf>,
    /// A mirror serving `<mirror_url>/<name>/<file>`, used instead of
    /// [`DatasetSpec::base_url`].
    pub mirror_url: Option<String>,
    /// Whether missing files are downloaded into the cache (always `false` without the
    /// `download` feature).
    pub download: bool,
    /// The limit on connecting and on each network read (not on the whole download).
    pub timeout: Duration,
    /// Whether to print `Downloading data from <url>` on stderr, as Keras does.
    pub verbose: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl LoadOptions {
    /// No data folder, no cache (so no download), the datasets' own origins, a 30-second
    /// network timeout. Nothing is read from the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = kerust::datasets::LoadOptions::new();
    /// assert!(options.data_dir.is_none() && options.cache_root.is_none());
    /// ```
    pub fn new() -> Self {
        LoadOptions {
            data_dir: None,
            cache_root: None,
            mirror_url: None,
            download: cfg!(feature = "download"),
            timeout: Duration::from_secs(30),
            verbose: true,
        }
    }

    /// The options `load_data()` uses: `data_dir` from `$KERUST_DATA`, `cache_root` from
    /// `$KERUST_CACHE` or else `~/.kerust/datasets` (`HOME`, or `USERPROFILE` on Windows),
    /// `mirror_url` from `$KERUST_DATA_URL`. Empty variables count as unset.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = kerust::datasets::LoadOptions::from_env();
    /// if let Some(root) = &options.cache_root {
    ///     println!("datasets are cached in {}", root.display());
    /// }
    /// ```
    pub fn from_env() -> Self {
        LoadOptions {
            data_dir: env_path(DATA_ENV_VAR),
            cache_root: env_path(CACHE_ENV_VAR)
                .or_else(|| home_dir().map(|h| h.join(".kerust").join("datasets"))),
            mirror_url: std::env::var(URL_ENV_VAR).ok().filter(|v| !v.is_empty()),
            ..Self::new()
        }
    }

    /// Sets [`LoadOptions::data_dir`].
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Sets [`LoadOptions::cache_root`].
    pub fn cache_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_root = Some(dir.into());
        self
    }

    /// Sets [`LoadOptions::mirror_url`].
    pub fn mirror_url(mut self, url: impl Into<String>) -> Self {
        self.mirror_url = Some(url.into());
        self
    }

    /// Sets [`LoadOptions::download`] (ignored without the `download` feature).
    pub fn download(mut self, download: bool) -> Self {
        self.download = download && cfg!(feature = "download");
        self
    }

    /// Sets [`LoadOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`LoadOptions::verbose`].
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}

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

    /// The URL each file is downloaded from: `<mirror>/<name>/<file>` with a mirror, else
    /// [`DatasetSpec::base_url`] followed by the file name.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::datasets::mnist::SPEC;
    ///
    /// assert_eq!(
    ///     SPEC.urls(None)[0],
    ///     "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz"
    /// );
    /// assert_eq!(
    ///     SPEC.urls(Some("http://127.0.0.1:8000/"))[3],
    ///     "http://127.0.0.1:8000/mnist/t10k-labels-idx1-ubyte.gz"
    /// );
    /// ```
    pub fn urls(&self, mirror: Option<&str>) -> [String; 4] {
        let base = match mirror {
            Some(m) => format!("{}/{}/", m.trim_end_matches('/'), self.name),
            None => self.base_url.to_string(),
        };
        self.file_names().map(|f| format!("{base}{f}"))
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
        let options = LoadOptions::from_env();
        search_places(
            self,
            options.data_dir.as_deref(),
            options.cache_root.as_deref(),
        )
        .into_iter()
        .filter_map(|place| place.dir)
        .collect()
    }

    /// Finds the folder holding all four files of this dataset, without downloading.
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
        self.fetch(&LoadOptions::from_env().download(false))
    }

    /// The cache folder of this dataset, `~/.kerust/datasets/<name>/` (or
    /// `$KERUST_CACHE/<name>/`), or `None` without a home folder.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(dir) = kerust::datasets::mnist::SPEC.cache_dir() {
    ///     assert!(dir.ends_with("mnist"));
    /// }
    /// ```
    pub fn cache_dir(&self) -> Option<PathBuf> {
        LoadOptions::from_env()
            .cache_root
            .map(|root| root.join(self.name))
    }

    /// Finds the folder holding all four files, downloading the missing ones into the cache
    /// when `options` allow it; returns that folder.
    ///
    /// Files already in the cache are kept; each downloaded file must have the size and the
    /// SHA-256 of [`DatasetSpec::files`] before it is renamed into place.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] of kind `NotFound` when the files are nowhere and cannot be downloaded
    /// (offline, the server fails, downloading is off): the message lists every place looked at,
    /// the URL that failed and why, and how to provide the files (`KERUST_DATA`).
    /// [`Error::Format`] when a download is larger than the original file or its SHA-256
    /// differs (the message names the file and both hashes; nothing is cached).
    /// [`Error::Io`] when the cache cannot be written.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kerust::datasets::{fashion_mnist, LoadOptions};
    ///
    /// let dir = fashion_mnist::SPEC.fetch(&LoadOptions::from_env())?;
    /// println!("Fashion-MNIST is in {}", dir.display());
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn fetch(&self, options: &LoadOptions) -> Result<PathBuf> {
        let places = search_places(
            self,
            options.data_dir.as_deref(),
            options.cache_root.as_deref(),
        );
        let report = match find_in_places(self, &places) {
            Ok(dir) => return Ok(dir),
            Err(report) => report,
        };
        let cache = options.cache_root.as_ref().map(|r| r.join(self.name));
        let why = match &cache {
            _ if !cfg!(feature = "download") => {
                "kerust was built without its `download` feature, so it does not download datasets."
                    .to_string()
            }
            _ if !options.download => "Downloading is turned off.".to_string(),
            None => {
                format!("There is no cache folder to download into (set HOME or {CACHE_ENV_VAR}).")
            }
            Some(cache) => match download_into(self, cache, options)? {
                Ok(()) => return Ok(cache.clone()),
                Err(why) => why,
            },
        };
        Err(not_found_everywhere(
            self,
            &places,
            &report,
            cache.as_deref(),
            &why,
        ))
    }

    /// Loads the dataset found (or downloaded) with the current environment: the
    /// `load_data()` of each dataset module. Same as
    /// `load_with(&LoadOptions::from_env())`.
    ///
    /// # Errors
    ///
    /// The errors of [`DatasetSpec::fetch`] and [`DatasetSpec::load_from`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let ((x_train, _), _) = kerust::datasets::mnist::SPEC.load()?;
    /// assert_eq!(x_train.shape(), &[60000, 28, 28]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn load(&self) -> Result<ImageData> {
        self.load_with(&LoadOptions::from_env())
    }

    /// Loads the dataset from the folder [`DatasetSpec::fetch`] finds or fills.
    ///
    /// # Errors
    ///
    /// The errors of [`DatasetSpec::fetch`] and [`DatasetSpec::load_from`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kerust::datasets::{mnist, LoadOptions};
    ///
    /// let options = LoadOptions::new().data_dir("/data").download(false);
    /// let (_, (x_test, _)) = mnist::SPEC.load_with(&options)?;
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn load_with(&self, options: &LoadOptions) -> Result<ImageData> {
        let dir = self.fetch(options)?;
        load_files(self, &dir)
    }

    /// Loads the dataset from `dir`, which holds the four files directly or in a `<name>/`
    /// subfolder. Never downloads.
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

    /// Checks the size and SHA-256 of the four files in `dir` against [`DatasetSpec::files`]
    /// (the loaders do not, to save the time of hashing; downloads are always checked).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be read; [`Error::Format`] naming the first file whose
    /// hash differs, with both hashes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// kerust::datasets::mnist::SPEC.verify("/data/mnist")?;
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn verify(&self, dir: impl AsRef<Path>) -> Result<()> {
        for (name, expected) in self.files {
            let path = dir.as_ref().join(name);
            let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => hasher.update(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            let got = hex(&hasher.finalize());
            if got != expected {
                return Err(Error::Format {
                    format: "dataset",
                    path: path.display().to_string(),
                    reason: format!(
                        "SHA-256 {got} differs from the {expected} of the original {} release",
                        self.title
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A place to look for a dataset, for messages.
struct Place {
    label: String,
    dir: Option<PathBuf>,
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
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

fn search_places(
    spec: &DatasetSpec,
    data_dir: Option<&Path>,
    cache_root: Option<&Path>,
) -> Vec<Place> {
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
        dir: cache_root.map(|r| r.join(spec.name)),
    });
    places
}

/// Returns the first place holding all the files, or a report of every place, one per line.
fn find_in_places(spec: &DatasetSpec, places: &[Place]) -> std::result::Result<PathBuf, String> {
    let mut report = Vec::with_capacity(places.len());
    for (i, place) in places.iter().enumerate() {
        let line = match &place.dir {
            None if place.label.starts_with('$') => "not set".to_string(),
            None => format!("unknown (none of {CACHE_ENV_VAR}, HOME and USERPROFILE is set)"),
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

/// The error of a dataset found nowhere: every place searched, why nothing was downloaded,
/// and how to provide the files.
fn not_found_everywhere(
    spec: &DatasetSpec,
    places: &[Place],
    report: &str,
    cache: Option<&Path>,
    why: &str,
) -> Error {
    let cache_text = cache.map_or_else(
        || format!("~/.kerust/datasets/{}", spec.name),
        |c| c.display().to_string(),
    );
    let path = places
        .iter()
        .find_map(|p| p.dir.clone())
        .unwrap_or_else(|| PathBuf::from(DATA_ENV_VAR));
    not_found(
        &path,
        format!(
            "{title} dataset files not found; looked in:\n{report}\n{why}\n\
             To provide {title}, download the four files {files} from {origin} (on a machine \
             with network) and set the {DATA_ENV_VAR} environment variable to a folder holding \
             them in a `{name}/` subfolder, or copy them into {cache_text}.",
            title = spec.title,
            name = spec.name,
            files = spec.file_names().join(", "),
            origin = spec.base_url,
        ),
    )
}

/// Downloads the missing files of `spec` into `cache`: `Ok(Err(why))` when the network failed
/// (the caller explains where it looked), `Err` for a refused download or a cache write error.
#[cfg(feature = "download")]
fn download_into(
    spec: &DatasetSpec,
    cache: &Path,
    options: &LoadOptions,
) -> Result<std::result::Result<(), String>> {
    match download::fetch_missing(spec, cache, options) {
        Ok(()) => Ok(Ok(())),
        Err(download::Failure::Fatal(e)) => Err(e),
        Err(download::Failure::Network { url, reason }) => Ok(Err(format!(
            "Downloading {url} into {} failed: {reason}.",
            cache.display()
        ))),
    }
}

#[cfg(not(feature = "download"))]
fn download_into(
    _spec: &DatasetSpec,
    _cache: &Path,
    _options: &LoadOptions,
) -> Result<std::result::Result<(), String>> {
    Ok(Err(
        "kerust was built without its `download` feature.".to_string()
    ))
}

/// Reads the four files of `spec` from `dir` and checks that they fit together.
fn load_files(spec: &DatasetSpec, dir: &Path) -> Result<ImageData> {
    let [train_x, train_y, test_x, test_y] = spec.file_names().map(|f| dir.join(f));
    // Decompressing the two image files dominates: do them in parallel.
    let ((xtr, ytr), (xte, yte)) = std::thread::scope(|s| {
        let test = s.spawn(|| (idx::read_idx_images(&test_x), idx::read_idx_labels(&test_y)));
        let train = (
            idx::read_idx_images(&train_x),
            idx::read_idx_labels(&train_y),
        );
        let test = test.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (train, test)
    });
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
        let cache = root.join("cache");
        let options = LoadOptions::new()
            .data_dir(&data)
            .cache_root(&cache)
            .download(false);
        let err = mnist::SPEC.fetch(&options).unwrap_err();
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
            msg.contains(&cache.join("mnist").display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("KERUST_DATA"), "{msg}");
        assert!(msg.contains("Downloading is turned off"), "{msg}");
        assert!(msg.contains(mnist::SPEC.base_url), "{msg}");

        let err = fashion_mnist::SPEC
            .fetch(&LoadOptions::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("$KERUST_DATA -> not set"), "{err}");
        assert!(err.contains("HOME"), "{err}");
        assert!(err.contains("fashion-mnist/"), "{err}");

        // All four files directly in KERUST_DATA are accepted.
        for f in IDX_FILE_NAMES {
            std::fs::write(data.join(f), b"x").unwrap();
        }
        assert_eq!(mnist::SPEC.fetch(&options).unwrap(), data);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn urls_and_hex() {
        assert_eq!(hex(&[0, 0xab, 0x7f]), "00ab7f");
        let urls = fashion_mnist::SPEC.urls(Some("http://h:1"));
        assert_eq!(
            urls[0],
            "http://h:1/fashion-mnist/train-images-idx3-ubyte.gz"
        );
        assert!(fashion_mnist::SPEC.urls(None)[1].starts_with(fashion_mnist::SPEC.base_url));
    }
}
