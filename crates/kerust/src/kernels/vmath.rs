//! Vectorized `exp`, `sigmoid` and `tanh` over `f32` slices (the gates of the recurrent
//! layers and the `sigmoid`/`tanh` activations).
//!
//! Each function is a range reduction plus a polynomial, written with plain arithmetic,
//! selects and `mul_add` so that LLVM turns the loop into AVX-512 or AVX2 code; the libm
//! calls they replace run one element at a time. The polynomial coefficients come from
//! `tools/fit_vmath.py` (near-minimax fits). Largest errors measured against `f64` over every
//! `f32` input (the ignored test `every_f32_input_is_within_the_stated_ulps`): `exp` 0.80
//! ulp, `sigmoid` 1.70 ulps, `tanh` 1.48 ulps (libm's scalar `expf` and `tanhf` are within
//! about 1 ulp).
//!
//! Results are the same bit for bit on every machine and at every thread count: the
//! operations are elementwise, the compiler never fuses multiplies and adds on its own, and
//! `mul_add` is a single-rounding fused multiply-add everywhere (an FMA instruction, or
//! libm's exact `fmaf` on the rare x86-64 CPUs without FMA, where the baseline copy is slow
//! but gives the same numbers).
//!
//! ```
//! use kerust::kernels::vmath;
//! let mut v = [-1.0f32, 0.0, 2.0];
//! vmath::sigmoid_inplace(&mut v);
//! assert_eq!(v[1], 0.5);
//! assert!((v[2] - 0.880_797_1).abs() < 1e-6);
//! let mut t = [0.5f32];
//! vmath::tanh_inplace(&mut t);
//! assert!((t[0] - 0.5f32.tanh()).abs() <= 1e-7);
//! ```

/// `1.5 * 2^23`: adding it rounds a float of magnitude below `2^22` to an integer (ties to
/// even), which then sits in the low bits of the sum.
const ROUNDER: f32 = 12_582_912.0;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two: `LN2_HI` has 9 significant bits, so `n * LN2_HI` is exact for the
/// `n` used here and `x - n * LN2_HI` loses nothing.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `exp(r) ≈ 1 + r + r² P(r)` on `|r| <= ln(2)/2`, `P`'s coefficients from `r⁰` up.
const EXP_P: [f32; 5] = [0.49999994, 0.16666521, 0.04166839, 0.00836871, 0.0013814605];
/// Below this magnitude `tanh` uses its odd polynomial, above it `exp`.
const TANH_SMALL: f32 = 0.55;
/// `tanh(x) ≈ x + x³ Q(x²)` on `|x| <= 0.55`, `Q`'s coefficients from `u⁰` up.
const TANH_Q: [f32; 5] = [
    -0.33333316,
    0.13332586,
    -0.05385231,
    0.021071665,
    -0.006274218,
];

/// The range reduction of `exp(x)`: `exp(x) = (1 + r + r² p) * s1 * s2` with
/// `|r| <= ln(2)/2` and `s1`, `s2` powers of two; inlined into the vectorized loops.
#[inline(always)]
fn exp_reduce(x: f32) -> (f32, f32, f32, f32) {
    // Comparisons rather than `max`/`min`: a NaN fails both and goes on as NaN.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    let t = x.mul_add(LOG2_E, ROUNDER);
    let nf = t - ROUNDER;
    let n = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let r = (-nf).mul_add(LN2_HI, x);
    let r = (-nf).mul_add(LN2_LO, r);
    let p = EXP_P[4]
        .mul_add(r, EXP_P[3])
        .mul_add(r, EXP_P[2])
        .mul_add(r, EXP_P[1])
        .mul_add(r, EXP_P[0]);
    // 2^n in two factors, each a normal float for n in [-151, 129].
    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    let s1 = f32::from_bits((n1.wrapping_add(127) as u32).wrapping_shl(23));
    let s2 = f32::from_bits((n2.wrapping_add(127) as u32).wrapping_shl(23));
    (r, p, s1, s2)
}

/// `exp(x) = (1 + q) * s1 * s2` with `|q| < 0.42`: keeping `q` apart lets sigmoid and tanh
/// form `1 ± exp(x)` with one rounding instead of two.
#[inline(always)]
fn exp_parts(x: f32) -> (f32, f32, f32) {
    let (r, p, s1, s2) = exp_reduce(x);
    ((r * r).mul_add(p, r), s1, s2)
}

