//! `MinMaxScaler` and `StandardScaler`, as in scikit-learn.

use ndarray::{Array1, Array2, ArrayBase, ArrayView1, Axis, Data, Ix2, Zip};

use super::check_finite;
use crate::error::fmt_shape;
use crate::{Error, Result};

/// The error for a scaler used before `fit`.
fn not_fitted(scaler: &str, method: &str) -> Error {
    Error::data(
        format!("{scaler}.{method}"),
        format!("this {scaler} is not fitted yet; call fit or fit_transform with the training data first"),
    )
}

/// Checks a 2-D input: non-empty, finite, and with `n_features` columns when given.
fn check_input<S: Data<Elem = f32>>(
    scaler: &str,
    method: &str,
    x: &ArrayBase<S, Ix2>,
    n_features: Option<usize>,
) -> Result<()> {
    let (rows, cols) = x.dim();
    let context = format!("{scaler}.{method}");
    if let Some(n) = n_features {
        if cols != n {
            return Err(Error::shape(
                format!("{context} (the scaler was fitted on {n} features)"),
                fmt_shape(None, &[n]),
                fmt_shape(Some(rows), &[cols]),
            ));
        }
    }
    if rows == 0 || cols == 0 {
        return Err(Error::data(
            context,
            format!(
                "empty input of shape ({rows}, {cols}); expected at least 1 sample and 1 feature"
            ),
        ));
    }
    check_finite(&format!("{context} x"), x)
}

/// Applies `f(value, column)` to every element, in f64, and checks the f32 result is finite.
fn map_columns<S: Data<Elem = f32>>(
    context: &str,
    x: &ArrayBase<S, Ix2>,
    f: impl Fn(f64, usize) -> f64,
) -> Result<Array2<f32>> {
    let mut out = Array2::<f32>::zeros(x.raw_dim());
    Zip::indexed(&mut out).and(x).for_each(|(_, j), o, &v| {
        *o = f(f64::from(v), j) as f32;
    });
    if let Some(((i, j), v)) = out.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::data(
            context,
            format!(
                "the result at index ({i}, {j}) is {v}: x[{i}, {j}] = {} is too far outside the fitted range to be represented as f32",
                x[[i, j]]
            ),
        ));
    }
    Ok(out)
}

/// scikit-learn's `_handle_zeros_in_scale`: scales below `10 * eps` become 1.
fn handle_zeros_in_scale(scale: &mut Array1<f64>) {
    scale.mapv_inplace(|s| if s < 10.0 * f64::EPSILON { 1.0 } else { s });
}

/// Scales each feature to a given range, like `sklearn.preprocessing.MinMaxScaler`.
///
/// `fit` learns per column `data_min`, `data_max` and `data_range = data_max - data_min`, then
///
/// ```text
/// scale = (range_max - range_min) / data_range      (data_range 0 is taken as 1)
/// min   = range_min - data_min * scale
/// transform(x)         = x * scale + min
/// inverse_transform(x) = (x - min) / scale
/// ```
///
/// computed in `f64` (as scikit-learn on `float64` data) and returned as `f32`. A constant
/// column is mapped to `range_min`. Values outside the fitted range are not clipped.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::MinMaxScaler;
/// use ndarray::array;
///
/// let x = array![[1.0f32, 10.0], [2.0, 10.0], [3.0, 10.0]];
/// let mut scaler = MinMaxScaler::default(); // feature_range (0, 1)
/// let scaled = scaler.fit_transform(&x)?;
/// assert_eq!(scaled, array![[0.0f32, 0.0], [0.5, 0.0], [1.0, 0.0]]);
/// assert_eq!(scaler.inverse_transform(&scaled)?, x);
///
/// let mut sym = MinMaxScaler::new((-1.0, 1.0))?;
/// sym.fit(&x)?;
/// assert_eq!(sym.transform(&array![[4.0f32, 10.0]])?, array![[2.0f32, -1.0]]);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MinMaxScaler {
    feature_range: (f32, f32),
    fitted: Option<MinMaxFit>,
}

#[derive(Debug, Clone, PartialEq)]
struct MinMaxFit {
    data_min: Array1<f64>,
    data_max: Array1<f64>,
    data_range: Array1<f64>,
    scale: Array1<f64>,
    min: Array1<f64>,
    n_samples_seen: usize,
}

