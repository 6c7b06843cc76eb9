//! CPU kernels: matrix products ([`super::gemm`]), optimizer steps, thread settings, denormal
//! flushing.

use super::gemm;
use super::team;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Products of fewer multiply-adds run on one thread; larger ones are split over the
/// threads, each part at least half this size. Measured on the 2-core machine of
/// BENCHMARKS.md: alone, a 32 x 784 x 128 product (2^21.6) runs in half the time on two
/// threads, but inside a training step splitting it (and Adam's update) made the epoch
/// slower (0.40-0.62 s against 0.37 s), the weights each step writes then travelling
/// between the cores' caches; from 2^22 up (a 784-512-512 network at batch 128, predict at
/// batch 1,000) the second core pays: 1.45x.
const SPLIT_MIN_MACS: usize = 1 << 22;

/// One-row products (single-sample inference) split from the same size: a 784 x 128 one
/// took 5.8 µs on two threads against 4.5 µs on one.
const ROW_SPLIT_MIN_MACS: usize = 1 << 22;

/// Optimizer steps split from this many values per variable (as for products: small
/// variables are better left in one core's cache).
const STEP_SPLIT_MIN: usize = 1 << 20;

/// Sets the number of threads kerust uses for training and inference.
///
/// `0` restores the default: `KERUST_NUM_THREADS` (or, as before, `RAYON_NUM_THREADS`) if
/// set when kerust first needs it, else the number of CPUs.
///
/// ```
/// kerust::set_num_threads(1);
/// assert_eq!(kerust::num_threads(), 1);
/// kerust::set_num_threads(0);
/// ```
pub fn set_num_threads(n: usize) {
    NUM_THREADS.store(n, Ordering::Relaxed);
}

/// The number of threads kerust uses (see [`set_num_threads`]).
pub fn num_threads() -> usize {
    static DEFAULT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => *DEFAULT.get_or_init(|| {
            ["KERUST_NUM_THREADS", "RAYON_NUM_THREADS"]
                .iter()
                .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(1)
                })
        }),
        n => n,
    }
}

/// Runs `f` with denormals flushed to zero, as TensorFlow does (decaying Adam moments
/// otherwise fall into the denormal range and can halve CPU speed). The caller's float mode
/// is restored after; the parts of a split run in the float mode of the thread that split.
pub fn with_training_env<R>(f: impl FnOnce() -> R) -> R {
    let saved = get_csr();
    set_flush_denormals();
    let r = f();
    set_csr(saved);
    r
}

#[cfg(target_arch = "x86_64")]
pub(super) fn get_csr() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: stmxcsr writes 4 bytes to a valid, aligned u32.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
    csr
}

#[cfg(target_arch = "x86_64")]
pub(super) fn set_csr(csr: u32) {
    // SAFETY: ldmxcsr reads 4 bytes from a valid u32; only float-mode bits change.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly)) };
}

#[cfg(target_arch = "x86_64")]
fn set_flush_denormals() {
    // FTZ (bit 15) and DAZ (bit 6).
    set_csr(get_csr() | 0x8040);
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn get_csr() -> u32 {
    0
}
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn set_csr(_: u32) {}
#[cfg(not(target_arch = "x86_64"))]
fn set_flush_denormals() {}

/// How many parts a job of `work` units splits into, each at least `min / 2` units.
fn parts_for(work: usize, min: usize) -> usize {
    let threads = num_threads().min(team::MAX_THREADS);
    if threads > 1 && work >= min {
        threads.min(work / (min / 2).max(1))
    } else {
        1
    }
}

/// The `i`-th of the ranges that cut `0..len` into pieces of `len / parts` rounded up to a
/// multiple of `align` (the last one shorter, some trailing ones possibly empty).
fn piece(len: usize, parts: usize, align: usize, i: usize) -> Range<usize> {
    let step = len.div_ceil(parts).next_multiple_of(align);
    (i * step).min(len)..((i + 1) * step).min(len)
}

/// A pointer that parts of a split may share: each part touches its own elements only.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: used only to hand disjoint ranges of one buffer to the parts of a split.
unsafe impl<T> Sync for Shared<T> {}
unsafe impl<T> Send for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the whole `Shared`, not the field).
    fn ptr(self) -> *mut T {
        self.0
    }
}

