//! `DepthwiseConv1D/2D` (one filter bank per input channel: a grouped convolution with
//! `groups = channels`) and `SeparableConv1D/2D` (a depthwise convolution followed by a
//! 1x1 pointwise convolution).

use super::conv::Conv;
use super::conv_geom::{IntoDataFormat, IntoPadding, IntoWindow};
use super::{base_config, Layer, Param, Regularizer};
use crate::activations::Activation;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// A depthwise convolution over `N` spatial axes; use [`DepthwiseConv1D`] or
/// [`DepthwiseConv2D`]. The kernel has Keras's layout
/// `(*kernel_size, in_channels, depth_multiplier)`; output channel `c * m + j` is input
/// channel `c` through its `j`-th filter.
#[derive(Debug)]
pub struct DepthwiseConv<const N: usize>(Conv<N>);

/// Keras's `DepthwiseConv1D`.
///
/// ```
/// use kerust::layers::DepthwiseConv1D;
/// let layer = DepthwiseConv1D::new(3).depth_multiplier(2);
/// ```
pub type DepthwiseConv1D = DepthwiseConv<1>;

/// Keras's `DepthwiseConv2D`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::DepthwiseConv2D;
/// let model = Sequential::new(vec![
///     DepthwiseConv2D::new((3, 3)).depth_multiplier(2).input_shape(&[8, 8, 3]).into(),
/// ])?;
/// assert_eq!(model.output_shape().unwrap(), vec![6, 6, 6]);
/// assert_eq!(model.count_params(), 3 * 3 * 3 * 2 + 6);
/// # Ok::<(), kerust::Error>(())
/// ```
pub type DepthwiseConv2D = DepthwiseConv<2>;

impl<const N: usize> DepthwiseConv<N> {
    /// Windows of `kernel_size`, depth multiplier 1, stride 1, `valid` padding, linear, with
    /// bias (Keras's defaults).
    pub fn new(kernel_size: impl IntoWindow<N>) -> Self {
        DepthwiseConv(Conv::depthwise(kernel_size.into_window(), 1))
    }
    /// Filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.0.set_depth_multiplier(m);
        self
    }
    /// The step between windows (default 1).
    pub fn strides(self, s: impl IntoWindow<N>) -> Self {
        DepthwiseConv(self.0.strides(s))
    }
    /// `"valid"` (default) or `"same"`.
    pub fn padding(self, p: impl IntoPadding) -> Self {
        DepthwiseConv(self.0.padding(p))
    }
    /// `"channels_last"` (default) or `"channels_first"`.
    pub fn data_format(self, f: impl IntoDataFormat) -> Self {
        DepthwiseConv(self.0.data_format(f))
    }
    /// The spacing of the kernel's taps (default 1).
    pub fn dilation_rate(self, d: impl IntoWindow<N>) -> Self {
        DepthwiseConv(self.0.dilation_rate(d))
    }
    /// The activation, by Keras name or value.
    pub fn activation(self, a: impl super::activation::IntoActivation) -> Self {
        DepthwiseConv(self.0.activation(a))
    }
    /// Whether to add a bias (default true).
    pub fn use_bias(self, v: bool) -> Self {
        DepthwiseConv(self.0.use_bias(v))
    }
    /// The kernel's initializer (default `glorot_uniform`).
    pub fn depthwise_initializer(self, i: impl super::activation::IntoInitializer) -> Self {
        DepthwiseConv(self.0.kernel_initializer(i))
    }
    /// The bias's initializer (default `zeros`).
    pub fn bias_initializer(self, i: impl super::activation::IntoInitializer) -> Self {
        DepthwiseConv(self.0.bias_initializer(i))
    }
    /// A penalty on the kernel.
    pub fn depthwise_regularizer(self, r: Regularizer) -> Self {
        DepthwiseConv(self.0.kernel_regularizer(r))
    }
    /// A penalty on the bias.
    pub fn bias_regularizer(self, r: Regularizer) -> Self {
        DepthwiseConv(self.0.bias_regularizer(r))
    }
    /// The shape of one input sample.
    pub fn input_shape(self, shape: &[usize]) -> Self {
        DepthwiseConv(self.0.input_shape(shape))
    }
    /// A user-chosen layer name.
    pub fn name(self, name: &str) -> Self {
        DepthwiseConv(self.0.name(name))
    }

    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        Ok(DepthwiseConv(Conv::from_keys_as(keys, ctx, true)?))
    }
}

