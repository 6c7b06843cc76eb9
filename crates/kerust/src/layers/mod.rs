//! Layers: the building blocks of a [`Sequential`](crate::models::Sequential) model.
//!
//! Each layer owns its parameters and the buffers its backward pass needs; the model owns
//! the activations between layers and hands each layer its input, output and gradients.

mod activation;
mod conv;
mod conv_geom;
mod conv_transpose;
mod dense;
mod depthwise;
mod dropout;
mod embedding;
mod flatten;
mod global_pooling;
mod input;
mod noise;
mod normalization;
mod pooling;
mod recurrent;
mod reshaping;
mod time_distributed;
mod weight_options;

pub use activation::Activation as ActivationLayer;
pub use conv::{Conv, Conv1D, Conv2D, Conv3D};
pub use conv_geom::{DataFormat, IntoDataFormat, IntoPadding, IntoWindow, Padding};
pub use conv_transpose::{Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, ConvTranspose};
pub use dense::Dense;
pub use depthwise::{
    DepthwiseConv, DepthwiseConv1D, DepthwiseConv2D, SeparableConv, SeparableConv1D,
    SeparableConv2D,
};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use global_pooling::{
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D,
};
pub use input::{Input, InputLayer};
pub use noise::{GaussianDropout, GaussianNoise, SpatialDropout2D};
pub use normalization::{
    BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization,
};

pub use pooling::{
    AveragePooling1D, AveragePooling2D, AveragePooling3D, MaxPooling1D, MaxPooling2D, MaxPooling3D,
    Pool,
};
pub use recurrent::{Bidirectional, RecurrentLayer, SimpleRNN, GRU, LSTM};
pub use reshaping::{
    Cropping2D, IntoPairs, IntoSize, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D,
};
pub use time_distributed::TimeDistributed;

use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Result;

/// Re-exported so `layers::Activation::new("relu")` reads like Keras.
pub use activation::Activation;

/// A weight regularizer, added to the loss as Keras does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regularizer {
    /// `l1 * sum(|w|)`.
    L1(f32),
    /// `l2 * sum(w^2)`.
    L2(f32),
    /// Both.
    L1L2 {
        /// The L1 factor.
        l1: f32,
        /// The L2 factor.
        l2: f32,
    },
}

impl Regularizer {
    fn factors(&self) -> (f32, f32) {
        match *self {
            Regularizer::L1(a) => (a, 0.0),
            Regularizer::L2(b) => (0.0, b),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        }
    }

    /// The penalty for weights `w`.
    pub fn penalty(&self, w: &[f32]) -> f32 {
        let (l1, l2) = self.factors();
        let mut s1 = 0.0f32;
        let mut s2 = 0.0f32;
        for v in w {
            s1 += v.abs();
            s2 += v * v;
        }
        l1 * s1 + l2 * s2
    }

    /// Adds the penalty's gradient to `g`.
    pub fn add_grad(&self, w: &[f32], g: &mut [f32]) {
        let (l1, l2) = self.factors();
        for (g, &v) in g.iter_mut().zip(w) {
            let s = if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            };
            *g += l1 * s + 2.0 * l2 * v;
        }
    }

    /// Keras's `l1`/`l2` with its default factor 0.01, by name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "l1" => Ok(Regularizer::L1(0.01)),
            "l2" => Ok(Regularizer::L2(0.01)),
            "l1_l2" => Ok(Regularizer::L1L2 { l1: 0.01, l2: 0.01 }),
            _ => Err(crate::Error::unknown(
                "regularizer",
                name,
                &["l1", "l2", "l1_l2"],
            )),
        }
    }
}

/// A trainable (or frozen) variable of a layer with its gradient.
#[derive(Clone, Debug)]
pub struct Param {
    /// Keras's variable name (`kernel`, `bias`).
    pub name: &'static str,
    /// The value.
    pub value: Tensor,
    /// The gradient of the loss with respect to the value, after the last backward pass.
    pub grad: Tensor,
    /// Whether the optimizer updates it.
    pub trainable: bool,
    /// Penalty added to the loss.
    pub regularizer: Option<Regularizer>,
}

impl Param {
    pub(crate) fn new(name: &'static str, shape: &[usize], data: Vec<f32>) -> Self {
        Param {
            name,
            value: Tensor::from_vec(shape, data).expect("initializer returns the right size"),
            grad: Tensor::zeros(shape),
            trainable: true,
            regularizer: None,
        }
    }
}

