//! `to_categorical` and `normalize`, as in `keras.utils`.

use ndarray::{Array, Array2, ArrayBase, Axis, Data, Dimension, RemoveAxis, Zip};

use super::check_finite;
use crate::{Error, Result};

/// A value usable as a class index: a non-negative integer, or a float holding one.
///
/// Implemented for the integer types, `f32`, `f64`, and references to them, so that
/// [`to_categorical`] takes `&[usize]`, `&Array1<u8>`, `Vec<f32>`...
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::ClassIndex;
///
/// assert_eq!(3u8.class_index(), Ok(3));
/// assert_eq!(2.0f32.class_index(), Ok(2));
/// assert!((-1i32).class_index().is_err());
/// assert!(1.5f64.class_index().is_err());
/// ```
pub trait ClassIndex {
    /// The class index, or the value as text when it is not a non-negative integer.
    ///
    /// # Errors
    ///
    /// The value printed as text, for messages.
    fn class_index(&self) -> std::result::Result<usize, String>;
}

macro_rules! int_class_index {
    ($($t:ty),*) => {$(
        impl ClassIndex for $t {
            fn class_index(&self) -> std::result::Result<usize, String> {
                usize::try_from(*self).map_err(|_| self.to_string())
            }
        }
    )*};
}
int_class_index!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

macro_rules! float_class_index {
    ($($t:ty),*) => {$(
        impl ClassIndex for $t {
            fn class_index(&self) -> std::result::Result<usize, String> {
                let v = f64::from(*self);
                // Below 2^53 every integer is exact in f64.
                if v >= 0.0 && v.fract() == 0.0 && v < 9_007_199_254_740_992.0 {
                    usize::try_from(v as u64).map_err(|_| self.to_string())
                } else {
                    Err(self.to_string())
                }
            }
        }
    )*};
}
float_class_index!(f32, f64);

impl<T: ClassIndex + ?Sized> ClassIndex for &T {
    fn class_index(&self) -> std::result::Result<usize, String> {
        (**self).class_index()
    }
}

/// Allocates `len` zeros, or an error instead of an abort when the size is absurd.
pub(crate) fn try_zeros<T: Clone + Default>(
    len: usize,
    name: &'static str,
    what: &str,
) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::arg(
            name,
            format!(
                "{what} would need {len} elements of {} bytes, which cannot be allocated",
                std::mem::size_of::<T>()
            ),
        )
    })?;
    v.resize(len, T::default());
    Ok(v)
}

/// One-hot encodes integer class labels, like `keras.utils.to_categorical`.
///
/// Returns an `(n, num_classes)` array with `1.0` at `[i, labels[i]]` and `0.0` elsewhere.
/// Without `num_classes`, it is the largest label plus one.
///
/// # Errors
///
/// [`Error::InvalidData`] for a label that is not a non-negative integer, for a label
/// `>= num_classes` (naming its position), or for empty labels without `num_classes`;
/// [`Error::InvalidArgument`] for `num_classes` 0 or an output too large to allocate.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::to_categorical;
/// use ndarray::array;
///
/// let one_hot = to_categorical(&[0usize, 2, 1], None)?;
/// assert_eq!(one_hot, array![[1.0f32, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]);
///
/// let y = ndarray::Array1::<u8>::from(vec![3, 0]);
/// assert_eq!(to_categorical(&y, Some(5))?.shape(), &[2, 5]);
/// assert!(to_categorical(&y, Some(3)).is_err()); // label 3 >= 3 classes
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn to_categorical<I>(labels: I, num_classes: Option<usize>) -> Result<Array2<f32>>
where
    I: IntoIterator,
    I::Item: ClassIndex,
{
    let indices: Vec<usize> = labels
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            l.class_index().map_err(|v| {
                Error::data(
                    "labels",
                    format!("labels[{i}] = {v} is not a class index; expected an integer >= 0"),
                )
            })
        })
        .collect::<Result<_>>()?;
    let k = match num_classes {
        Some(0) => {
            return Err(Error::arg(
                "num_classes",
                "0 classes; expected at least 1 (or None to infer it from the labels)",
            ))
        }
        Some(k) => {
            if let Some((i, &l)) = indices.iter().enumerate().find(|(_, &l)| l >= k) {
                return Err(Error::data(
                    "labels",
                    format!(
                        "labels[{i}] = {l} is out of range for num_classes = {k}; expected labels in 0..={}",
                        k - 1
                    ),
                ));
            }
            k
        }
        None => match indices.iter().max() {
            Some(&m) => m.checked_add(1).ok_or_else(|| {
                Error::data(
                    "labels",
                    format!("label {m} is too large to be a class index"),
                )
            })?,
            None => {
                return Err(Error::data(
                    "labels",
                    "no labels: cannot infer the number of classes; pass num_classes",
                ))
            }
        },
    };
    let n = indices.len();
    let total = n.checked_mul(k).ok_or_else(|| {
        Error::arg(
            "num_classes",
            format!("a {n} x {k} one-hot array is too large"),
        )
    })?;
    let mut data = try_zeros::<f32>(total, "num_classes", &format!("a {n} x {k} one-hot array"))?;
    for (i, &l) in indices.iter().enumerate() {
        data[i * k + l] = 1.0;
    }
    Array2::from_shape_vec((n, k), data)
        .map_err(|e| Error::shape("to_categorical", format!("({n}, {k})"), e.to_string()))
}

