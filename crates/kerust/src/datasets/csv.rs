//! Loading the user's own tabular data from CSV files.
//!
//! Every selected cell must be a number (anything Rust's `f32` parser accepts, surrounding
//! spaces allowed). Rows must all have as many fields as the first row (or the header); a
//! ragged row or a non-numeric cell is an [`Error::Format`] naming the file, the line and the
//! column (counted from 1, as in an editor or a spreadsheet; [`Column::Index`] counts from 0,
//! as in pandas).
//!
//! ```no_run
//! use kerust::datasets::csv::{load_csv, CsvOptions};
//!
//! // iris.csv: sepal_length,sepal_width,petal_length,petal_width,species
//! let (x, y) = load_csv(
//!     "iris.csv",
//!     &CsvOptions {
//!         label_column: Some("species".into()),
//!         ..Default::default()
//!     },
//! )?;
//! let y = y.unwrap(); // the label column, as f32
//! assert_eq!(x.ncols(), 4);
//! # Ok::<(), kerust::Error>(())
//! ```

use std::fmt;
use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2};

use crate::{Error, Result};

/// A column, by 0-based position or by header name.
///
/// # Examples
///
/// ```
/// use kerust::datasets::csv::Column;
///
/// assert_eq!(Column::from(3), Column::Index(3));
/// assert_eq!(Column::from("label"), Column::Name("label".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// The 0-based position of the column.
    Index(usize),
    /// The name of the column in the header row (needs [`CsvOptions::has_header`]).
    Name(String),
}

impl From<usize> for Column {
    fn from(i: usize) -> Self {
        Column::Index(i)
    }
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Column::Name(name.to_string())
    }
}

impl From<String> for Column {
    fn from(name: String) -> Self {
        Column::Name(name)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Index(i) => write!(f, "index {i}"),
            Column::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// How to read a CSV file: header or not, which columns are features and which is the label.
///
/// The default: a header row, `,` as delimiter, no label column, every column a feature.
///
/// # Examples
///
/// ```
/// use kerust::datasets::csv::{Column, CsvOptions};
///
/// // No header; the last of 65 columns is the label; the others are features.
/// let options = CsvOptions {
///     has_header: false,
///     label_column: Some(Column::Index(64)),
///     ..Default::default()
/// };
/// assert_eq!(options.delimiter, b',');
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first row holds column names.
    pub has_header: bool,
    /// The column of the labels (the `y`), if any.
    pub label_column: Option<Column>,
    /// The feature columns, in this order; `None`: every column except the label column.
    pub feature_columns: Option<Vec<Column>>,
    /// The field delimiter (`b','`, `b';'`, `b'\t'`...).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            label_column: None,
            feature_columns: None,
            delimiter: b',',
        }
    }
}

/// A CSV file read by [`read_csv`]: the features, the labels, and the column names.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CsvData {
    /// One row per data row, one column per feature column: `(rows, features)`.
    pub features: Array2<f32>,
    /// The label column, when [`CsvOptions::label_column`] is set.
    pub labels: Option<Array1<f32>>,
    /// The header names of the feature columns, in order, when the file has a header.
    pub feature_names: Option<Vec<String>>,
    /// The header name of the label column, when the file has a header and a label is chosen.
    pub label_name: Option<String>,
}

/// Loads a CSV file as `(x, y)`: the feature columns as `(rows, features)` and the label
/// column, if one is chosen. [`read_csv`] also returns the column names.
///
/// # Errors
///
/// As [`read_csv`].
///
/// # Examples
///
/// ```
/// use kerust::datasets::csv::{load_csv, CsvOptions};
///
/// let path = std::env::temp_dir().join(format!("kerust-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "a,b,label\n1,2,0\n3,4.5,1\n")?;
/// let (x, y) = load_csv(&path, &CsvOptions { label_column: Some("label".into()), ..Default::default() })?;
/// assert_eq!(x, ndarray::array![[1.0, 2.0], [3.0, 4.5]]);
/// assert_eq!(y.unwrap(), ndarray::array![0.0, 1.0]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_csv(
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<(Array2<f32>, Option<Array1<f32>>)> {
    let data = read_csv(path, options)?;
    Ok((data.features, data.labels))
}

/// Reads a CSV file into features, labels and column names.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file, the line and
/// the column for a ragged row, a non-numeric cell, text that is not UTF-8, or a file without
/// data rows; [`Error::InvalidArgument`] for a column that does not exist (or a name without a
/// header) or a selection with no feature column.
///
/// # Examples
///
/// ```
/// use kerust::datasets::csv::{read_csv, CsvOptions};
///
/// let path = std::env::temp_dir().join(format!("kerust-doc-read-{}.csv", std::process::id()));
/// std::fs::write(&path, "x1;x2;y\n1;2;0\n3;oops;1\n")?;
/// let options = CsvOptions { delimiter: b';', label_column: Some(2.into()), ..Default::default() };
/// let err = read_csv(&path, &options).unwrap_err().to_string();
/// assert!(err.contains("line 3, column 2 ('x2')"), "{err}");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse_csv(file, &path.display().to_string(), options).map_err(|e| match e {
        Error::Io { source, .. } => Error::io(path, source),
        e => e,
    })
}

