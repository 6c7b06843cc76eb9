//! Winograd's minimal filtering F(4×4, 3×3) for 3×3, stride-1, ungrouped 2-D convolutions
//! over channels-last data (Lavin and Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016).
//!
//! Each 4×4 block ("tile") of the output is computed from the 6×6 block of input under it:
//! the input block is transformed (`V = Bᵀ d B`), the kernel is transformed once per pass
//! (`U = G g Gᵀ`), and the 36 positions ξ of the transformed tile are 36 independent matrix
//! products `M[ξ] = V[ξ] · U[ξ]` over the channels, `(tiles, in) × (in, filters)`; the output
//! is `Y = Aᵀ M A`. That is 36 multiply-adds per tile, channel and filter for 16 outputs,
//! where im2col needs 144: on an 11×11 output (9 tiles, 12×12 computed) 3.4× fewer.
//!
//! The backward pass is the adjoint of each linear step: `dM = A dY Aᵀ`, `dU[ξ] = V[ξ]ᵀ ·
//! dM[ξ]` (summed over every tile of the batch), `dg = Gᵀ dU G`, `dV[ξ] = dM[ξ] · U[ξ]ᵀ`,
//! `dx += B dV Bᵀ` (the 6×6 input blocks overlap by 2 and add).
//!
//! The work goes by blocks of [`RB`] tiles, so that a block's `M`, `dM` and `dV` (36 small
//! matrices each) stay in the core's cache between the product that writes them and the
//! transform that reads them. `V` is kept for the backward pass, block after block, each
//! block `[36][rows][in]`; with more than one thread `dM` is kept too, for the kernel
//! gradient. The transforms work on 16 channels at a time with `mul_add` (one rounding
//! everywhere), so results are the same bits on every instruction set; each output of a
//! product is one chain over the channels (see `gemm`), and the kernel gradient's chain runs
//! over the tiles of the batch in order whether one thread does it block after block or
//! the threads share the 36 ξ: the bits do not depend on the thread count.

use super::cpu;
use std::ops::Range;

/// Lanes per block of channels (one AVX-512 register).
const L: usize = 16;
type Blk = [f32; L];

/// Output tile side, and input tile side (`TILE + 2`).
const TILE: usize = 4;
const ALPHA: usize = 6;
/// Positions of a transformed tile.
pub(crate) const XI: usize = ALPHA * ALPHA;

// The transform matrices, written out in the column transforms below (with shared partial
// sums); the tests check those against these.
/// `Bᵀ`: input transform.
#[cfg(test)]
const BT: [[f32; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];
/// `G`: kernel transform.
#[cfg(test)]
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];
/// `Aᵀ`: output transform.
#[cfg(test)]
const AT: [[f32; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

// Scalar operations of the column transforms; [`sandwich!`] runs them on the 16 lanes of a
// block in one loop that the compiler vectorizes (written on whole blocks instead, they
// came out as scalar code).
#[inline(always)]
fn add(a: f32, b: f32) -> f32 {
    a + b
}
#[inline(always)]
fn sub(a: f32, b: f32) -> f32 {
    a - b
}
/// `k · a + b`, one rounding.
#[inline(always)]
fn fma(k: f32, a: f32, b: f32) -> f32 {
    k.mul_add(a, b)
}
#[inline(always)]
fn scale(k: f32, a: f32) -> f32 {
    k * a
}
#[inline(always)]
fn neg(a: f32) -> f32 {
    -a
}

/// A transform of one column of `Q` values into `P` values (a `P × Q` matrix): reads the
/// `Q` inputs with `get`, hands the `P` outputs to `put`.
trait Col<const Q: usize, const P: usize> {
    fn col(get: impl Fn(usize) -> f32, put: impl FnMut(usize, f32));
}

/// `Bᵀ` (input).
struct InCol;
impl Col<6, 6> for InCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [d0, d1, d2, d3, d4, d5] = [get(0), get(1), get(2), get(3), get(4), get(5)];
        let (a, b) = (fma(-4.0, d2, d4), fma(-4.0, d1, d3));
        let (c, e) = (sub(d4, d2), scale(2.0, sub(d3, d1)));
        put(0, fma(4.0, d0, fma(-5.0, d2, d4)));
        put(1, add(a, b));
        put(2, sub(a, b));
        put(3, add(c, e));
        put(4, sub(c, e));
        put(5, fma(4.0, d1, fma(-5.0, d3, d5)));
    }
}

