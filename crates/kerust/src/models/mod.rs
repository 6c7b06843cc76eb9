//! Models: [`Sequential`], a linear stack of layers, with Keras's `compile`/`fit`/
//! `evaluate`/`predict` workflow.

mod data;
mod sequential;
mod summary;
mod training;

pub use data::{IntoTargets, Label};
pub use sequential::Sequential;
pub use training::{Evaluation, FitOptions, IntoLoss, IntoMetrics, IntoOptimizer, MetricSpec};