impl<const N: usize> Layer for DepthwiseConv<N> {
    fn class_name(&self) -> &'static str {
        self.0.class_name()
    }
    fn name(&self) -> &str {
        Layer::name(&self.0)
    }
    fn set_name(&mut self, name: String) {
        self.0.set_name(name)
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.0.declared_input_shape()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        self.0.plan(input_shape)
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        self.0.build(input_shape, rng)
    }
    fn output_shape(&self) -> &[usize] {
        self.0.output_shape()
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        self.0.forward(x, y, training)
    }
    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        self.0.backward(x, y, gy, gx)
    }
    fn params(&self) -> &[Param] {
        self.0.params()
    }
    fn params_mut(&mut self) -> &mut [Param] {
        self.0.params_mut()
    }
    fn config(&self) -> Value {
        self.0.config()
    }
    fn output_activation(&self) -> Option<Activation> {
        self.0.output_activation()
    }
    fn set_fused_output(&mut self, fused: bool) {
        self.0.set_fused_output(fused)
    }
}

/// A depthwise-separable convolution over `N` spatial axes; use [`SeparableConv1D`] or
/// [`SeparableConv2D`]. Variables, in Keras's order: `depthwise_kernel`
/// `(*kernel_size, in_channels, depth_multiplier)`, `pointwise_kernel`
/// `(1.., in_channels * depth_multiplier, filters)`, `bias` `(filters,)`.
#[derive(Debug)]
pub struct SeparableConv<const N: usize> {
    name: String,
    filters: usize,
    depth_multiplier: usize,
    dw: Conv<N>,
    pw: Conv<N>,
    params: Vec<Param>,
    t: Tensor,
    gt: Tensor,
}

/// Keras's `SeparableConv1D`.
///
/// ```
/// use kerust::layers::SeparableConv1D;
/// let layer = SeparableConv1D::new(16, 5).padding("same");
/// ```
pub type SeparableConv1D = SeparableConv<1>;

/// Keras's `SeparableConv2D`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::SeparableConv2D;
/// let model = Sequential::new(vec![
///     SeparableConv2D::new(8, (3, 3)).activation("relu").input_shape(&[10, 10, 4]).into(),
/// ])?;
/// assert_eq!(model.output_shape().unwrap(), vec![8, 8, 8]);
/// assert_eq!(model.count_params(), 3 * 3 * 4 + 4 * 8 + 8);
/// # Ok::<(), kerust::Error>(())
/// ```
pub type SeparableConv2D = SeparableConv<2>;

