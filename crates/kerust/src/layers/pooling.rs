//! `MaxPooling{1,2,3}D` and `AveragePooling{1,2,3}D`: a reduction over sliding windows of each
//! channel. Max pooling remembers where each maximum came from for the backward pass;
//! average pooling with `same` padding divides by the number of cells inside the input, as
//! Keras does.

use super::conv_geom::{
    self as geom, DataFormat, IntoDataFormat, IntoPadding, IntoWindow, Padding, Windows, NONE,
};
use super::{base_config, Layer};
use crate::kernels;
use crate::rng::Rng;
use crate::saving::config::Keys;
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// An `N`-d pooling layer: max pooling when `MAX`, else average pooling. Use the aliases
/// [`MaxPooling2D`], [`AveragePooling2D`], ... .
#[derive(Debug)]
pub struct Pool<const N: usize, const MAX: bool> {
    name: String,
    pool_size: [usize; N],
    strides: Option<[usize; N]>,
    padding: Padding,
    data_format: DataFormat,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    win: Windows,
    c: usize,
    out_shape: Vec<usize>,
    /// Per window: the cells inside the input (average pooling's divisor).
    count: Vec<f32>,
    /// Max pooling: for every output value, the index in its window of the cell that held
    /// the maximum (the first one, as a float), written by the forward pass.
    arg: Vec<f32>,
    /// Whether no input cell lies in two windows (strides at least the pool size); then
    /// the backward pass writes each cell once, and these cells, in no window, get zeros.
    disjoint: bool,
    uncovered: Vec<usize>,
    /// Channels-last copies (channels_first data).
    gl: Vec<f32>,
    xl: Vec<f32>,
    yl: Vec<f32>,
    gxl: Vec<f32>,
}

/// Keras's `MaxPooling1D` over `(batch, steps, channels)`.
///
/// ```
/// use kerust::layers::MaxPooling1D;
/// let layer = MaxPooling1D::new(2);
/// ```
pub type MaxPooling1D = Pool<1, true>;
/// Keras's `MaxPooling2D` over `(batch, height, width, channels)`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::{Conv2D, MaxPooling2D};
/// let model = Sequential::new(vec![
///     Conv2D::new(8, (3, 3)).input_shape(&[28, 28, 1]).into(),
///     MaxPooling2D::new((2, 2)).into(),
/// ])?;
/// assert_eq!(model.output_shape().unwrap(), vec![13, 13, 8]);
/// # Ok::<(), kerust::Error>(())
/// ```
pub type MaxPooling2D = Pool<2, true>;
/// Keras's `MaxPooling3D` over `(batch, depth, height, width, channels)`.
///
/// ```
/// use kerust::layers::MaxPooling3D;
/// let layer = MaxPooling3D::new((2, 2, 2)).padding("same");
/// ```
pub type MaxPooling3D = Pool<3, true>;
/// Keras's `AveragePooling1D` over `(batch, steps, channels)`.
///
/// ```
/// use kerust::layers::AveragePooling1D;
/// let layer = AveragePooling1D::new(2).strides(1);
/// ```
pub type AveragePooling1D = Pool<1, false>;
/// Keras's `AveragePooling2D` over `(batch, height, width, channels)`.
///
/// ```
/// use kerust::layers::AveragePooling2D;
/// let layer = AveragePooling2D::new((2, 2)).padding("same");
/// ```
pub type AveragePooling2D = Pool<2, false>;
/// Keras's `AveragePooling3D` over `(batch, depth, height, width, channels)`.
///
/// ```
/// use kerust::layers::AveragePooling3D;
/// let layer = AveragePooling3D::new(2);
/// ```
pub type AveragePooling3D = Pool<3, false>;