/// Parts of a split product hold whole tiles of the AVX-512 kernel: 24 rows (two 12-row
/// tiles, four 6-row ones) or 64 columns.
const ROW_TILE: usize = 24;
const COL_TILE: usize = 64;

/// `c (+)= a · b` for an `m x n` row-major `c` and operands given by their strides
/// (row stride, column stride). Large products are split over the threads by columns or
/// rows of `c`; [`gemm::gemm`] sums every output in the same order whatever block of `c`
/// it is given, so the result is the same bits at any thread count (tested below).
#[allow(clippy::too_many_arguments)]
fn gemm_raw(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    a: &[f32],
    (a_rs, a_cs): (isize, isize),
    b: &[f32],
    (b_rs, b_cs): (isize, isize),
    accumulate: bool,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let (cp, ap, bp) = (
        Shared(c.as_mut_ptr()),
        Shared(a.as_ptr().cast_mut()),
        Shared(b.as_ptr().cast_mut()),
    );
    // SAFETY (for every part): the asserts above guarantee every index the product touches
    // lies inside the slices (c is m x n row-major; a and b are read through strides that
    // stay within m*k and k*n); each part writes its own block of c and only reads a and b.
    let part = |rows: Range<usize>, cols: Range<usize>| unsafe {
        let (r0, c0) = (rows.start as isize, cols.start as isize);
        let am = gemm::Mat {
            ptr: ap.ptr().offset(r0 * a_rs),
            rs: a_rs,
            cs: a_cs,
        };
        let bm = gemm::Mat {
            ptr: bp.ptr().offset(c0 * b_cs),
            rs: b_rs,
            cs: b_cs,
        };
        let out = cp.ptr().offset(r0 * n as isize + c0);
        gemm::gemm(rows.len(), cols.len(), k, out, n, am, bm, accumulate)
    };
    let macs = m.saturating_mul(n).saturating_mul(k);
    // Every output is the same chain of multiply-adds however the product is cut, so the
    // cut only decides speed. A batch (m = 32 or 128) has fewer rows than the layer has
    // units: cut the columns, in whole 64-wide tiles; each part then packs only its own
    // columns of b, and 128 rows do not split 72 + 56 as whole 24-row tiles would. Taller
    // products (weight gradients) cut their rows.
    let by_cols = m < n && n >= 2 * COL_TILE;
    let (len, tile) = if by_cols {
        (n, COL_TILE)
    } else {
        (m, ROW_TILE)
    };
    let parts = parts_for(macs, SPLIT_MIN_MACS).min(len.div_ceil(tile));
    if parts <= 1 {
        return part(0..m, 0..n);
    }
    team::split(parts, &|i| {
        let r = piece(len, parts, tile, i);
        if r.is_empty() {
            return;
        }
        if by_cols {
            part(0..m, r)
        } else {
            part(r, 0..n)
        }
    });
}

/// Read-only scans (the finite-value check of every `fit`, `evaluate` and `predict` input)
/// split from this many values: the second core adds memory bandwidth and touches nothing
/// the training step uses afterwards.
const SCAN_SPLIT_MIN: usize = 1 << 20;

/// Whether `f` holds on every part of `0..len`; a long range is cut into parts (multiples of
/// 4,096) that run on the threads, each part's answer independent of the others.
pub(crate) fn scan_all(len: usize, f: &(dyn Fn(Range<usize>) -> bool + Sync)) -> bool {
    let parts = parts_for(len, SCAN_SPLIT_MIN);
    if parts <= 1 {
        return f(0..len);
    }
    let ok = std::sync::atomic::AtomicBool::new(true);
    team::split(parts, &|i| {
        let r = piece(len, parts, 4096, i);
        if !r.is_empty() && !f(r) {
            ok.store(false, Ordering::Relaxed);
        }
    });
    ok.load(Ordering::Relaxed)
}

/// A job over a range of samples and its slices of the output buffers.
pub(crate) type SampleJob<'a> = dyn Fn(Range<usize>, &mut [&mut [f32]]) + Sync + 'a;

/// Elementwise work (pooling, im2col) split from this many values.
const SPLIT_MIN_VALUES: usize = 1 << 17;