/// The interface between a model and its layers. Shapes never include the batch axis.
pub trait Layer: Send + std::fmt::Debug {
    /// Keras's class name (`"Dense"`).
    fn class_name(&self) -> &'static str;
    /// The layer's name (`"dense_1"`); empty until the model names it.
    fn name(&self) -> &str;
    /// Renames the layer.
    fn set_name(&mut self, name: String);
    /// The input shape given on the layer (`input_shape`/`input_dim`), if any.
    fn declared_input_shape(&self) -> Option<&[usize]> {
        None
    }
    /// The output shape and the number of parameters for inputs of `input_shape`, computed
    /// without allocating anything (loading refuses a file whose config declares more
    /// parameters than it holds before building). Errors when the layer cannot take that
    /// input.
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)>;
    /// Creates the parameters for inputs of `input_shape`; returns the output shape.
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>>;
    /// The output shape, once built.
    fn output_shape(&self) -> &[usize];
    /// Computes `y` from `x` (`y` is resized by the layer, reusing its buffer).
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool);
    /// Given `gy = dL/dy` (which the layer may overwrite), accumulates nothing but *sets* the
    /// parameter gradients, and writes `dL/dx` into `gx` when asked.
    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>);
    /// The layer's variables in Keras's order.
    fn params(&self) -> &[Param] {
        &[]
    }
    /// The layer's variables, mutable.
    fn params_mut(&mut self) -> &mut [Param] {
        &mut []
    }
    /// The layer's config in Keras's JSON vocabulary.
    fn config(&self) -> serde_json::Value;
    /// The activation applied last, when the layer ends in one (for fused losses).
    fn output_activation(&self) -> Option<crate::activations::Activation> {
        None
    }
    /// When set, `backward` receives the gradient with respect to the output activation's
    /// *input* (a fused loss computed it) and skips the activation's derivative.
    fn set_fused_output(&mut self, _fused: bool) {}
    /// Reseeds layers that draw random numbers during training (Dropout).
    fn set_rng(&mut self, _rng: Rng) {}
    /// Keras's `layer.trainable`: by default, true unless the layer has parameters and all
    /// of them are frozen.
    fn trainable(&self) -> bool {
        self.params().is_empty() || self.params().iter().any(|p| p.trainable)
    }
    /// Freezes or unfreezes the layer (Keras's `layer.trainable = False`). By default this
    /// sets every parameter's `trainable`; layers with non-trainable state
    /// (`BatchNormalization`'s moving statistics) keep that state non-trainable.
    fn set_trainable(&mut self, trainable: bool) {
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
    /// Where the layer's variables live under `layers/<name>/` in a Keras weights file:
    /// `(group path, number of variables)` in [`params`](Self::params) order. Keras keeps a
    /// recurrent layer's variables in its cell (`[("vars", 0), ("cell/vars", 3)]`).
    fn weight_groups(&self) -> Vec<(String, usize)> {
        vec![("vars".into(), self.params().len())]
    }
    /// Keras's timestep mask: called before each `forward` with the mask of the layer's
    /// input (`(batch, timesteps)`, 1 = keep, 0 = masked), or `None`.
    fn set_input_mask(&mut self, _mask: Option<&[f32]>) {}
    /// The mask of the layer's output after `forward` (Keras's `compute_mask`), or `None`
    /// when the layer produces or passes on none.
    fn output_mask(&self) -> Option<&[f32]> {
        None
    }
    /// True when the layer hands its input's timestep mask on unchanged (Keras's
    /// `supports_masking` on Dense, Dropout, Activation), when it has none of its own.
    fn passes_mask(&self) -> bool {
        false
    }
    /// Checks the model's input data when this is the first layer (an `Embedding` refuses
    /// indices outside its vocabulary), before any batch runs.
    fn check_input(&self, _x: &[f32]) -> Result<()> {
        Ok(())
    }
}

/// `a * b * ...` of the sizes, or an error naming `what` when it overflows `usize`.
pub(crate) fn checked_product(sizes: &[usize], what: &str) -> Result<usize> {
    sizes
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            crate::Error::arg(
                "shape",
                format!(
                    "{what}: the sizes {} overflow",
                    crate::error::fmt_shape(None, sizes)
                ),
            )
        })
}

/// The regularization penalty of a set of parameters.
pub(crate) fn regularization_loss(params: &[Param]) -> f32 {
    params
        .iter()
        .filter_map(|p| p.regularizer.map(|r| r.penalty(p.value.data())))
        .sum()
}

pub(crate) fn base_config(
    name: &str,
    trainable: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), name.into());
    m.insert("trainable".into(), trainable.into());
    m.insert(
        "dtype".into(),
        serde_json::json!({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}),
    );
    m
}
