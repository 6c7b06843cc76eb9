//! `Conv1D`, `Conv2D`, `Conv3D`: N-d convolution as im2col into a reused buffer followed by
//! one gemm product (`col · kernel`); the backward pass is two more products
//! (`colᵀ · gz` for the kernel, `gz · kernelᵀ` then col2im for the input).
//!
//! 3×3, stride-1, ungrouped 2-D convolutions over channels-last data with enough channels
//! take Winograd's F(4×4, 3×3) instead ([`kernels::winograd`]): 36 smaller products in
//! place of one, 2.3–4× fewer multiply-adds, the same result to float32 rounding.

use super::conv_geom::{
    self as geom, DataFormat, IntoDataFormat, IntoPadding, IntoWindow, Padding, Windows,
};
use super::weight_options::{write_weight_options, KernelNames, WeightOptions};
use super::{base_config, Layer, Param, Regularizer};
use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::kernels;
use crate::kernels::winograd::{Run, Wino};
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// An `N`-d convolution layer (Keras's `Conv1D`, `Conv2D`, `Conv3D`), usually named through
/// the aliases [`Conv1D`], [`Conv2D`] and [`Conv3D`].
///
/// The kernel has Keras's layout `(*kernel_size, in_channels / groups, filters)`.
#[derive(Debug)]
pub struct Conv<const N: usize> {
    name: String,
    filters: usize,
    kernel_size: [usize; N],
    strides: [usize; N],
    padding: Padding,
    data_format: DataFormat,
    dilation_rate: [usize; N],
    groups: usize,
    /// `Some(m)` for a depthwise convolution (`filters = m * in_channels`,
    /// `groups = in_channels`, kernel `(*kernel_size, in_channels, m)`).
    depth_multiplier: Option<usize>,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    fused_output: bool,
    // Built state.
    win: Windows,
    in_c: usize,
    out_shape: Vec<usize>,
    // Reused buffers.
    col: Vec<f32>,
    dcol: Vec<f32>,
    /// Channels-last copies (channels_first inputs; grouped outputs).
    xl: Vec<f32>,
    yl: Vec<f32>,
    gl: Vec<f32>,
    gxl: Vec<f32>,
    /// Per-group kernel slices (groups > 1).
    wg: Vec<f32>,
    dwg: Vec<f32>,
    z: Tensor,
    /// The output's shape with its batch axis (reused).
    act_shape: Vec<usize>,
    /// The Winograd geometry when this layer takes that path (see [`Self::winograd_pays`]).
    wino: Option<Wino>,
    /// Winograd buffers: the transformed kernel and its transpose, the transformed output
    /// gradient kept for the kernel gradient (several runs only), the transformed kernel
    /// gradient. (`col` holds the kept transformed input, `dcol` each run's scratch.)
    wu: Vec<f32>,
    wut: Vec<f32>,
    wm: Vec<f32>,
    wdu: Vec<f32>,
    /// The runs of samples the last forward pass was split into, and their regions of the
    /// transformed input (`col`) and output (`wm`) that the backward pass reads.
    wruns: Vec<Run>,
    /// Never take the Winograd path (tests compare the two).
    im2col_only: bool,
}

/// Keras's `Conv1D`: convolution over `(batch, steps, channels)`.
///
/// ```
/// use kerust::layers::Conv1D;
/// let layer = Conv1D::new(16, 3).activation("relu").input_shape(&[100, 8]);
/// ```
pub type Conv1D = Conv<1>;

/// Keras's `Conv2D`: convolution over `(batch, height, width, channels)`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::Conv2D;
/// let mut model = Sequential::new(vec![
///     Conv2D::new(32, (3, 3)).activation("relu").input_shape(&[28, 28, 1]).into(),
/// ])?;
/// assert_eq!(model.output_shape().unwrap(), vec![26, 26, 32]);
/// assert_eq!(model.count_params(), 320);
/// # Ok::<(), kerust::Error>(())
/// ```
pub type Conv2D = Conv<2>;

/// Keras's `Conv3D`: convolution over `(batch, depth, height, width, channels)`.
///
/// ```
/// use kerust::layers::Conv3D;
/// let layer = Conv3D::new(8, (3, 3, 3)).padding("same");
/// ```
pub type Conv3D = Conv<3>;