/// `exp(x)` for one element. `1 + r` is summed with its rounding error carried into the
/// small terms, so that only the last addition rounds. Overflows to `+inf` above about
/// 88.72, reaches 0 below about -103.97 (through the subnormal range), and passes NaN
/// through.
#[inline(always)]
fn exp1(x: f32) -> f32 {
    let (r, p, s1, s2) = exp_reduce(x);
    let hi = 1.0 + r;
    let lo = (1.0 - hi) + r;
    (hi + (r * r).mul_add(p, lo)) * s1 * s2
}

/// `1 / (1 + exp(-x))` for one element. With `e = exp(-|x|)` or `E = exp(|x|)` written
/// `s (1 + q)`, `s` a power of two: `1 / (1 + e)` for `x >= 0` (`1 + s` is exact, so the
/// denominator is rounded once); `(1/s) / (1/s + 1 + q)` = `1 / (1 + E)` for
/// `-80 <= x < 0`; `e` itself below -80, where `1 + e` rounds to 1.
#[inline(always)]
pub(crate) fn sigmoid1(x: f32) -> f32 {
    let tiny = x < -80.0;
    let neg = x < 0.0 && !tiny;
    let (r, p, s1, s2) = exp_reduce(if tiny { x } else { -x });
    let q = (r * r).mul_add(p, r);
    let s = s1 * s2;
    // 1/s = 2^-n from the exponent bits of s = 2^n (n in [-116, 116] when it is used).
    let s_inv = f32::from_bits(0x7f00_0000u32.wrapping_sub(s.to_bits()));
    let num = if tiny {
        let hi = 1.0 + r;
        (hi + (r * r).mul_add(p, (1.0 - hi) + r)) * s1 * s2
    } else if neg {
        s_inv
    } else {
        1.0
    };
    // 1 + 1/s is exact while 1/s >= 2^-23: then only the sum with q rounds.
    let den = if neg && s_inv >= f32::EPSILON {
        q + (1.0 + s_inv)
    } else if neg {
        (q + s_inv) + 1.0
    } else {
        s.mul_add(q, 1.0 + s)
    };
    num / den
}

/// `tanh(x)` for one element: an odd polynomial below 0.55, `(1 - e) / (1 + e)` with
/// `e = exp(-2|x|)` up to 2 and `1 - 2e / (1 + e)` above, where `1 + e` is no longer exact
/// but the quotient is small. Keeps the sign of zero and passes NaN through.
#[inline(always)]
pub(crate) fn tanh1(x: f32) -> f32 {
    let a = x.abs();
    let u = a * a;
    let q = TANH_Q[4]
        .mul_add(u, TANH_Q[3])
        .mul_add(u, TANH_Q[2])
        .mul_add(u, TANH_Q[1])
        .mul_add(u, TANH_Q[0]);
    let small = (a * u).mul_add(q, a);
    // e = s (1 + qe), s a power of two; s >= 2^-6 for |x| < 2, so 1 - s and 1 + s are exact.
    let (qe, s1, s2) = exp_parts(-2.0 * a);
    let s = s1 * s2;
    let far = a >= 2.0;
    let num = if far {
        (s + s).mul_add(qe, s + s)
    } else {
        (-s).mul_add(qe, 1.0 - s)
    };
    let ratio = num / s.mul_add(qe, 1.0 + s);
    let big = if far { 1.0 - ratio } else { ratio };
    let y = if a < TANH_SMALL { small } else { big };
    y.copysign(x)
}

multiversion! {
    /// `x = exp(x)` elementwise (within 1 ulp).
    pub fn exp_inplace(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = exp1(*v);
        }
    }
}

multiversion! {
    /// `x = 1 / (1 + exp(-x))` elementwise (within 2 ulps).
    pub fn sigmoid_inplace(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = sigmoid1(*v);
        }
    }
}

