//! kerust's own matrix product, `c (+)= a · b` in f32.
//!
//! Every output is one chain of fused multiply-adds over `k` in order, started from zero (or
//! from `c` when accumulating). Blocking, register tiles, vector width and thread splits change
//! which outputs are computed together, never the order of one output's chain, so the result
//! is the same bits on every instruction set (AVX-512, AVX2, the baseline's `fmaf`), at every
//! thread count, for every split of rows or columns, and equal to the one-row path
//! (`row_times_matrix`) row by row.
//!
//! Layout (after Goto and van de Geijn): `k` in blocks of [`KC`], `n` in blocks of [`NC`], `m`
//! in blocks of [`MC`]; inside, panels of `NR` columns of `b` (read from `b` itself when its
//! rows are contiguous, else copied into a packing buffer) times register tiles of `MR` rows
//! of `a`, whose values are broadcast straight from `a` through its strides. The packing
//! buffer belongs to the thread and is allocated once, at its first product: steady-state
//! products allocate nothing.

// The tile loops index several arrays (accumulators, panel vectors, C rows) in step with
// constant trip counts, which the compiler unrolls into registers; iterator chains would hide
// the shared index.
#![allow(clippy::needless_range_loop)]

use std::cell::RefCell;

/// Depth of a block (`k` is cut into equal blocks of at most this many). Of 128, 256 and 384,
/// 384 measured fastest on the workloads' shapes: a 3 x 3 x 32 convolution (288 deep) is one
/// block, so its output is written once, and the panels of `b` stream from L2 fast enough.
const KC: usize = 384;
/// Rows per block of `a` (192 x 384 values: 288 KiB, for L2).
const MC: usize = 192;
/// Columns per block of `b`: a block of `b` (1.5 MiB at most) is packed once for every block
/// of rows, and the tutorials' outputs (at most 512 wide) are one block.
const NC: usize = 1024;

/// Products of at most this many rows read `b` in place when its rows are contiguous: a copy
/// would cost more than the few tiles per panel gain from it.
const IN_PLACE_ROWS: usize = 48;

/// Values of one thread's packing buffer: one block of `b`.
const PACK_LEN: usize = KC * NC;

/// Operand: base pointer, row stride and column stride (in values).
#[derive(Clone, Copy)]
pub(super) struct Mat {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

// SAFETY: a `Mat` is only read through, by products whose callers keep the memory alive and
// unwritten while they run (see `gemm`).
unsafe impl Sync for Mat {}
unsafe impl Send for Mat {}

/// `c[m x n] (+)= a[m x k] · b[k x n]`; `c` is row-major with row stride `ldc`.
///
/// # Safety
/// `a` and `b` must be readable at every index their strides give for `m x k` and `k x n`,
/// `c` writable at `i * ldc + j` for `i < m`, `j < n`, and `c` must not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::slice::from_raw_parts_mut(c.add(i * ldc), n).fill(0.0);
            }
        }
        return;
    }
    with_pack(|pack| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has the instructions; the caller vouches for the pointers.
                return gemm_v4(m, n, k, c, ldc, a, b, accumulate, pack);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: as above.
                return gemm_v3(m, n, k, c, ldc, a, b, accumulate, pack);
            }
        }
        blocked::<F1, 4, 8>(m, n, k, c, ldc, a, b, accumulate, pack)
    })
}

/// Runs `f` with this thread's packing buffer, allocated at the thread's first product.
fn with_pack<R>(f: impl FnOnce(&mut [f32]) -> R) -> R {
    PACK.with(|buf| {
        let mut buf = buf.borrow_mut();
        if buf.is_empty() {
            // Once per thread: the largest block of `b` any product packs (1.5 MiB), plus
            // room to align it to a cache line.
            buf.resize(PACK_LEN + 16, 0.0);
        }
        let off = buf.as_ptr().align_offset(64).min(16);
        f(&mut buf[off..off + PACK_LEN])
    })
}

thread_local! {
    static PACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// AVX-512: tiles of 12 rows x 2 vectors of 16 (24 accumulator registers of 32); for
/// outputs at least 64 wide with many rows, 6 rows x 4 vectors (each broadcast feeds four
/// multiply-adds, and a 64-wide output is one panel: `a` is read once); for outputs at most
/// 16 wide (a 10-class output layer), 12 rows x 1 vector, which computes 16 columns where
/// two vectors would compute 32 (a 10-wide product ran at 22 GFLOP/s, now 40).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_v4(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
    pack: &mut [f32],
) {
    if n >= 64 && m > IN_PLACE_ROWS {
        blocked::<x86::F16, 6, 4>(m, n, k, c, ldc, a, b, accumulate, pack)
    } else if n <= 16 {
        blocked::<x86::F16, 12, 1>(m, n, k, c, ldc, a, b, accumulate, pack)
    } else {
        blocked::<x86::F16, 12, 2>(m, n, k, c, ldc, a, b, accumulate, pack)
    }
}

