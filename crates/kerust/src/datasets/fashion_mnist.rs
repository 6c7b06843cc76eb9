//! Fashion-MNIST, Zalando's article images (`keras.datasets.fashion_mnist`).
//!
//! 60,000 training and 10,000 test images of 28 x 28 grayscale pixels in 10 classes named by
//! [`CLASS_NAMES`]. By Han Xiao, Kashif Rasul and Roland Vollgraf; license MIT, (c) 2017
//! Zalando SE.

use std::path::Path;

use super::{DatasetSpec, ImageData, LoadOptions, IDX_FILE_NAMES};
use crate::Result;

/// The names of the 10 classes, indexed by label.
///
/// # Examples
///
/// ```
/// use kerust::datasets::fashion_mnist::CLASS_NAMES;
/// assert_eq!(CLASS_NAMES[9], "Ankle boot");
/// ```
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Where Fashion-MNIST is looked for and what its files are (SHA-256 of the original release).
pub const SPEC: DatasetSpec = DatasetSpec {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    files: [
        (
            IDX_FILE_NAMES[0],
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        (
            IDX_FILE_NAMES[1],
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        (
            IDX_FILE_NAMES[2],
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        (
            IDX_FILE_NAMES[3],
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    ],
    sizes: [26_421_880, 29_515, 4_422_102, 5_148],
    // Zalando's own download site (plain HTTP: the SHA-256 check guards the content).
    base_url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    image_size: (28, 28),
};

/// Loads Fashion-MNIST as `((x_train, y_train), (x_test, y_test))`, like
/// `keras.datasets.fashion_mnist.load_data()`.
///
/// Shapes: `x_train` `(60000, 28, 28)`, `y_train` `(60000,)`, `x_test` `(10000, 28, 28)`,
/// `y_test` `(10000,)`; labels index [`CLASS_NAMES`]. The files are searched in
/// `$KERUST_DATA/fashion-mnist/`, `$KERUST_DATA/` and `~/.kerust/datasets/fashion-mnist/`
/// (see [`crate::datasets`]); when they are in none, they are downloaded into that cache
/// (feature `download`, on by default) and checked against their SHA-256.
///
/// # Errors
///
/// [`crate::Error::Io`] (kind `NotFound`) listing every folder searched, and why the download
/// failed, when the files are nowhere and cannot be downloaded; [`crate::Error::Format`] for a
/// corrupt or truncated file, or a download whose SHA-256 is not the original's;
/// [`crate::Error::Shape`] when image and label counts differ.
///
/// # Examples
///
/// ```no_run
/// use kerust::datasets::fashion_mnist::{load_data, CLASS_NAMES};
///
/// let ((x_train, y_train), _) = load_data()?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// assert_eq!(CLASS_NAMES[y_train[0] as usize], "Ankle boot");
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data() -> Result<ImageData> {
    SPEC.load()
}

/// Loads Fashion-MNIST from `dir`, which holds the four files directly or in a
/// `fashion-mnist/` subfolder.
///
/// # Errors
///
/// As [`load_data`]; the not-found error names `dir` and the missing files.
///
/// # Examples
///
/// ```no_run
/// let (_, (x_test, y_test)) = kerust::datasets::fashion_mnist::load_data_from("/data")?;
/// assert_eq!(x_test.shape(), &[10000, 28, 28]);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<ImageData> {
    SPEC.load_from(dir)
}

/// Loads Fashion-MNIST with explicit [`LoadOptions`] (data folder, cache, mirror, download on or
/// off) instead of the environment variables [`load_data`] reads.
///
/// # Errors
///
/// As [`load_data`]; a refused download (wrong size or SHA-256) is an
/// [`crate::Error::Format`] naming the file and both hashes.
///
/// # Examples
///
/// ```no_run
/// use kerust::datasets::{fashion_mnist, LoadOptions};
///
/// let options = LoadOptions::from_env().download(false);
/// let ((x_train, y_train), _) = fashion_mnist::load_data_with(&options)?;
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data_with(options: &LoadOptions) -> Result<ImageData> {
    SPEC.load_with(options)
}
