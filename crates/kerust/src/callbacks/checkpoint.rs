//! `ModelCheckpoint` and `BackupAndRestore`: saving during `fit`.

use super::builtin::Mode;
use super::pyformat::{self, Value};
use super::{Callback, Logs};
use crate::models::Sequential;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// How often a checkpoint callback saves: Keras's `save_freq`.
///
/// ```
/// use kerust::callbacks::{ModelCheckpoint, SaveFreq};
/// let every_epoch = ModelCheckpoint::new("m.keras").save_freq(SaveFreq::Epoch);
/// let every_100_batches = ModelCheckpoint::new("m-{epoch}-{batch}.keras").save_freq(100);
/// assert!(every_100_batches.validate().is_ok());
/// assert!(ModelCheckpoint::new("m.keras").save_freq(0).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveFreq {
    /// At the end of every epoch (`"epoch"`, the default).
    Epoch,
    /// Every this many training batches (an integer `save_freq`).
    Batches(usize),
}

impl From<usize> for SaveFreq {
    fn from(n: usize) -> Self {
        SaveFreq::Batches(n)
    }
}

/// Keras's batch counting for an integer `save_freq`: true when this batch ends a period.
#[derive(Clone, Debug, Default)]
struct BatchCounter {
    seen_since_save: usize,
    last_batch: usize,
}

impl BatchCounter {
    fn tick(&mut self, batch: usize, every: usize) -> bool {
        let add = if batch <= self.last_batch {
            batch + 1 // a new epoch
        } else {
            batch - self.last_batch
        };
        self.seen_since_save += add;
        self.last_batch = batch;
        if self.seen_since_save >= every {
            self.seen_since_save = 0;
            return true;
        }
        false
    }
}

fn ends_with(path: &str, suffix: &str) -> bool {
    path.ends_with(suffix)
}

/// Python's `f"{x:.5f}"` (`inf`, `nan` as Python writes them).
fn f5(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:.5}")
    }
}

