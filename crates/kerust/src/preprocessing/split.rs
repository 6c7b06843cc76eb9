//! `train_test_split` and `shuffle_arrays`, with a small self-contained RNG.

use std::cmp::Ordering;
use std::fmt::Debug;

use ndarray::{Array, Array1, ArrayBase, Axis, Data, Dimension, Ix1, RemoveAxis};

use crate::{Error, Result};

/// `(x_train, x_test, y_train, y_test)`, in scikit-learn's order.
pub type Split<A, D, L> = (Array<A, D>, Array<A, D>, Array1<L>, Array1<L>);

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, and good enough to shuffle.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias (Lemire's method).
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as usize
    }

    /// Fisher-Yates shuffle.
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
}

/// Checks that `x` has a first axis as long as `y`; returns that length.
fn check_lengths<A, S, D, L, SL>(
    context: &str,
    x: &ArrayBase<S, D>,
    y: &ArrayBase<SL, Ix1>,
) -> Result<usize>
where
    S: Data<Elem = A>,
    SL: Data<Elem = L>,
    D: Dimension,
{
    if x.ndim() == 0 {
        return Err(Error::shape(
            format!("{context} x"),
            "an array with a first (sample) axis",
            "a 0-d array",
        ));
    }
    let n = x.len_of(Axis(0));
    if n != y.len() {
        return Err(Error::shape(
            format!("{context} x against y"),
            format!(
                "as many labels as samples in x ({n}, x of shape {:?})",
                x.shape()
            ),
            format!("{} labels", y.len()),
        ));
    }
    Ok(n)
}

/// The decimal value the user wrote for an `f32` (0.2f32 -> 0.2, not 0.20000000298...).
fn decimal_f64(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// scikit-learn's `_approximate_mode`: split `n_draws` among classes in proportion to
/// `counts`, handing the remainder to the largest fractional parts (ties broken at random).
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, &f)| c - f as f64)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let mut inds: Vec<usize> = (0..counts.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            rng.shuffle(&mut inds);
            let add_now = inds.len().min(need);
            for &i in &inds[..add_now] {
                floored[i] += 1;
            }
            need -= add_now;
            if need == 0 {
                break;
            }
        }
    }
    floored
}

/// Splits `x` and `y` into random train and test subsets, like scikit-learn's
/// `train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y if stratify)`.
///
/// Samples are along the first axis of `x` (any shape: `(n, features)`, `(n, 28, 28)`...) and
/// of `y`. The test set holds `ceil(test_size * n)` samples, the train set the rest. With
/// `stratify`, each class (distinct value of `y`) keeps its proportion in both sets, by
/// scikit-learn's `StratifiedShuffleSplit` allocation. The result is deterministic for a given
/// `seed` (kerust's own generator: it does not reproduce NumPy's draws).
///
/// Returns `(x_train, x_test, y_train, y_test)`.
///
/// # Errors
///
/// [`Error::Shape`] when `x` is 0-d or its first axis differs from `y`'s length;
/// [`Error::InvalidArgument`] when `test_size` is not in `(0, 1)` or leaves an empty train or
/// test set, or (with `stratify`) when either set is smaller than the number of classes;
/// [`Error::InvalidData`] (with `stratify`) when a class has a single member or a label is NaN.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::train_test_split;
/// use ndarray::{Array1, Array2};
///
/// let x = Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f32);
/// let y = Array1::from_iter((0..10u8).map(|i| i % 2));
/// let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42, true)?;
/// assert_eq!((x_train.nrows(), x_test.nrows()), (8, 2));
/// assert_eq!((y_train.len(), y_test.len()), (8, 2));
/// // Stratified: one sample of each class in the test set.
/// assert_eq!(y_test.iter().filter(|&&c| c == 0).count(), 1);
/// // Rows stay with their labels.
/// for (row, &label) in x_test.rows().into_iter().zip(&y_test) {
///     assert_eq!((row[0] as u8 / 2) % 2, label);
/// }
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn train_test_split<A, S, D, L, SL>(
    x: &ArrayBase<S, D>,
    y: &ArrayBase<SL, Ix1>,
    test_size: f32,
    seed: u64,
    stratify: bool,
) -> Result<Split<A, D, L>>
where
    A: Clone,
    S: Data<Elem = A>,
    D: Dimension + RemoveAxis,
    L: Clone + PartialOrd + Debug,
    SL: Data<Elem = L>,
{
    let n = check_lengths("train_test_split", x, y)?;
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::arg(
            "test_size",
            format!("{test_size} is not a fraction; expected 0 < test_size < 1"),
        ));
    }
    let n_test = (decimal_f64(test_size) * n as f64).ceil() as usize;
    let n_train = n.saturating_sub(n_test);
    if n_train == 0 || n_test == 0 {
        return Err(Error::arg(
            "test_size",
            format!(
                "with {n} samples and test_size = {test_size}, the {} set would be empty; adjust test_size or give more samples",
                if n_train == 0 { "train" } else { "test" }
            ),
        ));
    }
    let mut rng = SplitMix64::new(seed);
    let (train, test) = if stratify {
        stratified_indices(y, n_train, n_test, &mut rng)?
    } else {
        let perm = rng.permutation(n);
        (perm[n_test..].to_vec(), perm[..n_test].to_vec())
    };
    Ok((
        x.select(Axis(0), &train),
        x.select(Axis(0), &test),
        y.select(Axis(0), &train),
        y.select(Axis(0), &test),
    ))
}