/// AVX2: tiles of 6 rows x 2 vectors of 8 (12 accumulator registers of 16).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_v3(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
    pack: &mut [f32],
) {
    blocked::<x86::F8, 6, 2>(m, n, k, c, ldc, a, b, accumulate, pack)
}

/// A vector of `LANES` floats: the few operations a tile needs.
trait Lanes: Copy {
    const LANES: usize;
    unsafe fn zero() -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn splat(x: f32) -> Self;
    /// `a * b + self`, one rounding.
    unsafe fn fma(self, a: Self, b: Self) -> Self;
}

/// The baseline: one float (`mul_add`, the same rounding as the vector instructions).
#[derive(Clone, Copy)]
struct F1(f32);

impl Lanes for F1 {
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn zero() -> Self {
        F1(0.0)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        F1(*p)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        *p = self.0
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        F1(x)
    }
    #[inline(always)]
    unsafe fn fma(self, a: Self, b: Self) -> Self {
        F1(a.0.mul_add(b.0, self.0))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    /// 16 floats (AVX-512); only inlined into functions compiled for AVX-512.
    #[derive(Clone, Copy)]
    pub(super) struct F16(__m512);
    /// 8 floats (AVX2 + FMA); only inlined into functions compiled for them.
    #[derive(Clone, Copy)]
    pub(super) struct F8(__m256);

    impl Lanes for F16 {
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            F16(_mm512_setzero_ps())
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            F16(_mm512_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm512_storeu_ps(p, self.0)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            F16(_mm512_set1_ps(x))
        }
        #[inline(always)]
        unsafe fn fma(self, a: Self, b: Self) -> Self {
            F16(_mm512_fmadd_ps(a.0, b.0, self.0))
        }
    }

    impl Lanes for F8 {
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            F8(_mm256_setzero_ps())
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            F8(_mm256_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm256_storeu_ps(p, self.0)
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            F8(_mm256_set1_ps(x))
        }
        #[inline(always)]
        unsafe fn fma(self, a: Self, b: Self) -> Self {
            F8(_mm256_fmadd_ps(a.0, b.0, self.0))
        }
    }
}

/// The blocked loops around the register tiles.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn blocked<V: Lanes, const MR: usize, const NV: usize>(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
    pack: &mut [f32],
) {
    let nr_full = NV * V::LANES;
    let pack_b = pack;
    // Reading panels of `b` in place needs contiguous rows; with many tiles per panel a copy
    // pays anyway (rows a power of two apart share a few L1 sets).
    let in_place = b.cs == 1 && m <= IN_PLACE_ROWS;
    // `k` in equal blocks of at most `KC` (no short last block to reload `c` for).
    let kb = k.div_ceil(k.div_ceil(KC));
    for pc in (0..k).step_by(kb) {
        let kc = kb.min(k - pc);
        let from_zero = pc == 0 && !accumulate;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let panels = nc.div_ceil(nr_full);
            // Pack the panels read from the buffer: all of them, or only a last, partial one.
            for q in 0..panels {
                let (j0, nr) = (jc + q * nr_full, nr_full.min(nc - q * nr_full));
                if !(in_place && nr == nr_full) {
                    let dst = &mut pack_b[q * kc * nr_full..(q + 1) * kc * nr_full];
                    let src = b.ptr.offset(pc as isize * b.rs + j0 as isize * b.cs);
                    pack_panel(dst, src, (b.rs, b.cs), kc, nr, nr_full);
                }
            }
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                for q in 0..panels {
                    let (j0, nr) = (jc + q * nr_full, nr_full.min(nc - q * nr_full));
                    let (bp, bs) = if in_place && nr == nr_full {
                        (b.ptr.offset(pc as isize * b.rs + j0 as isize), b.rs)
                    } else {
                        (pack_b.as_ptr().add(q * kc * nr_full), nr_full as isize)
                    };
                    let mut ir = 0;
                    while ir < mc {
                        let at = (ic + ir) as isize * a.rs + pc as isize * a.cs;
                        let t = Tile {
                            kc,
                            a: a.ptr.offset(at),
                            ars: a.rs,
                            acs: a.cs,
                            b: bp,
                            bs,
                            c: c.add((ic + ir) * ldc + j0),
                            ldc,
                            nr,
                        };
                        let rows = mc - ir;
                        // A last, short tile: rows of fewer registers, same packed layout.
                        ir += if rows >= MR {
                            t.run::<V, MR, MR, NV>(from_zero)
                        } else if rows >= 8 && MR > 8 {
                            t.run::<V, MR, 8, NV>(from_zero)
                        } else if rows >= 4 && MR > 4 {
                            t.run::<V, MR, 4, NV>(from_zero)
                        } else if rows >= 2 {
                            t.run::<V, MR, 2, NV>(from_zero)
                        } else {
                            t.run::<V, MR, 1, NV>(from_zero)
                        };
                    }
                }
            }
        }
    }
}

