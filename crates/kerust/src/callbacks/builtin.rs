//! Keras's stock callbacks.

use super::{auto_mode_is_max, Callback, Logs};
use crate::models::Sequential;
use crate::{Error, Result};
use std::io::Write;

/// Which way the monitored quantity should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Decide from the name: accuracies and AUC up, everything else down.
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl std::str::FromStr for Mode {
    type Err = Error;
    /// Keras's names: `"auto"`, `"min"`, `"max"`.
    ///
    /// ```
    /// use kerust::callbacks::Mode;
    /// assert_eq!("max".parse::<Mode>()?, Mode::Max);
    /// assert!("maximum".parse::<Mode>().is_err());
    /// # Ok::<(), kerust::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            _ => Err(Error::unknown("mode", s, &["auto", "min", "max"])),
        }
    }
}

fn resolve_max(mode: Mode, monitor: &str) -> bool {
    match mode {
        Mode::Auto => auto_mode_is_max(monitor),
        Mode::Min => false,
        Mode::Max => true,
    }
}

/// Stops training when a monitored quantity stops improving (Keras's `EarlyStopping`).
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f32,
    patience: usize,
    mode: Mode,
    baseline: Option<f32>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: u8,
    wait: usize,
    best: Option<f32>,
    best_weights: Option<Vec<ndarray::ArrayD<f32>>>,
    /// The epoch (0-based) at which training stopped, if it did.
    pub stopped_epoch: Option<usize>,
    /// The epoch with the best monitored value.
    pub best_epoch: usize,
}

impl EarlyStopping {
    /// Watches `monitor` (Keras's default is `"val_loss"`).
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: 0,
            wait: 0,
            best: None,
            best_weights: None,
            stopped_epoch: None,
            best_epoch: 0,
        }
    }
    /// Smallest change that counts as an improvement.
    pub fn min_delta(mut self, v: f32) -> Self {
        self.min_delta = v.abs();
        self
    }
    /// Epochs without improvement before stopping.
    pub fn patience(mut self, v: usize) -> Self {
        self.patience = v;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// A value the quantity must beat.
    pub fn baseline(mut self, v: f32) -> Self {
        self.baseline = Some(v);
        self
    }
    /// Put back the best epoch's weights at the end.
    pub fn restore_best_weights(mut self, v: bool) -> Self {
        self.restore_best_weights = v;
        self
    }
    /// Epochs to wait before monitoring starts.
    pub fn start_from_epoch(mut self, v: usize) -> Self {
        self.start_from_epoch = v;
        self
    }
    /// Print a line when stopping.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }

    fn improves(&self, current: f32, reference: Option<f32>) -> bool {
        let Some(r) = reference else { return true };
        if resolve_max(self.mode, &self.monitor) {
            current - self.min_delta > r
        } else {
            current + self.min_delta < r
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Sequential) {
        self.wait = 0;
        self.best = None;
        self.best_weights = None;
        self.stopped_epoch = None;
        self.best_epoch = 0;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Sequential) {
        let Some(current) = logs.get(&self.monitor) else {
            return;
        };
        if epoch < self.start_from_epoch {
            return;
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(model.get_weights());
        }
        self.wait += 1;
        if self.improves(current, self.best) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(model.get_weights());
            }
            if self.baseline.is_none() || self.improves(current, self.baseline) {
                self.wait = 0;
            }
            return;
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            model.stop_training = true;
        }
    }
    fn on_train_end(&mut self, model: &mut Sequential, _logs: &Logs) {
        if let (Some(e), 1..) = (self.stopped_epoch, self.verbose) {
            println!("Epoch {}: early stopping", e + 1);
        }
        if self.restore_best_weights {
            if let Some(w) = self.best_weights.take() {
                if self.verbose > 0 {
                    println!(
                        "Restoring model weights from the end of the best epoch: {}.",
                        self.best_epoch + 1
                    );
                }
                // The weights came from this model, so their shapes match.
                let _ = model.set_weights(&w);
            }
        }
    }
}

/// Lowers the learning rate when a quantity stops improving (Keras's `ReduceLROnPlateau`).
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    monitor: String,
    factor: f32,
    patience: usize,
    mode: Mode,
    min_delta: f32,
    cooldown: usize,
    min_lr: f32,
    verbose: u8,
    wait: usize,
    cooldown_counter: usize,
    best: Option<f32>,
}

impl ReduceLROnPlateau {
    /// Watches `monitor` with Keras's defaults (factor 0.1, patience 10, min_delta 1e-4).
    pub fn new(monitor: &str) -> Self {
        ReduceLROnPlateau {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            verbose: 0,
            wait: 0,
            cooldown_counter: 0,
            best: None,
        }
    }
    /// Multiplier applied to the rate (must be < 1).
    pub fn factor(mut self, v: f32) -> Self {
        self.factor = v;
        self
    }
    /// Epochs without improvement before reducing.
    pub fn patience(mut self, v: usize) -> Self {
        self.patience = v;
        self
    }
    /// Direction of improvement.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Smallest change that counts as an improvement.
    pub fn min_delta(mut self, v: f32) -> Self {
        self.min_delta = v;
        self
    }
    /// Epochs to wait after a reduction.
    pub fn cooldown(mut self, v: usize) -> Self {
        self.cooldown = v;
        self
    }
    /// Lower bound on the rate.
    pub fn min_lr(mut self, v: f32) -> Self {
        self.min_lr = v;
        self
    }
    /// Print a line on each reduction.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _model: &mut Sequential) {
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = None;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Sequential) {
        let Some(current) = logs.get(&self.monitor) else {
            return;
        };
        let max = resolve_max(self.mode, &self.monitor);
        let better = match self.best {
            None => true,
            Some(b) if max => current > b + self.min_delta,
            Some(b) => current < b - self.min_delta,
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if better {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                if let Some(opt) = model.optimizer_mut() {
                    let old = opt.learning_rate_now();
                    if old > self.min_lr {
                        let new = (old * self.factor).max(self.min_lr);
                        opt.set_learning_rate(new);
                        if self.verbose > 0 {
                            println!(
                                "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {new}.",
                                epoch + 1
                            );
                        }
                        self.cooldown_counter = self.cooldown;
                        self.wait = 0;
                    }
                }
            }
        }
    }
}

