//! Shared N-d window machinery of the convolution and pooling layers: padding rules,
//! output sizes, window index tables, im2col/col2im, layout transposes and the config
//! helpers for Keras's `int or tuple` arguments.

use crate::saving::config::{self as cfg, Keys};
use crate::{Error, Result};
use serde_json::Value;

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: windows lie inside the input.
    Valid,
    /// Zero (or, for max pooling, ignored) padding so that `out = ceil(in / stride)`, split
    /// as XLA and TensorFlow do (the smaller half before).
    Same,
    /// Left padding by `dilation * (kernel - 1)` (Conv1D only).
    Causal,
}

impl Padding {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" => Ok(Padding::Causal),
            _ => Err(Error::unknown("padding", s, &["valid", "same", "causal"])),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
}

/// Anything that names a padding: `"same"` or a [`Padding`] value.
pub trait IntoPadding {
    /// Resolves the padding.
    fn into_padding(self) -> Result<Padding>;
}

impl IntoPadding for Padding {
    fn into_padding(self) -> Result<Padding> {
        Ok(self)
    }
}

impl IntoPadding for &str {
    fn into_padding(self) -> Result<Padding> {
        Padding::parse(self)
    }
}

/// Keras's `data_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataFormat {
    /// `(batch, ...spatial, channels)`, Keras's default.
    #[default]
    ChannelsLast,
    /// `(batch, channels, ...spatial)`.
    ChannelsFirst,
}

impl DataFormat {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "channels_last" => Ok(DataFormat::ChannelsLast),
            "channels_first" => Ok(DataFormat::ChannelsFirst),
            _ => Err(Error::unknown(
                "data_format",
                s,
                &["channels_last", "channels_first"],
            )),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            DataFormat::ChannelsLast => "channels_last",
            DataFormat::ChannelsFirst => "channels_first",
        }
    }

    /// `(spatial, channels)` of a sample shape.
    pub(crate) fn split(self, shape: &[usize]) -> (Vec<usize>, usize) {
        match self {
            DataFormat::ChannelsLast => (shape[..shape.len() - 1].to_vec(), shape[shape.len() - 1]),
            DataFormat::ChannelsFirst => (shape[1..].to_vec(), shape[0]),
        }
    }

    /// The sample shape of `spatial` and `channels`.
    pub(crate) fn join(self, spatial: &[usize], channels: usize) -> Vec<usize> {
        let mut v = Vec::with_capacity(spatial.len() + 1);
        if self == DataFormat::ChannelsFirst {
            v.push(channels);
        }
        v.extend_from_slice(spatial);
        if self == DataFormat::ChannelsLast {
            v.push(channels);
        }
        v
    }
}

/// Anything that names a data format: `"channels_first"` or a [`DataFormat`] value.
pub trait IntoDataFormat {
    /// Resolves the data format.
    fn into_data_format(self) -> Result<DataFormat>;
}

impl IntoDataFormat for DataFormat {
    fn into_data_format(self) -> Result<DataFormat> {
        Ok(self)
    }
}

impl IntoDataFormat for &str {
    fn into_data_format(self) -> Result<DataFormat> {
        DataFormat::parse(self)
    }
}

/// A window size, stride or dilation of `N` spatial axes: an integer for all axes, an
/// array, or (for 2 and 3 axes) a tuple, as Keras's `int or tuple` arguments.
pub trait IntoWindow<const N: usize> {
    /// The per-axis values.
    fn into_window(self) -> [usize; N];
}

impl<const N: usize> IntoWindow<N> for usize {
    fn into_window(self) -> [usize; N] {
        [self; N]
    }
}

impl<const N: usize> IntoWindow<N> for [usize; N] {
    fn into_window(self) -> [usize; N] {
        self
    }
}

impl IntoWindow<2> for (usize, usize) {
    fn into_window(self) -> [usize; 2] {
        [self.0, self.1]
    }
}

impl IntoWindow<3> for (usize, usize, usize) {
    fn into_window(self) -> [usize; 3] {
        [self.0, self.1, self.2]
    }
}

/// One axis: `(output size, padding before)`, or `None` when the window does not fit.
pub(crate) fn axis_size(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    let k_eff = dilation.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    if stride == 0 || input == 0 {
        return None;
    }
    match padding {
        Padding::Valid => {
            if input < k_eff {
                None
            } else {
                Some(((input - k_eff) / stride + 1, 0))
            }
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let need = (out - 1).checked_mul(stride)?.checked_add(k_eff)?;
            let total = need.saturating_sub(input);
            Some((out, total / 2))
        }
        Padding::Causal => Some(((input - 1) / stride + 1, k_eff - 1)),
    }
}

/// The geometry of a sliding window over `N`-d inputs, with a table giving, for every output
/// position and window offset, the flat input position it reads (or `NONE` in the padding).
#[derive(Clone, Debug, Default)]
pub(crate) struct Windows {
    /// Input positions per sample.
    pub in_pos: usize,
    /// Output positions per sample.
    pub out_pos: usize,
    /// Window offsets (kernel positions).
    pub win: usize,
    /// `out_pos * win` entries.
    pub table: Vec<usize>,
}