/// Parses CSV text from `reader` as [`read_csv`] does; `source` names it in error messages.
///
/// # Errors
///
/// As [`read_csv`].
///
/// # Examples
///
/// ```
/// use kerust::datasets::csv::{parse_csv, CsvOptions};
///
/// let data = parse_csv(&b"1,2,3\n4,5,6\n"[..], "inline", &CsvOptions {
///     has_header: false,
///     feature_columns: Some(vec![2.into(), 0.into()]),
///     ..Default::default()
/// })?;
/// assert_eq!(data.features, ndarray::array![[3.0, 1.0], [6.0, 4.0]]);
/// assert!(data.labels.is_none() && data.feature_names.is_none());
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn parse_csv(reader: impl Read, source: &str, options: &CsvOptions) -> Result<CsvData> {
    let format_err = |reason: String| Error::Format {
        format: "CSV",
        path: source.to_string(),
        reason,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .trim(::csv::Trim::All)
        .from_reader(reader);
    let mut records = reader.records();
    let mut next = || -> Result<Option<::csv::StringRecord>> {
        match records.next() {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(e)) => Err(csv_error(e, source)),
        }
    };

    let first = next()?.ok_or_else(|| format_err("the file is empty".to_string()))?;
    let ncols = first.len();
    let header: Option<Vec<String>> = options
        .has_header
        .then(|| first.iter().map(str::to_string).collect());

    let resolve = |col: &Column, what: &'static str| -> Result<usize> {
        match col {
            Column::Index(i) if *i < ncols => Ok(*i),
            Column::Index(i) => Err(Error::arg(
                what,
                format!(
                    "column index {i} is out of range: {source} has {ncols} columns (0..{ncols})"
                ),
            )),
            Column::Name(name) => match &header {
                None => Err(Error::arg(
                    what,
                    format!("column '{name}' is given by name, but has_header is false"),
                )),
                Some(h) => h.iter().position(|c| c == name).ok_or_else(|| {
                    Error::arg(
                        what,
                        format!(
                            "no column '{name}' in the header of {source}; its columns are: {}",
                            h.join(", ")
                        ),
                    )
                }),
            },
        }
    };
    let label = options
        .label_column
        .as_ref()
        .map(|c| resolve(c, "label_column"))
        .transpose()?;
    let features: Vec<usize> = match &options.feature_columns {
        Some(cols) => cols
            .iter()
            .map(|c| resolve(c, "feature_columns"))
            .collect::<Result<_>>()?,
        None => (0..ncols).filter(|&j| Some(j) != label).collect(),
    };
    if features.is_empty() {
        return Err(Error::arg(
            "feature_columns",
            format!("no feature column selected ({source} has {ncols} columns)"),
        ));
    }

    let name_of = |j: usize| match &header {
        Some(h) => format!("column {} ('{}')", j + 1, h[j]),
        None => format!("column {}", j + 1),
    };
    let mut values: Vec<f32> = Vec::new();
    let mut labels: Vec<f32> = Vec::new();
    let mut rows = 0usize;
    let mut record = if header.is_some() {
        next()?
    } else {
        Some(first)
    };
    while let Some(r) = record {
        let line = r.position().map_or(0, |p| p.line());
        if r.len() != ncols {
            let reference = if header.is_some() {
                "the header"
            } else {
                "the first row"
            };
            return Err(format_err(format!(
                "line {line}: {} fields, but {reference} has {ncols}",
                r.len()
            )));
        }
        let cell = |j: usize| -> Result<f32> {
            let text = &r[j];
            text.parse::<f32>().map_err(|_| {
                format_err(format!(
                    "line {line}, {}: '{text}' is not a number",
                    name_of(j)
                ))
            })
        };
        for &j in &features {
            values.push(cell(j)?);
        }
        if let Some(j) = label {
            labels.push(cell(j)?);
        }
        rows += 1;
        record = next()?;
    }
    if rows == 0 {
        return Err(format_err("no data rows".to_string()));
    }
    let features_array = Array2::from_shape_vec((rows, features.len()), values)
        .map_err(|e| format_err(e.to_string()))?;
    Ok(CsvData {
        features: features_array,
        labels: label.map(|_| Array1::from_vec(labels)),
        feature_names: header
            .as_ref()
            .map(|h| features.iter().map(|&j| h[j].clone()).collect()),
        label_name: header.as_ref().and_then(|h| label.map(|j| h[j].clone())),
    })
}

/// Converts an error of the `csv` crate (I/O or invalid UTF-8) into kerust's.
fn csv_error(e: ::csv::Error, source: &str) -> Error {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => Error::io(source, io),
        ::csv::ErrorKind::Utf8 { pos, err } => Error::Format {
            format: "CSV",
            path: source.to_string(),
            reason: format!(
                "line {}, column {}: the text is not valid UTF-8",
                pos.as_ref().map_or(line.unwrap_or(0), |p| p.line()),
                err.field() + 1
            ),
        },
        other => Error::Format {
            format: "CSV",
            path: source.to_string(),
            reason: match line {
                Some(l) => format!("line {l}: {other:?}"),
                None => format!("{other:?}"),
            },
        },
    }
}