impl<const N: usize> Conv<N> {
    /// `filters` output channels with windows of `kernel_size`; stride 1, `valid` padding,
    /// linear, with bias, Glorot-uniform kernel and zero bias (Keras's defaults).
    pub fn new(filters: usize, kernel_size: impl IntoWindow<N>) -> Self {
        Conv {
            name: String::new(),
            filters,
            kernel_size: kernel_size.into_window(),
            strides: [1; N],
            padding: Padding::Valid,
            data_format: DataFormat::ChannelsLast,
            dilation_rate: [1; N],
            groups: 1,
            depth_multiplier: None,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: "glorot_uniform".parse().expect("known"),
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            fused_output: false,
            win: Windows::default(),
            in_c: 0,
            out_shape: Vec::new(),
            col: Vec::new(),
            dcol: Vec::new(),
            xl: Vec::new(),
            yl: Vec::new(),
            gl: Vec::new(),
            gxl: Vec::new(),
            wg: Vec::new(),
            dwg: Vec::new(),
            z: Tensor::default(),
            act_shape: Vec::new(),
            wino: None,
            wu: Vec::new(),
            wut: Vec::new(),
            wm: Vec::new(),
            wdu: Vec::new(),
            wruns: Vec::new(),
            im2col_only: false,
        }
    }

    /// The step between windows (default 1).
    pub fn strides(mut self, s: impl IntoWindow<N>) -> Self {
        self.strides = s.into_window();
        self
    }

    /// `"valid"` (default), `"same"`, or `"causal"` (Conv1D only).
    pub fn padding(mut self, p: impl IntoPadding) -> Self {
        match p.into_padding() {
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

    /// The spacing of the kernel's taps (default 1; strides must then be 1).
    pub fn dilation_rate(mut self, d: impl IntoWindow<N>) -> Self {
        self.dilation_rate = d.into_window();
        self
    }

    /// Splits channels into `groups` independent convolutions (default 1).
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }

    /// Sets the activation, by Keras name (`"relu"`) or [`Activation`] value.
    pub fn activation(mut self, a: impl super::activation::IntoActivation) -> Self {
        match a.into_activation() {
            Ok(a) => self.activation = a,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, v: bool) -> Self {
        self.use_bias = v;
        self
    }

    /// The kernel's initializer (default `glorot_uniform`).
    pub fn kernel_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
        match init.into_initializer() {
            Ok(i) => self.kernel_initializer = i,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// The bias's initializer (default `zeros`).
    pub fn bias_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
        match init.into_initializer() {
            Ok(i) => self.bias_initializer = i,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// A penalty on the kernel.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Self {
        self.kernel_regularizer = Some(r);
        self
    }

    /// A penalty on the bias.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.bias_regularizer = Some(r);
        self
    }

    /// The shape of one input sample (Keras's `input_shape`), e.g. `&[28, 28, 1]`.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.filters
    }

    fn class(&self) -> &'static str {
        match (N, self.depth_multiplier.is_some()) {
            (1, false) => "Conv1D",
            (2, false) => "Conv2D",
            (_, false) => "Conv3D",
            (1, true) => "DepthwiseConv1D",
            (_, true) => "DepthwiseConv2D",
        }
    }

    /// `(filters, groups)` for inputs of `c` channels.
    fn filters_groups(&self, c: usize) -> (usize, usize) {
        match self.depth_multiplier {
            Some(m) => (c.saturating_mul(m), c),
            None => (self.filters, self.groups),
        }
    }

    /// A depthwise convolution (see [`DepthwiseConv`](super::DepthwiseConv)).
    pub(crate) fn depthwise(kernel_size: [usize; N], depth_multiplier: usize) -> Self {
        let mut c = Conv::new(1, kernel_size);
        c.depth_multiplier = Some(depth_multiplier);
        c
    }

    pub(crate) fn clear_bias_regularizer(&mut self) {
        self.bias_regularizer = None;
    }

    pub(crate) fn set_depth_multiplier(&mut self, m: usize) {
        self.depth_multiplier = Some(m);
    }

    /// Whether Winograd's F(4×4, 3×3) beats im2col. Forward + backward of a batch of 32 at
    /// one thread (AMD EPYC, AVX-512), Winograd's time over im2col's: 13×13×16 -> 16 0.50,
    /// 13×13×16 -> 32 0.47, 13×13×32 -> 64 0.41, 28×28×16 -> 16 0.26, 28×28×32 -> 32 0.36,
    /// 7×7×64 -> 64 0.94; but 13×13×8 -> 8 1.82 and 13×13×8 -> 16 1.54 (the 36 products are
    /// too thin, and half-filled 16-lane blocks take the slow copy path).
    fn winograd_pays(c: usize, f: usize) -> bool {
        c >= 16 && f >= 16
    }

