//! Datasets as `kerust train` and `kerust evaluate` see them: the built-in image sets and the
//! user's own CSV files, scaled and split into train and test.

use std::path::{Path, PathBuf};

use kerust::datasets::csv::{read_csv, Column, CsvOptions};
use kerust::datasets::{digits, fashion_mnist, mnist};
use ndarray::{Array1, Array3, ArrayD, Axis};

use crate::CliResult;

/// Fraction of the digits kept for testing.
const DIGITS_TEST_SIZE: f32 = 0.25;
/// Fraction of a CSV file's rows kept for testing.
const CSV_TEST_SIZE: f32 = 0.2;
/// Most classes a CSV label column may name (class ids 0..MAX_CLASSES).
const MAX_CLASSES: u32 = 1 << 16;

/// A dataset named on the command line: `fashion-mnist`, `mnist`, `digits` or `csv:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetArg {
    /// Zalando's 28 x 28 article images, 10 classes.
    FashionMnist,
    /// Handwritten digits, 28 x 28.
    Mnist,
    /// The embedded UCI digits, 8 x 8.
    Digits,
    /// The user's own table: one row per sample, one column of integer class ids.
    Csv(PathBuf),
}

/// The values `--dataset` accepts, for messages.
pub const DATASET_VALUES: &str = "fashion-mnist, mnist, digits or csv:PATH";

/// Parses a `--dataset` value (clap's value parser).
pub fn parse_dataset(s: &str) -> Result<DatasetArg, String> {
    if let Some(path) = s.strip_prefix("csv:") {
        if path.is_empty() {
            return Err("csv: needs a file path, as in csv:data/iris.csv".into());
        }
        return Ok(DatasetArg::Csv(PathBuf::from(path)));
    }
    match s.to_ascii_lowercase().as_str() {
        "fashion-mnist" | "fashion_mnist" => Ok(DatasetArg::FashionMnist),
        "mnist" => Ok(DatasetArg::Mnist),
        "digits" => Ok(DatasetArg::Digits),
        _ => Err(format!("expected {DATASET_VALUES}")),
    }
}

/// How the user's CSV files are read (`--label-column`, `--no-header`).
#[derive(Debug, Clone, Default)]
pub struct CsvChoice {
    /// The label column, by 0-based index (negative: from the end) or header name; `None`:
    /// the last column.
    pub label_column: Option<String>,
    /// The file has no header row, even if its first row has non-numbers.
    pub no_header: bool,
}

/// A dataset ready for training: scaled inputs and integer labels, split into train and test.
pub struct Data {
    /// Its name, for the first line of output.
    pub title: String,
    /// Training inputs: `(n, h, w)` images or `(n, features)` rows.
    pub x_train: ArrayD<f32>,
    /// Training labels (class ids).
    pub y_train: Array1<u32>,
    /// Test inputs, as `x_train`.
    pub x_test: ArrayD<f32>,
    /// Test labels.
    pub y_test: Array1<u32>,
    /// Units of the hidden Dense layer of the default model.
    pub hidden: usize,
    /// Number of classes (largest label + 1 for a CSV file).
    pub num_classes: usize,
    /// A name for each class (the class id when there is no better one).
    pub class_names: Vec<String>,
}

impl Data {
    /// Shape of one sample.
    pub fn sample_shape(&self) -> &[usize] {
        &self.x_train.shape()[1..]
    }

    /// True for image data, `(n, h, w)`.
    pub fn is_images(&self) -> bool {
        self.x_train.ndim() == 3
    }

    /// `Dataset: ..., N training and M test images of H x W pixels` (or rows of K features).
    pub fn describe(&self) -> String {
        let (n_train, n_test) = (self.x_train.len_of(Axis(0)), self.x_test.len_of(Axis(0)));
        let shape = self.sample_shape();
        if self.is_images() {
            format!(
                "Dataset: {}, {n_train} training and {n_test} test images of {} x {} pixels",
                self.title, shape[0], shape[1]
            )
        } else {
            format!(
                "Dataset: {}, {n_train} training and {n_test} test rows of {} features, {} classes",
                self.title,
                shape.iter().product::<usize>(),
                self.num_classes
            )
        }
    }
}

fn scale(images: &Array3<u8>, max: f32) -> ArrayD<f32> {
    images.mapv(|v| f32::from(v) / max).into_dyn()
}

fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// Loads `dataset`: images scaled to [0, 1]; the digits and CSV files split with `seed`.
pub fn load(
    dataset: &DatasetArg,
    data_dir: Option<&Path>,
    csv: &CsvChoice,
    seed: u64,
) -> CliResult<Data> {
    let (title, loaded) = match dataset {
        DatasetArg::FashionMnist => (
            fashion_mnist::SPEC.title,
            match data_dir {
                Some(d) => fashion_mnist::load_data_from(d)?,
                None => fashion_mnist::load_data()?,
            },
        ),
        DatasetArg::Mnist => (
            mnist::SPEC.title,
            match data_dir {
                Some(d) => mnist::load_data_from(d)?,
                None => mnist::load_data()?,
            },
        ),
        DatasetArg::Digits => {
            let (images, labels) = digits::load_data()?;
            let (x_train, x_test, y_train, y_test) = kerust::preprocessing::train_test_split(
                &images,
                &labels,
                DIGITS_TEST_SIZE,
                seed,
                true,
            )?;
            let max = f32::from(digits::MAX_PIXEL);
            return Ok(Data {
                title: "UCI digits".into(),
                x_train: scale(&x_train, max),
                y_train: y_train.mapv(u32::from),
                x_test: scale(&x_test, max),
                y_test: y_test.mapv(u32::from),
                hidden: 64,
                num_classes: 10,
                class_names: numbered(10),
            });
        }
        DatasetArg::Csv(path) => return load_csv_dataset(path, csv, seed),
    };
    let ((x_train, y_train), (x_test, y_test)) = loaded;
    let class_names = if *dataset == DatasetArg::FashionMnist {
        fashion_mnist::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        numbered(10)
    };
    Ok(Data {
        title: title.into(),
        x_train: scale(&x_train, 255.0),
        y_train: y_train.mapv(u32::from),
        x_test: scale(&x_test, 255.0),
        y_test: y_test.mapv(u32::from),
        hidden: 128,
        num_classes: 10,
        class_names,
    })
}

