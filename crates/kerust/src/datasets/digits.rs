//! The UCI optical-recognition handwritten digits, embedded in the crate (no file needed).
//!
//! 1,797 images of 8 x 8 pixels with values 0..=16 (the count of ink pixels in a 4 x 4 block of
//! a 32 x 32 bitmap), labelled with the digit 0..9: the copy of the UCI test set that
//! scikit-learn ships as `load_digits()`. By E. Alpaydin and C. Kaynak (1998); license CC BY 4.0.

use std::io::Read;

use flate2::read::GzDecoder;
use ndarray::{Array1, Array3};

use crate::{Error, Result};

/// The embedded gzip-compressed CSV: 1797 rows of 64 pixels then the label, no header.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
const SOURCE: &str = "embedded digits.csv.gz";
/// Number of samples.
pub const NUM_SAMPLES: usize = 1797;
/// Pixels per image side.
pub const IMAGE_SIDE: usize = 8;
/// The largest pixel value.
pub const MAX_PIXEL: u8 = 16;

/// Loads the digits as `(images, labels)`: images `(1797, 8, 8)` with values 0..=16, labels
/// `(1797,)` with values 0..=9.
///
/// Split them with [`crate::preprocessing::train_test_split`].
///
/// # Errors
///
/// [`Error::Format`] only if the embedded data were corrupt (a bug in the build).
///
/// # Examples
///
/// ```
/// let (images, labels) = kerust::datasets::digits::load_data()?;
/// assert_eq!(images.shape(), &[1797, 8, 8]);
/// assert_eq!(labels.len(), 1797);
/// assert_eq!(labels[0], 0);
/// assert!(images.iter().all(|&p| p <= 16));
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn load_data() -> Result<(Array3<u8>, Array1<u8>)> {
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .take(1 << 22)
        .read_to_string(&mut text)
        .map_err(|e| csv_err(format!("gzip decompression failed: {e}")))?;
    parse_csv(&text)
}

fn csv_err(reason: String) -> Error {
    Error::Format {
        format: "CSV",
        path: SOURCE.to_string(),
        reason,
    }
}

/// Parses rows of 64 pixel values then a label.
fn parse_csv(text: &str) -> Result<(Array3<u8>, Array1<u8>)> {
    const COLS: usize = IMAGE_SIDE * IMAGE_SIDE + 1;
    let mut pixels = Vec::with_capacity(NUM_SAMPLES * (COLS - 1));
    let mut labels = Vec::with_capacity(NUM_SAMPLES);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut n = 0;
        for (j, field) in line.split(',').enumerate() {
            if j >= COLS {
                return Err(csv_err(format!(
                    "line {}: more than the expected {COLS} columns",
                    i + 1
                )));
            }
            let max = if j == COLS - 1 { 9 } else { MAX_PIXEL };
            let value = field
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&v| v <= max)
                .ok_or_else(|| {
                    csv_err(format!(
                        "line {}, column {}: '{field}' is not an integer in 0..={max}",
                        i + 1,
                        j + 1
                    ))
                })?;
            if j == COLS - 1 {
                labels.push(value);
            } else {
                pixels.push(value);
            }
            n += 1;
        }
        if n != COLS {
            return Err(csv_err(format!(
                "line {}: {n} columns, expected {COLS} (64 pixels then the label)",
                i + 1
            )));
        }
    }
    if labels.len() != NUM_SAMPLES {
        return Err(csv_err(format!(
            "{} rows, expected {NUM_SAMPLES}",
            labels.len()
        )));
    }
    let images = Array3::from_shape_vec((labels.len(), IMAGE_SIDE, IMAGE_SIDE), pixels)
        .map_err(|e| csv_err(e.to_string()))?;
    Ok((images, Array1::from_vec(labels)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows() {
        let e = parse_csv("1,2,3\n").unwrap_err().to_string();
        assert!(e.contains("line 1: 3 columns, expected 65"), "{e}");
        let row = |last: &str| format!("{}{last}\n", "0,".repeat(64));
        let e = parse_csv(&row("10")).unwrap_err().to_string();
        assert!(e.contains("column 65") && e.contains("0..=9"), "{e}");
        let e = parse_csv(&row("1,2")).unwrap_err().to_string();
        assert!(e.contains("more than"), "{e}");
        let e = parse_csv(&row("1")).unwrap_err().to_string();
        assert!(e.contains("1 rows, expected 1797"), "{e}");
    }
}
