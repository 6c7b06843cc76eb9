//! Conversion of user arrays (ndarray, any dimension, f32 or integer labels) to the flat
//! row-major buffers the training loop reads.

use crate::{Error, Result};
use ndarray::{ArrayBase, Data, Dimension};
use std::borrow::Cow;

/// A label element type: `f32` values or integer class ids.
pub trait Label: Copy {
    /// The label as f32 (class ids are exact up to 2^24).
    fn to_f32(self) -> f32;
}

macro_rules! label {
    ($($t:ty),*) => { $(impl Label for $t { fn to_f32(self) -> f32 { self as f32 } })* };
}
label!(f32, f64, u8, u16, u32, u64, usize, i8, i16, i32, i64);

/// Anything usable as targets `y`: an ndarray array (or view) of f32 or integer labels.
pub trait IntoTargets {
    /// The shape and the labels as f32, row-major.
    fn into_targets(self) -> (Vec<usize>, Vec<f32>);
}

impl<S, D, T> IntoTargets for &ArrayBase<S, D>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Label,
{
    fn into_targets(self) -> (Vec<usize>, Vec<f32>) {
        (
            self.shape().to_vec(),
            self.iter().map(|v| v.to_f32()).collect(),
        )
    }
}

/// Inputs as a flat buffer, borrowed when already contiguous.
pub(crate) struct Inputs<'a> {
    pub data: Cow<'a, [f32]>,
    pub n: usize,
    pub dims: Vec<usize>,
}

impl Inputs<'_> {
    pub fn row_len(&self) -> usize {
        self.dims.iter().product()
    }
}

pub(crate) fn inputs<'a, S, D>(x: &'a ArrayBase<S, D>, what: &str) -> Result<Inputs<'a>>
where
    S: Data<Elem = f32>,
    D: Dimension,
{
    let shape = x.shape();
    if shape.is_empty() {
        return Err(Error::shape(
            what,
            "an array with a batch axis, e.g. (n, features)",
            "a scalar",
        ));
    }
    let n = shape[0];
    if n == 0 {
        return Err(Error::data(what, "the array is empty (0 samples)"));
    }
    let data: Cow<[f32]> = match x.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(x.iter().copied().collect()),
    };
    check_finite(&data, what, shape[1..].iter().product())?;
    Ok(Inputs {
        data,
        n,
        dims: shape[1..].to_vec(),
    })
}

crate::kernels::multiversion! {
    /// Sets `clean` to whether every value of `data` is finite. `v - v` is 0 for finite
    /// values and NaN otherwise; sixteen independent sums vectorize (compiled for AVX-512
    /// and AVX2 too: a single-sample `predict` checks its 784 values every call).
    fn all_finite(data: &[f32], clean: &mut bool) {
        let mut acc = [0.0f32; 16];
        let mut chunks = data.chunks_exact(16);
        for c in &mut chunks {
            #[allow(clippy::eq_op)] // deliberate: NaN for inf and NaN, 0 otherwise
            for (a, &v) in acc.iter_mut().zip(c) {
                *a += v - v;
            }
        }
        *clean = acc.iter().all(|a| *a == 0.0) && chunks.remainder().iter().all(|v| v.is_finite());
    }
}

pub(crate) fn check_finite(data: &[f32], what: &str, row_len: usize) -> Result<()> {
    // Large inputs are scanned on all the threads; only when a value is not finite is the
    // first bad index searched for.
    let clean = |r: std::ops::Range<usize>| {
        let mut clean = false;
        all_finite(&data[r], &mut clean);
        clean
    };
    if crate::kernels::cpu::scan_all(data.len(), &clean) {
        return Ok(());
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        let row = i / row_len.max(1);
        return Err(Error::data(
            what,
            format!("value {} at sample {row} (flat index {i}) is not finite; clean or impute the data first", data[i]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_is_found_wherever_it_is_at_any_thread_count() {
        // Large enough to be scanned in parts on two or more threads.
        let n = 3 << 20;
        let mut data = vec![0.5f32; n];
        for threads in [1, 2, 3] {
            crate::set_num_threads(threads);
            assert!(check_finite(&data, "x", 784).is_ok());
            for (i, bad) in [
                (7, f32::NAN),
                (n / 2 + 5, f32::INFINITY),
                (n - 1, f32::NEG_INFINITY),
            ] {
                data[i] = bad;
                let e = check_finite(&data, "x", 784).unwrap_err().to_string();
                assert!(
                    e.contains(&format!("flat index {i}"))
                        && e.contains(&format!("sample {}", i / 784)),
                    "{threads} threads, {bad} at {i}: {e}"
                );
                data[i] = 0.5;
            }
        }
        crate::set_num_threads(0);
    }
}
