//! `Activation`: applies an activation function as a layer of its own.

use super::{base_config, Layer};
use crate::activations::Activation as Act;
use crate::initializers::Initializer;
use crate::rng::Rng;
use crate::saving::config::Keys;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Anything that names an activation: a Keras name or an [`Act`] value.
pub trait IntoActivation {
    /// Resolves the activation.
    fn into_activation(self) -> Result<Act>;
}

impl IntoActivation for Act {
    fn into_activation(self) -> Result<Act> {
        Ok(self)
    }
}

impl IntoActivation for &str {
    fn into_activation(self) -> Result<Act> {
        self.parse()
    }
}

impl IntoActivation for String {
    fn into_activation(self) -> Result<Act> {
        self.parse()
    }
}

/// Anything that names an initializer: a Keras name or an [`Initializer`] value.
pub trait IntoInitializer {
    /// Resolves the initializer.
    fn into_initializer(self) -> Result<Initializer>;
}

impl IntoInitializer for Initializer {
    fn into_initializer(self) -> Result<Initializer> {
        Ok(self)
    }
}

impl IntoInitializer for &str {
    fn into_initializer(self) -> Result<Initializer> {
        self.parse()
    }
}

pub(crate) fn initializer_config(i: &Initializer) -> serde_json::Value {
    use crate::initializers::{Distribution, FanMode};
    let config = match *i {
        Initializer::Zeros | Initializer::Ones => serde_json::json!({}),
        Initializer::Constant(v) => serde_json::json!({"value": v}),
        Initializer::RandomNormal { mean, stddev }
        | Initializer::TruncatedNormal { mean, stddev } => {
            serde_json::json!({"mean": mean, "stddev": stddev, "seed": null})
        }
        Initializer::RandomUniform { minval, maxval } => {
            serde_json::json!({"minval": minval, "maxval": maxval, "seed": null})
        }
        Initializer::Orthogonal { gain } => serde_json::json!({"gain": gain, "seed": null}),
        Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        } => {
            if i.class_name() == "VarianceScaling" {
                let mode = match mode {
                    FanMode::FanIn => "fan_in",
                    FanMode::FanOut => "fan_out",
                    FanMode::FanAvg => "fan_avg",
                };
                let dist = match distribution {
                    Distribution::TruncatedNormal => "truncated_normal",
                    Distribution::UntruncatedNormal => "untruncated_normal",
                    Distribution::Uniform => "uniform",
                };
                serde_json::json!({"scale": scale, "mode": mode, "distribution": dist, "seed": null})
            } else {
                serde_json::json!({"seed": null})
            }
        }
    };
    serde_json::json!({"module": "keras.initializers", "class_name": i.class_name(), "config": config, "registered_name": null})
}

/// Keras's `Activation` layer.
///
/// ```
/// use kerust::layers::Activation;
/// let layer = Activation::new("relu");
/// ```
#[derive(Debug)]
pub struct Activation {
    name: String,
    activation: Act,
    deferred_error: Option<Error>,
    input_shape: Option<Vec<usize>>,
    shape: Vec<usize>,
    fused_output: bool,
}

impl Activation {
    /// A layer applying `activation` (a Keras name or an activation value).
    pub fn new(activation: impl IntoActivation) -> Self {
        let (activation, deferred_error) = match activation.into_activation() {
            Ok(a) => (a, None),
            Err(e) => (Act::Linear, Some(e)),
        };
        Activation {
            name: String::new(),
            activation,
            deferred_error,
            input_shape: None,
            shape: Vec::new(),
            fused_output: false,
        }
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
}

impl Activation {
    /// Reads Keras's `Activation` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let a = keys
            .get("activation")
            .ok_or_else(|| keys.err("an Activation layer needs `activation`"))?;
        Ok(Activation::new(crate::saving::config::activation(a, ctx)?))
    }
}

impl Layer for Activation {
    fn passes_mask(&self) -> bool {
        true
    }
    fn class_name(&self) -> &'static str {
        "Activation"
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
        Ok((input_shape.to_vec(), 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        self.shape = input_shape.to_vec();
        Ok(self.shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize(x.shape());
        self.activation.forward(x.data(), y.data_mut(), x.shape());
    }
    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if !self.fused_output {
            self.activation
                .backward(x.data(), y.data(), gy.data_mut(), x.shape());
        }
        if let Some(gx) = gx {
            gx.resize(x.shape());
            gx.data_mut().copy_from_slice(gy.data());
        }
    }
    fn output_activation(&self) -> Option<Act> {
        Some(self.activation)
    }
    fn set_fused_output(&mut self, fused: bool) {
        self.fused_output = fused;
    }
    fn config(&self) -> serde_json::Value {
        let mut m = base_config(&self.name, true);
        m.insert("activation".into(), self.activation.name().into());
        serde_json::Value::Object(m)
    }
}
