//! `kerust`: the Keras Sequential workflow from the shell.
//!
//! `kerust train` trains the "Introduction to Neural Networks" (seed 003) model, or a model
//! given as Keras JSON, on Fashion-MNIST, MNIST, the embedded UCI digits or a CSV file;
//! `kerust evaluate`, `predict`, `summary` and `fit` work on saved `.keras`/`.h5` models;
//! `kerust demo` runs the whole workflow on the embedded digits in seconds, with no files.
//! Errors end the program with one `error: ...` message on stderr and exit code 1.

mod commands;
mod data;
mod predict;
mod report;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::{CsvChoice, Data, DatasetArg};

/// The result of a command; any error is printed as `error: <message>`.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Parser)]
#[command(
    name = "kerust",
    version,
    about = "Train, evaluate and use Keras-style Sequential models from the shell",
    long_about = "Train, evaluate and use Keras-style Sequential models from the shell.\n\n\
                  `kerust train` runs the Fashion-MNIST tutorial (Flatten -> Dense 128 relu -> \
                  Dense 10 softmax, adam, 10 epochs); `kerust demo` runs the same workflow on \
                  the embedded UCI digits in seconds, with no files. `evaluate`, `predict`, \
                  `summary` and `fit` work on models saved by kerust or Keras (.keras, .h5).",
    after_help = "Examples:\n  kerust demo\n  KERUST_DATA=/data kerust train --out runs/fashion\n  \
                  kerust train --dataset digits --epochs 30 --out runs/digits\n  \
                  kerust evaluate runs/fashion/model.keras --dataset fashion-mnist\n  \
                  kerust predict runs/fashion/model.keras shoe.png --class-names fashion-mnist\n  \
                  kerust summary runs/fashion/model.keras\n  \
                  kerust fit model.keras --x x.npy --y y.npy --epochs 2 --out model2.keras"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on a dataset, then evaluate it on the test set.
    #[command(
        long_about = "Train a model on a dataset, then evaluate it on the test set.\n\n\
                      Prints the model summary, Keras's progress output, the test-set \
                      evaluation, the confusion matrix and the classification report, and ends \
                      with `Test accuracy: A` and `Test loss: L`.\n\n\
                      The model is the tutorial's (Flatten -> Dense relu -> Dense softmax, one \
                      output per class; for csv:PATH, Dense 64 relu -> Dense softmax), or the \
                      one in --model: a Keras JSON file as \
                      `model.to_json()` writes it, trained from fresh weights with its compile \
                      config when it has one (--optimizer and --learning-rate override it), else \
                      with --optimizer, sparse_categorical_crossentropy and accuracy.\n\n\
                      Fashion-MNIST and MNIST are read from --data-dir, else from \
                      $KERUST_DATA/<name>/, $KERUST_DATA/ or ~/.kerust/datasets/<name>/ (the four \
                      IDX .gz files of the original release); pixels are scaled to [0, 1]. The \
                      digits are embedded. csv:PATH is your own table: one sample a row, the \
                      features used as they are, the label column (the last one unless \
                      --label-column says otherwise) holding class ids 0, 1, 2, ...; a header \
                      row is expected unless the first row is all numbers or --no-header is \
                      given; 20% of the rows (chosen with --seed) are the test set.",
        after_help = "Examples:\n  KERUST_DATA=/data kerust train\n  \
                      kerust train --dataset mnist --data-dir /data/mnist --epochs 5\n  \
                      kerust train --dataset digits --optimizer sgd --learning-rate 0.1 --out runs/sgd\n  \
                      kerust train --dataset csv:iris.csv --label-column species --epochs 100\n  \
                      kerust train --model my_model.json --dataset mnist --out runs/mine"
    )]
    Train(TrainArgs),
    /// Evaluate a saved model (.keras or .h5) on a dataset's test set.
    #[command(
        long_about = "Evaluate a saved model (.keras or legacy .h5, from kerust or Keras) on a \
                      dataset's test set, prepared as `kerust train` prepares it (pixels scaled \
                      to [0, 1]; for digits and csv:PATH the same split for the same --seed).\n\n\
                      Prints Keras's evaluate line and ends with `Test accuracy: A` and \
                      `Test loss: L`. A model saved without a compile config is evaluated with \
                      sparse_categorical_crossentropy.",
        after_help = "Examples:\n  kerust evaluate runs/fashion/model.keras\n  \
                      kerust evaluate seed003.h5 --dataset fashion-mnist --data-dir /data\n  \
                      kerust evaluate runs/iris/model.keras --dataset csv:iris.csv --label-column species"
    )]
    Evaluate(EvaluateArgs),
    /// Predict the class of images, .npy samples or .csv rows with a saved model.
    #[command(
        long_about = "Predict the class of each sample with a saved model (.keras or .h5).\n\n\
                      Each INPUT is one of:\n  \
                      - a PNG or JPEG image: converted to grayscale, resized (bilinear) to the \
                      model's input height x width when it differs, and scaled to [0, 1] by \
                      dividing by 255, as `kerust train` does with its images. Fashion-MNIST \
                      and MNIST images are light on dark: use --invert for dark on light pictures;\n  \
                      - a .npy array of samples, (n, *input shape), or one sample: uint8 arrays \
                      are divided by 255, other types used as they are;\n  \
                      - a .csv file, one sample a row (header row detected as for `train`), \
                      values used as they are; --label-column drops a column.\n\n\
                      Prints, per sample, the predicted class (with its name when \
                      --class-names is given) and the probabilities. --format json prints \
                      {\"predictions\": [[...], ...], \"classes\": [...]} with every float32 \
                      written exactly (shortest round-trip decimal).",
        after_help = "Examples:\n  kerust predict model.keras shoe.png --class-names fashion-mnist\n  \
                      kerust predict model.keras digit.jpg --invert --class-names mnist\n  \
                      kerust predict model.keras x_test.npy --format json > predictions.json\n  \
                      kerust predict model.keras rows.csv --class-names names.txt"
    )]
    Predict(PredictArgs),
    /// Print a saved model's summary table, as Keras's model.summary().
    #[command(
        long_about = "Print the summary table of a model, as Keras's model.summary(): a saved \
                      model (.keras or .h5) or a Keras JSON architecture (.json).",
        after_help = "Examples:\n  kerust summary runs/fashion/model.keras\n  \
                      kerust summary seed003.h5\n  kerust summary my_model.json"
    )]
    Summary(SummaryArgs),
    /// Continue training a saved model on .npy arrays and save it again.
    #[command(
        long_about = "Continue training a saved model (.keras or .h5, from kerust or Keras) on \
                      .npy arrays, with the optimizer (and its state), loss and metrics of its \
                      compile config, then save it to --out (.keras), atomically. A model saved \
                      without a compile config cannot be fitted.\n\n\
                      --x holds the samples, (n, *input shape): uint8 arrays are divided by 255 \
                      (image pixels, as `kerust train` does), other types used as they are. \
                      --y holds the n targets: class ids for sparse losses. The same command \
                      with the same --seed and --threads 1 gives the same weights, bit for bit.",
        after_help = "Examples:\n  kerust fit model.keras --x x_new.npy --y y_new.npy --out model2.keras\n  \
                      kerust fit seed003.h5 --x x.npy --y y.npy --epochs 3 --batch-size 64 \\\n    \
                      --validation-split 0.1 --seed 7 --out tuned.keras"
    )]
    Fit(FitArgs),
    /// Run the whole workflow on the embedded digits in seconds (no files needed).
    #[command(
        long_about = "Run the whole workflow on the embedded UCI digits (1,797 images of 8 x 8 \
                      pixels) in seconds, with no files: model summary, 50 epochs of training \
                      with 10% held out for validation, test-set evaluation, confusion matrix and \
                      classification report.",
        after_help = "Examples:\n  kerust demo\n  kerust demo --seed 7\n  \
                      kerust demo --threads 1 --seed 0"
    )]
    Demo(DemoArgs),
}

