//! `kerust evaluate`, `kerust summary` and `kerust fit`: commands on saved models.

use std::path::Path;

use kerust::npy::{read_npy, NpyArray};
use kerust::prelude::*;
use ndarray::{ArrayD, Axis};

use crate::report::argmax;
use crate::workflow::{fit_to_data, shape_str, DEFAULT_LOSS};
use crate::{CliResult, EvaluateArgs, FitArgs, SummaryArgs};

/// Loads a model saved by kerust or Keras (`.keras` or legacy `.h5`), with a message naming
/// the file on failure.
pub fn load_model(path: &Path) -> CliResult<Sequential> {
    kerust::models::load_model(path).map_err(|e| match e {
        kerust::Error::Io { source, .. } => {
            format!("cannot read the model file {}: {source}", path.display()).into()
        }
        e => format!("cannot load the model: {e}").into(),
    })
}

/// Reads a `.npy` file of samples: uint8 arrays are taken as pixels and divided by 255, other
/// types converted to f32 as they are.
pub fn read_samples_npy(path: &Path) -> CliResult<ArrayD<f32>> {
    let array = read_npy(path).map_err(|e| match e {
        kerust::Error::Io { source, .. } => {
            format!("cannot read {}: {source}", path.display())
        }
        e => e.to_string(),
    })?;
    Ok(match array {
        NpyArray::U8(a) => a.mapv(|v| f32::from(v) / 255.0),
        other => other.into_f32(),
    })
}

/// `101,770`.
fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `kerust evaluate`.
pub fn evaluate(args: &EvaluateArgs) -> CliResult<()> {
    if let Some(t) = args.threads {
        kerust::set_num_threads(t);
    }
    let model = load_model(&args.model)?;
    let data = args.data.load(args.seed)?;
    let what = format!("the model in {}", args.model.display());
    let mut model = fit_to_data(model, &data, &what)?;
    if model.optimizer().is_none() {
        eprintln!(
            "note: {} has no compile config; evaluating with {DEFAULT_LOSS} and accuracy",
            args.model.display()
        );
        model.compile("adam", DEFAULT_LOSS, ["accuracy"])?;
    }
    println!("{}", data.describe());
    let batch_size = args.batch_size as usize;
    let evaluation = model.evaluate(&data.x_test, &data.y_test, batch_size, args.verbose.min(1))?;
    let accuracy = match evaluation.get("accuracy") {
        Some(a) => a,
        None => {
            let predictions = model.predict(&data.x_test, batch_size)?;
            let right = predictions
                .outer_iter()
                .zip(&data.y_test)
                .filter(|(row, &y)| argmax(row.view()) == y as usize)
                .count();
            right as f32 / data.y_test.len() as f32
        }
    };
    println!("Test accuracy: {accuracy:.4}");
    println!("Test loss: {:.4}", evaluation.loss());
    Ok(())
}

/// `kerust summary`.
pub fn summary(args: &SummaryArgs) -> CliResult<()> {
    let path = &args.model;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let model = if is_json {
        let json = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the model JSON {}: {e}", path.display()))?;
        kerust::models::model_from_json(&json).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        load_model(path)?
    };
    print!("{}", model.summary_string());
    Ok(())
}

/// `kerust fit`.
pub fn fit(args: &FitArgs) -> CliResult<()> {
    if let Some(t) = args.threads {
        kerust::set_num_threads(t);
    }
    if !(0.0..1.0).contains(&args.validation_split) {
        return Err(format!(
            "invalid value {} for --validation-split: expected a fraction in [0, 1)",
            args.validation_split
        )
        .into());
    }
    let out_ok = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("keras"));
    if !out_ok {
        return Err(format!(
            "--out {}: the trained model is saved in Keras's .keras format; give a path ending in .keras",
            args.out.display()
        )
        .into());
    }
    // The model's generator (shuffling, dropout) is drawn from the seed.
    kerust::set_random_seed(args.seed);
    let mut model = load_model(&args.model)?;
    if model.optimizer().is_none() {
        return Err(format!(
            "{} has no compile config (no optimizer, loss or metrics): it was saved before \
             model.compile, so kerust cannot know how to train it; compile it in Keras and save it again",
            args.model.display()
        )
        .into());
    }
    let x = read_samples_npy(&args.x)?;
    let y = read_npy(&args.y)
        .map_err(|e| match e {
            kerust::Error::Io { source, .. } => {
                format!("cannot read {}: {source}", args.y.display())
            }
            e => e.to_string(),
        })?
        .into_f32();
    let input = model.input_shape().unwrap_or_default().to_vec();
    if x.ndim() == 0 || x.shape()[1..] != input[..] {
        return Err(format!(
            "--x {} has shape {}; the model takes samples of shape {}, so expected (n, {})",
            args.x.display(),
            shape_str(x.shape()),
            shape_str(&input),
            input
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let n = x.len_of(Axis(0));
    if y.ndim() == 0 || y.len_of(Axis(0)) != n {
        return Err(format!(
            "--y {} has shape {}; expected {n} targets, one per sample of --x {}",
            args.y.display(),
            shape_str(y.shape()),
            args.x.display()
        )
        .into());
    }
    let optimizer = model.optimizer().map(|o| o.class_name()).unwrap_or("?");
    println!(
        "Continuing to train {} ({} parameters, optimizer {optimizer}) on {n} samples",
        args.model.display(),
        with_commas(model.count_params())
    );
    let history = model.fit(
        &x,
        &y,
        FitOptions {
            epochs: args.epochs as usize,
            batch_size: args.batch_size as usize,
            verbose: args.verbose,
            shuffle: !args.no_shuffle,
            validation_split: args.validation_split,
            ..Default::default()
        },
    )?;
    model
        .save(&args.out)
        .map_err(|e| format!("cannot save the model: {e}"))?;
    if let Some(loss) = history.history.get("loss").and_then(|l| l.last()) {
        println!("Final loss: {loss:.4}");
    }
    println!("Saved the model to {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_have_commas() {
        assert_eq!(super::with_commas(101_770), "101,770");
        assert_eq!(super::with_commas(650), "650");
        assert_eq!(super::with_commas(1_000_000), "1,000,000");
    }
}
