//! Models: [`Sequential`], a linear stack of layers, with Keras's `compile`/`fit`/
//! `evaluate`/`predict` workflow.

mod data;
mod sequential;
pub(crate) use sequential::snake;
mod summary;
mod training;

pub use data::{IntoTargets, Label};
pub use sequential::Sequential;
pub use training::{Evaluation, FitOptions, IntoLoss, IntoMetrics, IntoOptimizer, MetricSpec};

/// `keras.models.load_model`: a model (architecture, weights, compile state) from a
/// `.keras` or legacy `.h5` file written by Keras or kerust.
pub use crate::saving::load_model;
/// `keras.models.model_from_json`: a model from the architecture JSON Keras writes.
pub use crate::saving::model_from_json;