multiversion! {
    /// `x = tanh(x)` elementwise (within 2 ulps).
    pub fn tanh_inplace(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = tanh1(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distance in units of the last place between `got` and the exact `want`: the ulp
    /// of `want` rounded to `f32` (`2^(e - 23)` for `2^e <= |want| < 2^(e + 1)`, the
    /// subnormal spacing below the normal range).
    fn ulps(got: f32, want: f64) -> f64 {
        if got.is_nan() || want.is_nan() {
            return if got.is_nan() && want.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        let w = want as f32;
        if got.is_infinite() || w.is_infinite() {
            return if got == w { 0.0 } else { f64::INFINITY };
        }
        (got as f64 - want).abs() / ulp(w)
    }

    fn ulp(w: f32) -> f64 {
        let pow2 = f32::from_bits(w.abs().to_bits() & 0x7f80_0000) as f64;
        (pow2 * f64::powi(2.0, -23)).max(f64::powi(2.0, -149))
    }

    fn sigmoid64(x: f64) -> f64 {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }

    /// The largest error of each function over the `f32` inputs `bits` walks through.
    fn worst(bits: impl Iterator<Item = u32>) -> [(f64, f32); 3] {
        let mut worst = [(0.0f64, 0.0f32); 3];
        let mut buf = Vec::with_capacity(4096);
        let flush = |buf: &mut Vec<f32>, worst: &mut [(f64, f32); 3]| {
            let mut e = buf.clone();
            let mut s = buf.clone();
            let mut t = buf.clone();
            exp_inplace(&mut e);
            sigmoid_inplace(&mut s);
            tanh_inplace(&mut t);
            for (i, &x) in buf.iter().enumerate() {
                let xd = x as f64;
                for (k, (got, want)) in [(e[i], xd.exp()), (s[i], sigmoid64(xd)), (t[i], xd.tanh())]
                    .into_iter()
                    .enumerate()
                {
                    let u = ulps(got, want);
                    if u > worst[k].0 {
                        worst[k] = (u, x);
                    }
                }
            }
            buf.clear();
        };
        for b in bits {
            let x = f32::from_bits(b);
            if x.is_nan() {
                continue;
            }
            buf.push(x);
            if buf.len() == buf.capacity() {
                flush(&mut buf, &mut worst);
            }
        }
        flush(&mut buf, &mut worst);
        worst
    }

    fn assert_within(w: [(f64, f32); 3]) {
        let names = ["exp", "sigmoid", "tanh"];
        let limits = [1.0, 2.0, 2.0];
        for (name, (u, x)) in names.iter().zip(w) {
            eprintln!("{name}: at most {u:.3} ulps (at x = {x:e})");
        }
        for ((name, limit), (u, x)) in names.iter().zip(limits).zip(w) {
            assert!(
                u <= limit,
                "{name}: {u:.3} ulps at x = {x:e} (limit {limit})"
            );
        }
    }

    #[test]
    fn sampled_f32_inputs_are_within_the_stated_ulps() {
        // Every 4099th bit pattern (both signs, all exponents), plus every 997th input of
        // magnitude in [2^-15, 1) and every input around tanh's switch point.
        let stride = (0..=u32::MAX).step_by(4099);
        let near0 = (0x3800_0000..0x3f80_0000u32)
            .step_by(997)
            .flat_map(|b| [b, b | 0x8000_0000]);
        let switch = TANH_SMALL.to_bits() - 50_000..TANH_SMALL.to_bits() + 50_000;
        assert_within(worst(stride.chain(near0).chain(switch)));
    }

    #[test]
    #[ignore = "exhaustive: about a minute in release mode"]
    fn every_f32_input_is_within_the_stated_ulps() {
        assert_within(worst(0..=u32::MAX));
    }

    #[test]
    fn special_values() {
        let mut v = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            89.0,
            -110.0,
        ];
        let mut e = v;
        exp_inplace(&mut e);
        assert_eq!(e[0], 1.0);
        assert_eq!(e[2], f32::INFINITY);
        assert_eq!(e[3], 0.0);
        assert!(e[4].is_nan());
        assert_eq!(e[5], f32::INFINITY);
        assert_eq!(e[6], 0.0);
        let mut s = v;
        sigmoid_inplace(&mut s);
        assert_eq!(s[..4], [0.5, 0.5, 1.0, 0.0]);
        assert!(s[4].is_nan());
        tanh_inplace(&mut v);
        assert_eq!(v[0].to_bits(), 0.0f32.to_bits());
        assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
        assert_eq!(v[2..4], [1.0, -1.0]);
        assert!(v[4].is_nan());
        assert_eq!(v[5], 1.0);
        assert_eq!(v[6], -1.0);
    }

    #[test]
    fn every_length_and_offset_gives_the_same_values() {
        // The vector body and the scalar tail of each loop agree element for element.
        let xs: Vec<f32> = (0..67).map(|i| (i as f32 - 33.0) * 0.37).collect();
        let mut whole = xs.clone();
        tanh_inplace(&mut whole);
        for start in 0..xs.len() {
            let mut part = xs[start..].to_vec();
            tanh_inplace(&mut part);
            assert_eq!(part, whole[start..]);
            let mut one = [xs[start]];
            tanh_inplace(&mut one);
            assert_eq!(one[0].to_bits(), whole[start].to_bits());
        }
    }
}
