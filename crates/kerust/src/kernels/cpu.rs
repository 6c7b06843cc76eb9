//! CPU kernels: matrix products through the `gemm` crate, thread settings, denormal flushing.

use gemm::Parallelism;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Compiles `$body` three times (AVX-512, AVX2, baseline) and picks one at run time. The
/// compiler never fuses multiplies and adds on its own, and sqrt/div are exact IEEE
/// operations at every width, so all three give bit-identical results.
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v4($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn v3($($arg: $ty),*) { body($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports the instructions `v4` was compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: as above, for AVX2.
                    return unsafe { v3($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);
static GLOBAL_POOL: Once = Once::new();

/// Products below this many multiply-adds run on one thread: splitting them costs more in
/// synchronisation than it gains (measured on 784x128 layers at batch 32).
const PARALLEL_MIN_FLOPS: usize = 1 << 22;

/// Sets the number of threads kerust uses for training and inference.
///
/// `0` restores the default: `RAYON_NUM_THREADS` if set, else the number of CPUs.
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
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
        n => n,
    }
}

/// Runs `f` with denormals flushed to zero, as TensorFlow does (decaying Adam moments
/// otherwise fall into the denormal range and can halve CPU speed). The caller's float mode
/// is restored after. The first call also sizes rayon's global pool, whose threads flush
/// denormals too; gemm's parallel products run there.
pub fn with_training_env<R>(f: impl FnOnce() -> R) -> R {
    GLOBAL_POOL.call_once(|| {
        // Fails harmlessly when the application built the global pool itself.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(num_threads())
            .start_handler(|_| set_flush_denormals())
            .build_global();
    });
    let saved = get_csr();
    set_flush_denormals();
    let r = f();
    set_csr(saved);
    r
}

#[cfg(target_arch = "x86_64")]
fn get_csr() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: stmxcsr writes 4 bytes to a valid, aligned u32.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack)) };
    csr
}

#[cfg(target_arch = "x86_64")]
fn set_csr(csr: u32) {
    // SAFETY: ldmxcsr reads 4 bytes from a valid u32; only float-mode bits change.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly)) };
}

#[cfg(target_arch = "x86_64")]
fn set_flush_denormals() {
    // FTZ (bit 15) and DAZ (bit 6).
    set_csr(get_csr() | 0x8040);
}

#[cfg(not(target_arch = "x86_64"))]
fn get_csr() -> u32 {
    0
}
#[cfg(not(target_arch = "x86_64"))]
fn set_csr(_: u32) {}
#[cfg(not(target_arch = "x86_64"))]
fn set_flush_denormals() {}

fn parallelism(m: usize, n: usize, k: usize) -> Parallelism {
    let threads = rayon::current_num_threads().min(num_threads());
    if threads > 1 && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN_FLOPS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// Strides of a matrix operand: (row stride, column stride).
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
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: the asserts above guarantee every index gemm touches lies inside the slices:
    // c is m x n row-major; a and b are read through strides that stay within m*k / k*n.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(m, n, k),
        );
    }
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
/// one-sample `predict`). `gemm`'s own one-row path reads `b` about half as fast as this
/// loop, which keeps a block of `c` in registers while it streams the rows of `b`. Each
/// output is summed over `k` in order, whatever the block or the thread: the result does not
/// depend on the thread count. Large products split their column blocks over the threads.
fn row_times_matrix(c: &mut [f32], a: &[f32], b: &[f32], k: usize, n: usize, accumulate: bool) {
    assert!(c.len() >= n && a.len() >= k && b.len() >= k * n);
    let c = &mut c[..n];
    if n == 0 {
        return;
    }
    let (a, b) = (&a[..k], &b[..k * n]);
    let threads = rayon::current_num_threads().min(num_threads());
    let blocks = n.div_ceil(ROW_BLOCK);
    if threads > 1 && blocks > 1 && k.saturating_mul(n) >= PARALLEL_MIN_FLOPS {
        use rayon::prelude::*;
        let per = blocks.div_ceil(threads) * ROW_BLOCK;
        c.par_chunks_mut(per).enumerate().for_each(|(i, ci)| {
            row_block(ci, a, b, n, i * per, accumulate);
        });
    } else {
        row_block(c, a, b, n, 0, accumulate);
    }
}

multiversion! {
    /// `c (+)= a · b[:, j0..j0 + c.len()]`, `b` row-major with `n` columns, by blocks of
    /// [`ROW_BLOCK`] columns held in registers; each output summed over the rows in order.
    fn row_block(c: &mut [f32], a: &[f32], b: &[f32], n: usize, j0: usize, accumulate: bool) {
        for (blk, cb) in c.chunks_mut(ROW_BLOCK).enumerate() {
            let j = j0 + blk * ROW_BLOCK;
            let w = cb.len();
            let mut acc = [0.0f32; ROW_BLOCK];
            if w == ROW_BLOCK {
                for (p, &ap) in a.iter().enumerate() {
                    let row: &[f32; ROW_BLOCK] =
                        b[p * n + j..p * n + j + ROW_BLOCK].try_into().expect("a full block");
                    for (s, r) in acc.iter_mut().zip(row) {
                        *s += ap * r;
                    }
                }
            } else {
                for (p, &ap) in a.iter().enumerate() {
                    for (s, r) in acc[..w].iter_mut().zip(&b[p * n + j..p * n + j + w]) {
                        *s += ap * r;
                    }
                }
            }
            if accumulate {
                for (o, s) in cb.iter_mut().zip(&acc) {
                    *o += s;
                }
            } else {
                cb.copy_from_slice(&acc[..w]);
            }
        }
    }
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
    fn one_row_products_sum_in_order_at_any_thread_count() {
        // Partial and full column blocks, parallel and not.
        for (k, n) in [(7, 3), (5, 300), (64, 1 << 16)] {
            let a: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut want = vec![0.0f32; n];
            for (j, w) in want.iter_mut().enumerate() {
                for p in 0..k {
                    *w += a[p] * b[p * n + j];
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

multiversion! {
    /// One Adam step over a flat variable: Keras's update, in Keras's operation order.
    pub fn adam_step(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], alpha: f32, b1: f32, b2: f32, eps: f32) {
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

multiversion! {
    /// `w -= lr * g` (plain SGD).
    pub fn sgd_step(w: &mut [f32], g: &[f32], lr: f32) {
        for (w, g) in w.iter_mut().zip(g) {
            *w -= g * lr;
        }
    }
}