/// Saves the model (or its weights) during `fit`: Keras's `ModelCheckpoint`.
///
/// The file name may hold Python format fields, filled with the 1-based `epoch`, the
/// 1-based `batch` (with an integer [`save_freq`](Self::save_freq)) and any log value:
/// `"ckpt/{epoch:02d}-{val_loss:.2f}.keras"`. Every save is atomic; folders are created.
///
/// Errors stop `fit` with that error (as Keras raises): a file name that does not end in
/// `.keras` (or `.weights.h5` with [`save_weights_only`](Self::save_weights_only)), a field
/// naming no log value, a save that fails.
///
/// ```
/// use kerust::callbacks::ModelCheckpoint;
/// use kerust::prelude::*;
/// let dir = std::env::temp_dir().join(format!("kerust-ckpt-doc-{}", std::process::id()));
/// let mut ckpt = ModelCheckpoint::new(dir.join("m-{epoch:02d}-{loss:.3f}.keras").to_str().unwrap())
///     .monitor("loss")
///     .save_best_only(true);
/// let mut model = Sequential::new(vec![
///     Dense::new(1).input_dim(2).kernel_initializer("zeros").into(),
/// ])?;
/// model.compile("sgd", "mse", ())?;
/// let x = ndarray::Array2::<f32>::ones((8, 2));
/// let y = ndarray::Array1::<f32>::ones(8); // loss 1.0 in epoch 1, lower in epoch 2
/// model.fit(&x, &y, FitOptions { epochs: 2, verbose: 0, callbacks: vec![&mut ckpt], ..Default::default() })?;
/// assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2); // the loss improved twice
/// assert!(ckpt.best().unwrap() < 1.0);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: String,
    verbose: u8,
    save_best_only: bool,
    save_weights_only: bool,
    mode: Mode,
    save_freq: SaveFreq,
    initial_value_threshold: Option<f64>,
    best: Option<f64>,
    max: Option<bool>,
    epoch: usize,
    counter: BatchCounter,
    saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves to `filepath` (a template, see above) with Keras's defaults: monitor
    /// `val_loss`, mode auto, every epoch, the whole model.
    pub fn new(filepath: &str) -> Self {
        ModelCheckpoint {
            filepath: filepath.to_string(),
            monitor: "val_loss".into(),
            verbose: 0,
            save_best_only: false,
            save_weights_only: false,
            mode: Mode::Auto,
            save_freq: SaveFreq::Epoch,
            initial_value_threshold: None,
            best: None,
            max: None,
            epoch: 0,
            counter: BatchCounter::default(),
            saved: Vec::new(),
        }
    }
    /// The log value that decides "best" (`val_loss`; `val_` prefixes validation figures).
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor = name.to_string();
        self
    }
    /// 1: print a line at each decision, as Keras does.
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    /// Save only when the monitored value improves on the best so far.
    pub fn save_best_only(mut self, v: bool) -> Self {
        self.save_best_only = v;
        self
    }
    /// Save the weights (and optimizer state) alone, to a `.weights.h5` path.
    pub fn save_weights_only(mut self, v: bool) -> Self {
        self.save_weights_only = v;
        self
    }
    /// Whether higher or lower is better. Auto: lower for losses and error metrics,
    /// higher for accuracies, AUC, precision and recall; other names are an error.
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Every epoch ([`SaveFreq::Epoch`]) or every `n` batches (`SaveFreq::Batches(n)` or `n`).
    pub fn save_freq(mut self, f: impl Into<SaveFreq>) -> Self {
        self.save_freq = f.into();
        self
    }
    /// The value to beat before the first save (with `save_best_only`).
    pub fn initial_value_threshold(mut self, v: f64) -> Self {
        self.initial_value_threshold = Some(v);
        self
    }
    /// The best monitored value so far.
    pub fn best(&self) -> Option<f64> {
        self.best.filter(|b| b.is_finite())
    }
    /// The files written, in order (a path appears again when overwritten).
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// Checks the options as Keras's constructor does.
    pub fn validate(&self) -> Result<()> {
        if let SaveFreq::Batches(0) = self.save_freq {
            return Err(Error::arg(
                "save_freq",
                "Unrecognized save_freq: 0. Expected save_freq are 'epoch' or a positive integer",
            ));
        }
        if self.save_weights_only {
            if !ends_with(&self.filepath, ".weights.h5") {
                return Err(Error::arg(
                    "filepath",
                    format!(
                        "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in `.weights.h5` (Keras weights format). Received: filepath={}",
                        self.filepath
                    ),
                ));
            }
        } else if ends_with(&self.filepath, ".h5") {
            return Err(Error::arg(
                "filepath",
                format!(
                    "writing the legacy HDF5 full-model format is not supported; use a path ending in `.keras`. Received: filepath={}",
                    self.filepath
                ),
            ));
        } else if !ends_with(&self.filepath, ".keras") {
            return Err(Error::arg(
                "filepath",
                format!(
                    "The filepath provided must end in `.keras` (Keras model format). Received: filepath={}",
                    self.filepath
                ),
            ));
        }
        Ok(())
    }

    /// Whether higher is better, resolved as Keras's `MonitorCallback` does.
    fn resolve_max(&self, model: &Sequential) -> Result<bool> {
        match self.mode {
            Mode::Min => return Ok(false),
            Mode::Max => return Ok(true),
            Mode::Auto => {}
        }
        let name = self.monitor.strip_prefix("val_").unwrap_or(&self.monitor);
        if name == "loss" {
            return Ok(false);
        }
        let known = model
            .compiled
            .as_ref()
            .is_some_and(|c| c.metrics.iter().any(|m| m.name() == name));
        if known {
            return Ok(super::auto_mode_is_max(name));
        }
        Err(Error::arg(
            "monitor",
            format!(
                "ModelCheckpoint callback received monitor={}, but Keras isn't able to automatically determine whether that metric should be maximized or minimized. Pass `mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` in order to use the lowest value.",
                self.monitor
            ),
        ))
    }

    fn file_path(&self, epoch: usize, batch: Option<usize>, logs: &Logs) -> Result<String> {
        pyformat::format(&self.filepath, |k| match k {
            "epoch" => Some(Value::Int(epoch as i64 + 1)),
            "batch" if batch.is_some() && logs.get("batch").is_none() => {
                batch.map(|b| Value::Int(b as i64 + 1))
            }
            k => logs.get(k).map(|v| Value::Float(v as f64)),
        })
        .map_err(|reason| {
            Error::arg(
                "filepath",
                format!(
                    "Failed to format this callback filepath: \"{}\". Reason: {reason}",
                    self.filepath
                ),
            )
        })
    }

    /// Whether to save now, and the line Keras prints about it (with `verbose`).
    fn should_save(&mut self, epoch: usize, logs: &Logs, filepath: &str) -> (bool, String) {
        let e = epoch + 1;
        if !self.save_best_only {
            return (true, format!("\nEpoch {e}: saving model to {filepath}"));
        }
        let Some(current) = logs.get(&self.monitor) else {
            // Keras 3 warns and saves anyway.
            eprintln!(
                "UserWarning: Can save best model only with {} available.",
                self.monitor
            );
            return (true, String::new());
        };
        let current = current as f64;
        let best_str = self.best.map_or("None".to_string(), f5);
        let improved = match (self.best, self.max) {
            (None, _) => true,
            (Some(b), Some(true)) => current > b,
            (Some(b), _) => current < b,
        };
        let monitor = &self.monitor;
        if improved {
            self.best = Some(current);
            let now = f5(current);
            (
                true,
                format!("\nEpoch {e}: {monitor} improved from {best_str} to {now}, saving model to {filepath}"),
            )
        } else {
            (
                false,
                format!("\nEpoch {e}: {monitor} did not improve from {best_str}"),
            )
        }
    }

    fn save(
        &mut self,
        epoch: usize,
        batch: Option<usize>,
        logs: &Logs,
        model: &Sequential,
    ) -> Result<()> {
        let filepath = self.file_path(epoch, batch, logs)?;
        let (save, message) = self.should_save(epoch, logs, &filepath);
        if self.verbose > 0 && !message.is_empty() {
            println!("{message}");
        }
        if !save {
            return Ok(());
        }
        let path = PathBuf::from(&filepath);
        if path.is_dir() {
            return Err(Error::arg(
                "filepath",
                format!("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {filepath}"),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        if self.save_weights_only {
            model.save_weights(&path)?;
        } else {
            model.save(&path)?;
        }
        if self.verbose > 0 {
            println!("\nEpoch {}: finished saving model to {filepath}", epoch + 1);
        }
        self.saved.push(path);
        Ok(())
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, model: &mut Sequential) {
        if let Err(e) = self.validate() {
            model.abort_training(e);
        }
        self.counter = BatchCounter::default();
    }
    fn on_epoch_begin(&mut self, epoch: usize, _model: &mut Sequential) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, model: &mut Sequential) {
        if let SaveFreq::Batches(n) = self.save_freq {
            if self.counter.tick(batch, n) {
                if let Err(e) = self.save(self.epoch, Some(batch), logs, model) {
                    model.abort_training(e);
                }
            }
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Sequential) {
        if self.max.is_none() {
            // As Keras, once the model's metrics exist; the threshold or +-inf starts "best".
            match self.resolve_max(model) {
                Ok(max) => {
                    self.max = Some(max);
                    if self.best.is_none() {
                        self.best = Some(self.initial_value_threshold.unwrap_or(if max {
                            f64::NEG_INFINITY
                        } else {
                            f64::INFINITY
                        }));
                    }
                }
                Err(e) => return model.abort_training(e),
            }
        }
        if self.save_freq == SaveFreq::Epoch {
            if let Err(e) = self.save(epoch, None, logs, model) {
                model.abort_training(e);
            }
        }
    }
}

/// FNV-1a, 64 bits: ties a backup's metadata to the weights file written with it.
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Backs the training state up during `fit` and restores it when `fit` starts again after an
/// interruption: Keras's `BackupAndRestore`.
///
/// `backup_dir` holds Keras's two files: `latest.weights.h5` (the weights and the optimizer's
/// state, in Keras's layout) and `training_metadata.json` (`{"epoch": .., "batch": ..}` plus
/// a `kerust` entry with the model's random generator and a checksum of the weights file).
/// When `fit` starts and a backup exists, the weights and optimizer state are loaded and
/// training resumes at the epoch after the last one backed up, with the same shuffling and
/// Dropout masks: an interrupted then resumed run ends with the weights of an uninterrupted
/// one, bit for bit (with [`SaveFreq::Epoch`]; Dropout layers given an explicit `seed` keep
/// their own stream, which is not backed up). A run stopped by an error (see
/// [`Sequential::abort_training`]) keeps its backup; one that ends normally deletes it
/// (unless [`delete_checkpoint`](Self::delete_checkpoint) is false).
///
/// The model must be built and compiled as it was for the interrupted run.
///
/// ```
/// use kerust::callbacks::{BackupAndRestore, Callback};
/// use kerust::prelude::*;
/// struct Interrupt;
/// impl Callback for Interrupt {
///     fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {
///         if epoch == 2 {
///             model.abort_training(kerust::Error::callback("Interrupt", "interrupted"));
///         }
///     }
/// }
/// let dir = std::env::temp_dir().join(format!("kerust-backup-doc-{}", std::process::id()));
/// let x = ndarray::Array2::<f32>::ones((8, 2));
/// let y = ndarray::Array1::<f32>::zeros(8);
/// let new_model = || -> kerust::Result<Sequential> {
///     let mut m = Sequential::new(vec![Dense::new(1).input_dim(2).into()])?;
///     m.compile("adam", "mse", ())?;
///     Ok(m)
/// };
/// let mut model = new_model()?;
/// let (mut backup, mut stop) = (BackupAndRestore::new(&dir), Interrupt);
/// let o = FitOptions { epochs: 4, verbose: 0, callbacks: vec![&mut backup, &mut stop], ..Default::default() };
/// assert!(model.fit(&x, &y, o).is_err()); // epochs 0 and 1 ran and were backed up
///
/// let mut model = new_model()?; // a fresh process, say
/// let mut backup = BackupAndRestore::new(&dir);
/// let o = FitOptions { epochs: 4, verbose: 0, callbacks: vec![&mut backup], ..Default::default() };
/// let h = model.fit(&x, &y, o)?;
/// assert_eq!(h.epoch, vec![2, 3]);
/// assert!(!dir.exists()); // deleted at the end
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BackupAndRestore {
    backup_dir: PathBuf,
    save_freq: SaveFreq,
    double_checkpoint: bool,
    delete_checkpoint: bool,
    counter: BatchCounter,
    current_epoch: usize,
    epoch_rng: [u64; 4],
    /// The epoch `fit` resumed at, when the last `on_train_begin` restored a backup.
    pub restored_epoch: Option<usize>,
}

const WEIGHTS: &str = "latest.weights.h5";
const METADATA: &str = "training_metadata.json";

impl BackupAndRestore {
    /// Backs up into `backup_dir` (created when needed; use it for nothing else) at the
    /// end of every epoch, deleting the backup when training completes.
    pub fn new(backup_dir: impl AsRef<Path>) -> Self {
        BackupAndRestore {
            backup_dir: backup_dir.as_ref().to_path_buf(),
            save_freq: SaveFreq::Epoch,
            double_checkpoint: false,
            delete_checkpoint: true,
            counter: BatchCounter::default(),
            current_epoch: 0,
            epoch_rng: [0; 4],
            restored_epoch: None,
        }
    }
    /// Every epoch (default) or every `n` batches. A batch backup resumes at the start of
    /// the epoch it was taken in, from the weights of that batch (as Keras): not bit-identical.
    pub fn save_freq(mut self, f: impl Into<SaveFreq>) -> Self {
        self.save_freq = f.into();
        self
    }
    /// Keep the previous backup too (`*.bkp`), restored when the latest is unreadable.
    pub fn double_checkpoint(mut self, v: bool) -> Self {
        self.double_checkpoint = v;
        self
    }
    /// Delete the backup when `fit` completes (default true).
    pub fn delete_checkpoint(mut self, v: bool) -> Self {
        self.delete_checkpoint = v;
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.backup_dir.join(name)
    }

    fn bkp(&self, name: &str) -> PathBuf {
        self.backup_dir.join(format!("{name}.bkp"))
    }

    /// Restores from `weights` and `metadata`; `Ok(false)` when there is no backup.
    fn restore_from(
        &mut self,
        model: &mut Sequential,
        weights: &Path,
        meta: &Path,
    ) -> Result<bool> {
        if !weights.exists() {
            return Ok(false);
        }
        let bytes = std::fs::read(weights).map_err(|e| Error::io(weights, e))?;
        let bad = |reason: String| Error::Format {
            format: "backup metadata",
            path: meta.display().to_string(),
            reason,
        };
        let meta_v: Option<serde_json::Value> = match std::fs::read(meta) {
            Ok(m) => Some(serde_json::from_slice(&m).map_err(|e| bad(e.to_string()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(meta, e)),
        };
        let kerust = meta_v.as_ref().and_then(|m| m.get("kerust"));
        if let Some(h) = kerust
            .and_then(|k| k.get("weights_fnv64"))
            .and_then(|h| h.as_str())
        {
            if h != format!("{:016x}", fnv64(&bytes)) {
                return Err(bad(format!(
                    "it belongs to another version of '{}' (checksum mismatch: a backup interrupted between its two files)",
                    weights.display()
                )));
            }
        }
        let mut trial = Vec::new();
        let rng = match kerust.and_then(|k| k.get("rng")) {
            Some(r) => {
                let words = r
                    .as_array()
                    .filter(|a| a.len() == 4)
                    .ok_or_else(|| bad("'kerust.rng' must be 4 hexadecimal strings".to_string()))?;
                for w in words {
                    let w = w
                        .as_str()
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or_else(|| bad(format!("'kerust.rng': bad word {w}")))?;
                    trial.push(w);
                }
                Some(
                    crate::rng::Rng::from_state([trial[0], trial[1], trial[2], trial[3]])
                        .ok_or_else(|| bad("'kerust.rng' is all zeros".to_string()))?,
                )
            }
            None => None,
        };
        let epoch = match meta_v.as_ref().map(|m| m.get("epoch")) {
            Some(Some(e)) => Some(
                e.as_u64()
                    .and_then(|e| usize::try_from(e).ok())
                    .ok_or_else(|| {
                        bad(format!("'epoch' must be a non-negative integer, got {e}"))
                    })?,
            ),
            Some(None) => return Err(bad("no 'epoch' entry".into())),
            None => None,
        };
        crate::saving::load_weights_bytes(model, bytes, &weights.display().to_string())?;
        if let Some(rng) = rng {
            model.rng = rng;
        }
        if let Some(e) = epoch {
            model.set_initial_epoch(e);
            self.restored_epoch = Some(e);
        }
        Ok(true)
    }

    fn restore(&mut self, model: &mut Sequential) -> Result<()> {
        if !model.built() {
            return Err(Error::NotBuilt(
                "To use the BackupAndRestore callback, your model must be built before you call `fit()`".into(),
            ));
        }
        let (w, m) = (self.path(WEIGHTS), self.path(METADATA));
        match self.restore_from(model, &w, &m) {
            Ok(_) => Ok(()),
            Err(e) => {
                // The latest backup is unreadable: the previous one, when kept.
                let (pw, pm) = (self.bkp(WEIGHTS), self.bkp(METADATA));
                if !pw.exists() {
                    return Err(e);
                }
                self.restore_from(model, &pw, &pm).map(|_| ())
            }
        }
    }

    fn backup(
        &mut self,
        model: &Sequential,
        epoch: usize,
        batch: usize,
        rng: [u64; 4],
    ) -> Result<()> {
        let dir = &self.backup_dir;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (w, m) = (self.path(WEIGHTS), self.path(METADATA));
        if self.double_checkpoint {
            for (from, to) in [(&w, self.bkp(WEIGHTS)), (&m, self.bkp(METADATA))] {
                if from.exists() {
                    let bytes = std::fs::read(from).map_err(|e| Error::io(from, e))?;
                    crate::atomic::write_atomic(&to, |f| std::io::Write::write_all(f, &bytes))?;
                }
            }
        }
        let bytes = crate::saving::weights_bytes(model)?;
        let meta = serde_json::json!({
            "epoch": epoch,
            "batch": batch,
            "kerust": {
                "rng": rng.iter().map(|w| format!("{w:016x}")).collect::<Vec<_>>(),
                "weights_fnv64": format!("{:016x}", fnv64(&bytes)),
            },
        })
        .to_string();
        crate::atomic::write_atomic(&w, |f| std::io::Write::write_all(f, &bytes))?;
        crate::atomic::write_atomic(&m, |f| std::io::Write::write_all(f, meta.as_bytes()))
    }
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, model: &mut Sequential) {
        self.counter = BatchCounter::default();
        self.restored_epoch = None;
        if let SaveFreq::Batches(0) = self.save_freq {
            return model.abort_training(Error::arg(
                "save_freq",
                "Invalid value for argument `save_freq`. Received: save_freq=0. Expected either 'epoch' or a positive integer value.",
            ));
        }
        if let Err(e) = self.restore(model) {
            model.abort_training(e);
        }
    }
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {
        self.current_epoch = epoch;
        // `fit` draws the epoch's order and Dropout streams from this state after this hook.
        self.epoch_rng = model.rng.state();
    }
    fn on_train_batch_end(&mut self, batch: usize, _logs: &Logs, model: &mut Sequential) {
        if let SaveFreq::Batches(n) = self.save_freq {
            if self.counter.tick(batch, n) {
                if let Err(e) = self.backup(model, self.current_epoch, batch, self.epoch_rng) {
                    model.abort_training(e);
                }
            }
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, model: &mut Sequential) {
        self.counter.last_batch = 0;
        if self.save_freq == SaveFreq::Epoch {
            if let Err(e) = self.backup(model, epoch + 1, 0, model.rng.state()) {
                model.abort_training(e);
            }
        }
    }
    fn on_train_end(&mut self, _model: &mut Sequential, _logs: &Logs) {
        if self.delete_checkpoint {
            // Only the files this callback writes, then the folder if that empties it.
            for name in [WEIGHTS, METADATA] {
                std::fs::remove_file(self.path(name)).ok();
                std::fs::remove_file(self.bkp(name)).ok();
            }
            std::fs::remove_dir(&self.backup_dir).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_messages() {
        let mut c = ModelCheckpoint::new("m.keras").save_best_only(true);
        c.max = Some(false);
        c.best = Some(f64::INFINITY);
        let mut logs = Logs::new();
        logs.set("val_loss", 0.123456);
        let (save, msg) = c.should_save(0, &logs, "m.keras");
        assert!(save);
        assert_eq!(
            msg,
            "\nEpoch 1: val_loss improved from inf to 0.12346, saving model to m.keras"
        );
        logs.set("val_loss", 0.5);
        let (save, msg) = c.should_save(1, &logs, "m.keras");
        assert!(!save);
        assert_eq!(msg, "\nEpoch 2: val_loss did not improve from 0.12346");
        let mut every = ModelCheckpoint::new("m.keras");
        let (save, msg) = every.should_save(2, &logs, "m.keras");
        assert!(save);
        assert_eq!(msg, "\nEpoch 3: saving model to m.keras");
    }

    #[test]
    fn keras_batch_counting() {
        let mut c = BatchCounter::default();
        // 4 batches per epoch, every 3: after batches 2 (epoch 0), 1 and 4... as Keras.
        let saves: Vec<(usize, usize)> = (0..3)
            .flat_map(|e| (0..4).map(move |b| (e, b)))
            .filter(|&(_, b)| c.tick(b, 3))
            .collect();
        assert_eq!(saves, [(0, 2), (1, 1), (2, 0), (2, 3)]);
    }
}