/// Copies `len` lines of `w` values (line `p`, value `j` at `src[p * ls + j * vs]`) into
/// `dst` as lines of `width` values, the last `width - w` of each zero.
#[inline(always)]
unsafe fn pack_panel(
    dst: &mut [f32],
    src: *const f32,
    (ls, vs): (isize, isize),
    len: usize,
    w: usize,
    width: usize,
) {
    if vs == 1 && w == width {
        // Whole lines of a width known to the compiler: unrolled copies, no `memcpy` call.
        macro_rules! lines {
            ($($n:literal)*) => {
                match width {
                    $($n => {
                        for (p, line) in dst.chunks_exact_mut($n).take(len).enumerate() {
                            let s = &*(src.offset(p as isize * ls) as *const [f32; $n]);
                            line.copy_from_slice(s);
                        }
                    })*
                    _ => {
                        for (p, line) in dst.chunks_exact_mut(width).take(len).enumerate() {
                            let s = src.offset(p as isize * ls);
                            line.copy_from_slice(std::slice::from_raw_parts(s, width));
                        }
                    }
                }
            };
        }
        lines!(4 6 8 12 16 32 64);
    } else if vs == 1 {
        for (p, line) in dst.chunks_exact_mut(width).take(len).enumerate() {
            let s = src.offset(p as isize * ls);
            for (j, v) in line.iter_mut().enumerate() {
                *v = if j < w { *s.add(j) } else { 0.0 };
            }
        }
    } else if ls == 1 {
        // Lines run along memory (a transposed operand): blocks of 8 x 8, read along the
        // source's rows and written along the destination's.
        debug_assert!(dst.len() >= len * width);
        let d = dst.as_mut_ptr();
        let mut t = [[0.0f32; 8]; 8];
        for p0 in (0..len).step_by(8) {
            let pl = 8.min(len - p0);
            for j0 in (0..width).step_by(8) {
                for (jj, row) in t.iter_mut().enumerate() {
                    let j = j0 + jj;
                    if j < w {
                        let s = src.offset(j as isize * vs + p0 as isize);
                        for (pp, v) in row.iter_mut().enumerate().take(pl) {
                            *v = *s.add(pp);
                        }
                    } else {
                        *row = [0.0; 8];
                    }
                }
                for pp in 0..pl {
                    let o = d.add((p0 + pp) * width + j0);
                    for jj in 0..8.min(width - j0) {
                        *o.add(jj) = t[jj][pp];
                    }
                }
            }
        }
    } else {
        // Any other strides: value by value.
        debug_assert!(dst.len() >= len * width);
        let d = dst.as_mut_ptr();
        for p in 0..len {
            for j in 0..width {
                *d.add(p * width + j) = if j < w {
                    *src.offset(p as isize * ls + j as isize * vs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// One register tile's operands: `kc` steps of packed `a` (`MR` values a step, the tile's
/// rows first) times rows of a panel of `b` (`bs` apart, a whole panel readable each), into
/// `nr` columns of `c`.
struct Tile {
    kc: usize,
    a: *const f32,
    ars: isize,
    acs: isize,
    b: *const f32,
    bs: isize,
    c: *mut f32,
    ldc: usize,
    nr: usize,
}

impl Tile {
    /// Computes `H` rows of the tile (`NV` vectors wide) from `a` packed `MR` rows a step;
    /// returns `H`.
    #[inline(always)]
    unsafe fn run<V: Lanes, const MR: usize, const H: usize, const NV: usize>(
        &self,
        from_zero: bool,
    ) -> usize {
        let l = V::LANES;
        let full = self.nr == NV * l;
        let mut acc = [[V::zero(); NV]; H];
        if !from_zero {
            let mut tmp = [[0.0f32; 64]; H];
            for i in 0..H {
                let ci = self.c.add(i * self.ldc);
                if full {
                    for v in 0..NV {
                        acc[i][v] = V::load(ci.add(v * l));
                    }
                } else {
                    std::ptr::copy_nonoverlapping(ci, tmp[i].as_mut_ptr(), self.nr);
                    for v in 0..NV {
                        acc[i][v] = V::load(tmp[i].as_ptr().add(v * l));
                    }
                }
            }
        }
        let mut ap = self.a;
        let mut bp = self.b;
        for _ in 0..self.kc {
            let mut bv = [V::zero(); NV];
            for v in 0..NV {
                bv[v] = V::load(bp.add(v * l));
            }
            for i in 0..H {
                let av = V::splat(*ap.offset(i as isize * self.ars));
                for v in 0..NV {
                    acc[i][v] = acc[i][v].fma(av, bv[v]);
                }
            }
            ap = ap.offset(self.acs);
            bp = bp.offset(self.bs);
        }
        for i in 0..H {
            let ci = self.c.add(i * self.ldc);
            if full {
                for v in 0..NV {
                    acc[i][v].store(ci.add(v * l));
                }
            } else {
                let mut tmp = [0.0f32; 64];
                for v in 0..NV {
                    acc[i][v].store(tmp.as_mut_ptr().add(v * l));
                }
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), ci, self.nr);
            }
        }
        H
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output as the definition's chain: `fma` over `k` in order, from 0 or from `c`.
    #[allow(clippy::too_many_arguments)]
    fn chain(
        m: usize,
        n: usize,
        k: usize,
        c: &mut [f32],
        a: &[f32],
        ast: (usize, usize),
        b: &[f32],
        bst: (usize, usize),
        acc: bool,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = if acc { c[i * n + j] } else { 0.0 };
                for p in 0..k {
                    s = a[i * ast.0 + p * ast.1].mul_add(b[p * bst.0 + j * bst.1], s);
                }
                c[i * n + j] = s;
            }
        }
    }

    /// The paths this CPU can run: the baseline always, AVX2 and AVX-512 where present.
    /// One compiled path of the product.
    type PathFn = fn(usize, usize, usize, *mut f32, usize, Mat, Mat, bool, &mut [f32]);

    fn paths() -> Vec<(&'static str, PathFn)> {
        #[allow(clippy::too_many_arguments)]
        unsafe fn base(
            m: usize,
            n: usize,
            k: usize,
            c: *mut f32,
            ldc: usize,
            a: Mat,
            b: Mat,
            acc: bool,
            pack: &mut [f32],
        ) {
            blocked::<F1, 4, 8>(m, n, k, c, ldc, a, b, acc, pack)
        }
        let mut v: Vec<(&'static str, PathFn)> =
            vec![("baseline", |m, n, k, c, ldc, a, b, acc, pack| unsafe {
                base(m, n, k, c, ldc, a, b, acc, pack)
            })];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(("avx2", |m, n, k, c, ldc, a, b, acc, pack| unsafe {
                    gemm_v3(m, n, k, c, ldc, a, b, acc, pack)
                }));
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(("avx512", |m, n, k, c, ldc, a, b, acc, pack| unsafe {
                    gemm_v4(m, n, k, c, ldc, a, b, acc, pack)
                }));
            }
        }
        v
    }

    #[test]
    fn every_path_gives_the_definitions_bits() {
        // Tile remainders (rows 1-11 past whole tiles, columns past whole panels), blocks of
        // k, m and n past their sizes, transposed operands, accumulation.
        let shapes = [
            (1, 1, 1),
            (2, 3, 5),
            (11, 17, 33),
            (13, 9, 10),
            (128, 32, 10),
            (50, 400, 16),
            (32, 784, 128),
            (784, 32, 128),
            (37, 600, 65),
            (200, 7, 33),
            (5, 3, 1030),
            (25, 513, 47),
            (60, 20, 1100),
        ];
        for (m, k, n) in shapes {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos() * 1.7).collect();
            for (ta, tb, acc) in [
                (false, false, false),
                (true, false, true),
                (false, true, false),
                (true, true, true),
            ] {
                let ast = if ta { (1, m) } else { (k, 1) };
                let bst = if tb { (1, k) } else { (n, 1) };
                let start: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.7).sin()).collect();
                let mut want = start.clone();
                chain(m, n, k, &mut want, &a, ast, &b, bst, acc);
                for (name, f) in paths() {
                    let mut c = start.clone();
                    let am = Mat {
                        ptr: a.as_ptr(),
                        rs: ast.0 as isize,
                        cs: ast.1 as isize,
                    };
                    let bm = Mat {
                        ptr: b.as_ptr(),
                        rs: bst.0 as isize,
                        cs: bst.1 as isize,
                    };
                    with_pack(|pack| f(m, n, k, c.as_mut_ptr(), n, am, bm, acc, pack));
                    let same = c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{name}: {m}x{k}x{n} ta={ta} tb={tb} acc={acc}");
                }
            }
        }
    }

    #[test]
    fn empty_depth_zeroes_or_keeps() {
        let mut c = vec![3.0f32; 6];
        let m = Mat {
            ptr: [].as_ptr(),
            rs: 0,
            cs: 1,
        };
        unsafe { gemm(2, 3, 0, c.as_mut_ptr(), 3, m, m, true) };
        assert_eq!(c, [3.0; 6]);
        unsafe { gemm(2, 3, 0, c.as_mut_ptr(), 3, m, m, false) };
        assert_eq!(c, [0.0; 6]);
    }
}
