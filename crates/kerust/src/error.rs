//! The one error type of kerust: every public fallible function returns [`Result`].
//!
//! Each variant says *what* was wrong, *where*, and *what was expected*, so that a message
//! printed to a user is enough to fix the call without reading kerust's source.

use std::path::PathBuf;

/// Everything that can go wrong in kerust.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Array shapes do not fit together (layer inputs, x against y, weights against a layer).
    #[error("shape mismatch in {context}: expected {expected}, got {got}")]
    Shape {
        /// Where the mismatch was found (a layer name, `fit x`, ...).
        context: String,
        /// The shape that was expected.
        expected: String,
        /// The shape that was given.
        got: String,
    },
    /// A name (layer, activation, loss, optimizer, metric, initializer...) that kerust does not know.
    #[error("unknown {kind} '{name}'; valid names are: {valid}")]
    UnknownName {
        /// The family of the name (`"loss"`, `"optimizer"`, ...).
        kind: &'static str,
        /// The name that was given.
        name: String,
        /// The names that are accepted, comma-separated.
        valid: String,
    },
    /// An argument outside its valid range (batch_size 0, validation_split 1.5, rate 2.0...).
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name, as in Keras.
        name: &'static str,
        /// What was wrong and what is allowed.
        reason: String,
    },
    /// A callback ended `fit` with this error
    /// ([`Sequential::abort_training`](crate::models::Sequential::abort_training)).
    #[error("callback {callback} stopped training: {reason}")]
    Callback {
        /// The callback.
        callback: String,
        /// Why.
        reason: String,
    },
    /// Data that cannot be trained on: NaN/inf values, labels out of range, empty arrays.
    #[error("invalid data in {what}: {reason}")]
    InvalidData {
        /// Which array (`x`, `y`, `validation_data`...).
        what: String,
        /// What was wrong, with the first offending position.
        reason: String,
    },
    /// A method that needs `compile` was called before it.
    #[error("the model must be compiled before calling {0}; call model.compile(optimizer, loss, metrics) first")]
    NotCompiled(&'static str),
    /// The model has no known input shape yet.
    #[error("the model is not built: {0}")]
    NotBuilt(String),
    /// An operating-system error while reading or writing a file.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file whose contents are not what its format requires (truncated, corrupted, wrong magic).
    #[error("malformed {format} file {path}: {reason}")]
    Format {
        /// The file format (`IDX`, `CSV`, `.keras`...).
        format: &'static str,
        /// The file (or a description of the byte source).
        path: String,
        /// What was wrong, where in the file, and what was expected.
        reason: String,
    },
    /// A configuration (JSON) that does not describe a valid kerust object.
    #[error("invalid config for {what}: {reason}")]
    Config {
        /// The object being configured.
        what: String,
        /// What was wrong.
        reason: String,
    },
}

/// `Result` with kerust's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn shape(
        context: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        Error::Shape {
            context: context.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// An [`Error::Callback`]: `callback` (its name) stopped training because of `reason`.
    ///
    /// ```
    /// let e = kerust::Error::callback("Interrupt", "simulated crash");
    /// assert_eq!(e.to_string(), "callback Interrupt stopped training: simulated crash");
    /// ```
    pub fn callback(callback: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Callback {
            callback: callback.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn arg(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }

    pub(crate) fn data(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidData {
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown(kind: &'static str, name: &str, valid: &[&str]) -> Self {
        Error::UnknownName {
            kind,
            name: name.to_string(),
            valid: valid.join(", "),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Formats a shape the way Keras prints it: `(None, 28, 28)`.
pub(crate) fn fmt_shape(batch: Option<usize>, dims: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(dims.len() + 1);
    parts.push(batch.map_or("None".to_string(), |b| b.to_string()));
    parts.extend(dims.iter().map(|d| d.to_string()));
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}