    /// The Winograd geometry when this layer qualifies: 2-D, 3×3, stride 1, no dilation, one
    /// group, channels last.
    fn winograd_plan(&self, spatial: &[usize], out: &[usize], c: usize) -> Option<Wino> {
        let ok = N == 2
            && !self.im2col_only
            && self.kernel_size.iter().all(|&k| k == 3)
            && self.strides.iter().all(|&s| s == 1)
            && self.dilation_rate.iter().all(|&d| d == 1)
            && self.groups == 1
            && self.depth_multiplier.is_none()
            && self.data_format == DataFormat::ChannelsLast
            && Self::winograd_pays(c, self.filters);
        if !ok {
            return None;
        }
        let (o_sp, _) = self.data_format.split(out);
        let (_, pad) = Windows::plan(
            spatial,
            &self.kernel_size,
            &self.strides,
            &self.dilation_rate,
            self.padding,
        )
        .ok()?;
        Some(Wino::new(
            (spatial[0], spatial[1]),
            (o_sp[0], o_sp[1]),
            (pad[0], pad[1]),
            c,
            self.filters,
        ))
    }

    /// Takes the im2col path only (tests compare it with Winograd's); before `build`.
    #[cfg(test)]
    pub(crate) fn im2col_only(mut self) -> Self {
        self.im2col_only = true;
        self
    }

    /// Whether the built layer takes the Winograd path.
    #[cfg(test)]
    pub(crate) fn uses_winograd(&self) -> bool {
        self.wino.is_some()
    }

    fn what(&self) -> String {
        format!("{} layer '{}'", self.class(), self.name)
    }

    /// Checks the options; returns `(spatial in, in channels)`.
    fn check(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let what = self.what();
        if let Some(e) = &self.deferred_error {
            return Err(Error::arg("layer", format!("{what}: {e}")));
        }
        if let Some(m) = self.depth_multiplier {
            if m == 0 {
                return Err(Error::arg(
                    "depth_multiplier",
                    format!("{what} needs depth_multiplier > 0"),
                ));
            }
        } else if self.filters == 0 {
            return Err(Error::arg("filters", format!("{what} needs filters > 0")));
        }
        if self.groups == 0 || !self.filters.is_multiple_of(self.groups) {
            return Err(Error::arg(
                "groups",
                format!(
                    "{what}: groups = {} must be positive and divide filters = {}",
                    self.groups, self.filters
                ),
            ));
        }
        for (k, v) in [
            ("kernel_size", &self.kernel_size),
            ("strides", &self.strides),
            ("dilation_rate", &self.dilation_rate),
        ] {
            if v.contains(&0) {
                return Err(Error::arg(k, format!("{what}: `{k}` cannot contain 0")));
            }
        }
        if self.strides.iter().any(|&s| s > 1) && self.dilation_rate.iter().any(|&d| d > 1) {
            return Err(Error::arg(
                "strides",
                format!(
                    "{what}: strides > 1 is not supported with dilation_rate > 1 (as in Keras)"
                ),
            ));
        }
        if self.padding == Padding::Causal && (N != 1 || self.depth_multiplier.is_some()) {
            return Err(Error::arg(
                "padding",
                format!("{what}: causal padding is only available for Conv1D (as in Keras)"),
            ));
        }
        let bad_shape = || {
            let example = match N {
                1 => "(None, steps, channels)",
                2 => "(None, height, width, channels)",
                _ => "(None, depth, height, width, channels)",
            };
            Error::shape(
                what.clone(),
                format!("an input of rank {} such as {example}", N + 2),
                crate::error::fmt_shape(None, input_shape),
            )
        };
        if input_shape.len() != N + 1 || input_shape.contains(&0) {
            return Err(bad_shape());
        }
        let (spatial, c) = self.data_format.split(input_shape);
        if self.depth_multiplier.is_some() {
            return Ok((spatial, c));
        }
        if !c.is_multiple_of(self.groups) {
            return Err(Error::arg(
                "groups",
                format!(
                    "{what}: the input's {c} channels are not divisible by groups = {}",
                    self.groups
                ),
            ));
        }
        Ok((spatial, c))
    }