pub(crate) const NONE: usize = usize::MAX;

impl Windows {
    /// Output spatial shape and the per-axis padding before, or an error text.
    pub(crate) fn plan(
        input: &[usize],
        k: &[usize],
        strides: &[usize],
        dilation: &[usize],
        padding: Padding,
    ) -> std::result::Result<(Vec<usize>, Vec<usize>), ()> {
        let mut out = Vec::with_capacity(input.len());
        let mut pad = Vec::with_capacity(input.len());
        for i in 0..input.len() {
            let (o, p) = axis_size(input[i], k[i], strides[i], dilation[i], padding).ok_or(())?;
            if o == 0 {
                return Err(());
            }
            out.push(o);
            pad.push(p);
        }
        Ok((out, pad))
    }

    pub(crate) fn new(
        input: &[usize],
        k: &[usize],
        strides: &[usize],
        dilation: &[usize],
        padding: Padding,
    ) -> std::result::Result<Self, ()> {
        let (out, pad) = Self::plan(input, k, strides, dilation, padding)?;
        let n = input.len();
        let in_pos: usize = input.iter().product();
        let out_pos: usize = out.iter().product();
        let win: usize = k.iter().product();
        let total = out_pos.checked_mul(win).ok_or(())?;
        let mut table = Vec::with_capacity(total);
        let mut o_idx = vec![0usize; n];
        let mut k_idx = vec![0usize; n];
        for _ in 0..out_pos {
            k_idx.iter_mut().for_each(|v| *v = 0);
            for _ in 0..win {
                let mut flat = 0usize;
                let mut inside = true;
                for a in 0..n {
                    let pos =
                        (o_idx[a] * strides[a] + k_idx[a] * dilation[a]) as isize - pad[a] as isize;
                    if pos < 0 || pos as usize >= input[a] {
                        inside = false;
                        break;
                    }
                    flat = flat * input[a] + pos as usize;
                }
                table.push(if inside { flat } else { NONE });
                bump(&mut k_idx, k);
            }
            bump(&mut o_idx, &out);
        }
        Ok(Windows {
            in_pos,
            out_pos,
            win,
            table,
        })
    }

    /// Fills `col` (`[batch * out_pos, win * cg]`) with the windows of channels
    /// `c0..c0 + cg` of `x` (`[batch, in_pos, c]`, channels last).
    pub(crate) fn im2col(
        &self,
        x: &[f32],
        batch: usize,
        c: usize,
        c0: usize,
        cg: usize,
        col: &mut [f32],
    ) {
        let row = self.win * cg;
        // Taps reading consecutive input positions are one contiguous run when all the
        // channels are taken (no groups): copy runs, not taps.
        let merge = cg == c;
        for b in 0..batch {
            let xb = &x[b * self.in_pos * c..(b + 1) * self.in_pos * c];
            let cb = &mut col[b * self.out_pos * row..(b + 1) * self.out_pos * row];
            for (t, dst) in self
                .table
                .chunks_exact(self.win)
                .zip(cb.chunks_exact_mut(row))
            {
                for_runs(t, merge, |i, j| {
                    let d = &mut dst[i * cg..j * cg];
                    match t[i] {
                        NONE => d.fill(0.0),
                        p => copy_short(d, &xb[p * c + c0..p * c + c0 + (j - i) * cg]),
                    }
                });
            }
        }
    }

    pub(crate) fn col2im(
        &self,
        col: &[f32],
        batch: usize,
        c: usize,
        c0: usize,
        cg: usize,
        gx: &mut [f32],
    ) {
        let row = self.win * cg;
        let merge = cg == c;
        for b in 0..batch {
            let gb = &mut gx[b * self.in_pos * c..(b + 1) * self.in_pos * c];
            let cb = &col[b * self.out_pos * row..(b + 1) * self.out_pos * row];
            for (t, src) in self.table.chunks_exact(self.win).zip(cb.chunks_exact(row)) {
                for_runs(t, merge, |i, j| {
                    let p = t[i];
                    if p != NONE {
                        let g = &mut gb[p * c + c0..p * c + c0 + (j - i) * cg];
                        for (g, v) in g.iter_mut().zip(&src[i * cg..j * cg]) {
                            *g += v;
                        }
                    }
                });
            }
        }
    }
}

fn bump(idx: &mut [usize], dims: &[usize]) {
    for a in (0..idx.len()).rev() {
        idx[a] += 1;
        if idx[a] < dims[a] {
            return;
        }
        idx[a] = 0;
    }
}

/// `(batch, c, s)` -> `(batch, s, c)` (channels first to channels last).
pub(crate) fn to_channels_last(src: &[f32], batch: usize, c: usize, s: usize, dst: &mut [f32]) {
    for b in 0..batch {
        let sb = &src[b * c * s..(b + 1) * c * s];
        let db = &mut dst[b * c * s..(b + 1) * c * s];
        for ci in 0..c {
            for si in 0..s {
                db[si * c + ci] = sb[ci * s + si];
            }
        }
    }
}