/// Where the data come from: `--dataset` and the options of its files.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The dataset: fashion-mnist (Zalando's 28 x 28 articles, 10 classes), mnist (28 x 28
    /// handwritten digits), digits (the embedded 8 x 8 UCI digits, split 75% / 25%) or
    /// csv:PATH (your own table; see --help).
    #[arg(long, value_name = "NAME", default_value = "fashion-mnist", value_parser = data::parse_dataset)]
    pub dataset: DatasetArg,
    /// Folder holding the dataset's files (directly or in a `<dataset>/` subfolder).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// csv: the label column, by header name or 0-based index (-1: the last) [default: the last].
    #[arg(long, value_name = "NAME|INDEX", allow_hyphen_values = true)]
    pub label_column: Option<String>,
    /// csv: the first row is data, not column names.
    #[arg(long)]
    pub no_header: bool,
}

impl DataArgs {
    /// Loads the dataset (splitting the digits and CSV files with `seed`).
    pub fn load(&self, seed: u64) -> CliResult<Data> {
        if self.data_dir.is_some()
            && matches!(self.dataset, DatasetArg::Digits | DatasetArg::Csv(_))
        {
            eprintln!("note: --data-dir is not used with --dataset digits or csv:PATH");
        }
        if !matches!(self.dataset, DatasetArg::Csv(_))
            && (self.label_column.is_some() || self.no_header)
        {
            eprintln!("note: --label-column and --no-header are only used with --dataset csv:PATH");
        }
        data::load(
            &self.dataset,
            self.data_dir.as_deref(),
            &CsvChoice {
                label_column: self.label_column.clone(),
                no_header: self.no_header,
            },
            seed,
        )
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Keras JSON of the model to train (as model.to_json() writes), instead of the tutorial's.
    #[arg(long, value_name = "FILE.json")]
    pub model: Option<PathBuf>,
    /// Number of passes over the training set.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Samples per gradient step.
    #[arg(long, value_name = "B", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Optimizer, by Keras name: sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam
    /// [default: adam, or the --model's compile config].
    #[arg(long, value_name = "NAME")]
    pub optimizer: Option<String>,
    /// Learning rate (default: the optimizer's, 0.001 for adam).
    #[arg(long, value_name = "F", value_parser = parse_learning_rate)]
    pub learning_rate: Option<f32>,
    /// Fraction of the training samples (the last ones) held out for validation.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub validation_split: f32,
    /// Random seed for the initial weights, shuffling and the digits/csv split.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $KERUST_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    #[arg(long, value_name = "0|1|2", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub verbose: u8,
    /// Folder to write results to (model.keras, history.csv and plots); created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The saved model: a .keras file or a legacy .h5 file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Samples per evaluation step.
    #[arg(long, value_name = "B", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Random seed of the digits/csv split (the one `kerust train` used).
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $KERUST_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Progress output: 0 silent, 1 or 2 Keras's evaluate line.
    #[arg(long, value_name = "0|1|2", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub verbose: u8,
}

/// How `kerust predict` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per sample: class, name, probability, all probabilities (4 decimals)
    Text,
    /// {"predictions": [[...], ...], "classes": [...]}, every float32 exact
    Json,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The saved model: a .keras file or a legacy .h5 file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Images (.png, .jpg, .jpeg), .npy arrays or .csv files of samples.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Class names to print: fashion-mnist, mnist, or a text file with one name a line.
    #[arg(long, value_name = "fashion-mnist|mnist|FILE")]
    pub class_names: Option<String>,
    /// Images: invert the gray levels (for dark drawings on a light background).
    #[arg(long)]
    pub invert: bool,
    /// csv: a column to drop (the labels), by header name or 0-based index (-1: the last).
    #[arg(long, value_name = "NAME|INDEX", allow_hyphen_values = true)]
    pub label_column: Option<String>,
    /// csv: the first row is data, not column names.
    #[arg(long)]
    pub no_header: bool,
    /// Samples per prediction step.
    #[arg(long, value_name = "B", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Worker threads (0: all cores; default: $KERUST_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The model: a .keras file, a legacy .h5 file, or a Keras JSON architecture (.json).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// The saved model to continue training: a .keras file or a legacy .h5 file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// The samples, a .npy array of shape (n, *the model's input shape).
    #[arg(long, value_name = "X.npy")]
    pub x: PathBuf,
    /// The targets, a .npy array of n class ids (or of shape (n, outputs)).
    #[arg(long, value_name = "Y.npy")]
    pub y: PathBuf,
    /// Where to save the trained model (a .keras file; replaced atomically).
    #[arg(long, value_name = "OUT.keras")]
    pub out: PathBuf,
    /// Number of passes over the samples.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Samples per gradient step.
    #[arg(long, value_name = "B", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Keep the samples in their order (no reshuffling each epoch).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Fraction of the samples (the last ones) held out for validation.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub validation_split: f32,
    /// Random seed for shuffling (and dropout).
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $KERUST_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    #[arg(long, value_name = "0|1|2", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Random seed for the initial weights, shuffling and the split.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $KERUST_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
}

