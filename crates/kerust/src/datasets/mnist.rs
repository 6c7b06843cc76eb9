//! The MNIST database of handwritten digits (`keras.datasets.mnist`).
//!
//! 60,000 training and 10,000 test images of 28 x 28 grayscale pixels (0 = background,
//! 255 = ink), labelled with the digit 0..9. By Yann LeCun, Corinna Cortes and Christopher
//! J.C. Burges; license CC BY-SA 3.0.

use std::path::Path;

use super::{DatasetSpec, ImageData, LoadOptions, IDX_FILE_NAMES};
use crate::Result;

/// Where MNIST is looked for and what its files are (SHA-256 of the original release).
pub const SPEC: DatasetSpec = DatasetSpec {
    name: "mnist",
    title: "MNIST",
    files: [
        (
            IDX_FILE_NAMES[0],
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        (
            IDX_FILE_NAMES[1],
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        (
            IDX_FILE_NAMES[2],
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        (
            IDX_FILE_NAMES[3],
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    ],
    sizes: [9_912_422, 28_881, 1_648_877, 4_542],
    // The mirror Keras and TensorFlow download MNIST from (the original gz files).
    base_url: "https://storage.googleapis.com/cvdf-datasets/mnist/",
    image_size: (28, 28),
};

/// Loads MNIST as `((x_train, y_train), (x_test, y_test))`, like `keras.datasets.mnist.load_data()`.
///
/// Shapes: `x_train` `(60000, 28, 28)`, `y_train` `(60000,)`, `x_test` `(10000, 28, 28)`,
/// `y_test` `(10000,)`; pixels are `u8` in 0..=255 and labels `u8` in 0..=9. The files are
/// searched in `$KERUST_DATA/mnist/`, `$KERUST_DATA/` and `~/.kerust/datasets/mnist/` (see
/// [`crate::datasets`]); when they are in none, they are downloaded into that cache
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
/// let ((x_train, y_train), (x_test, y_test)) = kerust::datasets::mnist::load_data()?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// assert_eq!(y_train[0], 5);
/// assert_eq!((x_test.shape()[0], y_test.len()), (10000, 10000));
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data() -> Result<ImageData> {
    SPEC.load()
}

/// Loads MNIST from `dir`, which holds the four files directly or in a `mnist/` subfolder.
///
/// # Errors
///
/// As [`load_data`]; the not-found error names `dir` and the missing files.
///
/// # Examples
///
/// ```no_run
/// let ((x_train, _), _) = kerust::datasets::mnist::load_data_from("/data/mnist")?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<ImageData> {
    SPEC.load_from(dir)
}

/// Loads MNIST with explicit [`LoadOptions`] (data folder, cache, mirror, download on or
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
/// use kerust::datasets::{mnist, LoadOptions};
///
/// let options = LoadOptions::from_env().download(false);
/// let ((x_train, y_train), _) = mnist::load_data_with(&options)?;
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data_with(options: &LoadOptions) -> Result<ImageData> {
    SPEC.load_with(options)
}
