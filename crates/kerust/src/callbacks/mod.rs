//! Callbacks: code that runs at Keras's hooks during `fit` (train, epoch and batch begin/end).
//!
//! Pass them by mutable reference so you can read them after training:
//! ```
//! use kerust::callbacks::EarlyStopping;
//! let mut stop = EarlyStopping::new("val_loss").patience(2).restore_best_weights(true);
//! // model.fit(&x, &y, FitOptions { callbacks: vec![&mut stop], ..Default::default() })?;
//! ```

mod builtin;
mod checkpoint;
mod progbar;
mod pyformat;

pub use builtin::{
    CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, Mode, ReduceLROnPlateau,
    TerminateOnNaN,
};
pub use checkpoint::{BackupAndRestore, ModelCheckpoint, SaveFreq};
pub use progbar::ProgbarLogger;

use crate::models::Sequential;

/// Named values at a hook (`loss`, `accuracy`, `val_loss`...), kept in alphabetical order as
/// Keras prints them. Updated in place, so per-batch logs allocate nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f32)>,
}

impl Logs {
    /// Empty logs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    /// Sets `name` to `value`, keeping the keys sorted.
    pub fn set(&mut self, name: &str, value: f32) {
        match self.entries.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (name.to_string(), value)),
        }
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The training run a callback is part of (Keras's `callback.params`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainParams {
    /// Verbosity.
    pub verbose: u8,
    /// Total epochs.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps: usize,
}

/// Keras's callback hooks. Every method has an empty default.
#[allow(unused_variables)]
pub trait Callback {
    /// Called once before training with the run's parameters.
    fn set_params(&mut self, params: &TrainParams) {}
    /// Start of `fit`.
    fn on_train_begin(&mut self, model: &mut Sequential) {}
    /// End of `fit`, with the last epoch's logs.
    fn on_train_end(&mut self, model: &mut Sequential, logs: &Logs) {}
    /// Start of an epoch (0-based).
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {}
    /// End of an epoch, with its training and validation figures.
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Sequential) {}
    /// Start of a training batch (0-based within the epoch).
    fn on_train_batch_begin(&mut self, batch: usize, model: &mut Sequential) {}
    /// End of a training batch, with the epoch's running figures.
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, model: &mut Sequential) {}
}

/// What `fit` returns: per-epoch figures, as Keras's `History`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs that ran (0-based).
    pub epoch: Vec<usize>,
    /// Per name (`loss`, `accuracy`, `val_loss`...), one value per epoch.
    pub history: std::collections::BTreeMap<String, Vec<f32>>,
    /// The run's parameters.
    pub params: TrainParams,
}

impl History {
    /// The values of `name`, one per epoch.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.history.get(name).map(|v| v.as_slice())
    }

    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs.iter() {
            self.history.entry(k.to_string()).or_default().push(v);
        }
    }
}

/// "max" when the monitored quantity should grow (accuracies, AUC), else "min".
pub(crate) fn auto_mode_is_max(monitor: &str) -> bool {
    monitor.ends_with("acc")
        || monitor.ends_with("accuracy")
        || monitor.ends_with("auc")
        || monitor.ends_with("precision")
        || monitor.ends_with("recall")
}

/// Keras's value formatting: 4 decimals, or scientific at or below 1e-3.
pub fn format_value(v: f32) -> String {
    if v.abs() > 1e-3 || v == 0.0 || !v.is_finite() {
        if v.is_nan() {
            "nan".into()
        } else {
            format!("{v:.4}")
        }
    } else {
        let s = format!("{v:.4e}");
        // Python writes the exponent with a sign and two digits: 1.2345e-04.
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}