impl<const N: usize> SeparableConv<N> {
    /// `filters` outputs from windows of `kernel_size`: depth multiplier 1, stride 1,
    /// `valid` padding, linear, with bias (Keras's defaults).
    pub fn new(filters: usize, kernel_size: impl IntoWindow<N>) -> Self {
        SeparableConv {
            name: String::new(),
            filters,
            depth_multiplier: 1,
            dw: Conv::depthwise(kernel_size.into_window(), 1).use_bias(false),
            pw: Conv::new(filters, 1),
            params: Vec::new(),
            t: Tensor::default(),
            gt: Tensor::default(),
        }
    }
    /// Depthwise filters per input channel (default 1).
    pub fn depth_multiplier(mut self, m: usize) -> Self {
        self.depth_multiplier = m;
        self.dw.set_depth_multiplier(m);
        self
    }
    /// The step between windows (default 1).
    pub fn strides(mut self, s: impl IntoWindow<N>) -> Self {
        self.dw = self.dw.strides(s);
        self
    }
    /// `"valid"` (default) or `"same"`.
    pub fn padding(mut self, p: impl IntoPadding) -> Self {
        self.dw = self.dw.padding(p);
        self
    }
    /// `"channels_last"` (default) or `"channels_first"`.
    pub fn data_format(mut self, f: impl IntoDataFormat + Copy) -> Self {
        self.dw = self.dw.data_format(f);
        self.pw = self.pw.data_format(f);
        self
    }
    /// The spacing of the depthwise kernel's taps (default 1).
    pub fn dilation_rate(mut self, d: impl IntoWindow<N>) -> Self {
        self.dw = self.dw.dilation_rate(d);
        self
    }
    /// The activation, by Keras name or value.
    pub fn activation(mut self, a: impl super::activation::IntoActivation) -> Self {
        self.pw = self.pw.activation(a);
        self
    }
    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, v: bool) -> Self {
        self.pw = self.pw.use_bias(v);
        self
    }
    /// The depthwise kernel's initializer (default `glorot_uniform`).
    pub fn depthwise_initializer(mut self, i: impl super::activation::IntoInitializer) -> Self {
        self.dw = self.dw.kernel_initializer(i);
        self
    }
    /// The pointwise kernel's initializer (default `glorot_uniform`).
    pub fn pointwise_initializer(mut self, i: impl super::activation::IntoInitializer) -> Self {
        self.pw = self.pw.kernel_initializer(i);
        self
    }
    /// The bias's initializer (default `zeros`).
    pub fn bias_initializer(mut self, i: impl super::activation::IntoInitializer) -> Self {
        self.pw = self.pw.bias_initializer(i);
        self
    }
    /// A penalty on the depthwise kernel.
    pub fn depthwise_regularizer(mut self, r: Regularizer) -> Self {
        self.dw = self.dw.kernel_regularizer(r);
        self
    }
    /// A penalty on the pointwise kernel.
    pub fn pointwise_regularizer(mut self, r: Regularizer) -> Self {
        self.pw = self.pw.kernel_regularizer(r);
        self
    }
    /// A penalty on the bias.
    pub fn bias_regularizer(mut self, r: Regularizer) -> Self {
        self.pw = self.pw.bias_regularizer(r);
        self
    }
    /// The shape of one input sample.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.dw = self.dw.input_shape(shape);
        self
    }
    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let filters = keys
            .usize("filters")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`filters` must be a positive integer"))?;
        let mut dw = Conv::<N>::from_keys_as(keys, ctx, true)?;
        let dm = match dw.config()["depth_multiplier"].as_u64() {
            Some(m) => m as usize,
            None => 1,
        };
        // The depthwise part reads `activation`, `use_bias`, `bias_*`: they belong to the
        // pointwise part.
        let act = dw.output_activation().unwrap_or(Activation::Linear);
        let cfg_dw = dw.config();
        let use_bias = cfg_dw["use_bias"].as_bool().unwrap_or(true);
        let mut pw = Conv::<N>::new(filters, 1)
            .activation(act)
            .use_bias(use_bias)
            .data_format(cfg_dw["data_format"].as_str().unwrap_or("channels_last"));
        if let Some(v) = keys.get("pointwise_initializer") {
            pw = pw.kernel_initializer(cfg::initializer(v, ctx)?);
        }
        pw = pw.bias_initializer(cfg::initializer(&cfg_dw["bias_initializer"], ctx)?);
        if let Some(r) = cfg::regularizer(keys.get("pointwise_regularizer"), ctx)? {
            pw = pw.kernel_regularizer(r);
        }
        if let Some(r) = cfg::regularizer(
            Some(&cfg_dw["bias_regularizer"]).filter(|v| !v.is_null()),
            ctx,
        )? {
            pw = pw.bias_regularizer(r);
        }
        keys.require("pointwise_constraint", |_| false, "weight constraints")?;
        dw = dw
            .activation(Activation::Linear)
            .use_bias(false)
            .bias_initializer("zeros");
        dw.clear_bias_regularizer();
        Ok(SeparableConv {
            name: String::new(),
            filters,
            depth_multiplier: dm,
            dw,
            pw,
            params: Vec::new(),
            t: Tensor::default(),
            gt: Tensor::default(),
        })
    }

    fn class(&self) -> &'static str {
        if N == 1 {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        }
    }

    fn what(&self) -> String {
        format!("{} layer '{}'", self.class(), self.name)
    }

    /// Moves the canonical variables into (or back out of) the two inner convolutions.
    fn swap(&mut self) {
        let (d, rest) = self.params.split_first_mut().expect("built");
        std::mem::swap(d, &mut self.dw.params_mut()[0]);
        for (a, b) in rest.iter_mut().zip(self.pw.params_mut()) {
            std::mem::swap(a, b);
        }
    }
}