/// `B` (input gradient).
struct InGradCol;
impl Col<6, 6> for InGradCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [i0, i1, i2, i3, i4, i5] = [get(0), get(1), get(2), get(3), get(4), get(5)];
        let (p, q) = (add(i1, i2), sub(i1, i2));
        let (r, s) = (add(i3, i4), sub(i3, i4));
        put(0, scale(4.0, i0));
        put(1, fma(-2.0, s, scale(4.0, sub(i5, q))));
        put(2, neg(fma(5.0, i0, fma(4.0, p, r))));
        put(3, fma(-5.0, i5, fma(2.0, s, q)));
        put(4, add(i0, add(p, r)));
        put(5, i5);
    }
}

/// `Aᵀ` (output).
struct OutCol;
impl Col<6, 4> for OutCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [m0, m1, m2, m3, m4, m5] = [get(0), get(1), get(2), get(3), get(4), get(5)];
        let (p, q) = (add(m1, m2), sub(m1, m2));
        let (r, s) = (add(m3, m4), sub(m3, m4));
        put(0, add(m0, add(p, r)));
        put(1, fma(2.0, s, q));
        put(2, fma(4.0, r, p));
        put(3, add(fma(8.0, s, q), m5));
    }
}

/// `A` (output gradient).
struct OutGradCol;
impl Col<4, 6> for OutGradCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [i0, i1, i2, i3] = [get(0), get(1), get(2), get(3)];
        let (e, f) = (add(i0, i2), add(i1, i3));
        let (g, h) = (fma(4.0, i2, i0), fma(2.0, i1, scale(8.0, i3)));
        put(0, i0);
        put(1, add(e, f));
        put(2, sub(e, f));
        put(3, add(g, h));
        put(4, sub(g, h));
        put(5, i3);
    }
}

/// `G` (kernel).
struct KernelCol;
impl Col<3, 6> for KernelCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [i0, i1, i2] = [get(0), get(1), get(2)];
        let p = add(i0, i2);
        let (g, h) = (
            fma(1.0 / 24.0, i0, scale(1.0 / 6.0, i2)),
            scale(1.0 / 12.0, i1),
        );
        put(0, scale(1.0 / 4.0, i0));
        put(1, scale(-1.0 / 6.0, add(p, i1)));
        put(2, scale(-1.0 / 6.0, sub(p, i1)));
        put(3, add(g, h));
        put(4, sub(g, h));
        put(5, i2);
    }
}

/// `Gᵀ` (kernel gradient).
struct KernelGradCol;
impl Col<6, 3> for KernelGradCol {
    #[inline(always)]
    fn col(get: impl Fn(usize) -> f32, mut put: impl FnMut(usize, f32)) {
        let [i0, i1, i2, i3, i4, i5] = [get(0), get(1), get(2), get(3), get(4), get(5)];
        let p = add(i1, i2);
        let (r, s) = (add(i3, i4), sub(i3, i4));
        put(
            0,
            fma(1.0 / 4.0, i0, fma(-1.0 / 6.0, p, scale(1.0 / 24.0, r))),
        );
        put(1, fma(1.0 / 6.0, sub(i2, i1), scale(1.0 / 12.0, s)));
        put(2, add(fma(-1.0 / 6.0, p, scale(1.0 / 6.0, r)), i5));
    }
}

/// `o = T · d · Tᵀ` for the column transform `T` (every column of `d`, then every row of
/// the result), lane by lane in one loop over the 16 lanes, which the compiler vectorizes.
/// Written out (a macro, not loops over columns and rows): those loops it vectorized with
/// gathers and scatters. `o` comes from the caller, made once per call of the transform
/// (zeroing arrays per tile costs calls to `memset`).
macro_rules! sandwich {
    ($T:ty, $d:expr, $o:expr, [$($x:literal),*], [$($a:literal),*]) => {{
        let (d, o) = ($d, $o);
        for z in 0..L {
            let mut t = [[0.0f32; 6]; 6];
            $( <$T>::col(|y| d[y][$x][z], |a, v| t[a][$x] = v); )*
            $( <$T>::col(|x| t[$a][x], |b, v| o[$a][b][z] = v); )*
        }
    }};
}

