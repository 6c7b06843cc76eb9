//! Preprocessing: scalers, one-hot encoding, normalization, splitting.
//!
//! * [`MinMaxScaler`] and [`StandardScaler`] follow scikit-learn's `sklearn.preprocessing`
//!   (same attributes, same formulas, same handling of constant features); they compute in `f64`
//!   and return `f32`.
//! * [`to_categorical`] and [`normalize`] follow `keras.utils`.
//! * [`train_test_split`] and [`shuffle_arrays`] follow scikit-learn's `train_test_split`
//!   (sizes, stratification); they are deterministic for a given seed but do not reproduce
//!   NumPy's random streams.

mod categorical;
mod scalers;
mod split;

pub use categorical::{normalize, to_categorical, ClassIndex};
pub use scalers::{MinMaxScaler, StandardScaler};
pub use split::{shuffle_arrays, train_test_split, Split};

use ndarray::{ArrayBase, Data, Dimension};

use crate::Error;

/// Rejects NaN and infinite values, naming the array and the first bad position.
pub(crate) fn check_finite<S, D>(what: &str, x: &ArrayBase<S, D>) -> crate::Result<()>
where
    S: Data<Elem = f32>,
    D: Dimension,
{
    if x.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some((index, v)) => Err(Error::data(
            what,
            format!("value {v} at index {index:?}; expected finite numbers (no NaN or infinity)"),
        )),
        None => Ok(()),
    }
}