/// Divides `x` by its `order`-norm along `axis`, like `keras.utils.normalize`.
///
/// `order` 2 is the Euclidean norm, 1 the sum of absolute values (any `p >= 1` computes
/// `(sum |x|^p)^(1/p)`). Lanes whose norm is 0 are left unchanged (all zeros), as Keras does by
/// replacing a zero norm with 1. `axis` may be negative (`-1` is the last axis). Norms are
/// computed in `f64`.
///
/// Keras's NumPy code path turns `axis=0` into `-1` when re-expanding the norm (`axis or -1`),
/// which is a bug for 2-D and higher inputs; kerust normalizes along axis 0 as asked, as Keras's
/// tensor path (`keras.ops.normalize`) does.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for `order` 0 or an axis outside `-ndim..ndim` (including any axis
/// of a 0-d array); [`Error::InvalidData`] when `x` holds NaN or infinity.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::normalize;
/// use ndarray::array;
///
/// let x = array![[3.0f32, 4.0], [0.0, 0.0]];
/// assert_eq!(normalize(&x, -1, 2)?, array![[0.6f32, 0.8], [0.0, 0.0]]);
/// assert_eq!(normalize(&x, 0, 1)?, array![[1.0f32, 1.0], [0.0, 0.0]]);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn normalize<S, D>(x: &ArrayBase<S, D>, axis: isize, order: u32) -> Result<Array<f32, D>>
where
    S: Data<Elem = f32>,
    D: Dimension + RemoveAxis,
{
    if order == 0 {
        return Err(Error::arg(
            "order",
            "0 is not a norm order; expected 1 (L1), 2 (L2) or a larger integer",
        ));
    }
    let ndim = x.ndim();
    let ax = if axis < 0 {
        axis.checked_add_unsigned(ndim).filter(|a| *a >= 0)
    } else {
        Some(axis).filter(|a| a.unsigned_abs() < ndim)
    };
    let ax = match ax {
        Some(a) if ndim > 0 => a.unsigned_abs(),
        _ => {
            return Err(Error::arg(
                "axis",
                format!(
                    "axis {axis} is out of range for an array of {ndim} dimensions (shape {:?}); expected -{ndim}..{ndim}",
                    x.shape()
                ),
            ))
        }
    };
    check_finite("normalize x", x)?;
    let p = f64::from(order);
    let norms = x.map_axis(Axis(ax), |lane| {
        let n = match order {
            1 => lane.iter().map(|&v| f64::from(v).abs()).sum::<f64>(),
            2 => lane
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt(),
            _ => lane
                .iter()
                .map(|&v| f64::from(v).abs().powf(p))
                .sum::<f64>()
                .powf(1.0 / p),
        };
        if n == 0.0 {
            1.0
        } else {
            n
        }
    });
    let mut out = x.to_owned();
    Zip::from(out.lanes_mut(Axis(ax)))
        .and(&norms)
        .for_each(|mut lane, &n| {
            lane.mapv_inplace(|v| (f64::from(v) / n) as f32);
        });
    Ok(out)
}