fn parse_learning_rate(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not a positive finite number"))
    }
}

/// Prints a panic as one `error:` line and exits with code 1, instead of a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        let msg = msg.replace('\n', " ");
        // `kerust train | head`: the reader went away; stop quietly, as other tools do.
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        match info.location() {
            Some(l) => eprintln!(
                "error: internal error: {msg} (at {}:{}); please report this",
                l.file(),
                l.line()
            ),
            None => eprintln!("error: internal error: {msg}; please report this"),
        }
        std::process::exit(1);
    }));
}

/// Turns a clap error into one line: `error: ...`, with clap's tip appended when there is one.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("error: invalid arguments");
    let mut line = if first.starts_with("error:") {
        first.to_string()
    } else {
        format!("error: {first}")
    };
    for extra in lines.filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")) {
        line.push_str(&format!(" ({})", extra.trim_matches(['[', ']'])));
    }
    line.push_str("; see --help");
    line
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    // Printing help can only fail on a closed stdout; nothing to report then.
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprintln!(
                        "error: no command given; try `kerust demo`, `kerust train` or `kerust --help`"
                    );
                    ExitCode::from(1)
                }
                _ => {
                    eprintln!("{}", clap_error_line(&e));
                    ExitCode::from(1)
                }
            };
        }
    };
    let result = match cli.command {
        Command::Train(args) => workflow::train(&args),
        Command::Evaluate(args) => commands::evaluate(&args),
        Command::Predict(args) => predict::predict(&args),
        Command::Summary(args) => commands::summary(&args),
        Command::Fit(args) => commands::fit(&args),
        Command::Demo(args) => workflow::demo(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the message holds.
            let msg = e.to_string();
            let msg: Vec<&str> = msg
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("error: {}", msg.join("; "));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn learning_rate_must_be_positive() {
        assert_eq!(parse_learning_rate("0.01"), Ok(0.01));
        assert!(parse_learning_rate("0").is_err());
        assert!(parse_learning_rate("-1").is_err());
        assert!(parse_learning_rate("nan").is_err());
        assert!(parse_learning_rate("x").is_err());
    }

    #[test]
    fn clap_errors_become_one_line() {
        let e = Cli::try_parse_from(["kerust", "train", "--epochs", "abc"]).unwrap_err();
        let line = clap_error_line(&e);
        assert!(line.starts_with("error: "), "{line}");
        assert!(line.contains("--epochs"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        let e =
            Cli::try_parse_from(["kerust", "predict", "m", "x", "--format", "yaml"]).unwrap_err();
        let line = clap_error_line(&e);
        assert!(line.contains("possible values: text, json"), "{line}");
        let e = Cli::try_parse_from(["kerust", "train", "--epoch", "3"]).unwrap_err();
        let line = clap_error_line(&e);
        assert!(line.contains("--epochs"), "{line}");
    }
}
