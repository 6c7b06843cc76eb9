//! Saving and loading in Keras's own file formats, so that models move between kerust and
//! Keras (Python) both ways.
//!
//! - [`Sequential::save`] writes the Keras 3 native `.keras` format: a zip holding
//!   `metadata.json`, `config.json` (the model in Keras's serialization format, with its
//!   `compile_config`) and `model.weights.h5` (HDF5, Keras's layout: `layers/<name>/vars/<i>`
//!   per layer, `optimizer/vars/<i>` for the optimizer's state). Keras loads it with
//!   `keras.saving.load_model`.
//! - [`load_model`] opens `.keras` files written by Keras or kerust, and legacy `.h5`
//!   full-model files (`model_config`, `model_weights`, `optimizer_weights`): the
//!   architecture, the weights, and the compile config with the optimizer's state, so that
//!   `fit` continues where it stopped.
//! - [`Sequential::to_json`] / [`model_from_json`]: the architecture alone, as Keras's
//!   `model.to_json()` / `keras.models.model_from_json`.
//! - [`Sequential::save_weights`] / [`Sequential::load_weights`]: `.weights.h5` files.
//!
//! ## Resuming training
//!
//! A `.keras` file written by kerust also holds the model's random generator (an extra
//! `kerust_state.json` member, which Keras ignores), so `save`, `load_model` and
//! `fit(.., FitOptions { initial_epoch, .. })` continue exactly as the uninterrupted `fit`
//! would have, shuffling and Dropout masks included. Restored: the architecture, the
//! weights, the compile config, the optimizer's state (step count and slots) and the
//! generator. Not restored: the epoch to resume at (pass `initial_epoch`, or use
//! [`BackupAndRestore`](crate::callbacks::BackupAndRestore), which records it), callbacks'
//! own state (EarlyStopping's patience counter...), and the stream of a Dropout layer given
//! an explicit `seed`. Keras-written files have no kerust generator: a model loaded from one
//! keeps a fresh generator.
//!
//! HDF5 goes through the pure-Rust `hdf5-pure` crate and the zip through `zip`: no system
//! library is needed. Every save is atomic (a temporary file beside the target, fsync,
//! rename). Reading refuses, with an error naming the file, anything kerust cannot
//! reproduce exactly (an unknown layer class or option, a weight of the wrong shape) and
//! allocates no more than the file could need.
//!
//! ```no_run
//! use kerust::prelude::*;
//! # fn main() -> kerust::Result<()> {
//! let mut model = Sequential::new(vec![
//!     Flatten::new().input_shape(&[28, 28]).into(),
//!     Dense::new(10).activation("softmax").into(),
//! ])?;
//! model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;
//! model.save("model.keras")?;                               // model.save("model.keras")
//! let again = kerust::saving::load_model("model.keras")?;   // keras.saving.load_model(...)
//! # Ok(()) }
//! ```

mod archive;
pub(crate) mod config;
mod h5;
mod model_methods;

pub use config::LAYER_CLASSES;

use crate::models::Sequential;
use crate::{Error, Result};
use std::path::Path;

/// The Keras version whose file format kerust writes (`metadata.json`'s `keras_version`).
pub const KERAS_FORMAT_VERSION: &str = "3.15.1";

/// Loads a model saved by Keras or kerust: a `.keras` archive or a legacy `.h5` full-model
/// file (recognized by their contents, not their names), as `keras.saving.load_model`.
///
/// The model comes back built, with its weights, and compiled when the file has a compile
/// config, with the optimizer's state.
pub fn load_model(path: impl AsRef<Path>) -> Result<Sequential> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_model_from_bytes(&bytes, &path.display().to_string())
}

/// [`load_model`] from bytes in memory; `source` names them in error messages.
pub fn load_model_from_bytes(bytes: &[u8], source: &str) -> Result<Sequential> {
    if bytes.starts_with(b"PK") {
        load_keras(bytes, source)
    } else if bytes.starts_with(h5::HDF5_MAGIC) {
        h5::load_legacy(bytes.to_vec(), source)
    } else {
        Err(Error::Format {
            format: "model",
            path: source.to_string(),
            reason: format!(
                "neither a .keras archive (zip) nor an HDF5 file: it starts with {:02x?}",
                &bytes[..bytes.len().min(8)]
            ),
        })
    }
}

fn load_keras(bytes: &[u8], source: &str) -> Result<Sequential> {
    let mut ar = archive::Archive::open(bytes, source)?;
    let config = ar.read_json("config.json")?;
    if !ar.has(WEIGHTS_MEMBER) {
        return Err(Error::Format {
            format: ".keras",
            path: source.to_string(),
            reason: if ar.has("model.weights.npz") {
                "weights stored as model.weights.npz are not supported; save with weights_format='h5'".into()
            } else {
                "no model.weights.h5 member".into()
            },
        });
    }
    let spec = config::parse_model(&config, source)?;
    let compile = match config.get("compile_config") {
        Some(c) if !c.is_null() => Some(config::parse_compile(c, source)?),
        _ => None,
    };
    // The weights member's size is bounded both ways by the parameters the config declares,
    // before any layer is built or any weight read: it holds every parameter (4 bytes
    // each), and no more than the parameters, the optimizer's slots and HDF5's overhead.
    let params = spec.param_count().map_err(|e| match e {
        Error::InvalidArgument { name, reason } => config::cfg_err(
            format!("model config in {source}"),
            format!("`{name}`: {reason}"),
        ),
        e => e,
    })?;
    let slots = compile
        .as_ref()
        .map_or(0, |c| c.optimizer.slots_per_variable());
    let most = max_weights_bytes(params, spec.layers.len(), slots);
    let declared = ar.check(WEIGHTS_MEMBER, most).map_err(|e| match e {
        Error::Format {
            format,
            path,
            reason,
        } if reason.contains("allowed") => Error::Format {
            format,
            path,
            reason: format!(
                "{reason}: the config's {params} parameters ({} layers, {slots} optimizer \
                 slots each) need at most that",
                spec.layers.len()
            ),
        },
        e => e,
    })?;
    let mut model = spec.build(usize::try_from(declared / 4).unwrap_or(usize::MAX), source)?;
    if let Some(c) = compile {
        model.compile(c.optimizer, c.loss, c.metrics)?;
    }
    let weights = ar.read(WEIGHTS_MEMBER, most)?;
    h5::load_weights_h5(&mut model, weights, source)?;
    if ar.has(STATE_MEMBER) {
        let state = ar.read_json(STATE_MEMBER)?;
        model.rng = parse_rng_state(&state, source)?;
    }
    Ok(model)
}

