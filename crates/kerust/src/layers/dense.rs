//! `Dense`: `activation(x · kernel + bias)` over the last axis.

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

/// A densely connected layer, Keras's `Dense`.
///
/// ```
/// use kerust::layers::Dense;
/// let layer = Dense::new(128).activation("relu").input_shape(&[784]);
/// ```
#[derive(Debug)]
pub struct Dense {
    name: String,
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    in_dim: usize,
    out_shape: Vec<usize>,
    /// Pre-activation values, kept only when the activation's derivative needs them.
    z: Tensor,
    fused_output: bool,
}

impl Dense {
    /// A layer of `units` outputs, linear, with bias, Glorot-uniform kernel and zero bias.
    pub fn new(units: usize) -> Self {
        Dense {
            name: String::new(),
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: "glorot_uniform".parse().expect("known"),
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            in_dim: 0,
            out_shape: Vec::new(),
            z: Tensor::default(),
            fused_output: false,
        }
    }

    /// Sets the activation, by Keras name (`"relu"`) or [`Activation`] value. An unknown name
    /// is reported when the layer is added to a model.
    pub fn activation(mut self, a: impl super::activation::IntoActivation) -> Self {
        match a.into_activation() {
            Ok(a) => self.activation = a,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// The shape of one input sample (Keras's `input_shape`).
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// The number of input features (Keras's `input_dim`).
    pub fn input_dim(self, dim: usize) -> Self {
        self.input_shape(&[dim])
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

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Number of units.
    pub fn units(&self) -> usize {
        self.units
    }
}

impl Dense {
    /// Reads Keras's `Dense` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let units = keys
            .usize("units")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`units` must be a positive integer"))?;
        let activation = cfg::activation(keys.get("activation").unwrap_or(&Value::Null), ctx)?;
        let use_bias = keys.bool("use_bias", true)?;
        let mut d = Dense::new(units).activation(activation).use_bias(use_bias);
        WeightOptions {
            kernel_initializer: &mut d.kernel_initializer,
            bias_initializer: &mut d.bias_initializer,
            kernel_regularizer: &mut d.kernel_regularizer,
            bias_regularizer: &mut d.bias_regularizer,
        }
        .read(keys, ctx, KernelNames::Kernel)?;
        Ok(d)
    }
}

impl Layer for Dense {
    fn passes_mask(&self) -> bool {
        true
    }
    fn class_name(&self) -> &'static str {
        "Dense"
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
        let in_dim = match input_shape.last() {
            Some(&d) if d > 0 => d,
            _ => {
                return Err(Error::shape(
                    format!("Dense layer '{}'", self.name),
                    "an input with a last axis of size > 0, e.g. (None, 784)",
                    crate::error::fmt_shape(None, input_shape),
                ))
            }
        };
        let n = super::checked_product(&[in_dim, self.units], "Dense kernel")?
            .checked_add(if self.use_bias { self.units } else { 0 })
            .ok_or_else(|| Error::arg("units", "the Dense layer's size overflows"))?;
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("checked above") = self.units;
        Ok((out, n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        if self.units == 0 {
            return Err(Error::arg(
                "units",
                format!("Dense layer '{}' needs units > 0", self.name),
            ));
        }
        let in_dim = match input_shape.last() {
            Some(&d) if d > 0 => d,
            _ => {
                return Err(Error::shape(
                    format!("Dense layer '{}'", self.name),
                    "an input with a last axis of size > 0, e.g. (None, 784)",
                    crate::error::fmt_shape(None, input_shape),
                ))
            }
        };
        self.in_dim = in_dim;
        let kshape = [in_dim, self.units];
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
                &[self.units],
                self.bias_initializer.sample(&[self.units], rng),
            );
            bias.regularizer = self.bias_regularizer;
            self.params.push(bias);
        }
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("non-empty") = self.units;
        self.out_shape = out.clone();
        Ok(out)
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        let rows = x.len() / self.in_dim;
        y.resize_batch(x.rows(), &self.out_shape);
        kernels::matmul(
            y.data_mut(),
            x.data(),
            self.params[0].value.data(),
            rows,
            self.in_dim,
            self.units,
            false,
        );
        let keep_z = self.activation.backward_needs_input();
        if keep_z {
            self.z.resize(y.shape());
        }
        let bias = self.params.get(1).map(|b| b.value.data());
        let row_shape = [1, self.units];
        for (r, row) in y.data_mut().chunks_exact_mut(self.units).enumerate() {
            if let Some(b) = bias {
                for (v, b) in row.iter_mut().zip(b) {
                    *v += b;
                }
            }
            if keep_z {
                self.z.data_mut()[r * self.units..(r + 1) * self.units].copy_from_slice(row);
            }
            self.activation.forward_inplace(row, &row_shape);
        }
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let rows = x.len() / self.in_dim;
        if !self.fused_output {
            for (r, g) in gy.data_mut().chunks_exact_mut(self.units).enumerate() {
                let span = r * self.units..(r + 1) * self.units;
                let z = if self.z.is_empty() {
                    &[][..]
                } else {
                    &self.z.data()[span.clone()]
                };
                self.activation
                    .backward(z, &y.data()[span], g, &[1, self.units]);
            }
        }
        let dz = gy.data();
        let (kernel, rest) = self.params.split_first_mut().expect("built");
        kernels::matmul_at_b(
            kernel.grad.data_mut(),
            x.data(),
            dz,
            self.in_dim,
            rows,
            self.units,
            false,
        );
        if let Some(r) = kernel.regularizer {
            r.add_grad(kernel.value.data(), kernel.grad.data_mut());
        }
        if let Some(bias) = rest.first_mut() {
            kernels::col_sums(bias.grad.data_mut(), dz, false);
            if let Some(r) = bias.regularizer {
                r.add_grad(bias.value.data(), bias.grad.data_mut());
            }
        }
        if let Some(gx) = gx {
            gx.resize(x.shape());
            kernels::matmul_a_bt(
                gx.data_mut(),
                dz,
                kernel.value.data(),
                rows,
                self.units,
                self.in_dim,
                false,
            );
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

    fn config(&self) -> serde_json::Value {
        let mut m = base_config(&self.name, true);
        m.insert("units".into(), self.units.into());
        m.insert("activation".into(), self.activation.name().into());
        m.insert("use_bias".into(), self.use_bias.into());
        write_weight_options(
            &mut m,
            KernelNames::Kernel,
            (&self.kernel_initializer, &self.bias_initializer),
            (self.kernel_regularizer, self.bias_regularizer),
        );
        serde_json::Value::Object(m)
    }
}