impl<const N: usize, const MAX: bool> Pool<N, MAX> {
    /// Pooling over windows of `pool_size`, strides equal to `pool_size`, `valid` padding.
    pub fn new(pool_size: impl IntoWindow<N>) -> Self {
        Pool {
            name: String::new(),
            pool_size: pool_size.into_window(),
            strides: None,
            padding: Padding::Valid,
            data_format: DataFormat::ChannelsLast,
            input_shape: None,
            deferred_error: None,
            win: Windows::default(),
            c: 0,
            out_shape: Vec::new(),
            count: Vec::new(),
            arg: Vec::new(),
            disjoint: false,
            uncovered: Vec::new(),
            gl: Vec::new(),
            xl: Vec::new(),
            yl: Vec::new(),
            gxl: Vec::new(),
        }
    }

    /// The step between windows (default: the pool size).
    pub fn strides(mut self, s: impl IntoWindow<N>) -> Self {
        self.strides = Some(s.into_window());
        self
    }

    /// `"valid"` (default) or `"same"`.
    pub fn padding(mut self, p: impl IntoPadding) -> Self {
        match p.into_padding() {
            Ok(Padding::Causal) => {
                self.deferred_error = Some(Error::arg(
                    "padding",
                    "pooling layers take \"valid\" or \"same\" padding",
                ))
            }
            Ok(p) => self.padding = p,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// `"channels_last"` (default) or `"channels_first"`.
    pub fn data_format(mut self, f: impl IntoDataFormat) -> Self {
        match f.into_data_format() {
            Ok(f) => self.data_format = f,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// The shape of one input sample, when this is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn class(&self) -> &'static str {
        match (N, MAX) {
            (1, true) => "MaxPooling1D",
            (2, true) => "MaxPooling2D",
            (_, true) => "MaxPooling3D",
            (1, false) => "AveragePooling1D",
            (2, false) => "AveragePooling2D",
            (_, false) => "AveragePooling3D",
        }
    }

    fn strides_or_default(&self) -> [usize; N] {
        self.strides.unwrap_or(self.pool_size)
    }

    fn check(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize, Vec<usize>)> {
        let what = format!("{} layer '{}'", self.class(), self.name);
        if let Some(e) = &self.deferred_error {
            return Err(Error::arg("layer", format!("{what}: {e}")));
        }
        if self.pool_size.contains(&0) || self.strides_or_default().contains(&0) {
            return Err(Error::arg(
                "pool_size",
                format!("{what}: `pool_size` and `strides` cannot contain 0"),
            ));
        }
        if input_shape.len() != N + 1 || input_shape.contains(&0) {
            return Err(Error::shape(
                what,
                format!(
                    "an input of rank {} (batch, {N} spatial axes, channels)",
                    N + 2
                ),
                crate::error::fmt_shape(None, input_shape),
            ));
        }
        let (spatial, c) = self.data_format.split(input_shape);
        let (out, _) = Windows::plan(
            &spatial,
            &self.pool_size,
            &self.strides_or_default(),
            &[1; N],
            self.padding,
        )
        .map_err(|_| {
            Error::shape(
                what.clone(),
                format!(
                    "spatial axes of at least the pool size {:?} with padding \"{}\"",
                    self.pool_size,
                    self.padding.name()
                ),
                format!("{spatial:?}"),
            )
        })?;
        Ok((spatial, c, self.data_format.join(&out, c)))
    }

    /// Reads Keras's config options of a pooling layer.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        let pool_size = geom::window_key::<N>(keys, "pool_size")?
            .ok_or_else(|| keys.err("`pool_size` is required"))?;
        let mut p = Pool::<N, MAX>::new(pool_size);
        p.strides = geom::window_key::<N>(keys, "strides")?;
        if let Some(pad) = geom::padding_key(keys, false)? {
            p.padding = pad;
        }
        if let Some(f) = geom::data_format_key(keys)? {
            p.data_format = f;
        }
        Ok(p)
    }
}

impl<const N: usize, const MAX: bool> Layer for Pool<N, MAX> {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let (_, _, out) = self.check(input_shape)?;
        super::checked_product(&out, "pooling output")?;
        Ok((out, 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (spatial, c, out) = self.check(input_shape)?;
        super::checked_product(&out, "pooling output")?;
        self.win = Windows::new(
            &spatial,
            &self.pool_size,
            &self.strides_or_default(),
            &[1; N],
            self.padding,
        )
        .map_err(|_| Error::arg("pool_size", "the pooling window table overflows"))?;
        self.c = c;
        self.count = self
            .win
            .table
            .chunks_exact(self.win.win)
            .map(|t| t.iter().filter(|&&p| p != NONE).count().max(1) as f32)
            .collect();
        let strides = self.strides_or_default();
        self.disjoint = (0..N).all(|a| strides[a] >= self.pool_size[a]);
        let mut seen = vec![false; self.win.in_pos];
        for &p in self.win.table.iter().filter(|&&p| p != NONE) {
            seen[p] = true;
        }
        self.uncovered = (0..self.win.in_pos).filter(|&p| !seen[p]).collect();
        self.out_shape = out.clone();
        Ok(out)
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        let batch = x.rows();
        let c = self.c;
        let (ip, op) = (self.win.in_pos, self.win.out_pos);
        y.resize_batch(batch, &self.out_shape);
        let cl = self.data_format == DataFormat::ChannelsLast;
        let xin: &[f32] = if cl {
            x.data()
        } else {
            self.xl.resize(x.len(), 0.0);
            geom::to_channels_last(x.data(), batch, c, ip, &mut self.xl);
            &self.xl
        };
        if !cl {
            self.yl.resize(y.len(), 0.0);
        }
        let out: &mut [f32] = if cl { y.data_mut() } else { &mut self.yl };
        let (win, count) = (&self.win, &self.count);
        if MAX {
            self.arg.resize(batch * op * c, 0.0);
            kernels::split_samples(
                batch,
                (0, x.len()),
                &mut [out, &mut self.arg],
                &|s, bufs| {
                    let [out, arg] = bufs else { unreachable!() };
                    for (i, b) in s.enumerate() {
                        let (o, a) = (
                            i * op * c..(i + 1) * op * c,
                            &xin[b * ip * c..(b + 1) * ip * c],
                        );
                        max_forward(&win.table, win.win, c, a, &mut out[o.clone()], &mut arg[o]);
                    }
                },
            );
            if !cl {
                geom::to_channels_first(&self.yl, batch, c, op, y.data_mut());
            }
            return;
        }
        // Samples are independent: large batches split over the threads.
        kernels::split_samples(batch, (0, x.len()), &mut [out], &|s, bufs| {
            let [out] = bufs else { unreachable!() };
            for (b, ob) in s.zip(out.chunks_exact_mut(op * c)) {
                let xb = &xin[b * ip * c..(b + 1) * ip * c];
                for ((o, t), row) in win
                    .table
                    .chunks_exact(win.win)
                    .enumerate()
                    .zip(ob.chunks_exact_mut(c))
                {
                    if MAX {
                        let mut cells = t.iter().filter(|&&p| p != NONE);
                        let &p0 = cells.next().expect("every window overlaps the input");
                        row.copy_from_slice(&xb[p0 * c..(p0 + 1) * c]);
                        for &p in cells {
                            for (r, &v) in row.iter_mut().zip(&xb[p * c..(p + 1) * c]) {
                                *r = if v > *r { v } else { *r };
                            }
                        }
                    } else {
                        row.fill(0.0);
                        for &p in t.iter().filter(|&&p| p != NONE) {
                            for (r, v) in row.iter_mut().zip(&xb[p * c..(p + 1) * c]) {
                                *r += v;
                            }
                        }
                        let n = count[o];
                        row.iter_mut().for_each(|r| *r /= n);
                    }
                }
            }
        });
        if !cl {
            geom::to_channels_first(&self.yl, batch, c, op, y.data_mut());
        }
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let Some(gx) = gx else { return };
        let batch = x.rows();
        let c = self.c;
        let (ip, op) = (self.win.in_pos, self.win.out_pos);
        let cl = self.data_format == DataFormat::ChannelsLast;
        let g: &[f32] = if cl {
            gy.data()
        } else {
            self.gl.resize(gy.len(), 0.0);
            geom::to_channels_last(gy.data(), batch, c, op, &mut self.gl);
            &self.gl
        };
        gx.resize(x.shape());
        let dst: &mut [f32] = if cl {
            gx.data_mut()
        } else {
            self.gxl.resize(x.len(), 0.0);
            &mut self.gxl
        };
        let (win, count) = (&self.win, &self.count);
        let (arg, uncovered) = (&self.arg, &self.uncovered);
        let disjoint = self.disjoint;
        kernels::split_samples(batch, (0, x.len()), &mut [dst], &|s, bufs| {
            let [dst] = bufs else { unreachable!() };
            // Disjoint max-pooling windows write each cell once; the rest add into zeros.
            let overwrite = MAX && disjoint;
            if !overwrite {
                dst.fill(0.0);
            }
            for (b, db) in s.zip(dst.chunks_exact_mut(ip * c)) {
                let o = b * op * c..(b + 1) * op * c;
                if MAX {
                    let (gb, ab) = (&g[o.clone()], &arg[o]);
                    max_backward(&win.table, win.win, c, gb, ab, db, overwrite);
                    if overwrite {
                        for &p in uncovered {
                            db[p * c..(p + 1) * c].fill(0.0);
                        }
                    }
                    continue;
                }
                for (t, (gr, &n)) in win
                    .table
                    .chunks_exact(win.win)
                    .zip(g[o].chunks_exact(c).zip(count))
                {
                    for &p in t.iter().filter(|&&p| p != NONE) {
                        for (d, v) in db[p * c..(p + 1) * c].iter_mut().zip(gr) {
                            *d += v / n;
                        }
                    }
                }
            }
        });
        if !cl {
            geom::to_channels_first(&self.gxl, batch, c, ip, gx.data_mut());
        }
    }

    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("pool_size".into(), self.pool_size.to_vec().into());
        m.insert("padding".into(), self.padding.name().into());
        m.insert("strides".into(), self.strides_or_default().to_vec().into());
        m.insert("data_format".into(), self.data_format.name().into());
        Value::Object(m)
    }
}

kernels::multiversion! {
    /// Max pooling of one sample `xb` (`[in_pos, c]`) into `ob` (`[out_pos, c]`), with the
    /// index in its window of the first cell that held each maximum in `ab`.
    fn max_forward(table: &[usize], win: usize, c: usize, xb: &[f32], ob: &mut [f32], ab: &mut [f32]) {
        for ((t, row), arow) in table
            .chunks_exact(win)
            .zip(ob.chunks_exact_mut(c))
            .zip(ab.chunks_exact_mut(c))
        {
            let mut cells = t.iter().enumerate().filter(|&(_, &p)| p != NONE);
            let (k0, &p0) = cells.next().expect("every window overlaps the input");
            row.copy_from_slice(&xb[p0 * c..(p0 + 1) * c]);
            arow.fill(k0 as f32);
            for (k, &p) in cells {
                let kf = k as f32;
                for ((r, a), &v) in row.iter_mut().zip(arow.iter_mut()).zip(&xb[p * c..(p + 1) * c]) {
                    let more = v > *r;
                    *r = if more { v } else { *r };
                    *a = if more { kf } else { *a };
                }
            }
        }
    }
}

kernels::multiversion! {
    /// The input gradient `db` of one sample: every cell of a window gets the window's
    /// gradient `gb` where it held the maximum (`ab`, from the forward pass), else zero;
    /// written over `db` when no cell is in two windows, else added to it.
    fn max_backward(table: &[usize], win: usize, c: usize, gb: &[f32], ab: &[f32], db: &mut [f32], overwrite: bool) {
        for ((t, gr), ar) in table.chunks_exact(win).zip(gb.chunks_exact(c)).zip(ab.chunks_exact(c)) {
            for (k, &p) in t.iter().enumerate() {
                if p == NONE {
                    continue;
                }
                let kf = k as f32;
                let dr = &mut db[p * c..(p + 1) * c];
                for ((d, &gv), &a) in dr.iter_mut().zip(gr).zip(ar) {
                    let v = if a == kf { gv } else { 0.0 };
                    *d = if overwrite { v } else { *d + v };
                }
            }
        }
    }
}
