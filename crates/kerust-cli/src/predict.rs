//! `kerust predict`: samples from images, `.npy` arrays or `.csv` rows, through a saved model.

use std::fmt::Write as _;
use std::path::Path;

use kerust::datasets::csv::read_csv;
use kerust::datasets::fashion_mnist;
use ndarray::{ArrayD, Axis, IxDyn};

use crate::commands::{load_model, read_samples_npy};
use crate::data::{csv_options, CsvChoice};
use crate::report::argmax;
use crate::workflow::shape_str;
use crate::{CliResult, OutputFormat, PredictArgs};

/// Samples read from one input file, shaped `(n, *input shape)`, with a label for each.
struct Samples {
    x: ArrayD<f32>,
    labels: Vec<String>,
}

/// `kerust predict`.
pub fn predict(args: &PredictArgs) -> CliResult<()> {
    if let Some(t) = args.threads {
        kerust::set_num_threads(t);
    }
    let mut model = load_model(&args.model)?;
    let input = model
        .input_shape()
        .ok_or_else(|| format!("{} has no input shape", args.model.display()))?
        .to_vec();
    let outputs = model.output_shape().unwrap_or_default();
    let n_outputs = outputs.iter().product::<usize>();
    let names = match &args.class_names {
        Some(spec) => Some(class_names(spec, n_outputs)?),
        None => None,
    };
    let csv = CsvChoice {
        label_column: args.label_column.clone(),
        no_header: args.no_header,
    };
    let mut parts = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        parts.push(read_input(path, &input, args.invert, &csv)?);
    }
    let labels: Vec<String> = parts.iter().flat_map(|p| p.labels.clone()).collect();
    let views: Vec<_> = parts.iter().map(|p| p.x.view()).collect();
    let x = ndarray::concatenate(Axis(0), &views)?;
    let predictions = model.predict(&x, args.batch_size as usize)?;
    let classes: Vec<usize> = predictions.outer_iter().map(argmax).collect();
    match args.format {
        OutputFormat::Json => println!("{}", predictions_json(&predictions, &classes)),
        OutputFormat::Text => {
            for ((label, row), &class) in labels.iter().zip(predictions.outer_iter()).zip(&classes)
            {
                let name = names
                    .as_ref()
                    .and_then(|n| n.get(class))
                    .map_or_else(String::new, |n| format!(" ({n})"));
                let p = row.iter().nth(class).copied().unwrap_or(f32::NAN);
                let all: Vec<String> = row.iter().map(|v| format!("{v:.4}")).collect();
                println!(
                    "{label}: class {class}{name}, probability {p:.4}; probabilities [{}]",
                    all.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// `{"predictions": [[...], ...], "classes": [...]}`, each f32 as its shortest round-trip
/// decimal (non-finite values as `null`).
pub fn predictions_json(predictions: &ArrayD<f32>, classes: &[usize]) -> String {
    let mut out = String::from("{\"predictions\": [");
    for (i, row) in predictions.outer_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('[');
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            if v.is_finite() {
                let _ = write!(out, "{v}");
            } else {
                out.push_str("null");
            }
        }
        out.push(']');
    }
    out.push_str("], \"classes\": [");
    let classes: Vec<String> = classes.iter().map(usize::to_string).collect();
    out.push_str(&classes.join(", "));
    out.push_str("]}");
    out
}

/// The class names of `--class-names`: `fashion-mnist`, `mnist`, or a file of one name a line.
fn class_names(spec: &str, n_outputs: usize) -> CliResult<Vec<String>> {
    let names: Vec<String> = match spec {
        "fashion-mnist" | "fashion_mnist" => fashion_mnist::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "mnist" => (0..10).map(|i| i.to_string()).collect(),
        file => std::fs::read_to_string(file)
            .map_err(|e| {
                format!("--class-names {file}: not fashion-mnist or mnist, and not a readable file: {e}")
            })?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    };
    if names.len() != n_outputs {
        return Err(format!(
            "--class-names {spec} gives {} names, but the model has {n_outputs} outputs",
            names.len()
        )
        .into());
    }
    Ok(names)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn read_input(path: &Path, input: &[usize], invert: bool, csv: &CsvChoice) -> CliResult<Samples> {
    let shown = path.display().to_string();
    let numbered = |n: usize| -> Vec<String> { (0..n).map(|i| format!("{shown}[{i}]")).collect() };
    match extension(path).as_str() {
        "png" | "jpg" | "jpeg" => Ok(Samples {
            x: read_image(path, input, invert)?,
            labels: vec![shown.clone()],
        }),
        "npy" => {
            let a = read_samples_npy(path)?;
            let x = if a.shape() == input {
                a.insert_axis(Axis(0))
            } else if a.ndim() == input.len() + 1 && &a.shape()[1..] == input {
                a
            } else {
                return Err(format!(
                    "{shown} has shape {}; the model takes samples of shape {}, so expected (n, {}) or one sample {}",
                    shape_str(a.shape()),
                    shape_str(input),
                    dims(input),
                    shape_str(input)
                )
                .into());
            };
            let n = x.len_of(Axis(0));
            Ok(Samples {
                x,
                labels: numbered(n),
            })
        }
        "csv" => {
            let options = csv_options(path, csv, false)?;
            let features = read_csv(path, &options)?.features;
            let (n, k) = features.dim();
            let want: usize = input.iter().product();
            if k != want {
                return Err(format!(
                    "{shown} has rows of {k} values; the model takes samples of shape {} ({want} values)",
                    shape_str(input)
                )
                .into());
            }
            let mut shape = vec![n];
            shape.extend_from_slice(input);
            let x = features.into_shape_with_order(IxDyn(&shape))?;
            Ok(Samples {
                x,
                labels: numbered(n),
            })
        }
        other => Err(format!(
            "{shown}: unknown kind of input{}; expected an image (.png, .jpg, .jpeg), a .npy array or a .csv file",
            if other.is_empty() { String::new() } else { format!(" .{other}") }
        )
        .into()),
    }
}

/// `28, 28`.
fn dims(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The height and width of the images a model takes: input `(h, w)`, `(h, w, 1)`, or
/// `(pixels,)` with a square number of pixels.
fn image_size(input: &[usize]) -> CliResult<(usize, usize)> {
    match input {
        [h, w] | [h, w, 1] => Ok((*h, *w)),
        [n] => {
            let s = (*n as f64).sqrt().round() as usize;
            if s * s == *n {
                Ok((s, s))
            } else {
                Err(format!(
                    "the model takes {n} values per sample, not a square image; give a .npy or .csv file instead"
                )
                .into())
            }
        }
        other => Err(format!(
            "the model takes samples of shape {}, not grayscale images (height, width); give a .npy or .csv file instead",
            shape_str(other)
        )
        .into()),
    }
}

/// One image as a sample: grayscale, resized to the model's height x width when it differs,
/// divided by 255 (after `invert`, when asked).
fn read_image(path: &Path, input: &[usize], invert: bool) -> CliResult<ArrayD<f32>> {
    let (h, w) = image_size(input)?;
    let shown = path.display();
    let decoded = image::ImageReader::open(path)
        .map_err(|e| format!("cannot read the image {shown}: {e}"))?
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image {shown}: {e}"))?
        .decode()
        .map_err(|e| format!("cannot decode the image {shown}: {e}"))?;
    let mut gray = decoded.to_luma8();
    let (width, height) = (
        u32::try_from(w).map_err(|_| "the model's input is too wide")?,
        u32::try_from(h).map_err(|_| "the model's input is too high")?,
    );
    if gray.dimensions() != (width, height) {
        gray = image::imageops::resize(&gray, width, height, image::imageops::FilterType::Triangle);
    }
    let pixels: Vec<f32> = gray
        .pixels()
        .map(|p| {
            let v = if invert { 255 - p.0[0] } else { p.0[0] };
            f32::from(v) / 255.0
        })
        .collect();
    let mut shape = vec![1];
    shape.extend_from_slice(input);
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), pixels)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_exact_and_shaped() {
        let p = ndarray::array![[0.1f32, 0.9], [1.0, 1e-30]].into_dyn();
        let s = predictions_json(&p, &[1, 0]);
        assert!(
            s.starts_with("{\"predictions\": [[0.1, 0.9], [1, 0.0000000000"),
            "{s}"
        );
        assert!(s.ends_with("], \"classes\": [1, 0]}"), "{s}");
    }

    #[test]
    fn image_sizes() {
        assert_eq!(image_size(&[28, 28]).unwrap(), (28, 28));
        assert_eq!(image_size(&[8, 6, 1]).unwrap(), (8, 6));
        assert_eq!(image_size(&[64]).unwrap(), (8, 8));
        assert!(image_size(&[65]).is_err());
        assert!(image_size(&[2, 2, 3]).is_err());
    }
}
