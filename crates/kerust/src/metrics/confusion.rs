//! Confusion matrix and classification report, as in scikit-learn.

use std::fmt;

use ndarray::Array2;

use crate::{Error, Result};

/// Checks the labels and returns the number of classes.
fn class_count(
    y_true: &[usize],
    y_pred: &[usize],
    num_classes: Option<usize>,
    names_len: Option<usize>,
) -> Result<usize> {
    if y_true.len() != y_pred.len() {
        return Err(Error::shape(
            "confusion_matrix y_true against y_pred",
            format!("as many predictions as true labels ({})", y_true.len()),
            format!("{} predictions", y_pred.len()),
        ));
    }
    if y_true.is_empty() {
        return Err(Error::data(
            "y_true",
            "no samples; expected at least one (true, predicted) pair",
        ));
    }
    let k = match num_classes.or(names_len) {
        Some(0) => {
            return Err(Error::arg(
                "num_classes",
                "0 classes; expected at least 1 (or None to infer it from the labels)",
            ))
        }
        Some(k) => k,
        None => {
            let max = y_true.iter().chain(y_pred).max().copied().unwrap_or(0);
            max.checked_add(1).ok_or_else(|| {
                Error::data(
                    "y_true",
                    format!("label {max} is too large to be a class index"),
                )
            })?
        }
    };
    let source = if names_len.is_some() && num_classes.is_none() {
        "class_names"
    } else {
        "num_classes"
    };
    for (what, ys) in [("y_true", y_true), ("y_pred", y_pred)] {
        if let Some((i, &l)) = ys.iter().enumerate().find(|(_, &l)| l >= k) {
            return Err(Error::data(
                what,
                format!(
                    "{what}[{i}] = {l} is out of range for {k} classes (from {source}); expected labels in 0..={}",
                    k - 1
                ),
            ));
        }
    }
    Ok(k)
}

/// Counts `(true, predicted)` pairs, like `sklearn.metrics.confusion_matrix`.
///
/// Entry `[i, j]` is the number of samples of true class `i` predicted as class `j`: rows are
/// true classes, columns predictions. Without `num_classes`, the classes are `0..=max label`
/// (as `tf.math.confusion_matrix`; scikit-learn keeps only the labels that occur, which is the
/// same whenever every class up to the largest label occurs).
///
/// # Errors
///
/// [`Error::Shape`] when the slices differ in length; [`Error::InvalidData`] when they are
/// empty or a label is `>= num_classes`; [`Error::InvalidArgument`] when `num_classes` is 0 or
/// the matrix is too large to allocate.
///
/// # Examples
///
/// ```
/// use kerust::metrics::confusion_matrix;
/// use ndarray::array;
///
/// let cm = confusion_matrix(&[2, 0, 2, 2, 0, 1], &[0, 0, 2, 2, 0, 2], None)?;
/// assert_eq!(cm, array![[2u64, 0, 0], [0, 0, 1], [1, 0, 2]]);
/// assert!(confusion_matrix(&[3], &[0], Some(3)).is_err());
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    num_classes: Option<usize>,
) -> Result<Array2<u64>> {
    let k = class_count(y_true, y_pred, num_classes, None)?;
    build_matrix(y_true, y_pred, k)
}

fn build_matrix(y_true: &[usize], y_pred: &[usize], k: usize) -> Result<Array2<u64>> {
    let too_large = || {
        Error::arg(
            "num_classes",
            format!("a {k} x {k} confusion matrix is too large to allocate"),
        )
    };
    let len = k.checked_mul(k).ok_or_else(too_large)?;
    let mut data: Vec<u64> = Vec::new();
    data.try_reserve_exact(len).map_err(|_| too_large())?;
    data.resize(len, 0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        data[t * k + p] += 1;
    }
    Array2::from_shape_vec((k, k), data).map_err(|_| too_large())
}

/// Precision, recall, F1 score and support of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    /// The class name (its index as text when no names were given).
    pub name: String,
    /// `tp / (tp + fp)`; 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`; 0 when the class never occurs.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, the harmonic mean of precision and recall; 0 when undefined.
    pub f1_score: f64,
    /// The number of samples of this true class.
    pub support: u64,
}