/// Sets the learning rate at the start of each epoch from `schedule(epoch, lr)`.
pub struct LearningRateScheduler<F: FnMut(usize, f32) -> f32> {
    schedule: F,
    verbose: u8,
}

impl<F: FnMut(usize, f32) -> f32> LearningRateScheduler<F> {
    /// A scheduler calling `schedule(epoch, current_lr)`.
    pub fn new(schedule: F) -> Self {
        LearningRateScheduler {
            schedule,
            verbose: 0,
        }
    }
    /// Print each change.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
}

impl<F: FnMut(usize, f32) -> f32> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {
        if let Some(opt) = model.optimizer_mut() {
            let lr = (self.schedule)(epoch, opt.learning_rate_now());
            opt.set_learning_rate(lr);
            if self.verbose > 0 {
                println!(
                    "\nEpoch {}: LearningRateScheduler setting learning rate to {lr}.",
                    epoch + 1
                );
            }
        }
    }
}

/// Stops training as soon as the loss is NaN or infinite.
#[derive(Debug, Clone, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, model: &mut Sequential) {
        if let Some(l) = logs.get("loss") {
            if !l.is_finite() {
                println!("Batch {batch}: Invalid loss, terminating training");
                model.stop_training = true;
            }
        }
    }
}

type EpochFn<'a> = Box<dyn FnMut(usize, &Logs) + 'a>;
type BatchFn<'a> = Box<dyn FnMut(usize, &Logs) + 'a>;
type EndFn<'a> = Box<dyn FnMut(&Logs) + 'a>;

/// A callback from closures (Keras's `LambdaCallback`).
#[derive(Default)]
pub struct LambdaCallback<'a> {
    /// Called at each epoch's start with the epoch number.
    pub on_epoch_begin: Option<Box<dyn FnMut(usize) + 'a>>,
    /// Called at each epoch's end with the epoch number and logs.
    pub on_epoch_end: Option<EpochFn<'a>>,
    /// Called after each training batch.
    pub on_batch_end: Option<BatchFn<'a>>,
    /// Called when training starts.
    pub on_train_begin: Option<Box<dyn FnMut() + 'a>>,
    /// Called when training ends.
    pub on_train_end: Option<EndFn<'a>>,
}

impl Callback for LambdaCallback<'_> {
    fn on_train_begin(&mut self, _model: &mut Sequential) {
        if let Some(f) = &mut self.on_train_begin {
            f()
        }
    }
    fn on_train_end(&mut self, _model: &mut Sequential, logs: &Logs) {
        if let Some(f) = &mut self.on_train_end {
            f(logs)
        }
    }
    fn on_epoch_begin(&mut self, epoch: usize, _model: &mut Sequential) {
        if let Some(f) = &mut self.on_epoch_begin {
            f(epoch)
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _model: &mut Sequential) {
        if let Some(f) = &mut self.on_epoch_end {
            f(epoch, logs)
        }
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, _model: &mut Sequential) {
        if let Some(f) = &mut self.on_batch_end {
            f(batch, logs)
        }
    }
}

/// Streams epoch results to a CSV file (Keras's `CSVLogger`): `epoch,accuracy,loss,...`.
#[derive(Debug)]
pub struct CSVLogger {
    path: std::path::PathBuf,
    separator: char,
    append: bool,
    file: Option<std::fs::File>,
    keys: Vec<String>,
    /// The first error met while writing, if any (callbacks cannot fail `fit`).
    pub error: Option<Error>,
}

impl CSVLogger {
    /// Logs to `path`, comma-separated, overwriting.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        CSVLogger {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            keys: Vec::new(),
            error: None,
        }
    }
    /// Column separator.
    pub fn separator(mut self, c: char) -> Self {
        self.separator = c;
        self
    }
    /// Append to an existing file instead of overwriting it.
    pub fn append(mut self, v: bool) -> Self {
        self.append = v;
        self
    }

    fn write_row(&mut self, epoch: usize, logs: &Logs) -> Result<()> {
        let sep = self.separator.to_string();
        if self.file.is_none() {
            let existed = self.append && self.path.exists();
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(self.append)
                .truncate(!self.append)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            self.file = Some(f);
            self.keys = logs.iter().map(|(k, _)| k.to_string()).collect();
            if !existed {
                let header = std::iter::once("epoch".to_string())
                    .chain(self.keys.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(&sep);
                let f = self.file.as_mut().expect("just opened");
                writeln!(f, "{header}").map_err(|e| Error::io(&self.path, e))?;
            }
        }
        let row = std::iter::once(epoch.to_string())
            .chain(
                self.keys
                    .iter()
                    .map(|k| logs.get(k).map_or(String::new(), |v| v.to_string())),
            )
            .collect::<Vec<_>>()
            .join(&sep);
        let f = self.file.as_mut().expect("opened above");
        writeln!(f, "{row}")
            .and_then(|_| f.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

impl Callback for CSVLogger {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _model: &mut Sequential) {
        if self.error.is_none() {
            if let Err(e) = self.write_row(epoch, logs) {
                self.error = Some(e);
            }
        }
    }
    fn on_train_end(&mut self, _model: &mut Sequential, _logs: &Logs) {
        self.file = None;
    }
}