impl<const N: usize> Layer for SeparableConv<N> {
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
        self.dw.declared_input_shape()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        if self.filters == 0 {
            return Err(Error::arg(
                "filters",
                format!("{} needs filters > 0", self.what()),
            ));
        }
        let (mid, n1) = self
            .dw
            .plan(input_shape)
            .map_err(|e| rename(e, &self.what()))?;
        let (out, n2) = self.pw.plan(&mid).map_err(|e| rename(e, &self.what()))?;
        let n = n1
            .checked_add(n2)
            .ok_or_else(|| Error::arg("filters", "the layer's size overflows"))?;
        Ok((out, n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        self.plan(input_shape)?;
        let mid = self.dw.build(input_shape, rng)?;
        let out = self.pw.build(&mid, rng)?;
        let mut params = vec![self.dw.params()[0].clone()];
        params.extend(self.pw.params().iter().cloned());
        params[0].name = "depthwise_kernel";
        params[1].name = "pointwise_kernel";
        self.params = params;
        Ok(out)
    }
    fn output_shape(&self) -> &[usize] {
        self.pw.output_shape()
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        self.swap();
        self.dw.forward(x, &mut self.t, training);
        self.pw.forward(&self.t, y, training);
        self.swap();
    }
    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        self.swap();
        self.pw.backward(&self.t, y, gy, Some(&mut self.gt));
        self.dw.backward(x, &self.t, &mut self.gt, gx);
        self.swap();
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn output_activation(&self) -> Option<Activation> {
        self.pw.output_activation()
    }
    fn set_fused_output(&mut self, fused: bool) {
        self.pw.set_fused_output(fused)
    }
    fn config(&self) -> Value {
        let d = self.dw.config();
        let p = self.pw.config();
        let mut m = base_config(&self.name, true);
        m.insert("depth_multiplier".into(), self.depth_multiplier.into());
        m.insert("filters".into(), self.filters.into());
        for k in [
            "kernel_size",
            "strides",
            "padding",
            "data_format",
            "dilation_rate",
        ] {
            m.insert(k.into(), d[k].clone());
        }
        m.insert("activation".into(), p["activation"].clone());
        m.insert("use_bias".into(), p["use_bias"].clone());
        m.insert(
            "depthwise_initializer".into(),
            d["depthwise_initializer"].clone(),
        );
        m.insert(
            "pointwise_initializer".into(),
            p["kernel_initializer"].clone(),
        );
        m.insert("bias_initializer".into(), p["bias_initializer"].clone());
        m.insert(
            "depthwise_regularizer".into(),
            d["depthwise_regularizer"].clone(),
        );
        m.insert(
            "pointwise_regularizer".into(),
            p["kernel_regularizer"].clone(),
        );
        m.insert("bias_regularizer".into(), p["bias_regularizer"].clone());
        m.insert("activity_regularizer".into(), Value::Null);
        m.insert("depthwise_constraint".into(), Value::Null);
        m.insert("pointwise_constraint".into(), Value::Null);
        m.insert("bias_constraint".into(), Value::Null);
        Value::Object(m)
    }
}

/// An inner layer's error, told with the outer layer's name.
fn rename(e: Error, what: &str) -> Error {
    match e {
        Error::Shape { expected, got, .. } => Error::Shape {
            context: what.to_string(),
            expected,
            got,
        },
        other => other,
    }
}