impl Default for MinMaxScaler {
    /// A scaler to the range `(0, 1)`.
    fn default() -> Self {
        MinMaxScaler {
            feature_range: (0.0, 1.0),
            fitted: None,
        }
    }
}

impl MinMaxScaler {
    /// A scaler to `feature_range = (min, max)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `min >= max` or either bound is not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    ///
    /// assert!(MinMaxScaler::new((-1.0, 1.0)).is_ok());
    /// assert!(MinMaxScaler::new((1.0, 1.0)).is_err());
    /// ```
    pub fn new(feature_range: (f32, f32)) -> Result<Self> {
        let (lo, hi) = feature_range;
        if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
            return Err(Error::arg(
                "feature_range",
                format!(
                    "({lo}, {hi}) is not a valid range; expected finite (min, max) with min < max"
                ),
            ));
        }
        Ok(MinMaxScaler {
            feature_range,
            fitted: None,
        })
    }

    /// The target range `(min, max)`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(kerust::preprocessing::MinMaxScaler::default().feature_range(), (0.0, 1.0));
    /// ```
    pub fn feature_range(&self) -> (f32, f32) {
        self.feature_range
    }

    /// Learns the per-feature minimum and maximum of `x` (`n_samples x n_features`).
    ///
    /// Fitting again replaces what was learnt.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] when `x` has no row or no column or holds NaN or infinity.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// use ndarray::array;
    ///
    /// let mut scaler = MinMaxScaler::default();
    /// scaler.fit(&array![[0.0f32], [4.0]].view())?;
    /// assert_eq!(scaler.scale().unwrap()[0], 0.25);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn fit<S: Data<Elem = f32>>(&mut self, x: &ArrayBase<S, Ix2>) -> Result<&mut Self> {
        check_input("MinMaxScaler", "fit", x, None)?;
        let col_fold = |init: f64, f: fn(f64, f64) -> f64| {
            x.fold_axis(Axis(0), init, |&acc, &v| f(acc, f64::from(v)))
        };
        let data_min = col_fold(f64::INFINITY, f64::min);
        let data_max = col_fold(f64::NEG_INFINITY, f64::max);
        let data_range = &data_max - &data_min;
        let (lo, hi) = (
            f64::from(self.feature_range.0),
            f64::from(self.feature_range.1),
        );
        let mut denom = data_range.clone();
        handle_zeros_in_scale(&mut denom);
        let scale = denom.mapv(|d| (hi - lo) / d);
        let min = lo - &data_min * &scale;
        self.fitted = Some(MinMaxFit {
            data_min,
            data_max,
            data_range,
            scale,
            min,
            n_samples_seen: x.nrows(),
        });
        Ok(self)
    }

    /// Scales `x` with what `fit` learnt: `x * scale + min`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] before `fit`, for an empty or non-finite `x`, or for a result that
    /// overflows `f32`; [`Error::Shape`] when `x` has another number of columns than the fit data.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// use ndarray::array;
    ///
    /// let mut scaler = MinMaxScaler::default();
    /// scaler.fit(&array![[0.0f32, -1.0], [10.0, 1.0]])?;
    /// assert_eq!(scaler.transform(&array![[5.0f32, 0.0]])?, array![[0.5f32, 0.5]]);
    /// assert!(scaler.transform(&array![[5.0f32]]).is_err()); // 1 column instead of 2
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn transform<S: Data<Elem = f32>>(&self, x: &ArrayBase<S, Ix2>) -> Result<Array2<f32>> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| not_fitted("MinMaxScaler", "transform"))?;
        check_input("MinMaxScaler", "transform", x, Some(fit.scale.len()))?;
        map_columns("MinMaxScaler.transform", x, |v, j| {
            v * fit.scale[j] + fit.min[j]
        })
    }

    /// Fits on `x`, then transforms it.
    ///
    /// # Errors
    ///
    /// The errors of [`MinMaxScaler::fit`] and [`MinMaxScaler::transform`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// use ndarray::array;
    ///
    /// let scaled = MinMaxScaler::default().fit_transform(&array![[2.0f32], [4.0], [6.0]])?;
    /// assert_eq!(scaled, array![[0.0f32], [0.5], [1.0]]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn fit_transform<S: Data<Elem = f32>>(
        &mut self,
        x: &ArrayBase<S, Ix2>,
    ) -> Result<Array2<f32>> {
        self.fit(x)?;
        self.transform(x)
    }

    /// Undoes the scaling: `(x - min) / scale`.
    ///
    /// # Errors
    ///
    /// As [`MinMaxScaler::transform`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// use ndarray::array;
    ///
    /// let mut scaler = MinMaxScaler::default();
    /// scaler.fit(&array![[0.0f32], [10.0]])?;
    /// assert_eq!(scaler.inverse_transform(&array![[0.25f32]])?, array![[2.5f32]]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn inverse_transform<S: Data<Elem = f32>>(
        &self,
        x: &ArrayBase<S, Ix2>,
    ) -> Result<Array2<f32>> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| not_fitted("MinMaxScaler", "inverse_transform"))?;
        check_input(
            "MinMaxScaler",
            "inverse_transform",
            x,
            Some(fit.scale.len()),
        )?;
        map_columns("MinMaxScaler.inverse_transform", x, |v, j| {
            (v - fit.min[j]) / fit.scale[j]
        })
    }

    /// Whether `fit` has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!kerust::preprocessing::MinMaxScaler::default().is_fitted());
    /// ```
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    /// The number of features seen by `fit` (`n_features_in_`), `None` before `fit`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[1.0f32, 2.0, 3.0]])?;
    /// assert_eq!(s.n_features_in(), Some(3));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn n_features_in(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.scale.len())
    }

    /// The number of samples seen by `fit` (`n_samples_seen_`), `None` before `fit`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [2.0]])?;
    /// assert_eq!(s.n_samples_seen(), Some(2));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn n_samples_seen(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.n_samples_seen)
    }

    /// The per-feature minimum of the fit data (`data_min_`).
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [-2.0]])?;
    /// assert_eq!(s.data_min().unwrap()[0], -2.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn data_min(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.data_min.view())
    }

    /// The per-feature maximum of the fit data (`data_max_`).
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [-2.0]])?;
    /// assert_eq!(s.data_max().unwrap()[0], 1.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn data_max(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.data_max.view())
    }

    /// The per-feature `data_max - data_min` (`data_range_`; 0 for a constant feature).
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[1.0f32, 5.0], [-2.0, 5.0]])?;
    /// assert_eq!(s.data_range().unwrap().to_vec(), vec![3.0, 0.0]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn data_range(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.data_range.view())
    }

    /// The per-feature multiplier (`scale_`).
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[0.0f32, 5.0], [2.0, 5.0]])?;
    /// assert_eq!(s.scale().unwrap().to_vec(), vec![0.5, 1.0]); // constant feature: 1
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn scale(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.scale.view())
    }

    /// The per-feature offset (`min_`): `range_min - data_min * scale`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::MinMaxScaler;
    /// let mut s = MinMaxScaler::default();
    /// s.fit(&ndarray::array![[2.0f32], [4.0]])?;
    /// assert_eq!(s.min().unwrap()[0], -1.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn min(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted.as_ref().map(|f| f.min.view())
    }
}