/// Precision, recall and F1 score averaged over classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AverageScores {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1 score.
    pub f1_score: f64,
    /// The total number of samples.
    pub support: u64,
}

/// Per-class scores and their averages, like `sklearn.metrics.classification_report`.
///
/// Its `Display` prints scikit-learn's text table; the formatter's precision sets the number
/// of digits (2 by default, scikit-learn's `digits`): `format!("{report:.4}")`. Divisions by 0
/// give 0, as scikit-learn's default `zero_division` (without its warning).
///
/// # Examples
///
/// ```
/// use kerust::metrics::classification_report;
///
/// let report = classification_report(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1], None)?;
/// assert_eq!(report.accuracy, 0.6);
/// assert_eq!(report.classes[2].recall, 2.0 / 3.0);
/// print!("{report}");
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClassificationReport {
    /// One entry per class, in class order.
    pub classes: Vec<ClassScores>,
    /// The fraction of correct predictions.
    pub accuracy: f64,
    /// The unweighted mean over classes.
    pub macro_avg: AverageScores,
    /// The mean over classes weighted by support.
    pub weighted_avg: AverageScores,
    /// The confusion matrix the scores come from (rows true, columns predicted).
    pub confusion_matrix: Array2<u64>,
}

fn ratio(num: u128, den: u128) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ClassificationReport {
    /// Computes the report from a square confusion matrix (rows true, columns predicted).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] when the matrix is not square or has no class, or when `class_names`
    /// does not hold one name per class.
    ///
    /// # Examples
    ///
    /// ```
    /// use kerust::metrics::ClassificationReport;
    /// use ndarray::array;
    ///
    /// let cm = array![[5u64, 1], [0, 4]];
    /// let report = ClassificationReport::from_confusion_matrix(&cm, Some(&["cat", "dog"]))?;
    /// assert_eq!(report.classes[1].name, "dog");
    /// assert_eq!(report.classes[1].precision, 0.8);
    /// assert_eq!(report.accuracy, 0.9);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn from_confusion_matrix(cm: &Array2<u64>, class_names: Option<&[&str]>) -> Result<Self> {
        let (rows, cols) = cm.dim();
        if rows != cols || rows == 0 {
            return Err(Error::shape(
                "ClassificationReport confusion matrix",
                "a square (num_classes, num_classes) matrix with num_classes >= 1",
                format!("({rows}, {cols})"),
            ));
        }
        if let Some(names) = class_names {
            if names.len() != rows {
                return Err(Error::shape(
                    "ClassificationReport class_names",
                    format!("{rows} names, one per class of the confusion matrix"),
                    format!("{} names", names.len()),
                ));
            }
        }
        // Sums in u128: a matrix of huge counts must not overflow.
        let true_sums: Vec<u128> = cm
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|&v| u128::from(v)).sum())
            .collect();
        let pred_sums: Vec<u128> = cm
            .columns()
            .into_iter()
            .map(|c| c.iter().map(|&v| u128::from(v)).sum())
            .collect();
        let total: u128 = true_sums.iter().sum();
        let correct: u128 = cm.diag().iter().map(|&v| u128::from(v)).sum();
        let to_u64 = |v: u128| {
            u64::try_from(v).map_err(|_| {
                Error::data(
                    "confusion matrix",
                    format!("counts summing to {v}, more than u64 can hold"),
                )
            })
        };
        let total_u64 = to_u64(total)?;
        let classes: Vec<ClassScores> = (0..rows)
            .map(|i| {
                let tp = u128::from(cm[[i, i]]);
                Ok(ClassScores {
                    name: class_names.map_or_else(|| i.to_string(), |n| n[i].to_string()),
                    precision: ratio(tp, pred_sums[i]),
                    recall: ratio(tp, true_sums[i]),
                    f1_score: ratio(2 * tp, true_sums[i] + pred_sums[i]),
                    support: to_u64(true_sums[i])?,
                })
            })
            .collect::<Result<_>>()?;
        let k = rows as f64;
        let mean = |f: fn(&ClassScores) -> f64| classes.iter().map(f).sum::<f64>() / k;
        let weighted = |f: fn(&ClassScores) -> f64| {
            if total == 0 {
                0.0
            } else {
                classes.iter().map(|c| f(c) * c.support as f64).sum::<f64>() / total as f64
            }
        };
        let macro_avg = AverageScores {
            precision: mean(|c| c.precision),
            recall: mean(|c| c.recall),
            f1_score: mean(|c| c.f1_score),
            support: total_u64,
        };
        let weighted_avg = AverageScores {
            precision: weighted(|c| c.precision),
            recall: weighted(|c| c.recall),
            f1_score: weighted(|c| c.f1_score),
            support: total_u64,
        };
        Ok(ClassificationReport {
            classes,
            accuracy: ratio(correct, total),
            macro_avg,
            weighted_avg,
            confusion_matrix: cm.clone(),
        })
    }
}