/// Runs a job over `units` independent samples, `f(range, outs)` on disjoint ranges of them,
/// split over the threads when the job is large: `work` multiply-adds (compared with the
/// product threshold) or, with `work == 0`, `values` values touched (elementwise work).
/// Each buffer of `outs` holds the same number of values per sample, and `f` receives the
/// slices of its samples (in order). Products give the same bits whatever rows they are
/// given, so the result is the same at any thread count as long as `f` treats every sample
/// alike.
pub(crate) fn split_samples(
    units: usize,
    size: (usize, usize),
    outs: &mut [&mut [f32]],
    f: &SampleJob,
) {
    let parts = sample_parts(units, size);
    if parts <= 1 || units == 0 {
        return f(0..units, outs);
    }
    let mut per = [0usize; 4];
    for (p, o) in per.iter_mut().zip(outs.iter()) {
        assert!(o.len() % units == 0, "buffers hold whole samples");
        *p = o.len() / units;
    }
    split_regions(
        parts,
        outs,
        &|i, j| {
            let r = sample_run(units, parts, i);
            r.start * per[j]..r.end * per[j]
        },
        &|i, mine| {
            let r = sample_run(units, parts, i);
            if !r.is_empty() {
                f(r, mine)
            }
        },
    );
}

/// Runs `f` on disjoint ranges of `units` independent samples that together cover them all,
/// one range per part, split over the threads as [`split_samples`] would split a job of
/// `size`: for a job whose buffers hold its samples apart (not one run per buffer), such as
/// every timestep of a recurrence, which `f` reaches through its own disjoint views.
pub(crate) fn split_sample_runs(
    units: usize,
    size: (usize, usize),
    f: &(dyn Fn(Range<usize>) + Sync),
) {
    let parts = sample_parts(units, size);
    if parts <= 1 || units == 0 {
        return f(0..units);
    }
    team::split(parts, &|i| {
        let r = sample_run(units, parts, i);
        if !r.is_empty() {
            f(r)
        }
    });
}

/// The number of parts [`split_samples`] cuts `units` samples into for a job of `size`.
pub(crate) fn sample_parts(units: usize, size: (usize, usize)) -> usize {
    let (work, values) = size;
    let want = if work > 0 {
        parts_for(work, SPLIT_MIN_MACS)
    } else {
        parts_for(values, SPLIT_MIN_VALUES)
    };
    want.min(units).max(1)
}

/// The samples of part `i` when `units` samples are cut into `parts`.
pub(crate) fn sample_run(units: usize, parts: usize, i: usize) -> Range<usize> {
    piece(units, parts, 1, i)
}

/// Runs `f(i, outs_i)` for every part `i < parts` on the threads, where `outs_i[j]` is the
/// region `cut(i, j)` of buffer `outs[j]`. The regions of a buffer must come in order of
/// the parts without overlapping (checked).
pub(crate) fn split_regions(
    parts: usize,
    outs: &mut [&mut [f32]],
    cut: &(dyn Fn(usize, usize) -> Range<usize> + Sync),
    f: &(dyn Fn(usize, &mut [&mut [f32]]) + Sync),
) {
    assert!(outs.len() <= 4, "at most 4 buffers");
    assert!(parts <= team::MAX_THREADS, "at most one part per thread");
    let k = outs.len();
    let mut ptrs = [Shared(std::ptr::null_mut::<f32>()); 4];
    for (j, (p, o)) in ptrs.iter_mut().zip(outs.iter_mut()).enumerate() {
        let mut end = 0;
        for i in 0..parts {
            let r = cut(i, j);
            assert!(
                end <= r.start && r.start <= r.end && r.end <= o.len(),
                "disjoint regions"
            );
            end = r.end;
        }
        *p = Shared(o.as_mut_ptr());
    }
    team::split(parts, &|i| {
        let mut mine: [&mut [f32]; 4] = [&mut [], &mut [], &mut [], &mut []];
        for (j, (m, &p)) in mine.iter_mut().zip(&ptrs[..k]).enumerate() {
            let r = cut(i, j);
            // SAFETY: checked above: the regions of each buffer are inside it and those of
            // different parts do not overlap.
            *m = unsafe { std::slice::from_raw_parts_mut(p.ptr().add(r.start), r.len()) };
        }
        f(i, &mut mine[..k]);
    });
}