/// The first line of a CSV file: its number of fields, and whether every field is a number.
fn first_line(path: &Path) -> CliResult<(usize, bool)> {
    use std::io::BufRead;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the CSV file {}: {e}", path.display()))?;
    let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).split(',').collect();
    let numeric = fields.iter().all(|f| f.trim().parse::<f32>().is_ok());
    Ok((fields.len(), numeric))
}

/// CSV reading options for `path`: a header unless `--no-header` is given or the first row is
/// all numbers; the label column as chosen (`None`: no label column, for `predict`).
pub fn csv_options(path: &Path, choice: &CsvChoice, with_label: bool) -> CliResult<CsvOptions> {
    let (ncols, numeric) = first_line(path)?;
    let has_header = !choice.no_header && !numeric;
    let label_column = match (&choice.label_column, with_label) {
        (None, false) => None,
        (None, true) => Some(Column::Index(ncols.saturating_sub(1))),
        (Some(s), _) => Some(parse_column(s, ncols, path)?),
    };
    Ok(CsvOptions {
        has_header,
        label_column,
        ..Default::default()
    })
}

/// `--label-column`: a 0-based index, a negative index counted from the end (-1: the last
/// column), or a header name.
fn parse_column(s: &str, ncols: usize, path: &Path) -> CliResult<Column> {
    match s.parse::<i64>() {
        Ok(i) if i >= 0 => Ok(Column::Index(i as usize)),
        Ok(i) => {
            let back = i.unsigned_abs() as usize;
            if back > ncols {
                Err(format!(
                    "--label-column {s}: {} has only {ncols} columns",
                    path.display()
                )
                .into())
            } else {
                Ok(Column::Index(ncols - back))
            }
        }
        Err(_) => Ok(Column::Name(s.to_string())),
    }
}

/// Integer class ids from a label column read as f32.
fn class_ids(labels: &Array1<f32>, path: &Path, header_rows: usize) -> CliResult<Array1<u32>> {
    let mut out = Vec::with_capacity(labels.len());
    for (i, &v) in labels.iter().enumerate() {
        if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < MAX_CLASSES as f32) {
            return Err(format!(
                "{}, line {}: label {v} is not a class id; the label column must hold integers 0, 1, 2, ... (below {MAX_CLASSES}); choose it with --label-column",
                path.display(),
                i + 1 + header_rows
            )
            .into());
        }
        out.push(v as u32);
    }
    Ok(Array1::from(out))
}

fn load_csv_dataset(path: &Path, choice: &CsvChoice, seed: u64) -> CliResult<Data> {
    let options = csv_options(path, choice, true)?;
    let data = read_csv(path, &options)?;
    let labels = data.labels.ok_or("internal: no label column read")?;
    let y = class_ids(&labels, path, usize::from(options.has_header))?;
    let x = data.features;
    let num_classes = y.iter().max().map_or(1, |&m| m as usize + 1);
    let split = kerust::preprocessing::train_test_split(&x, &y, CSV_TEST_SIZE, seed, true)
        .or_else(|_| kerust::preprocessing::train_test_split(&x, &y, CSV_TEST_SIZE, seed, false))?;
    let (x_train, x_test, y_train, y_test) = split;
    let title = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Data {
        title,
        x_train: x_train.into_dyn(),
        y_train,
        x_test: x_test.into_dyn(),
        y_test,
        hidden: 64,
        num_classes,
        class_names: numbered(num_classes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_parse() {
        assert_eq!(parse_dataset("mnist"), Ok(DatasetArg::Mnist));
        assert_eq!(parse_dataset("fashion_mnist"), Ok(DatasetArg::FashionMnist));
        assert_eq!(
            parse_dataset("csv:a/b.csv"),
            Ok(DatasetArg::Csv(PathBuf::from("a/b.csv")))
        );
        assert!(parse_dataset("csv:").is_err());
        assert!(parse_dataset("cifar").unwrap_err().contains("csv:PATH"));
    }

    #[test]
    fn columns_parse() {
        let p = Path::new("t.csv");
        assert_eq!(parse_column("2", 5, p).unwrap(), Column::Index(2));
        assert_eq!(parse_column("-1", 5, p).unwrap(), Column::Index(4));
        assert_eq!(parse_column("y", 5, p).unwrap(), Column::Name("y".into()));
        assert!(parse_column("-6", 5, p).is_err());
    }

    #[test]
    fn labels_must_be_class_ids() {
        let p = Path::new("t.csv");
        let ok = class_ids(&ndarray::array![0.0, 2.0, 1.0], p, 1).unwrap();
        assert_eq!(ok, ndarray::array![0u32, 2, 1]);
        let e = class_ids(&ndarray::array![0.0, 1.5], p, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("1.5"), "{e}");
        assert!(class_ids(&ndarray::array![-1.0], p, 0).is_err());
    }
}
