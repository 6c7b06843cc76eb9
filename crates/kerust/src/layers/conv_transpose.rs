//! `Conv1DTranspose`, `Conv2DTranspose`, `Conv3DTranspose`: the adjoint of a convolution.
//! Forward is `x · kernelᵀ` then col2im onto the (larger) output; backward is im2col of the
//! output gradient then two gemm products.

use super::conv_geom::{
    self as geom, DataFormat, IntoDataFormat, IntoPadding, IntoWindow, Padding, Windows,
};
use super::weight_options::{write_weight_options, KernelNames, WeightOptions};
use super::{base_config, Layer, Param, Regularizer};
use crate::activations::Activation;
use crate::initializers::Initializer;
use crate::kernels;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// A transposed convolution over `N` spatial axes; use [`Conv1DTranspose`],
/// [`Conv2DTranspose`] or [`Conv3DTranspose`]. The kernel has Keras's layout
/// `(*kernel_size, filters, in_channels)`. Output sizes follow Keras: `in * stride` with
/// `same` padding, `in * stride + max(kernel - stride, 0)` with `valid` padding
/// (`output_padding` is not supported).
#[derive(Debug)]
pub struct ConvTranspose<const N: usize> {
    name: String,
    filters: usize,
    kernel_size: [usize; N],
    strides: [usize; N],
    padding: Padding,
    data_format: DataFormat,
    dilation_rate: [usize; N],
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
    /// Windows over the output: each input position is one window.
    win: Windows,
    in_c: usize,
    out_shape: Vec<usize>,
    col: Vec<f32>,
    xl: Vec<f32>,
    yl: Vec<f32>,
    gxl: Vec<f32>,
    z: Tensor,
    /// The output's shape with its batch axis (reused).
    act_shape: Vec<usize>,
}

/// Keras's `Conv1DTranspose`.
///
/// ```
/// use kerust::layers::Conv1DTranspose;
/// let layer = Conv1DTranspose::new(8, 3).strides(2);
/// ```
pub type Conv1DTranspose = ConvTranspose<1>;

/// Keras's `Conv2DTranspose`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::Conv2DTranspose;
/// let model = Sequential::new(vec![
///     Conv2DTranspose::new(16, (3, 3)).strides(2).padding("same").input_shape(&[7, 7, 8]).into(),
/// ])?;
/// assert_eq!(model.output_shape().unwrap(), vec![14, 14, 16]);
/// assert_eq!(model.count_params(), 3 * 3 * 16 * 8 + 16);
/// # Ok::<(), kerust::Error>(())
/// ```
pub type Conv2DTranspose = ConvTranspose<2>;

/// Keras's `Conv3DTranspose`.
///
/// ```
/// use kerust::layers::Conv3DTranspose;
/// let layer = Conv3DTranspose::new(4, 2).strides(2);
/// ```
pub type Conv3DTranspose = ConvTranspose<3>;