/// `c[m,n] (+)= a[m,k] · b[k,n]`, all row-major.
pub fn matmul(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, accumulate: bool) {
    if m == 1 {
        return row_times_matrix(c, a, b, k, n, accumulate);
    }
    gemm_raw(
        m,
        n,
        k,
        c,
        a,
        (k as isize, 1),
        b,
        (n as isize, 1),
        accumulate,
    );
}

/// Columns per block of [`row_times_matrix`]: 8 AVX-512 (16 AVX2) accumulator registers.
const ROW_BLOCK: usize = 128;

/// `c[n] (+)= a[k] · b[k,n]` for one row (the forward pass of a single sample, as in a
/// one-sample `predict`): a block of `c` stays in registers while the rows of `b` stream by
/// (the blocked product's tiles would leave all but one of their rows idle). Each output is
/// the same chain as in [`gemm::gemm`], summed over `k` in order from 0 (or from `c`): a
/// sample's outputs are the same bits alone as in a batch, at any thread count. Large
/// products split their column blocks over the threads.
fn row_times_matrix(c: &mut [f32], a: &[f32], b: &[f32], k: usize, n: usize, accumulate: bool) {
    assert!(c.len() >= n && a.len() >= k && b.len() >= k * n);
    if n == 0 {
        return;
    }
    let (a, b) = (&a[..k], &b[..k * n]);
    let parts = parts_for(k.saturating_mul(n), ROW_SPLIT_MIN_MACS).min(n.div_ceil(16));
    if parts == 1 {
        return row_block(&mut c[..n], a, b, n, 0, accumulate);
    }
    let cp = Shared(c.as_mut_ptr());
    team::split(parts, &|i| {
        let cols = piece(n, parts, 16, i);
        // SAFETY: the parts' column ranges are disjoint and inside c[..n].
        let ci = unsafe { std::slice::from_raw_parts_mut(cp.ptr().add(cols.start), cols.len()) };
        row_block(ci, a, b, n, cols.start, accumulate);
    });
}

multiversion! {
    /// `c (+)= a · b[:, j0..j0 + c.len()]`, `b` row-major with `n` columns, by blocks of
    /// [`ROW_BLOCK`] columns held in registers; each output summed over the rows in order.
    fn row_block(c: &mut [f32], a: &[f32], b: &[f32], n: usize, j0: usize, accumulate: bool) {
        let mut j = 0;
        // Full blocks, then the rest in register blocks of 64, 32, ..., 1 columns.
        while c.len() - j >= ROW_BLOCK {
            row_columns::<ROW_BLOCK>(&mut c[j..j + ROW_BLOCK], a, b, n, j0 + j, accumulate);
            j += ROW_BLOCK;
        }
        for w in [64, 32, 16, 8, 4, 2, 1] {
            if c.len() - j >= w {
                let (cj, at) = (&mut c[j..j + w], j0 + j);
                match w {
                    64 => row_columns::<64>(cj, a, b, n, at, accumulate),
                    32 => row_columns::<32>(cj, a, b, n, at, accumulate),
                    16 => row_columns::<16>(cj, a, b, n, at, accumulate),
                    8 => row_columns::<8>(cj, a, b, n, at, accumulate),
                    4 => row_columns::<4>(cj, a, b, n, at, accumulate),
                    2 => row_columns::<2>(cj, a, b, n, at, accumulate),
                    _ => row_columns::<1>(cj, a, b, n, at, accumulate),
                }
                j += w;
            }
        }
    }
}

/// `c (+)= a · b[:, j..j + W]`: `W` outputs held in registers while the rows of `b` stream by,
/// each summed over the rows in order. Inlined into [`row_block`]'s variants.
#[inline(always)]
fn row_columns<const W: usize>(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    n: usize,
    j: usize,
    accumulate: bool,
) {
    // Each output's chain starts from 0, or from `c` when accumulating (as in `gemm`).
    let mut acc = [0.0f32; W];
    if accumulate {
        acc.copy_from_slice(&c[..W]);
    }
    for (p, &ap) in a.iter().enumerate() {
        let row: &[f32; W] = b[p * n + j..p * n + j + W].try_into().expect("W columns");
        for (s, r) in acc.iter_mut().zip(row) {
            *s = ap.mul_add(*r, *s);
        }
    }
    c[..W].copy_from_slice(&acc);
}