/// Copies `n ≤ L` values into a block, zeros after (a whole block is one vector load, not
/// a call to `memcpy`).
#[inline(always)]
fn load(src: &[f32], n: usize) -> Blk {
    if n == L {
        return src[..L].try_into().expect("a whole block");
    }
    let mut b = [0.0f32; L];
    b[..n].copy_from_slice(&src[..n]);
    b
}

/// Stores the first `n ≤ L` values of a block.
#[inline(always)]
fn store(dst: &mut [f32], blk: &Blk, n: usize) {
    if n == L {
        let d: &mut Blk = (&mut dst[..L]).try_into().expect("a whole block");
        *d = *blk;
    } else {
        dst[..n].copy_from_slice(&blk[..n]);
    }
}

/// Tiles per block: a block's 36 matrices of `M` (64 filters) take 0.45 MB.
const RB: usize = 48;

/// The values between consecutive ξ matrices of `rows × cols`: whole cache lines, an odd
/// number of them, so that the 36 matrices start in 36 different sets of the L1 cache
/// (the transforms touch all 36 at once; at a multiple of 4 KiB apart they would evict
/// each other).
fn xi_stride(rows: usize, cols: usize) -> usize {
    ((rows * cols).div_ceil(L) | 1) * L
}

/// The blocks of `rows` tiles: `(first tile, tiles)`.
fn blocks(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rows).step_by(RB).map(move |r0| (r0, RB.min(rows - r0)))
}

/// Values of `rows` tiles' 36 matrices of `cols` columns, block after block.
fn blocked_len(rows: usize, cols: usize) -> usize {
    blocks(rows).map(|(_, rb)| XI * xi_stride(rb, cols)).sum()
}

/// A run of samples and its regions of the kept transformed input `v` and (with more than
/// one run) transformed output gradient `dm`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub samples: Range<usize>,
    pub v: Range<usize>,
    pub m: Range<usize>,
}

/// The geometry of one Winograd convolution: input `h × w × c`, output `oh × ow × f`,
/// padding before `pt`, `pl`, and `th × tw` output tiles per sample.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Wino {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub f: usize,
    pub oh: usize,
    pub ow: usize,
    pub pt: usize,
    pub pl: usize,
    pub th: usize,
    pub tw: usize,
}

/// A block of a run's tiles: the first, `r0`, and how many, `rb`.
#[derive(Clone, Copy)]
struct Blk0 {
    r0: usize,
    rb: usize,
}

impl Wino {
    pub(crate) fn new(
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        (pt, pl): (usize, usize),
        c: usize,
        f: usize,
    ) -> Self {
        Wino {
            h,
            w,
            c,
            f,
            oh,
            ow,
            pt,
            pl,
            th: oh.div_ceil(TILE),
            tw: ow.div_ceil(TILE),
        }
    }

    /// Output tiles per sample.
    pub(crate) fn tiles(&self) -> usize {
        self.th * self.tw
    }

    /// Multiply-adds of one sample's 36 products.
    pub(crate) fn macs(&self) -> usize {
        XI * self.tiles() * self.c * self.f
    }

    /// Values of the transformed kernel `U` (`[36][c][f]`).
    pub(crate) fn u_len(&self) -> usize {
        XI * self.c * self.f
    }

    /// Scratch values per run: one block's `M` (or `dM`) and `dV`.
    pub(crate) fn scratch_len(&self) -> usize {
        XI * (xi_stride(RB, self.f) + xi_stride(RB, self.c))
    }

    /// Cuts a batch into `parts` runs of samples (as [`cpu::sample_run`]) and lays out their
    /// kept transformed inputs, and with more than one run their transformed output
    /// gradients, one after the other; returns the lengths of the two buffers.
    pub(crate) fn layout(&self, batch: usize, parts: usize, runs: &mut Vec<Run>) -> (usize, usize) {
        runs.clear();
        let (mut v, mut m) = (0, 0);
        for i in 0..parts {
            let samples = cpu::sample_run(batch, parts, i);
            if samples.is_empty() {
                continue;
            }
            let rows = samples.len() * self.tiles();
            let lv = blocked_len(rows, self.c);
            let lm = if parts > 1 {
                blocked_len(rows, self.f)
            } else {
                0
            };
            runs.push(Run {
                samples,
                v: v..v + lv,
                m: m..m + lm,
            });
            (v, m) = (v + lv, m + lm);
        }
        (v, m)
    }