    fn plan_out(&self, spatial: &[usize], filters: usize) -> Result<Vec<usize>> {
        let (out, _) = Windows::plan(
            spatial,
            &self.kernel_size,
            &self.strides,
            &self.dilation_rate,
            self.padding,
        )
        .map_err(|_| {
            Error::shape(
                self.what(),
                format!(
                    "spatial axes of at least the kernel's extent {:?} (dilation {:?}) with padding \"{}\"",
                    self.kernel_size,
                    self.dilation_rate,
                    self.padding.name()
                ),
                format!("{spatial:?}"),
            )
        })?;
        Ok(self.data_format.join(&out, filters))
    }

    /// Reads Keras's config options of a `Conv{N}D`.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        Self::from_keys_as(keys, ctx, false)
    }

    /// Reads Keras's config options of a `Conv{N}D` or (`depthwise`) `DepthwiseConv{N}D`.
    pub(crate) fn from_keys_as(keys: &mut Keys<'_>, ctx: &str, depthwise: bool) -> Result<Self> {
        let filters = if depthwise {
            keys.usize("depth_multiplier")?.unwrap_or(1)
        } else {
            keys.usize("filters")?
                .filter(|&u| u > 0)
                .ok_or_else(|| keys.err("`filters` must be a positive integer"))?
        };
        let kernel_size = geom::window_key::<N>(keys, "kernel_size")?
            .ok_or_else(|| keys.err("`kernel_size` is required"))?;
        let mut c = if depthwise {
            Conv::<N>::depthwise(kernel_size, filters)
        } else {
            Conv::<N>::new(filters, kernel_size)
        };
        if let Some(s) = geom::window_key::<N>(keys, "strides")? {
            c.strides = s;
        }
        if let Some(d) = geom::window_key::<N>(keys, "dilation_rate")? {
            c.dilation_rate = d;
        }
        if let Some(p) = geom::padding_key(keys, N == 1 && !depthwise)? {
            c.padding = p;
        }
        if let Some(f) = geom::data_format_key(keys)? {
            c.data_format = f;
        }
        if !depthwise {
            if let Some(g) = keys.usize("groups")? {
                c.groups = g;
            }
        }
        c.activation = cfg::activation(keys.get("activation").unwrap_or(&Value::Null), ctx)?;
        c.use_bias = keys.bool("use_bias", true)?;
        let names = if depthwise {
            KernelNames::Depthwise
        } else {
            KernelNames::Kernel
        };
        WeightOptions {
            kernel_initializer: &mut c.kernel_initializer,
            bias_initializer: &mut c.bias_initializer,
            kernel_regularizer: &mut c.kernel_regularizer,
            bias_regularizer: &mut c.bias_regularizer,
        }
        .read(keys, ctx, names)?;
        c.check_options().map_err(|e| keys.err(e.to_string()))?;
        Ok(c)
    }

    /// The checks of [`check`](Self::check) that need no input shape.
    fn check_options(&self) -> Result<()> {
        let probe: Vec<usize> = vec![self.groups.max(1); N + 1];
        match self.check(&probe) {
            Err(e @ Error::InvalidArgument { .. }) => Err(e),
            _ => Ok(()),
        }
    }

    /// Keras's kernel shape for inputs of `c` channels.
    fn kernel_shape(&self, c: usize) -> Vec<usize> {
        let mut k = self.kernel_size.to_vec();
        match self.depth_multiplier {
            Some(m) => k.extend([c, m]),
            None => k.extend([c / self.groups, self.filters]),
        }
        k
    }
}