/// `c[m,n] (+)= aᵀ · b` where `a` is `[k,m]` and `b` is `[k,n]` row-major (weight gradients).
pub fn matmul_at_b(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    gemm_raw(
        m,
        n,
        k,
        c,
        a,
        (1, m as isize),
        b,
        (n as isize, 1),
        accumulate,
    );
}

/// `c[m,n] (+)= a · bᵀ` where `a` is `[m,k]` and `b` is `[n,k]` row-major (input gradients).
pub fn matmul_a_bt(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    gemm_raw(
        m,
        n,
        k,
        c,
        a,
        (k as isize, 1),
        b,
        (1, k as isize),
        accumulate,
    );
}

/// Adds `bias` to every row of `x` (rows of length `bias.len()`).
pub fn add_bias_rows(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// `out[j] (+)= Σ_rows x[row, j]` (bias gradients).
pub fn col_sums(out: &mut [f32], x: &[f32], accumulate: bool) {
    if !accumulate {
        out.fill(0.0);
    }
    for row in x.chunks_exact(out.len()) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
        let mut t = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                t[j * r + i] = a[i * c + j];
            }
        }
        t
    }

    #[test]
    fn the_three_products_agree_with_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![0.0; m * n];
        matmul(&mut c, &a, &b, m, k, n, false);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        let at = transpose(&a, m, k);
        matmul_at_b(&mut c, &at, &b, m, k, n, false);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        let bt = transpose(&b, k, n);
        matmul_a_bt(&mut c, &a, &bt, m, k, n, false);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        matmul(&mut c, &a, &b, m, k, n, true);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - 2.0 * y).abs() < 1e-5);
        }
    }

    #[test]
    fn split_products_give_the_same_bits_at_any_thread_count() {
        // The tutorials' layer shapes (forward, weight and input gradients) and odd ones.
        let shapes = [
            (32, 784, 128),
            (784, 32, 128),
            (32, 128, 784),
            (128, 784, 512),
            (37, 301, 211),
            (300, 999, 17),
            (9, 4000, 70),
            (1000, 784, 128),
            (128, 1152, 64),
            (64, 3136, 128),
            (130, 600, 64),
            (66, 5000, 9),
            (17, 9000, 300),
            (32, 1600, 128),
            (128, 512, 784),
            (100, 700, 130),
            (200, 3000, 1),
            (7000, 40, 3),
        ];
        for (m, k, n) in shapes {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let at = transpose(&a, m, k);
            let bt = transpose(&b, k, n);
            let run = |threads: usize| {
                set_num_threads(threads);
                let mut c = vec![vec![0.5f32; m * n]; 3];
                with_training_env(|| {
                    matmul(&mut c[0], &a, &b, m, k, n, true);
                    matmul_at_b(&mut c[1], &at, &b, m, k, n, false);
                    matmul_a_bt(&mut c[2], &a, &bt, m, k, n, false);
                });
                c
            };
            let one = run(1);
            for threads in [2, 3, 4] {
                assert!(run(threads) == one, "{m}x{k}x{n} at {threads} threads");
            }
            set_num_threads(0);
        }
    }

    #[test]
    fn one_sample_gives_the_bits_of_its_row_in_a_batch() {
        // `predict` of one sample takes the one-row path, a batch the blocked product: both
        // sum each output over k in order, so a sample's outputs do not depend on its batch.
        for (m, k, n) in [(32, 784, 128), (5, 7, 3), (13, 300, 65), (40, 9, 200)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            for accumulate in [false, true] {
                let start: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.7).cos()).collect();
                let mut c = start.clone();
                matmul(&mut c, &a, &b, m, k, n, accumulate);
                for i in 0..m {
                    let mut r = start[i * n..(i + 1) * n].to_vec();
                    matmul(&mut r, &a[i * k..(i + 1) * k], &b, 1, k, n, accumulate);
                    let row = &c[i * n..(i + 1) * n];
                    let same = r.iter().zip(row).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{k}x{n} row {i} accumulate={accumulate}");
                }
            }
        }
    }

    #[test]
    fn split_optimizer_steps_give_the_same_bits() {
        let n = STEP_SPLIT_MIN + 1003;
        let g: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |threads: usize| {
            set_num_threads(threads);
            let mut w: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
            for _ in 0..3 {
                adam_step(&mut w, &g, &mut m, &mut v, 1e-3, 0.9, 0.999, 1e-7);
                sgd_step(&mut w, &g, 0.01);
            }
            (w, m, v)
        };
        let one = run(1);
        assert!(run(2) == one && run(3) == one);
        set_num_threads(0);
    }

    #[test]
    fn one_row_products_sum_in_order_at_any_thread_count() {
        // Partial and full column blocks, parallel and not.
        for (k, n) in [(7, 3), (5, 300), (784, 128), (64, 1 << 16)] {
            let a: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut want = vec![0.0f32; n];
            for (j, w) in want.iter_mut().enumerate() {
                for p in 0..k {
                    *w = a[p].mul_add(b[p * n + j], *w);
                }
            }
            let mut outs = Vec::new();
            for threads in [1, 2] {
                set_num_threads(threads);
                let mut c = vec![1.0; n];
                with_training_env(|| matmul(&mut c, &a, &b, 1, k, n, false));
                assert!(c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()));
                with_training_env(|| matmul(&mut c, &a, &b, 1, k, n, true));
                outs.push(c);
            }
            set_num_threads(0);
            assert_eq!(outs[0], outs[1]);
        }
    }
}