    /// `u = G g Gᵀ` for a kernel `g` of Keras's layout `(3, 3, c, f)`; `u` is `[36][c][f]`.
    pub(crate) fn transform_kernel(&self, g: &[f32], u: &mut [f32]) {
        transform_kernel(self, g, u)
    }

    /// `ut[ξ] = u[ξ]ᵀ` (`[36][f][c]`), for the input gradient.
    pub(crate) fn transpose_kernel(&self, u: &[f32], ut: &mut [f32]) {
        let (c, f) = (self.c, self.f);
        for (us, ts) in u.chunks_exact(c * f).zip(ut.chunks_exact_mut(c * f)) {
            for ci in 0..c {
                for fi in 0..f {
                    ts[fi * c + ci] = us[ci * f + fi];
                }
            }
        }
    }

    /// The pre-activation output `y` (`[ns, oh, ow, f]`, bias added) of `ns` samples `x`
    /// (`[ns, h, w, c]`), keeping their transformed input in `v` (the run's region) for the
    /// backward pass; `scratch` has [`Self::scratch_len`] values.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward(
        &self,
        x: &[f32],
        ns: usize,
        u: &[f32],
        v: &mut [f32],
        scratch: &mut [f32],
        y: &mut [f32],
        bias: Option<&[f32]>,
    ) {
        let (c, f) = (self.c, self.f);
        let mut at = 0;
        for (r0, rb) in blocks(ns * self.tiles()) {
            let (sv, sm) = (xi_stride(rb, c), xi_stride(rb, f));
            let vb = &mut v[at..at + XI * sv];
            at += XI * sv;
            let blk = Blk0 { r0, rb };
            input_transform(self, x, blk, vb);
            let mb = &mut scratch[..XI * sm];
            for xi in 0..XI {
                super::matmul(
                    &mut mb[xi * sm..xi * sm + rb * f],
                    &vb[xi * sv..xi * sv + rb * c],
                    &u[xi * c * f..(xi + 1) * c * f],
                    rb,
                    c,
                    f,
                    false,
                );
            }
            output_transform(self, mb, blk, y, bias.unwrap_or(&[]));
        }
    }

    /// The backward pass of `ns` samples from their output gradient `gz` (`[ns, oh, ow, f]`)
    /// and kept transformed input `v`: `dM = A gz Aᵀ` block by block, then
    /// - with `dm` (the run's region; several runs): `dM` is kept for [`Self::kernel_grad`];
    /// - with `du` (one run): the transformed kernel gradient, summed block after block
    ///   while `dM` is in cache;
    /// - with `input = (ut, gx)`: the input gradient `gx` (`[ns, h, w, c]`, overwritten),
    ///   `ut` from [`Self::transpose_kernel`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        &self,
        gz: &[f32],
        ns: usize,
        v: &[f32],
        mut dm: Option<&mut [f32]>,
        mut du: Option<&mut [f32]>,
        scratch: &mut [f32],
        mut input: Option<(&[f32], &mut [f32])>,
    ) {
        let (c, f) = (self.c, self.f);
        if let Some((_, gx)) = input.as_mut() {
            gx[..ns * self.h * self.w * c].fill(0.0);
        }
        let (mscratch, dvb) = scratch.split_at_mut(XI * xi_stride(RB, f));
        let (mut at_v, mut at_m) = (0, 0);
        for (r0, rb) in blocks(ns * self.tiles()) {
            let (sv, sm) = (xi_stride(rb, c), xi_stride(rb, f));
            let vb = &v[at_v..at_v + XI * sv];
            at_v += XI * sv;
            let mb: &mut [f32] = match dm.as_mut() {
                Some(d) => &mut d[at_m..at_m + XI * sm],
                None => &mut mscratch[..XI * sm],
            };
            at_m += XI * sm;
            let blk = Blk0 { r0, rb };
            grad_transform(self, gz, blk, mb);
            if let Some(du) = du.as_mut() {
                for xi in 0..XI {
                    super::matmul_at_b(
                        &mut du[xi * c * f..(xi + 1) * c * f],
                        &vb[xi * sv..xi * sv + rb * c],
                        &mb[xi * sm..xi * sm + rb * f],
                        c,
                        rb,
                        f,
                        r0 > 0,
                    );
                }
            }
            if let Some((ut, gx)) = input.as_mut() {
                for xi in 0..XI {
                    super::matmul(
                        &mut dvb[xi * sv..xi * sv + rb * c],
                        &mb[xi * sm..xi * sm + rb * f],
                        &ut[xi * c * f..(xi + 1) * c * f],
                        rb,
                        f,
                        c,
                        false,
                    );
                }
                input_grad_transform(self, dvb, blk, gx);
            }
        }
    }

    /// The transformed kernel gradient `du` (`u_len`) of a batch cut into several `runs`,
    /// from the kept `v` and `dm`: the threads share the 36 ξ, each summing over the runs
    /// and their blocks in order, one chain as one run would.
    pub(crate) fn kernel_grad_runs(&self, runs: &[Run], v: &[f32], dm: &[f32], du: &mut [f32]) {
        let (c, f, t) = (self.c, self.f, self.tiles());
        let batch = runs.last().map_or(0, |r| r.samples.end);
        let work = batch * self.macs();
        cpu::split_samples(XI, (work, 0), &mut [du], &|xis, bufs| {
            let [du] = bufs else { unreachable!() };
            for (i, xi) in xis.enumerate() {
                let dst = &mut du[i * c * f..(i + 1) * c * f];
                dst.fill(0.0);
                for r in runs {
                    let (mut at_v, mut at_m) = (r.v.start, r.m.start);
                    for (_, rb) in blocks(r.samples.len() * t) {
                        let (sv, sm) = (xi_stride(rb, c), xi_stride(rb, f));
                        super::matmul_at_b(
                            dst,
                            &v[at_v + xi * sv..at_v + xi * sv + rb * c],
                            &dm[at_m + xi * sm..at_m + xi * sm + rb * f],
                            c,
                            rb,
                            f,
                            true,
                        );
                        at_v += XI * sv;
                        at_m += XI * sm;
                    }
                }
            }
        });
    }

    /// The kernel gradient `gk` (`(3, 3, c, f)`, overwritten) from the transformed one.
    pub(crate) fn kernel_grad(&self, du: &[f32], gk: &mut [f32]) {
        kernel_grad_transform(self, du, gk)
    }

    /// Sample, tile row and tile column of tile `row`.
    #[inline(always)]
    fn locate(&self, row: usize) -> (usize, usize, usize) {
        let t = self.tiles();
        let (s, k) = (row / t, row % t);
        (s, k / self.tw, k % self.tw)
    }
}

