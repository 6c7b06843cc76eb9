//! `kerust`: the Keras Sequential workflow from the shell.
//!
//! `kerust train` trains the "Introduction to Neural Networks" (seed 003) model on
//! Fashion-MNIST, MNIST or the embedded UCI digits; `kerust demo` runs the whole workflow on
//! the embedded digits in seconds, with no files. Errors end the program with one
//! `error: ...` message on stderr and exit code 1.

mod report;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The result of a command; any error is printed as `error: <message>`.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Parser)]
#[command(
    name = "kerust",
    version,
    about = "Train and evaluate Keras-style Sequential models from the shell",
    long_about = "Train and evaluate Keras-style Sequential models from the shell.\n\n\
                  `kerust train` runs the Fashion-MNIST tutorial (Flatten -> Dense 128 relu -> \
                  Dense 10 softmax, adam, 10 epochs); `kerust demo` runs the same workflow on \
                  the embedded UCI digits in seconds, with no files.",
    after_help = "Examples:\n  kerust demo\n  KERUST_DATA=/data kerust train\n  \
                  kerust train --dataset digits --epochs 30 --out runs/digits"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the tutorial model on a dataset, then evaluate it on the test set.
    #[command(
        long_about = "Train the tutorial model on a dataset, then evaluate it on the test set.\n\n\
                      Prints the model summary, Keras's progress output, the test-set \
                      evaluation, the confusion matrix and the classification report, and ends \
                      with `Test accuracy: A` and `Test loss: L`.\n\n\
                      Fashion-MNIST and MNIST are read from --data-dir, else from \
                      $KERUST_DATA/<name>/, $KERUST_DATA/ or ~/.kerust/datasets/<name>/ (the four \
                      IDX .gz files of the original release). The digits are embedded.",
        after_help = "Examples:\n  KERUST_DATA=/data kerust train\n  \
                      kerust train --dataset mnist --data-dir /data/mnist --epochs 5\n  \
                      kerust train --dataset digits --optimizer sgd --learning-rate 0.1 --out runs/sgd"
    )]
    Train(TrainArgs),
    /// Run the whole workflow on the embedded digits in seconds (no files needed).
    #[command(
        long_about = "Run the whole workflow on the embedded UCI digits (1,797 images of 8 x 8 \
                      pixels) in seconds, with no files: model summary, 50 epochs of training \
                      with 10% held out for validation, test-set evaluation, confusion matrix and \
                      classification report."
    )]
    Demo(DemoArgs),
}

/// The datasets `kerust train` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// Zalando's 28 x 28 article images, 10 classes (60,000 train / 10,000 test)
    #[value(alias = "fashion_mnist")]
    FashionMnist,
    /// Handwritten digits, 28 x 28 (60,000 train / 10,000 test)
    Mnist,
    /// The embedded UCI digits, 8 x 8 (1,797 images, split 75% / 25%)
    Digits,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The dataset to train on.
    #[arg(long, value_enum, default_value_t = Dataset::FashionMnist)]
    pub dataset: Dataset,
    /// Number of passes over the training set.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: u32,
    /// Samples per gradient step.
    #[arg(long, value_name = "B", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Optimizer, by Keras name: sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam.
    #[arg(long, value_name = "NAME", default_value = "adam")]
    pub optimizer: String,
    /// Learning rate (default: the optimizer's Keras default, 0.001 for adam).
    #[arg(long, value_name = "F", value_parser = parse_learning_rate)]
    pub learning_rate: Option<f32>,
    /// Fraction of the training samples (the last ones) held out for validation.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub validation_split: f32,
    /// Random seed for the initial weights, shuffling and the digits split.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $RAYON_NUM_THREADS or all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    #[arg(long, value_name = "0|1|2", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub verbose: u8,
    /// Folder holding the dataset's files (directly or in a `<dataset>/` subfolder).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder to write results to (history.csv: one row per epoch); created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Random seed for the initial weights, shuffling and the split.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads (0: all cores; default: $RAYON_NUM_THREADS or all cores).
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
    for tip in lines.filter(|l| l.starts_with("tip:")) {
        line.push_str(&format!(" ({tip})"));
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
        Command::Demo(args) => workflow::demo(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
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
        let e = Cli::try_parse_from(["kerust", "train", "--epoch", "3"]).unwrap_err();
        let line = clap_error_line(&e);
        assert!(line.contains("--epochs"), "{line}");
    }
}