/// Standardizes each feature to zero mean and unit variance, like
/// `sklearn.preprocessing.StandardScaler`.
///
/// `fit` learns per column the `mean` and the population variance `var` (ddof 0), and
/// `scale = sqrt(var)`, taken as 1 for a constant feature (scikit-learn's test
/// `var <= n * eps * var + (n * mean * eps)^2`). Then
///
/// ```text
/// transform(x)         = (x - mean) / scale
/// inverse_transform(x) = x * scale + mean
/// ```
///
/// where centering is skipped without `with_mean` and scaling without `with_std`. Computed in
/// `f64`, returned as `f32`.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::StandardScaler;
/// use ndarray::array;
///
/// let x = array![[1.0f32, 7.0], [3.0, 7.0]];
/// let mut scaler = StandardScaler::default(); // with_mean and with_std
/// let z = scaler.fit_transform(&x)?;
/// assert_eq!(z, array![[-1.0f32, 0.0], [1.0, 0.0]]);
/// assert_eq!(scaler.mean().unwrap().to_vec(), vec![2.0, 7.0]);
/// assert_eq!(scaler.inverse_transform(&z)?, x);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    with_mean: bool,
    with_std: bool,
    fitted: Option<StandardFit>,
}

#[derive(Debug, Clone, PartialEq)]
struct StandardFit {
    mean: Array1<f64>,
    var: Array1<f64>,
    scale: Array1<f64>,
    n_samples_seen: usize,
}