/// The weights member of a `.keras` archive.
const WEIGHTS_MEMBER: &str = "model.weights.h5";

/// HDF5's overhead in a Keras weights file beside the float32 data: a fixed part, and a part
/// per layer (its groups, heaps and object headers, and its variables' and their
/// optimizer slots' dataset headers). Keras's files and kerust's use about 1 KiB per
/// object, under 6 KiB per layer (activations.keras: 3.6 KiB); the bounds below leave
/// several times that.
const H5_FIXED_OVERHEAD: u64 = 64 << 10;
const H5_LAYER_OVERHEAD: u64 = 32 << 10;

/// The most bytes a weights file of a model of `params` float32 parameters in `layers`
/// layers, with `slots` optimizer arrays per parameter, can honestly take.
fn max_weights_bytes(params: usize, layers: usize, slots: usize) -> u64 {
    (params as u64)
        .saturating_mul(4)
        .saturating_mul(1 + slots as u64)
        .saturating_add(H5_FIXED_OVERHEAD)
        .saturating_add((layers as u64 + 1).saturating_mul(H5_LAYER_OVERHEAD))
}

/// kerust's own member of a `.keras` archive: the model's random generator, so that `fit`
/// after `load_model` shuffles and drops out as the saved model would have. Keras's loader
/// ignores members it does not know.
const STATE_MEMBER: &str = "kerust_state.json";

fn parse_rng_state(v: &serde_json::Value, source: &str) -> Result<crate::rng::Rng> {
    let bad = || Error::Format {
        format: ".keras",
        path: source.to_string(),
        reason: format!(
            "member '{STATE_MEMBER}': 'rng' must be 4 hexadecimal strings, not all zero"
        ),
    };
    let words = v
        .get("rng")
        .and_then(|r| r.as_array())
        .filter(|a| a.len() == 4)
        .ok_or_else(bad)?;
    let mut s = [0u64; 4];
    for (d, w) in s.iter_mut().zip(words) {
        *d = w
            .as_str()
            .and_then(|w| u64::from_str_radix(w, 16).ok())
            .ok_or_else(bad)?;
    }
    crate::rng::Rng::from_state(s).ok_or_else(bad)
}

/// The `.weights.h5` bytes of `model` (weights and optimizer state).
pub(crate) fn weights_bytes(model: &Sequential) -> Result<Vec<u8>> {
    h5::weights_h5(model)
}

/// Loads `.weights.h5` bytes into the built `model`; `source` names them in errors.
pub(crate) fn load_weights_bytes(
    model: &mut Sequential,
    bytes: Vec<u8>,
    source: &str,
) -> Result<()> {
    h5::load_weights_h5(model, bytes, source)
}

/// A model from Keras's JSON (`model.to_json()`), with fresh weights, compiled when the
/// JSON has a compile config: `keras.models.model_from_json`.
pub fn model_from_json(json: &str) -> Result<Sequential> {
    let v = config::parse_json(json.as_bytes()).map_err(|reason| Error::Format {
        format: "JSON",
        path: "model JSON".into(),
        reason,
    })?;
    let spec = config::parse_model(&v, "model JSON")?;
    let compile = match v.get("compile_config") {
        Some(c) if !c.is_null() => Some(config::parse_compile(c, "model JSON")?),
        _ => None,
    };
    let mut model = spec.build(config::MAX_JSON_PARAMS, "model JSON")?;
    if let Some(c) = compile {
        model.compile(c.optimizer, c.loss, c.metrics)?;
    }
    Ok(model)
}

/// The bytes of a `.keras` archive of `model`.
fn keras_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let config = config::model_config(model, true)?.to_string();
    let metadata = serde_json::json!({
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": date_saved(),
        "producer": concat!("kerust ", env!("CARGO_PKG_VERSION")),
    })
    .to_string();
    let weights = h5::weights_h5(model)?;
    let state = serde_json::json!({
        "rng": model.rng.state().iter().map(|w| format!("{w:016x}")).collect::<Vec<_>>(),
    })
    .to_string();
    archive::write(&[
        ("metadata.json", metadata.as_bytes()),
        ("config.json", config.as_bytes()),
        ("model.weights.h5", &weights),
        (STATE_MEMBER, state.as_bytes()),
    ])
}

/// Now, as Keras writes `date_saved` (`%Y-%m-%d@%H:%M:%S`, here in UTC).
fn date_saved() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}@{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