/// `(batch, s, c)` -> `(batch, c, s)` (channels last to channels first).
pub(crate) fn to_channels_first(src: &[f32], batch: usize, c: usize, s: usize, dst: &mut [f32]) {
    for b in 0..batch {
        let sb = &src[b * c * s..(b + 1) * c * s];
        let db = &mut dst[b * c * s..(b + 1) * c * s];
        for si in 0..s {
            for ci in 0..c {
                db[ci * s + si] = sb[si * c + ci];
            }
        }
    }
}

/// Reads an `int or list of N ints` config value (Keras writes lists).
pub(crate) fn window_key<const N: usize>(
    keys: &mut Keys<'_>,
    k: &'static str,
) -> Result<Option<[usize; N]>> {
    let Some(v) = keys.get(k) else {
        return Ok(None);
    };
    let bad = || {
        keys.err(format!(
            "`{k}` must be a positive integer or a list of {N} positive integers, got {}",
            cfg::brief(v)
        ))
    };
    let one = |x: &Value| {
        x.as_u64()
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
    };
    match v {
        Value::Array(a) if a.len() == N => {
            let mut out = [0usize; N];
            for (o, x) in out.iter_mut().zip(a) {
                *o = one(x).ok_or_else(bad)?;
            }
            Ok(Some(out))
        }
        Value::Number(_) => Ok(Some([one(v).ok_or_else(bad)?; N])),
        _ => Err(bad()),
    }
}

/// Reads `padding`, refusing what the layer does not allow.
pub(crate) fn padding_key(keys: &mut Keys<'_>, causal_ok: bool) -> Result<Option<Padding>> {
    let Some(s) = keys.str("padding")? else {
        return Ok(None);
    };
    match Padding::parse(s) {
        Ok(Padding::Causal) if !causal_ok => {
            Err(keys.err("`padding` = \"causal\" is only available for Conv1D".to_string()))
        }
        Ok(p) => Ok(Some(p)),
        Err(e) => Err(keys.err(e.to_string())),
    }
}

/// Reads `data_format`.
pub(crate) fn data_format_key(keys: &mut Keys<'_>) -> Result<Option<DataFormat>> {
    match keys.str("data_format")? {
        None => Ok(None),
        Some(s) => DataFormat::parse(s)
            .map(Some)
            .map_err(|e| keys.err(e.to_string())),
    }
}

/// Calls `f(i, j)` for the runs `i..j` that cut one output position's taps `t`: padding
/// taps (`NONE`) together, and, when `merge`, taps reading consecutive input positions.
#[inline(always)]
fn for_runs(t: &[usize], merge: bool, mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < t.len() {
        let p = t[i];
        let mut j = i + 1;
        if p == NONE {
            while j < t.len() && t[j] == NONE {
                j += 1;
            }
        } else if merge {
            while j < t.len() && t[j] == p + (j - i) {
                j += 1;
            }
        }
        f(i, j);
        i = j;
    }
}

/// `d.copy_from_slice(s)` without a `memcpy` call for the few floats of a one-channel
/// window row (a call per 4..32 bytes cost more than the copy).
#[inline(always)]
fn copy_short(d: &mut [f32], s: &[f32]) {
    macro_rules! arms {
        ($($n:literal)*) => {
            match d.len() {
                $($n => d[..$n].copy_from_slice(&s[..$n]),)*
                _ => d.copy_from_slice(s),
            }
        };
    }
    arms!(1 2 3 4 5 6 7 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_splits_like_xla() {
        // in 5, k 3, s 2: out 3, total pad (3-1)*2+3-5 = 2, before 1.
        assert_eq!(axis_size(5, 3, 2, 1, Padding::Same), Some((3, 1)));
        // in 4, k 2, s 2: out 2, no pad.
        assert_eq!(axis_size(4, 2, 2, 1, Padding::Same), Some((2, 0)));
        // in 6, k 4, s 1: out 6, total 3, before 1.
        assert_eq!(axis_size(6, 4, 1, 1, Padding::Same), Some((6, 1)));
        assert_eq!(axis_size(2, 3, 1, 1, Padding::Valid), None);
        assert_eq!(axis_size(7, 3, 1, 2, Padding::Valid), Some((3, 0)));
        assert_eq!(axis_size(7, 3, 1, 2, Padding::Causal), Some((7, 4)));
    }

    #[test]
    fn im2col_and_col2im_are_adjoint() {
        let w = Windows::new(&[4, 5], &[2, 3], &[2, 1], &[1, 1], Padding::Same).unwrap();
        let c = 3;
        let x: Vec<f32> = (0..2 * 20 * c).map(|i| (i as f32 * 0.3).sin()).collect();
        let mut col = vec![0.0; 2 * w.out_pos * w.win * 2];
        w.im2col(&x, 2, c, 1, 2, &mut col);
        let g: Vec<f32> = (0..col.len()).map(|i| (i as f32 * 0.7).cos()).collect();
        let mut gx = vec![0.0; x.len()];
        w.col2im(&g, 2, c, 1, 2, &mut gx);
        let a: f32 = col.iter().zip(&g).map(|(a, b)| a * b).sum();
        let b: f32 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}