impl Default for StandardScaler {
    /// A scaler that centers and scales (`with_mean` and `with_std`).
    fn default() -> Self {
        StandardScaler::new(true, true)
    }
}

impl StandardScaler {
    /// A scaler that subtracts the mean if `with_mean` and divides by the standard deviation if
    /// `with_std`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// use ndarray::array;
    ///
    /// let mut only_scale = StandardScaler::new(false, true);
    /// let z = only_scale.fit_transform(&array![[1.0f32], [3.0]])?;
    /// assert_eq!(z, array![[1.0f32], [3.0]]); // std is 1
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn new(with_mean: bool, with_std: bool) -> Self {
        StandardScaler {
            with_mean,
            with_std,
            fitted: None,
        }
    }

    /// Whether `transform` subtracts the mean.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(kerust::preprocessing::StandardScaler::default().with_mean());
    /// ```
    pub fn with_mean(&self) -> bool {
        self.with_mean
    }

    /// Whether `transform` divides by the standard deviation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(kerust::preprocessing::StandardScaler::default().with_std());
    /// ```
    pub fn with_std(&self) -> bool {
        self.with_std
    }

    /// Learns the per-feature mean and population variance of `x` (`n_samples x n_features`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] when `x` has no row or no column or holds NaN or infinity.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// use ndarray::array;
    ///
    /// let mut s = StandardScaler::default();
    /// s.fit(&array![[0.0f32], [2.0], [4.0], [6.0]])?;
    /// assert_eq!(s.var().unwrap()[0], 5.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn fit<S: Data<Elem = f32>>(&mut self, x: &ArrayBase<S, Ix2>) -> Result<&mut Self> {
        check_input("StandardScaler", "fit", x, None)?;
        let n = x.nrows() as f64;
        let sum = x.fold_axis(Axis(0), 0.0f64, |&acc, &v| acc + f64::from(v));
        let mean = sum / n;
        // scikit-learn's corrected two-pass variance: (sum(d^2) - sum(d)^2 / n) / n, d = x - mean.
        let mut sum_d = Array1::<f64>::zeros(mean.len());
        let mut sum_d2 = Array1::<f64>::zeros(mean.len());
        for row in x.rows() {
            Zip::from(&mut sum_d)
                .and(&mut sum_d2)
                .and(&row)
                .and(&mean)
                .for_each(|s, s2, &v, &m| {
                    let d = f64::from(v) - m;
                    *s += d;
                    *s2 += d * d;
                });
        }
        let var = Zip::from(&sum_d)
            .and(&sum_d2)
            .map_collect(|&s, &s2| ((s2 - s * s / n) / n).max(0.0));
        let eps = f64::EPSILON;
        let scale = Zip::from(&var).and(&mean).map_collect(|&v, &m| {
            let upper_bound = n * eps * v + (n * m * eps).powi(2);
            if v <= upper_bound {
                1.0
            } else {
                let s = v.sqrt();
                if s < 10.0 * eps {
                    1.0
                } else {
                    s
                }
            }
        });
        self.fitted = Some(StandardFit {
            mean,
            var,
            scale,
            n_samples_seen: x.nrows(),
        });
        Ok(self)
    }

    /// Standardizes `x` with what `fit` learnt: `(x - mean) / scale`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] before `fit`, for an empty or non-finite `x`, or for a result that
    /// overflows `f32`; [`Error::Shape`] when `x` has another number of columns than the fit data.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// use ndarray::array;
    ///
    /// let mut s = StandardScaler::default();
    /// s.fit(&array![[0.0f32], [4.0]])?;
    /// assert_eq!(s.transform(&array![[6.0f32]])?, array![[2.0f32]]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn transform<S: Data<Elem = f32>>(&self, x: &ArrayBase<S, Ix2>) -> Result<Array2<f32>> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| not_fitted("StandardScaler", "transform"))?;
        check_input("StandardScaler", "transform", x, Some(fit.mean.len()))?;
        let (center, scale) = (self.with_mean, self.with_std);
        map_columns("StandardScaler.transform", x, |v, j| {
            let v = if center { v - fit.mean[j] } else { v };
            if scale {
                v / fit.scale[j]
            } else {
                v
            }
        })
    }

    /// Fits on `x`, then transforms it.
    ///
    /// # Errors
    ///
    /// The errors of [`StandardScaler::fit`] and [`StandardScaler::transform`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// use ndarray::array;
    ///
    /// let z = StandardScaler::default().fit_transform(&array![[5.0f32], [5.0]])?;
    /// assert_eq!(z, array![[0.0f32], [0.0]]); // constant feature: scale 1
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn fit_transform<S: Data<Elem = f32>>(
        &mut self,
        x: &ArrayBase<S, Ix2>,
    ) -> Result<Array2<f32>> {
        self.fit(x)?;
        self.transform(x)
    }

    /// Undoes the standardization: `x * scale + mean`.
    ///
    /// # Errors
    ///
    /// As [`StandardScaler::transform`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// use ndarray::array;
    ///
    /// let mut s = StandardScaler::default();
    /// s.fit(&array![[0.0f32], [4.0]])?;
    /// assert_eq!(s.inverse_transform(&array![[-1.0f32]])?, array![[0.0f32]]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn inverse_transform<S: Data<Elem = f32>>(
        &self,
        x: &ArrayBase<S, Ix2>,
    ) -> Result<Array2<f32>> {
        let fit = self
            .fitted
            .as_ref()
            .ok_or_else(|| not_fitted("StandardScaler", "inverse_transform"))?;
        check_input(
            "StandardScaler",
            "inverse_transform",
            x,
            Some(fit.mean.len()),
        )?;
        let (center, scale) = (self.with_mean, self.with_std);
        map_columns("StandardScaler.inverse_transform", x, |v, j| {
            let v = if scale { v * fit.scale[j] } else { v };
            if center {
                v + fit.mean[j]
            } else {
                v
            }
        })
    }

    /// Whether `fit` has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!kerust::preprocessing::StandardScaler::default().is_fitted());
    /// ```
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    /// The number of features seen by `fit` (`n_features_in_`), `None` before `fit`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// let mut s = StandardScaler::default();
    /// s.fit(&ndarray::array![[1.0f32, 2.0]])?;
    /// assert_eq!(s.n_features_in(), Some(2));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn n_features_in(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.mean.len())
    }

    /// The number of samples seen by `fit` (`n_samples_seen_`), `None` before `fit`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// let mut s = StandardScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [2.0], [3.0]])?;
    /// assert_eq!(s.n_samples_seen(), Some(3));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn n_samples_seen(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.n_samples_seen)
    }

    /// The per-feature mean (`mean_`); `None` before `fit` or when neither `with_mean` nor
    /// `with_std` is set (as scikit-learn).
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// let mut s = StandardScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [3.0]])?;
    /// assert_eq!(s.mean().unwrap()[0], 2.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn mean(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted
            .as_ref()
            .filter(|_| self.with_mean || self.with_std)
            .map(|f| f.mean.view())
    }

    /// The per-feature population variance (`var_`); `None` before `fit` or without `with_std`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// let mut s = StandardScaler::default();
    /// s.fit(&ndarray::array![[1.0f32], [3.0]])?;
    /// assert_eq!(s.var().unwrap()[0], 1.0);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn var(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted
            .as_ref()
            .filter(|_| self.with_std)
            .map(|f| f.var.view())
    }

    /// The per-feature divisor (`scale_`: the standard deviation, 1 for a constant feature);
    /// `None` before `fit` or without `with_std`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::preprocessing::StandardScaler;
    /// let mut s = StandardScaler::default();
    /// s.fit(&ndarray::array![[1.0f32, 4.0], [5.0, 4.0]])?;
    /// assert_eq!(s.scale().unwrap().to_vec(), vec![2.0, 1.0]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn scale(&self) -> Option<ArrayView1<'_, f64>> {
        self.fitted
            .as_ref()
            .filter(|_| self.with_std)
            .map(|f| f.scale.view())
    }
}