impl<const N: usize> ConvTranspose<N> {
    /// `filters` output channels with windows of `kernel_size`; stride 1, `valid` padding,
    /// linear, with bias, Glorot-uniform kernel and zero bias (Keras's defaults).
    pub fn new(filters: usize, kernel_size: impl IntoWindow<N>) -> Self {
        ConvTranspose {
            name: String::new(),
            filters,
            kernel_size: kernel_size.into_window(),
            strides: [1; N],
            padding: Padding::Valid,
            data_format: DataFormat::ChannelsLast,
            dilation_rate: [1; N],
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
            xl: Vec::new(),
            yl: Vec::new(),
            gxl: Vec::new(),
            z: Tensor::default(),
            act_shape: Vec::new(),
        }
    }
    /// The upsampling step (default 1).
    pub fn strides(mut self, s: impl IntoWindow<N>) -> Self {
        self.strides = s.into_window();
        self
    }
    /// `"valid"` (default) or `"same"`.
    pub fn padding(mut self, p: impl IntoPadding) -> Self {
        match p.into_padding() {
            Ok(Padding::Causal) => {
                self.deferred_error = Some(Error::arg(
                    "padding",
                    "transposed convolutions take \"valid\" or \"same\" padding",
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
    /// The spacing of the kernel's taps (default 1).
    pub fn dilation_rate(mut self, d: impl IntoWindow<N>) -> Self {
        self.dilation_rate = d.into_window();
        self
    }
    /// The activation, by Keras name or value.
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
    /// The shape of one input sample.
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
        match N {
            1 => "Conv1DTranspose",
            2 => "Conv2DTranspose",
            _ => "Conv3DTranspose",
        }
    }

    fn what(&self) -> String {
        format!("{} layer '{}'", self.class(), self.name)
    }

    /// `(spatial in, channels, spatial out)`.
    fn check(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize, Vec<usize>)> {
        let what = self.what();
        if let Some(e) = &self.deferred_error {
            return Err(Error::arg("layer", format!("{what}: {e}")));
        }
        if self.filters == 0 {
            return Err(Error::arg("filters", format!("{what} needs filters > 0")));
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
        let overflow = || Error::arg("strides", format!("{what}: the output size overflows"));
        let mut out = Vec::with_capacity(N);
        #[allow(clippy::needless_range_loop)]
        for i in 0..N {
            let k_eff = (self.kernel_size[i] - 1)
                .checked_mul(self.dilation_rate[i])
                .and_then(|v| v.checked_add(1))
                .ok_or_else(overflow)?;
            let base = spatial[i]
                .checked_mul(self.strides[i])
                .ok_or_else(overflow)?;
            out.push(match self.padding {
                Padding::Same => base,
                _ => base
                    .checked_add(k_eff.saturating_sub(self.strides[i]))
                    .ok_or_else(overflow)?,
            });
        }
        Ok((spatial, c, out))
    }

    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let filters = keys
            .usize("filters")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`filters` must be a positive integer"))?;
        let kernel_size = geom::window_key::<N>(keys, "kernel_size")?
            .ok_or_else(|| keys.err("`kernel_size` is required"))?;
        let mut c = ConvTranspose::<N>::new(filters, kernel_size);
        if let Some(s) = geom::window_key::<N>(keys, "strides")? {
            c.strides = s;
        }
        if let Some(d) = geom::window_key::<N>(keys, "dilation_rate")? {
            c.dilation_rate = d;
        }
        if let Some(p) = geom::padding_key(keys, false)? {
            c.padding = p;
        }
        if let Some(f) = geom::data_format_key(keys)? {
            c.data_format = f;
        }
        keys.require("output_padding", |_| false, "output_padding")?;
        c.activation = cfg::activation(keys.get("activation").unwrap_or(&Value::Null), ctx)?;
        c.use_bias = keys.bool("use_bias", true)?;
        WeightOptions {
            kernel_initializer: &mut c.kernel_initializer,
            bias_initializer: &mut c.bias_initializer,
            kernel_regularizer: &mut c.kernel_regularizer,
            bias_regularizer: &mut c.bias_regularizer,
        }
        .read(keys, ctx, KernelNames::Kernel)?;
        Ok(c)
    }
}

impl<const N: usize> Layer for ConvTranspose<N> {
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
        let (_, c, out) = self.check(input_shape)?;
        let mut ks = self.kernel_size.to_vec();
        ks.extend([self.filters, c]);
        let n = super::checked_product(&ks, "Conv transpose kernel")?
            .checked_add(if self.use_bias { self.filters } else { 0 })
            .ok_or_else(|| Error::arg("filters", "the layer's size overflows"))?;
        let out = self.data_format.join(&out, self.filters);
        super::checked_product(&out, "Conv transpose output")?;
        Ok((out, n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (out, _) = self.plan(input_shape)?;
        let (spatial, c, big) = self.check(input_shape)?;
        self.win = Windows::new(
            &big,
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
        if self.win.out_pos != spatial.iter().product::<usize>() {
            return Err(Error::arg(
                "kernel_size",
                format!("{}: inconsistent transposed geometry", self.what()),
            ));
        }
        self.in_c = c;
        let mut kshape = self.kernel_size.to_vec();
        kshape.extend([self.filters, c]);
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
        let rows = batch * self.win.out_pos;
        let kdim = self.win.win * f;
        let big = self.win.in_pos;
        y.resize_batch(batch, &self.out_shape);
        let cl = self.data_format == DataFormat::ChannelsLast;
        let xin: &[f32] = if cl {
            x.data()
        } else {
            self.xl.resize(x.len(), 0.0);
            geom::to_channels_last(x.data(), batch, c, self.win.out_pos, &mut self.xl);
            &self.xl
        };
        self.col.resize(rows * kdim, 0.0);
        kernels::matmul_a_bt(
            &mut self.col,
            xin,
            self.params[0].value.data(),
            rows,
            c,
            kdim,
            false,
        );
        if !cl {
            self.yl.resize(y.len(), 0.0);
        }
        let zl: &mut [f32] = if cl { y.data_mut() } else { &mut self.yl };
        zl.fill(0.0);
        self.win.col2im(&self.col, batch, f, 0, f, zl);
        if let Some(b) = self.params.get(1) {
            kernels::add_bias_rows(zl, b.value.data());
        }
        if !cl {
            geom::to_channels_first(&self.yl, batch, f, big, y.data_mut());
        }
        if self.activation.backward_needs_input() {
            self.z.resize(y.shape());
            self.z.data_mut().copy_from_slice(y.data());
        }
        self.act_shape.clear();
        self.act_shape.extend_from_slice(y.shape());
        self.activation
            .forward_inplace(y.data_mut(), &self.act_shape);
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let batch = x.rows();
        let c = self.in_c;
        let f = self.filters;
        let rows = batch * self.win.out_pos;
        let kdim = self.win.win * f;
        let big = self.win.in_pos;
        let cl = self.data_format == DataFormat::ChannelsLast;
        if !self.fused_output {
            let z = if self.z.is_empty() {
                &[][..]
            } else {
                self.z.data()
            };
            self.activation
                .backward(z, y.data(), gy.data_mut(), y.shape());
        }
        let gz: &[f32] = if cl {
            gy.data()
        } else {
            self.yl.resize(gy.len(), 0.0);
            geom::to_channels_last(gy.data(), batch, f, big, &mut self.yl);
            &self.yl
        };
        let xin: &[f32] = if cl { x.data() } else { &self.xl };
        self.col.resize(rows * kdim, 0.0);
        self.win.im2col(gz, batch, f, 0, f, &mut self.col);
        let (kernel, rest) = self.params.split_first_mut().expect("built");
        if let Some(bias) = rest.first_mut() {
            kernels::col_sums(bias.grad.data_mut(), gz, false);
            if let Some(r) = bias.regularizer {
                r.add_grad(bias.value.data(), bias.grad.data_mut());
            }
        }
        kernels::matmul_at_b(kernel.grad.data_mut(), &self.col, xin, kdim, rows, c, false);
        if let Some(r) = kernel.regularizer {
            r.add_grad(kernel.value.data(), kernel.grad.data_mut());
        }
        if let Some(gx) = gx {
            gx.resize(x.shape());
            if cl {
                kernels::matmul(
                    gx.data_mut(),
                    &self.col,
                    kernel.value.data(),
                    rows,
                    kdim,
                    c,
                    false,
                );
            } else {
                self.gxl.resize(x.len(), 0.0);
                kernels::matmul(
                    &mut self.gxl,
                    &self.col,
                    kernel.value.data(),
                    rows,
                    kdim,
                    c,
                    false,
                );
                geom::to_channels_first(&self.gxl, batch, c, self.win.out_pos, gx.data_mut());
            }
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
        m.insert("filters".into(), self.filters.into());
        m.insert("kernel_size".into(), self.kernel_size.to_vec().into());
        m.insert("strides".into(), self.strides.to_vec().into());
        m.insert("padding".into(), self.padding.name().into());
        m.insert("output_padding".into(), Value::Null);
        m.insert("data_format".into(), self.data_format.name().into());
        m.insert("dilation_rate".into(), self.dilation_rate.to_vec().into());
        m.insert("activation".into(), self.activation.name().into());
        m.insert("use_bias".into(), self.use_bias.into());
        write_weight_options(
            &mut m,
            KernelNames::Kernel,
            (&self.kernel_initializer, &self.bias_initializer),
            (self.kernel_regularizer, self.bias_regularizer),
        );
        m.insert("activity_regularizer".into(), Value::Null);
        Value::Object(m)
    }
}