/// Computes per-class precision, recall, F1 and support, with accuracy and macro and weighted
/// averages, like `sklearn.metrics.classification_report`.
///
/// The classes are `0..class_names.len()` when names are given, else `0..=max label`.
///
/// # Errors
///
/// As [`confusion_matrix`]; a label `>= class_names.len()` is an [`Error::InvalidData`].
///
/// # Examples
///
/// ```
/// use kerust::metrics::classification_report;
///
/// let report = classification_report(&[0, 1, 1, 0], &[0, 1, 0, 0], Some(&["no", "yes"]))?;
/// let text = report.to_string();
/// assert!(text.contains("    accuracy                           0.75         4"));
/// assert_eq!(report.classes[1].recall, 0.5);
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn classification_report(
    y_true: &[usize],
    y_pred: &[usize],
    class_names: Option<&[&str]>,
) -> Result<ClassificationReport> {
    let k = class_count(y_true, y_pred, None, class_names.map(<[&str]>::len))?;
    let cm = build_matrix(y_true, y_pred, k)?;
    ClassificationReport::from_confusion_matrix(&cm, class_names)
}

impl fmt::Display for ClassificationReport {
    /// scikit-learn's `classification_report` text; the precision sets the digits (default 2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = f.precision().unwrap_or(2);
        let last_heading = "weighted avg";
        let name_width = self
            .classes
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        let width = name_width.max(last_heading.len()).max(digits);
        write!(f, "{:>width$} ", "")?;
        for h in ["precision", "recall", "f1-score", "support"] {
            write!(f, " {h:>9}")?;
        }
        f.write_str("\n\n")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, p: f64, r: f64, f1: f64, s: u64| {
            writeln!(
                f,
                "{name:>width$}  {p:>9.digits$} {r:>9.digits$} {f1:>9.digits$} {s:>9}"
            )
        };
        for c in &self.classes {
            row(f, &c.name, c.precision, c.recall, c.f1_score, c.support)?;
        }
        f.write_str("\n")?;
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9.digits$} {:>9}",
            "accuracy", "", "", self.accuracy, self.macro_avg.support
        )?;
        for (name, a) in [
            ("macro avg", &self.macro_avg),
            ("weighted avg", &self.weighted_avg),
        ] {
            row(f, name, a.precision, a.recall, a.f1_score, a.support)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sklearn_docstring_example() {
        // sklearn.metrics.classification_report docstring:
        // y_true = [0, 1, 2, 2, 2]; y_pred = [0, 0, 2, 2, 1]
        let names = ["class 0", "class 1", "class 2"];
        let r = classification_report(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1], Some(&names)).unwrap();
        let expected = "              precision    recall  f1-score   support

     class 0       0.50      1.00      0.67         1
     class 1       0.00      0.00      0.00         1
     class 2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
";
        assert_eq!(r.to_string(), expected);
    }

    #[test]
    fn four_digits_and_long_names_match_sklearn() {
        // Expected strings printed by scikit-learn 1.9.1 for the same inputs.
        let yt = [0, 1, 2, 3, 3, 1, 0, 2, 2, 1, 0, 3, 3, 3, 1];
        let yp = [0, 2, 2, 3, 1, 1, 0, 2, 0, 1, 1, 3, 3, 0, 1];
        let cm = confusion_matrix(&yt, &yp, None).unwrap();
        assert_eq!(
            cm,
            ndarray::array![[2u64, 1, 0, 0], [0, 3, 1, 0], [1, 0, 2, 0], [1, 1, 0, 3]]
        );
        let names = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"];
        let r = classification_report(&yt, &yp, Some(&names)).unwrap();
        let expected = "              precision    recall  f1-score   support\n\n T-shirt/top     0.5000    0.6667    0.5714         3\n     Trouser     0.6000    0.7500    0.6667         4\n    Pullover     0.6667    0.6667    0.6667         3\n  Ankle boot     1.0000    0.6000    0.7500         5\n\n    accuracy                         0.6667        15\n   macro avg     0.6917    0.6708    0.6637        15\nweighted avg     0.7267    0.6667    0.6754        15\n";
        assert_eq!(format!("{r:.4}"), expected);
        // Hand check of class 0: tp 2, predicted 4 times, 3 true.
        assert_eq!(r.classes[0].precision, 0.5);
        assert_eq!(r.classes[0].recall, 2.0 / 3.0);
        assert_eq!(r.classes[0].f1_score, 4.0 / 7.0);
        assert_eq!(r.classes[3].support, 5);
        assert_eq!(r.accuracy, 10.0 / 15.0);

        // One digit: ties round half to even, as Python's format.
        let r = classification_report(&[0, 1, 0, 1], &[0, 1, 0, 0], None).unwrap();
        let expected = "              precision    recall  f1-score   support\n\n           0        0.7       1.0       0.8         2\n           1        1.0       0.5       0.7         2\n\n    accuracy                            0.8         4\n   macro avg        0.8       0.8       0.7         4\nweighted avg        0.8       0.8       0.7         4\n";
        assert_eq!(format!("{r:.1}"), expected);
    }

    #[test]
    fn zero_division_gives_zero() {
        // Class 1 never predicted, class 2 never occurs (sklearn with labels=[0, 1, 2]).
        let r =
            classification_report(&[0, 0, 1, 1], &[0, 0, 0, 0], Some(&["0", "1", "2"])).unwrap();
        let expected = "              precision    recall  f1-score   support\n\n           0       0.50      1.00      0.67         2\n           1       0.00      0.00      0.00         2\n           2       0.00      0.00      0.00         0\n\n    accuracy                           0.50         4\n   macro avg       0.17      0.33      0.22         4\nweighted avg       0.25      0.50      0.33         4\n";
        assert_eq!(r.to_string(), expected);
        assert_eq!(
            confusion_matrix(&[0, 0, 1, 1], &[0, 0, 0, 0], Some(3))
                .unwrap()
                .dim(),
            (3, 3)
        );
    }

    #[test]
    fn errors() {
        let e = confusion_matrix(&[0, 1], &[0], None).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
        assert!(confusion_matrix(&[], &[], None).is_err());
        assert!(confusion_matrix(&[0], &[0], Some(0)).is_err());
        let e = confusion_matrix(&[0, 1], &[0, 4], Some(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("y_pred[1] = 4") && e.contains("0..=2"), "{e}");
        let e = classification_report(&[0, 2], &[0, 1], Some(&["a", "b"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("y_true[1] = 2") && e.contains("class_names"),
            "{e}"
        );
        // Absurd class counts are errors, not aborts or overflows.
        assert!(confusion_matrix(&[usize::MAX], &[0], None).is_err());
        assert!(confusion_matrix(&[1 << 40], &[0], None).is_err());
        assert!(confusion_matrix(&[0], &[0], Some(usize::MAX)).is_err());
        let cm = ndarray::Array2::<u64>::zeros((2, 3));
        assert!(ClassificationReport::from_confusion_matrix(&cm, None).is_err());
        let cm = ndarray::Array2::<u64>::zeros((2, 2));
        assert!(ClassificationReport::from_confusion_matrix(&cm, Some(&["a"])).is_err());
        let empty = ClassificationReport::from_confusion_matrix(&cm, None).unwrap();
        let huge = ndarray::Array2::from_elem((2, 2), u64::MAX);
        assert!(ClassificationReport::from_confusion_matrix(&huge, None).is_err());
        let big = ndarray::array![[u64::MAX, 0], [0, 0]];
        let r = ClassificationReport::from_confusion_matrix(&big, None).unwrap();
        assert_eq!((r.accuracy, r.classes[0].f1_score), (1.0, 1.0));
        assert_eq!((empty.accuracy, empty.weighted_avg.f1_score), (0.0, 0.0));
    }
}