/// One Adam step over a flat variable: Keras's update, in Keras's operation order. Large
/// variables are split over the threads (element-wise, so the same bits at any count).
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    alpha: f32,
    b1: f32,
    b2: f32,
    eps: f32,
) {
    let n = w.len().min(g.len()).min(m.len()).min(v.len());
    let parts = parts_for(n, STEP_SPLIT_MIN);
    if parts == 1 {
        return adam_chunk(w, g, m, v, alpha, b1, b2, eps);
    }
    let (wp, mp, vp) = (
        Shared(w.as_mut_ptr()),
        Shared(m.as_mut_ptr()),
        Shared(v.as_mut_ptr()),
    );
    team::split(parts, &|i| {
        let r = piece(n, parts, 64, i);
        // SAFETY: the parts' ranges are disjoint and inside the first n values of each slice.
        let (w, m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(wp.ptr().add(r.start), r.len()),
                std::slice::from_raw_parts_mut(mp.ptr().add(r.start), r.len()),
                std::slice::from_raw_parts_mut(vp.ptr().add(r.start), r.len()),
            )
        };
        adam_chunk(w, &g[r], m, v, alpha, b1, b2, eps);
    });
}

multiversion! {
    fn adam_chunk(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], alpha: f32, b1: f32, b2: f32, eps: f32) {
        let n = w.len().min(g.len()).min(m.len()).min(v.len());
        let (w, g, m, v) = (&mut w[..n], &g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let gi = g[i];
            let mi = m[i] + (gi - m[i]) * (1.0 - b1);
            let vi = v[i] + (gi * gi - v[i]) * (1.0 - b2);
            m[i] = mi;
            v[i] = vi;
            w[i] -= mi * alpha / (vi.sqrt() + eps);
        }
    }
}

/// `w -= lr * g` (plain SGD); large variables split over the threads.
pub fn sgd_step(w: &mut [f32], g: &[f32], lr: f32) {
    let n = w.len().min(g.len());
    let parts = parts_for(n, STEP_SPLIT_MIN);
    if parts == 1 {
        return sgd_chunk(w, g, lr);
    }
    let wp = Shared(w.as_mut_ptr());
    team::split(parts, &|i| {
        let r = piece(n, parts, 64, i);
        // SAFETY: the parts' ranges are disjoint and inside w[..n].
        let w = unsafe { std::slice::from_raw_parts_mut(wp.ptr().add(r.start), r.len()) };
        sgd_chunk(w, &g[r], lr);
    });
}

multiversion! {
    fn sgd_chunk(w: &mut [f32], g: &[f32], lr: f32) {
        for (w, g) in w.iter_mut().zip(g) {
            *w -= g * lr;
        }
    }
}