/// Train and test indices by scikit-learn's `StratifiedShuffleSplit` procedure.
fn stratified_indices<L, SL>(
    y: &ArrayBase<SL, Ix1>,
    n_train: usize,
    n_test: usize,
    rng: &mut SplitMix64,
) -> Result<(Vec<usize>, Vec<usize>)>
where
    L: PartialOrd + Debug,
    SL: Data<Elem = L>,
{
    if let Some((i, l)) = y
        .iter()
        .enumerate()
        .find(|(_, l)| l.partial_cmp(l) != Some(Ordering::Equal))
    {
        return Err(Error::data(
            "y",
            format!("y[{i}] = {l:?} cannot be compared (NaN?); stratify needs class labels"),
        ));
    }
    // Group the sample indices by class, classes in ascending order, indices in order.
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| y[a].partial_cmp(&y[b]).unwrap_or(Ordering::Equal));
    let mut class_indices: Vec<Vec<usize>> = Vec::new();
    for &i in &order {
        match class_indices.last_mut() {
            Some(group) if y[group[0]] == y[i] => group.push(i),
            _ => class_indices.push(vec![i]),
        }
    }
    let n_classes = class_indices.len();
    if let Some(group) = class_indices.iter().find(|g| g.len() < 2) {
        return Err(Error::data(
            "y",
            format!(
                "class {:?} has only 1 member (y[{}]); stratify needs at least 2 samples per class",
                y[group[0]], group[0]
            ),
        ));
    }
    for (set, size) in [("train", n_train), ("test", n_test)] {
        if size < n_classes {
            return Err(Error::arg(
                "test_size",
                format!(
                    "the {set} set would hold {size} samples, fewer than the {n_classes} classes; stratify needs at least one sample of each class in each set"
                ),
            ));
        }
    }
    let counts: Vec<usize> = class_indices.iter().map(Vec::len).collect();
    let n_i = approximate_mode(&counts, n_train, rng);
    let remaining: Vec<usize> = counts
        .iter()
        .zip(&n_i)
        .map(|(c, t)| c.saturating_sub(*t))
        .collect();
    let t_i = approximate_mode(&remaining, n_test, rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (k, group) in class_indices.iter_mut().enumerate() {
        rng.shuffle(group);
        let a = n_i[k].min(group.len());
        let b = (a + t_i[k]).min(group.len());
        train.extend_from_slice(&group[..a]);
        test.extend_from_slice(&group[a..b]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

/// Shuffles `x` and `y` along their first axis with the same random permutation.
///
/// Deterministic for a given `seed`. Returns the shuffled copies `(x, y)`.
///
/// # Errors
///
/// [`Error::Shape`] when `x` is 0-d or its first axis differs from `y`'s length.
///
/// # Examples
///
/// ```
/// use kerust::preprocessing::shuffle_arrays;
/// use ndarray::{array, Array1};
///
/// let x = array![[0.0f32, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]];
/// let y = Array1::from(vec![0.0f32, 1.0, 2.0, 3.0]);
/// let (xs, ys) = shuffle_arrays(&x, &y, 7)?;
/// for (row, &label) in xs.rows().into_iter().zip(&ys) {
///     assert_eq!(row[0], label);
/// }
/// assert_eq!(shuffle_arrays(&x, &y, 7)?.1, ys); // same seed, same order
/// # Ok::<(), kerust::Error>(())
/// ```
pub fn shuffle_arrays<A, S, D, L, SL>(
    x: &ArrayBase<S, D>,
    y: &ArrayBase<SL, Ix1>,
    seed: u64,
) -> Result<(Array<A, D>, Array1<L>)>
where
    A: Clone,
    S: Data<Elem = A>,
    D: Dimension + RemoveAxis,
    L: Clone,
    SL: Data<Elem = L>,
{
    let n = check_lengths("shuffle_arrays", x, y)?;
    let perm = SplitMix64::new(seed).permutation(n);
    Ok((x.select(Axis(0), &perm), y.select(Axis(0), &perm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_covers() {
        let mut rng = SplitMix64::new(1);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            seen[rng.below(7)] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800 && c < 1200), "{seen:?}");
    }

    #[test]
    fn approximate_mode_matches_sklearn_examples() {
        // Examples from scikit-learn's docstring of _approximate_mode.
        let mut rng = SplitMix64::new(0);
        assert_eq!(
            approximate_mode(&[2, 2, 2, 1], 2, &mut rng)
                .iter()
                .sum::<usize>(),
            2
        );
        assert_eq!(
            approximate_mode(&[2, 2, 2, 1], 3, &mut rng),
            vec![1, 1, 1, 0]
        );
        let r = approximate_mode(&[2, 2, 2, 1], 2, &mut rng);
        assert!(r.iter().all(|&v| v <= 1) && r[3] == 0);
    }

    #[test]
    fn decimal() {
        assert_eq!(decimal_f64(0.2), 0.2);
        assert_eq!((decimal_f64(0.2) * 100.0).ceil(), 20.0);
    }
}
