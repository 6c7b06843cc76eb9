//! `save`, `to_json`, `save_weights` and friends on [`Sequential`].

use super::{config, h5};
use crate::models::Sequential;
use crate::{Error, Result};
use std::io::Write;
use std::path::Path;

fn ends_with(path: &Path, suffix: &str) -> bool {
    path.to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(suffix)
}

impl Sequential {
    /// Saves the model in Keras 3's native `.keras` format (architecture, weights,
    /// compile config and optimizer state), as `model.save("m.keras")`. The file is
    /// replaced atomically: a crash mid-save leaves the previous file intact.
    ///
    /// Real Keras loads the result with `keras.saving.load_model`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if ends_with(path, ".h5") || ends_with(path, ".hdf5") {
            return Err(Error::arg(
                "path",
                format!(
                    "'{}': writing the legacy HDF5 full-model format is not supported; use a .keras path",
                    path.display()
                ),
            ));
        }
        if !ends_with(path, ".keras") {
            return Err(Error::arg(
                "path",
                format!(
                    "the file path must end in `.keras` (Keras model format), got '{}'",
                    path.display()
                ),
            ));
        }
        let bytes = super::keras_bytes(self)?;
        crate::atomic::write_atomic(path, |w| w.write_all(&bytes))
    }

    /// The model's architecture (and compile config, when compiled) as Keras's JSON, as
    /// `model.to_json()`.
    pub fn to_json(&self) -> Result<String> {
        Ok(config::model_config(self, true)?.to_string())
    }

    /// A model from Keras's JSON, with fresh weights: [`model_from_json`](super::model_from_json).
    pub fn from_json(json: &str) -> Result<Sequential> {
        super::model_from_json(json)
    }

    /// Saves the weights (and the optimizer's state, when compiled) alone, in Keras 3's
    /// `.weights.h5` layout, as `model.save_weights("w.weights.h5")`. Atomic, as
    /// [`save`](Self::save).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if !ends_with(path, ".weights.h5") {
            return Err(Error::arg(
                "path",
                format!(
                    "the file path must end in `.weights.h5`, got '{}'",
                    path.display()
                ),
            ));
        }
        let bytes = h5::weights_h5(self)?;
        crate::atomic::write_atomic(path, |w| w.write_all(&bytes))
    }

    /// Loads weights saved by [`save_weights`](Self::save_weights) or Keras's
    /// `model.save_weights` into this (built) model; the optimizer's state too when the
    /// model is compiled and the file has it.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if !self.built() {
            return Err(Error::NotBuilt(
                "load_weights needs a built model: give the first layer an input shape or call build".into(),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        h5::load_weights_h5(self, bytes, &path.display().to_string())
    }
}