multiversion! {
    fn transform_kernel(geo: &Wino, g: &[f32], u: &mut [f32]) {
        let (c, f) = (geo.c, geo.f);
        let (mut d, mut o) = ([[[0.0f32; L]; 3]; 3], [[[0.0f32; L]; 6]; 6]);
        for ci in 0..c {
            for fb in (0..f).step_by(L) {
                let n = L.min(f - fb);
                for (ky, drow) in d.iter_mut().enumerate() {
                    for (kx, blk) in drow.iter_mut().enumerate() {
                        *blk = load(&g[((ky * 3 + kx) * c + ci) * f + fb..], n);
                    }
                }
                sandwich!(KernelCol, &d, &mut o, [0, 1, 2], [0, 1, 2, 3, 4, 5]);
                for (i, row) in o.iter().enumerate() {
                    for (j, blk) in row.iter().enumerate() {
                        store(&mut u[((i * ALPHA + j) * c + ci) * f + fb..], blk, n);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// `V` of the block's tiles (`vb`, `[36][rb][c]`) from the run's samples `x`.
    fn input_transform(geo: &Wino, x: &[f32], blk: Blk0, vb: &mut [f32]) {
        let (h, w, c) = (geo.h, geo.w, geo.c);
        let sv = xi_stride(blk.rb, c);
        let (mut d, mut o) = ([[[0.0f32; L]; 6]; 6], [[[0.0f32; L]; 6]; 6]);
        for r in 0..blk.rb {
            let (s, ty, tx) = geo.locate(blk.r0 + r);
            let xs = &x[s * h * w * c..(s + 1) * h * w * c];
            let y0 = (ty * TILE) as isize - geo.pt as isize;
            let x0 = (tx * TILE) as isize - geo.pl as isize;
            for cb in (0..c).step_by(L) {
                let n = L.min(c - cb);
                for (yy, drow) in d.iter_mut().enumerate() {
                    let iy = y0 + yy as isize;
                    for (xx, blk) in drow.iter_mut().enumerate() {
                        let ix = x0 + xx as isize;
                        *blk = if iy >= 0 && iy < h as isize && ix >= 0 && ix < w as isize {
                            load(&xs[(iy as usize * w + ix as usize) * c + cb..], n)
                        } else {
                            [0.0; L]
                        };
                    }
                }
                sandwich!(InCol, &d, &mut o, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]);
                for (i, orow) in o.iter().enumerate() {
                    for (j, blk) in orow.iter().enumerate() {
                        store(&mut vb[(i * ALPHA + j) * sv + r * c + cb..], blk, n);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// The block's outputs in the run's `y` from its `M` (`mb`, `[36][rb][f]`).
    fn output_transform(geo: &Wino, mb: &[f32], blk: Blk0, y: &mut [f32], bias: &[f32]) {
        let (oh, ow, f) = (geo.oh, geo.ow, geo.f);
        let sm = xi_stride(blk.rb, f);
        let (mut d, mut o) = ([[[0.0f32; L]; 6]; 6], [[[0.0f32; L]; 4]; 4]);
        for r in 0..blk.rb {
            let (s, ty, tx) = geo.locate(blk.r0 + r);
            let ys = &mut y[s * oh * ow * f..(s + 1) * oh * ow * f];
            for fb in (0..f).step_by(L) {
                let n = L.min(f - fb);
                for (i, drow) in d.iter_mut().enumerate() {
                    for (j, blk) in drow.iter_mut().enumerate() {
                        *blk = load(&mb[(i * ALPHA + j) * sm + r * f + fb..], n);
                    }
                }
                sandwich!(OutCol, &d, &mut o, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3]);
                let b = if bias.is_empty() { [0.0f32; L] } else { load(&bias[fb..], n) };
                for (oy, orow) in o.iter().enumerate() {
                    let py = ty * TILE + oy;
                    if py >= oh {
                        break;
                    }
                    for (ox, blk) in orow.iter().enumerate() {
                        let px = tx * TILE + ox;
                        if px >= ow {
                            break;
                        }
                        let mut r = *blk;
                        if !bias.is_empty() {
                            for (v, &bb) in r.iter_mut().zip(&b) {
                                *v += bb;
                            }
                        }
                        store(&mut ys[(py * ow + px) * f + fb..], &r, n);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// `dM` of the block's tiles (`mb`, `[36][rb][f]`) from the run's output gradient.
    fn grad_transform(geo: &Wino, gz: &[f32], blk: Blk0, mb: &mut [f32]) {
        let (oh, ow, f) = (geo.oh, geo.ow, geo.f);
        let sm = xi_stride(blk.rb, f);
        let (mut d, mut o) = ([[[0.0f32; L]; 4]; 4], [[[0.0f32; L]; 6]; 6]);
        for r in 0..blk.rb {
            let (s, ty, tx) = geo.locate(blk.r0 + r);
            let gs = &gz[s * oh * ow * f..(s + 1) * oh * ow * f];
            for fb in (0..f).step_by(L) {
                let n = L.min(f - fb);
                for (oy, drow) in d.iter_mut().enumerate() {
                    let py = ty * TILE + oy;
                    for (ox, blk) in drow.iter_mut().enumerate() {
                        let px = tx * TILE + ox;
                        *blk = if py < oh && px < ow {
                            load(&gs[(py * ow + px) * f + fb..], n)
                        } else {
                            [0.0; L]
                        };
                    }
                }
                sandwich!(OutGradCol, &d, &mut o, [0, 1, 2, 3], [0, 1, 2, 3, 4, 5]);
                for (i, orow) in o.iter().enumerate() {
                    for (j, blk) in orow.iter().enumerate() {
                        store(&mut mb[(i * ALPHA + j) * sm + r * f + fb..], blk, n);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// Adds the block's input gradient, from its `dV` (`dvb`, `[36][rb][c]`), into the
    /// run's `gx`.
    fn input_grad_transform(geo: &Wino, dvb: &[f32], blk: Blk0, gx: &mut [f32]) {
        let (h, w, c) = (geo.h, geo.w, geo.c);
        let sv = xi_stride(blk.rb, c);
        let (mut d, mut o) = ([[[0.0f32; L]; 6]; 6], [[[0.0f32; L]; 6]; 6]);
        for r in 0..blk.rb {
            let (s, ty, tx) = geo.locate(blk.r0 + r);
            let gs = &mut gx[s * h * w * c..(s + 1) * h * w * c];
            let y0 = (ty * TILE) as isize - geo.pt as isize;
            let x0 = (tx * TILE) as isize - geo.pl as isize;
            for cb in (0..c).step_by(L) {
                let n = L.min(c - cb);
                for (i, drow) in d.iter_mut().enumerate() {
                    for (j, blk) in drow.iter_mut().enumerate() {
                        *blk = load(&dvb[(i * ALPHA + j) * sv + r * c + cb..], n);
                    }
                }
                sandwich!(InGradCol, &d, &mut o, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]);
                for (yy, orow) in o.iter().enumerate() {
                    let iy = y0 + yy as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    for (xx, blk) in orow.iter().enumerate() {
                        let ix = x0 + xx as isize;
                        if ix >= 0 && ix < w as isize {
                            let at = (iy as usize * w + ix as usize) * c + cb;
                            let mut r = load(&gs[at..], n);
                            for (g, &v) in r.iter_mut().zip(blk) {
                                *g += v;
                            }
                            store(&mut gs[at..], &r, n);
                        }
                    }
                }
            }
        }
    }
}

multiversion! {
    fn kernel_grad_transform(geo: &Wino, du: &[f32], gk: &mut [f32]) {
        let (c, f) = (geo.c, geo.f);
        let (mut d, mut o) = ([[[0.0f32; L]; 6]; 6], [[[0.0f32; L]; 3]; 3]);
        for ci in 0..c {
            for fb in (0..f).step_by(L) {
                let n = L.min(f - fb);
                for (i, drow) in d.iter_mut().enumerate() {
                    for (j, blk) in drow.iter_mut().enumerate() {
                        *blk = load(&du[((i * ALPHA + j) * c + ci) * f + fb..], n);
                    }
                }
                sandwich!(KernelGradCol, &d, &mut o, [0, 1, 2, 3, 4, 5], [0, 1, 2]);
                for (ky, orow) in o.iter().enumerate() {
                    for (kx, blk) in orow.iter().enumerate() {
                        store(&mut gk[((ky * 3 + kx) * c + ci) * f + fb..], blk, n);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix a column transform applies, read off from unit inputs.
    #[allow(clippy::needless_range_loop)]
    fn matrix<T: Col<Q, P>, const Q: usize, const P: usize>() -> [[f32; Q]; P] {
        let mut m = [[0.0f32; Q]; P];
        for j in 0..Q {
            T::col(|y| if y == j { 1.0 } else { 0.0 }, |a, v| m[a][j] = v);
        }
        m
    }

    fn transpose<const R: usize, const C: usize>(m: [[f32; C]; R]) -> [[f32; R]; C] {
        let mut t = [[0.0f32; R]; C];
        for (i, row) in m.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                t[j][i] = v;
            }
        }
        t
    }

    #[test]
    fn column_transforms_are_the_matrices_of_f4x4_3x3() {
        assert_eq!(matrix::<InCol, 6, 6>(), BT);
        assert_eq!(matrix::<InGradCol, 6, 6>(), transpose(BT));
        assert_eq!(matrix::<OutCol, 6, 4>(), AT);
        assert_eq!(matrix::<OutGradCol, 4, 6>(), transpose(AT));
        // G's fractions: the shared partial sums round differently from the plain entries.
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-7);
        for (got, want) in matrix::<KernelCol, 3, 6>().iter().zip(&G) {
            assert!(close(got, want), "{got:?} vs {want:?}");
        }
        for (got, want) in matrix::<KernelGradCol, 6, 3>().iter().zip(&transpose(G)) {
            assert!(close(got, want), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn blocks_cover_the_rows_and_matrices_sit_in_different_cache_sets() {
        for rows in [1, 47, 48, 49, 288, 1000] {
            let b: Vec<_> = blocks(rows).collect();
            assert_eq!(b.iter().map(|&(_, n)| n).sum::<usize>(), rows);
            assert!(b.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
            for cols in [16, 32, 64, 17] {
                let s = xi_stride(rows, cols);
                assert!(s >= rows * cols && s.is_multiple_of(L) && (s / L) % 2 == 1);
            }
        }
    }
}