impl<const N: usize> Layer for Conv<N> {
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
        let (spatial, c) = self.check(input_shape)?;
        let (filters, _) = self.filters_groups(c);
        let out = self.plan_out(&spatial, filters)?;
        let n = super::checked_product(&self.kernel_shape(c), "Conv kernel")?
            .checked_add(if self.use_bias { filters } else { 0 })
            .ok_or_else(|| Error::arg("filters", "the Conv layer's size overflows"))?;
        super::checked_product(&out, "Conv output")?;
        Ok((out, n))
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (out, _) = self.plan(input_shape)?;
        let (spatial, c) = self.data_format.split(input_shape);
        self.in_c = c;
        (self.filters, self.groups) = self.filters_groups(c);
        self.win = Windows::new(
            &spatial,
            &self.kernel_size,
            &self.strides,
            &self.dilation_rate,
            self.padding,
        )
        .map_err(|_| {
            Error::arg(
                "kernel_size",
                format!("{}: window table overflows", self.what()),
            )
        })?;
        self.wino = self.winograd_plan(&spatial, &out, c);
        let kshape = self.kernel_shape(c);
        let mut kernel = Param::new(
            "kernel",
            &kshape,
            self.kernel_initializer.sample(&kshape, rng),
        );
        kernel.regularizer = self.kernel_regularizer;
        self.params = vec![kernel];
        if self.use_bias {
            let mut bias = Param::new(
                "bias",
                &[self.filters],
                self.bias_initializer.sample(&[self.filters], rng),
            );
            bias.regularizer = self.bias_regularizer;
            self.params.push(bias);
        }
        self.out_shape = out.clone();
        Ok(out)
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        let batch = x.rows();
        let c = self.in_c;
        let f = self.filters;
        let g = self.groups;
        let (cg, fg) = (c / g, f / g);
        let rows = batch * self.win.out_pos;
        let kdim = self.win.win * cg;
        y.resize_batch(batch, &self.out_shape);
        let cl = self.data_format == DataFormat::ChannelsLast;
        // Channels-last input.
        let xin: &[f32] = if cl {
            x.data()
        } else {
            self.xl.resize(x.len(), 0.0);
            geom::to_channels_last(x.data(), batch, c, self.win.in_pos, &mut self.xl);
            &self.xl
        };
        if self.wino.is_none() {
            self.col.resize(g * rows * kdim, 0.0);
        }
        // Pre-activation output, channels last: straight into y when possible.
        if !cl || g > 1 {
            self.yl.resize(rows * f, 0.0);
        }
        let kernel = self.params[0].value.data();
        let bias = self.params.get(1).map(|b| b.value.data());
        // One group, channels last: split by samples, bias included.
        let fused = g == 1 && cl;
        if let Some(geo) = &self.wino {
            let ns_in = self.win.in_pos * c;
            self.wu.resize(geo.u_len(), 0.0);
            geo.transform_kernel(kernel, &mut self.wu);
            let parts = kernels::sample_parts(batch, (batch * geo.macs(), 0));
            let (lv, lm) = geo.layout(batch, parts, &mut self.wruns);
            self.col.resize(lv, 0.0);
            self.wm.resize(lm, 0.0);
            let scratch = geo.scratch_len();
            self.dcol.resize(self.wruns.len() * scratch, 0.0);
            let (u, runs, out_n) = (&self.wu, &self.wruns, self.win.out_pos * f);
            kernels::split_regions(
                runs.len(),
                &mut [&mut self.col, &mut self.dcol, y.data_mut()],
                &|i, j| {
                    let r = &runs[i];
                    match j {
                        0 => r.v.clone(),
                        1 => i * scratch..(i + 1) * scratch,
                        _ => r.samples.start * out_n..r.samples.end * out_n,
                    }
                },
                &|i, bufs| {
                    let [v, sc, yp] = bufs else { unreachable!() };
                    let s = &runs[i].samples;
                    let xs = &xin[s.start * ns_in..s.end * ns_in];
                    geo.forward(xs, s.len(), u, v, sc, yp, bias);
                },
            );
        } else if fused {
            // Each thread lays out the windows of its own samples and multiplies them: the
            // columns stay in the cache of the core that uses them.
            let (win, in_pos, out_pos) = (&self.win, self.win.in_pos, self.win.out_pos);
            kernels::split_samples(
                batch,
                (rows * kdim * f, 0),
                &mut [&mut self.col, y.data_mut()],
                &|s, bufs| {
                    let [col, yp] = bufs else { unreachable!() };
                    win.im2col(&xin[s.start * in_pos * c..], s.len(), c, 0, c, col);
                    kernels::matmul(yp, col, kernel, s.len() * out_pos, kdim, f, false);
                    if let Some(b) = bias {
                        kernels::add_bias_rows(yp, b);
                    }
                },
            );
        } else {
            for gi in 0..g {
                let col = &mut self.col[gi * rows * kdim..(gi + 1) * rows * kdim];
                self.win.im2col(xin, batch, c, gi * cg, cg, col);
                if g == 1 {
                    // (Channels first: channels last took the split path above.)
                    kernels::matmul(&mut self.yl, col, kernel, rows, kdim, f, false);
                } else {
                    // This group's kernel columns, contiguous.
                    self.wg.resize(kdim * fg, 0.0);
                    for (r, w) in self.wg.chunks_exact_mut(fg).enumerate() {
                        w.copy_from_slice(&kernel[r * f + gi * fg..r * f + (gi + 1) * fg]);
                    }
                    self.gl.resize(rows * fg, 0.0);
                    kernels::matmul(&mut self.gl, col, &self.wg, rows, kdim, fg, false);
                    for (dst, src) in self.yl.chunks_exact_mut(f).zip(self.gl.chunks_exact(fg)) {
                        dst[gi * fg..(gi + 1) * fg].copy_from_slice(src);
                    }
                }
            }
        }
        if g > 1 && cl {
            y.data_mut().copy_from_slice(&self.yl);
        }
        let zl: &mut [f32] = if cl { y.data_mut() } else { &mut self.yl };
        if let (Some(b), false) = (bias, fused) {
            kernels::add_bias_rows(zl, b);
        }
        if !cl {
            geom::to_channels_first(&self.yl, batch, f, self.win.out_pos, y.data_mut());
        }
        if self.activation.backward_needs_input() {
            self.z.resize(y.shape());
            self.z.data_mut().copy_from_slice(y.data());
        }
        self.act_shape.clear();
        self.act_shape.extend_from_slice(y.shape());
        self.activation
            .forward_inplace_batch(y.data_mut(), &self.act_shape);
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, mut gx: Option<&mut Tensor>) {
        let batch = x.rows();
        let c = self.in_c;
        let f = self.filters;
        let g = self.groups;
        let (cg, fg) = (c / g, f / g);
        let rows = batch * self.win.out_pos;
        let kdim = self.win.win * cg;
        let cl = self.data_format == DataFormat::ChannelsLast;
        if !self.fused_output {
            let z = if self.z.is_empty() {
                &[][..]
            } else {
                self.z.data()
            };
            self.activation
                .backward_batch(z, y.data(), gy.data_mut(), y.shape());
        }
        // dL/dz, channels last.
        let gz: &[f32] = if cl {
            gy.data()
        } else {
            self.yl.resize(rows * f, 0.0);
            geom::to_channels_last(gy.data(), batch, f, self.win.out_pos, &mut self.yl);
            &self.yl
        };
        let (kernel, rest) = self.params.split_first_mut().expect("built");
        if let Some(bias) = rest.first_mut() {
            kernels::col_sums(bias.grad.data_mut(), gz, false);
            if let Some(r) = bias.regularizer {
                r.add_grad(bias.value.data(), bias.grad.data_mut());
            }
        }
        if let Some(geo) = &self.wino {
            // (Only channels last takes this path: gz is gy.) The forward pass's runs: one
            // sums the transformed kernel gradient as it goes, several keep dM for it.
            let (runs, out_n, in_n) = (&self.wruns, self.win.out_pos * f, self.win.in_pos * c);
            let scratch = geo.scratch_len();
            let one = runs.len() == 1;
            self.wdu.resize(geo.u_len(), 0.0);
            if runs.is_empty() {
                self.wdu.fill(0.0);
            }
            let want_gx = gx.is_some();
            if let Some(gx) = gx.as_deref_mut() {
                gx.resize(x.shape());
                self.wut.resize(geo.u_len(), 0.0);
                geo.transpose_kernel(&self.wu, &mut self.wut);
            }
            let mut no_gx = Tensor::default();
            let gxd = gx.map_or(no_gx.data_mut(), |g| g.data_mut());
            let (v, ut) = (&self.col, &self.wut);
            kernels::split_regions(
                runs.len(),
                &mut [&mut self.wm, &mut self.dcol, gxd, &mut self.wdu],
                &|i, j| {
                    let r = &runs[i];
                    match j {
                        0 => r.m.clone(),
                        1 => i * scratch..(i + 1) * scratch,
                        2 if want_gx => r.samples.start * in_n..r.samples.end * in_n,
                        3 if one => 0..geo.u_len(),
                        _ => 0..0,
                    }
                },
                &|i, bufs| {
                    let [dm, sc, gxp, du] = bufs else {
                        unreachable!()
                    };
                    let r = &runs[i];
                    let s = &r.samples;
                    geo.backward(
                        &gz[s.start * out_n..s.end * out_n],
                        s.len(),
                        &v[r.v.clone()],
                        (!one).then_some(&mut **dm),
                        one.then_some(&mut **du),
                        sc,
                        want_gx.then_some((&ut[..], &mut **gxp)),
                    );
                },
            );
            if !one {
                geo.kernel_grad_runs(runs, &self.col, &self.wm, &mut self.wdu);
            }
            geo.kernel_grad(&self.wdu, kernel.grad.data_mut());
            if let Some(r) = kernel.regularizer {
                r.add_grad(kernel.value.data(), kernel.grad.data_mut());
            }
            return;
        }
        let want_gx = gx.is_some();
        if want_gx {
            self.dcol.resize(g * rows * kdim, 0.0);
        }
        for gi in 0..g {
            let col = &self.col[gi * rows * kdim..(gi + 1) * rows * kdim];
            if g == 1 {
                kernels::matmul_at_b(kernel.grad.data_mut(), col, gz, kdim, rows, f, false);
                if want_gx && !cl {
                    kernels::matmul_a_bt(
                        &mut self.dcol,
                        gz,
                        kernel.value.data(),
                        rows,
                        f,
                        kdim,
                        false,
                    );
                }
            } else {
                self.gl.resize(rows * fg, 0.0);
                for (dst, src) in self.gl.chunks_exact_mut(fg).zip(gz.chunks_exact(f)) {
                    dst.copy_from_slice(&src[gi * fg..(gi + 1) * fg]);
                }
                self.dwg.resize(kdim * fg, 0.0);
                kernels::matmul_at_b(&mut self.dwg, col, &self.gl, kdim, rows, fg, false);
                let kg = kernel.grad.data_mut();
                for (r, w) in self.dwg.chunks_exact(fg).enumerate() {
                    kg[r * f + gi * fg..r * f + (gi + 1) * fg].copy_from_slice(w);
                }
                if want_gx {
                    self.wg.resize(kdim * fg, 0.0);
                    let kv = kernel.value.data();
                    for (r, w) in self.wg.chunks_exact_mut(fg).enumerate() {
                        w.copy_from_slice(&kv[r * f + gi * fg..r * f + (gi + 1) * fg]);
                    }
                    let dcol = &mut self.dcol[gi * rows * kdim..(gi + 1) * rows * kdim];
                    kernels::matmul_a_bt(dcol, &self.gl, &self.wg, rows, fg, kdim, false);
                }
            }
        }
        if let Some(r) = kernel.regularizer {
            r.add_grad(kernel.value.data(), kernel.grad.data_mut());
        }
        match gx {
            Some(gx) if g == 1 && cl => {
                // Each thread multiplies its samples' rows and scatters them back at once.
                gx.resize(x.shape());
                let (win, kv, out_pos) = (&self.win, kernel.value.data(), self.win.out_pos);
                kernels::split_samples(
                    batch,
                    (rows * kdim * f, 0),
                    &mut [&mut self.dcol, gx.data_mut()],
                    &|s, bufs| {
                        let [dcol, gxp] = bufs else { unreachable!() };
                        let gzp = &gz[s.start * out_pos * f..s.end * out_pos * f];
                        kernels::matmul_a_bt(dcol, gzp, kv, s.len() * out_pos, f, kdim, false);
                        gxp.fill(0.0);
                        win.col2im(dcol, s.len(), c, 0, c, gxp);
                    },
                );
            }
            Some(gx) => {
                gx.resize(x.shape());
                let dst: &mut [f32] = if cl {
                    gx.data_mut()
                } else {
                    self.gxl.resize(x.len(), 0.0);
                    &mut self.gxl
                };
                dst.fill(0.0);
                for gi in 0..g {
                    let dcol = &self.dcol[gi * rows * kdim..(gi + 1) * rows * kdim];
                    self.win.col2im(dcol, batch, c, gi * cg, cg, dst);
                }
                if !cl {
                    geom::to_channels_first(&self.gxl, batch, c, self.win.in_pos, gx.data_mut());
                }
            }
            None => {}
        }
    }

    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn set_fused_output(&mut self, fused: bool) {
        self.fused_output = fused;
    }

    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        let dw = self.depth_multiplier;
        match dw {
            Some(dm) => m.insert("depth_multiplier".into(), dm.into()),
            None => m.insert("filters".into(), self.filters.into()),
        };
        m.insert("kernel_size".into(), self.kernel_size.to_vec().into());
        m.insert("strides".into(), self.strides.to_vec().into());
        m.insert("padding".into(), self.padding.name().into());
        m.insert("data_format".into(), self.data_format.name().into());
        m.insert("dilation_rate".into(), self.dilation_rate.to_vec().into());
        if dw.is_none() {
            m.insert("groups".into(), self.groups.into());
        }
        m.insert("activation".into(), self.activation.name().into());
        m.insert("use_bias".into(), self.use_bias.into());
        let names = if dw.is_some() {
            KernelNames::Depthwise
        } else {
            KernelNames::Kernel
        };
        write_weight_options(
            &mut m,
            names,
            (&self.kernel_initializer, &self.bias_initializer),
            (self.kernel_regularizer, self.bias_regularizer),
        );
        m.insert("activity_regularizer".into(), Value::Null);
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(shape: &[usize], rng: &mut Rng) -> Tensor {
        let n = shape.iter().product();
        let data = (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        Tensor::from_vec(shape, data).expect("shape")
    }

    /// Forward output, input gradient, kernel and bias gradients of a built layer.
    fn run(layer: &mut Conv2D, x: &Tensor, gy: &Tensor) -> [Vec<f32>; 4] {
        let mut y = Tensor::default();
        layer.forward(x, &mut y, true);
        let mut g = gy.clone();
        let mut gx = Tensor::default();
        layer.backward(x, &y, &mut g, Some(&mut gx));
        let p = layer.params();
        [
            y.data().to_vec(),
            gx.data().to_vec(),
            p[0].grad.data().to_vec(),
            p[1].grad.data().to_vec(),
        ]
    }

    /// Largest difference relative to the largest magnitude of `want`.
    fn rel_err(got: &[f32], want: &[f32]) -> f32 {
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
        let diff = got
            .iter()
            .zip(want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        diff / scale
    }

    #[test]
    fn winograd_agrees_with_im2col_forward_and_backward() {
        let mut rng = Rng::new(7);
        // (h, w, c, f, padding, batch): tiles that fit, tiles that stick out, one tile,
        // channel and filter counts that are not whole blocks of 16.
        let cases = [
            (13, 13, 32, 64, "valid", 3),
            (6, 6, 16, 16, "valid", 2),
            (7, 9, 20, 17, "same", 3),
            (4, 5, 33, 40, "same", 1),
            (3, 3, 16, 16, "valid", 2),
            (12, 10, 16, 24, "valid", 5),
        ];
        for (h, w, c, f, pad, batch) in cases {
            let make = || Conv2D::new(f, 3).padding(pad).activation("tanh");
            let mut wl = make();
            let mut il = make().im2col_only();
            let out = wl.build(&[h, w, c], &mut Rng::new(1)).expect("build");
            il.build(&[h, w, c], &mut Rng::new(1)).expect("build");
            assert!(wl.uses_winograd() && !il.uses_winograd());
            let bias = random(&[f], &mut rng);
            for l in [&mut wl, &mut il] {
                l.params_mut()[1].value = bias.clone();
            }
            let x = random(&[batch, h, w, c], &mut rng);
            let mut shape = vec![batch];
            shape.extend(&out);
            let gy = random(&shape, &mut rng);
            let got = run(&mut wl, &x, &gy);
            let want = run(&mut il, &x, &gy);
            let names = ["output", "input grad", "kernel grad", "bias grad"];
            for ((what, a), b) in names.iter().zip(&got).zip(&want) {
                let e = rel_err(a, b);
                assert!(e < 1e-5, "{h}x{w}x{c} -> {f} {pad}: {what} off by {e:e}");
            }
        }
    }

    #[test]
    fn winograd_gives_the_same_bits_at_any_thread_count_and_alone() {
        let (h, w, c, f, batch) = (11, 11, 32, 64, 32);
        let mut rng = Rng::new(3);
        let x = random(&[batch, h, w, c], &mut rng);
        let gy = random(&[batch, h - 2, w - 2, f], &mut rng);
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            crate::set_num_threads(threads);
            let mut l = Conv2D::new(f, 3).activation("relu");
            l.build(&[h, w, c], &mut Rng::new(1)).expect("build");
            assert!(l.uses_winograd());
            results.push(run(&mut l, &x, &gy));
        }
        crate::set_num_threads(0);
        assert!(results.windows(2).all(|r| r[0] == r[1]));
        // One sample alone: the bits of its row of the batch.
        let mut l = Conv2D::new(f, 3).activation("relu");
        l.build(&[h, w, c], &mut Rng::new(1)).expect("build");
        let one = Tensor::from_vec(&[1, h, w, c], x.data()[..h * w * c].to_vec()).expect("x");
        let mut y = Tensor::default();
        l.forward(&one, &mut y, false);
        assert_eq!(y.data(), &results[0][0][..y.len()]);
    }
}
