//! The `Sequential` model: layers, shapes, names and weights.

use crate::error::fmt_shape;
use crate::layers::Layer;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::{Error, Result};
use ndarray::{ArrayD, IxDyn};

/// A linear stack of layers, as `keras.Sequential`.
///
/// ```
/// use kerust::prelude::*;
/// let mut model = Sequential::new(vec![
///     Flatten::new().input_shape(&[28, 28]).into(),
///     Dense::new(128).activation("relu").into(),
///     Dense::new(10).activation("softmax").into(),
/// ])?;
/// assert_eq!(model.count_params(), 101_770);
/// assert_eq!(model.layers()[1].name(), "dense");
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Sequential {
    pub(crate) name: String,
    pub(crate) layers: Vec<Box<dyn Layer>>,
    pub(crate) input_shape: Option<Vec<usize>>,
    pub(crate) rng: Rng,
    /// Set by a callback to end `fit` after the current batch (as Keras's `model.stop_training`).
    pub stop_training: bool,
    pub(crate) compiled: Option<super::training::Compiled>,
    /// Set by a callback's `on_train_begin` ([`set_initial_epoch`](Self::set_initial_epoch)).
    pub(crate) resume_epoch: Option<usize>,
    /// Set by a callback ([`abort_training`](Self::abort_training)): `fit` returns it.
    pub(crate) abort: Option<Error>,
    pub(crate) acts: Vec<Tensor>,
    pub(crate) grads: Vec<Tensor>,
}

impl<L: Layer + 'static> From<L> for Box<dyn Layer> {
    fn from(layer: L) -> Self {
        Box::new(layer)
    }
}

/// Keras's snake-case name prefix for a class, exactly as `naming.to_snake_case` computes it
/// (`Dense` -> `dense`, `InputLayer` -> `input_layer`, `Conv2D` -> `conv2d`,
/// `MaxPooling2D` -> `max_pooling2d`, `Conv2DTranspose` -> `conv2d_transpose`).
pub(crate) fn snake(class: &str) -> String {
    // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    let c: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut a = Vec::with_capacity(c.len() + 4);
    let mut p = 0;
    while p < c.len() {
        if p + 2 < c.len() && c[p + 1].is_ascii_uppercase() && c[p + 2].is_ascii_lowercase() {
            a.extend([c[p], '_', c[p + 1]]);
            p += 2;
            while p < c.len() && c[p].is_ascii_lowercase() {
                a.push(c[p]);
                p += 1;
            }
        } else {
            a.push(c[p]);
            p += 1;
        }
    }
    // re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    let mut s = String::with_capacity(a.len() + 4);
    let mut p = 0;
    while p < a.len() {
        if p + 1 < a.len() && a[p].is_ascii_lowercase() && a[p + 1].is_ascii_uppercase() {
            s.push(a[p]);
            s.push('_');
            s.push(a[p + 1].to_ascii_lowercase());
            p += 2;
        } else {
            s.extend(a[p].to_lowercase());
            p += 1;
        }
    }
    s
}

impl Sequential {
    /// A model from a list of layers. The first layer may carry `input_shape`, or the list may
    /// start with an [`Input`](crate::layers::Input); otherwise the model is built on its
    /// first data.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Result<Self> {
        let mut m = Sequential::empty();
        for l in layers {
            m.add(l)?;
        }
        Ok(m)
    }

    /// An empty model (Keras's `Sequential()`), to fill with [`add`](Self::add).
    pub fn empty() -> Self {
        Sequential {
            name: "sequential".into(),
            layers: Vec::new(),
            input_shape: None,
            rng: crate::next_model_rng(),
            stop_training: false,
            compiled: None,
            resume_epoch: None,
            abort: None,
            acts: Vec::new(),
            grads: Vec::new(),
        }
    }

    /// Sets the model's name (default `sequential`).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reseeds the model's generator (initial weights of layers not yet built, shuffling and
    /// dropout). Call before adding layers for reproducible initial weights.
    pub fn set_seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// For a callback's `on_train_begin`: `fit` starts at `epoch` (0-based) instead of
    /// [`FitOptions::initial_epoch`](crate::models::FitOptions::initial_epoch), as
    /// [`BackupAndRestore`](crate::callbacks::BackupAndRestore) does when it finds a backup
    /// (Keras's `model._initial_epoch`). Read once, by the `fit` that is starting.
    ///
    /// ```
    /// use kerust::callbacks::Callback;
    /// use kerust::prelude::*;
    /// struct SkipTwo;
    /// impl Callback for SkipTwo {
    ///     fn on_train_begin(&mut self, model: &mut Sequential) {
    ///         model.set_initial_epoch(2);
    ///     }
    /// }
    /// let mut model = Sequential::new(vec![Dense::new(1).input_dim(1).into()])?;
    /// model.compile("sgd", "mse", ())?;
    /// let x = ndarray::Array2::<f32>::zeros((4, 1));
    /// let y = ndarray::Array1::<f32>::zeros(4);
    /// let mut cb = SkipTwo;
    /// let h = model.fit(&x, &y, FitOptions { epochs: 5, verbose: 0, callbacks: vec![&mut cb], ..Default::default() })?;
    /// assert_eq!(h.epoch, vec![2, 3, 4]);
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn set_initial_epoch(&mut self, epoch: usize) {
        self.resume_epoch = Some(epoch);
    }

    /// For a callback: ends the running `fit` with `error` as soon as the current hook
    /// returns, without calling `on_train_end` (as an exception raised in a Keras callback).
    /// Callbacks cannot return errors themselves; this is how they fail `fit`.
    ///
    /// ```
    /// use kerust::callbacks::Callback;
    /// use kerust::prelude::*;
    /// struct Interrupt;
    /// impl Callback for Interrupt {
    ///     fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {
    ///         if epoch == 1 {
    ///             model.abort_training(kerust::Error::callback("Interrupt", "interrupted"));
    ///         }
    ///     }
    /// }
    /// let mut model = Sequential::new(vec![Dense::new(1).input_dim(1).into()])?;
    /// model.compile("sgd", "mse", ())?;
    /// let x = ndarray::Array2::<f32>::zeros((4, 1));
    /// let y = ndarray::Array1::<f32>::zeros(4);
    /// let mut cb = Interrupt;
    /// let r = model.fit(&x, &y, FitOptions { epochs: 3, verbose: 0, callbacks: vec![&mut cb], ..Default::default() });
    /// assert!(r.unwrap_err().to_string().contains("interrupted"));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    pub fn abort_training(&mut self, error: Error) {
        if self.abort.is_none() {
            self.abort = Some(error);
        }
    }

    /// Appends a layer, building it at once when the input shape is known.
    pub fn add(&mut self, layer: impl Into<Box<dyn Layer>>) -> Result<()> {
        let mut layer = layer.into();
        if layer.class_name() == "InputLayer" {
            if !self.layers.is_empty() || self.input_shape.is_some() {
                return Err(Error::arg(
                    "layer",
                    "an Input layer can only be the first layer of a Sequential model",
                ));
            }
            self.input_shape = layer.declared_input_shape().map(|s| s.to_vec());
            return Ok(());
        }
        if layer.name().is_empty() {
            let prefix = snake(layer.class_name());
            let mut name = prefix.clone();
            let mut k = 0;
            while self.layers.iter().any(|l| l.name() == name) {
                k += 1;
                name = format!("{prefix}_{k}");
            }
            layer.set_name(name);
        } else if self.layers.iter().any(|l| l.name() == layer.name()) {
            return Err(Error::arg(
                "name",
                format!(
                    "all layers in a model must have unique names; '{}' is already used",
                    layer.name()
                ),
            ));
        }
        if self.layers.is_empty() && self.input_shape.is_none() {
            self.input_shape = layer.declared_input_shape().map(|s| s.to_vec());
        }
        // Keras ignores `input_shape` on any layer but the first (seed 000 writes one on its
        // output layer); so does kerust.
        if let Some(prev) = self.output_shape() {
            layer
                .build(&prev, &mut self.rng)
                .map_err(|e| with_layer(e, layer.name()))?;
        }
        self.layers.push(layer);
        self.compiled_fusion();
        Ok(())
    }

    /// Removes the last layer (Keras's `pop`).
    pub fn pop(&mut self) -> Option<Box<dyn Layer>> {
        let l = self.layers.pop();
        self.compiled_fusion();
        l
    }

    /// Shape of one output sample, when the model is built (`None` before).
    pub fn output_shape(&self) -> Option<Vec<usize>> {
        let input = self.input_shape.clone()?;
        Some(
            self.layers
                .last()
                .map_or(input, |l| l.output_shape().to_vec()),
        )
    }

    /// Shape of one input sample, when known.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }

    /// True once every layer has its weights.
    pub fn built(&self) -> bool {
        self.input_shape.is_some()
    }

    /// Builds the model for samples of `input_shape` (Keras's `model.build`).
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if let Some(s) = &self.input_shape {
            if s.as_slice() == input_shape {
                return Ok(());
            }
            return Err(Error::shape(
                "model input",
                fmt_shape(None, s),
                fmt_shape(None, input_shape),
            ));
        }
        let mut shape = input_shape.to_vec();
        for l in self.layers.iter_mut() {
            shape = l
                .build(&shape, &mut self.rng)
                .map_err(|e| with_layer(e, l.name()))?;
        }
        self.input_shape = Some(input_shape.to_vec());
        self.compiled_fusion();
        Ok(())
    }

    /// The layers (without the input layer), in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// A layer by index.
    pub fn layer(&self, index: usize) -> Option<&dyn Layer> {
        self.layers.get(index).map(|l| l.as_ref())
    }

    /// A layer by name.
    pub fn get_layer(&self, name: &str) -> Option<&dyn Layer> {
        self.layers
            .iter()
            .find(|l| l.name() == name)
            .map(|l| l.as_ref())
    }

    /// A layer by name, mutable (to freeze parameters, say).
    pub fn get_layer_mut(&mut self, name: &str) -> Option<&mut Box<dyn Layer>> {
        self.layers.iter_mut().find(|l| l.name() == name)
    }

    /// Total number of parameters.
    pub fn count_params(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| l.params())
            .map(|p| p.value.len())
            .sum()
    }

    /// Every weight array in Keras's order (layer by layer; kernel then bias).
    pub fn get_weights(&self) -> Vec<ArrayD<f32>> {
        self.layers
            .iter()
            .flat_map(|l| l.params())
            .map(|p| {
                ArrayD::from_shape_vec(IxDyn(p.value.shape()), p.value.data().to_vec())
                    .expect("consistent")
            })
            .collect()
    }

    /// Replaces every weight array, in [`get_weights`](Self::get_weights) order.
    pub fn set_weights(&mut self, weights: &[ArrayD<f32>]) -> Result<()> {
        let count = self.layers.iter().map(|l| l.params().len()).sum::<usize>();
        if weights.len() != count {
            return Err(Error::shape(
                "set_weights",
                format!("{count} arrays"),
                format!("{} arrays", weights.len()),
            ));
        }
        let mut it = weights.iter();
        for l in &self.layers {
            for p in l.params() {
                let w = it.next().expect("counted");
                if w.shape() != p.value.shape() {
                    return Err(Error::shape(
                        format!("set_weights for layer '{}' variable '{}'", l.name(), p.name),
                        format!("{:?}", p.value.shape()),
                        format!("{:?}", w.shape()),
                    ));
                }
            }
        }
        let mut it = weights.iter();
        for l in self.layers.iter_mut() {
            for p in l.params_mut() {
                let w = it.next().expect("counted");
                for (d, s) in p.value.data_mut().iter_mut().zip(w.iter()) {
                    *d = *s;
                }
            }
        }
        Ok(())
    }

    /// The optimizer, once compiled.
    pub fn optimizer(&self) -> Option<&crate::optimizers::Optimizer> {
        self.compiled.as_ref().map(|c| &c.optimizer)
    }

    /// The optimizer, mutable (callbacks change its learning rate).
    pub fn optimizer_mut(&mut self) -> Option<&mut crate::optimizers::Optimizer> {
        self.compiled.as_mut().map(|c| &mut c.optimizer)
    }

    /// Marks the last layer fused with the loss when its activation allows it.
    pub(crate) fn compiled_fusion(&mut self) {
        let fused = match (&self.compiled, self.layers.last()) {
            (Some(c), Some(l)) => l.output_activation().is_some_and(|a| c.loss.fuses_with(&a)),
            _ => false,
        };
        let n = self.layers.len();
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.set_fused_output(fused && i + 1 == n);
        }
        if let Some(c) = &mut self.compiled {
            c.fused = fused;
        }
    }

    /// Runs every layer on `acts[0]`, filling `acts[1..]`.
    pub(crate) fn forward(&mut self, training: bool) {
        let n = self.layers.len();
        self.acts.resize_with(n + 1, Tensor::default);
        for i in 0..n {
            let (a, b) = self.acts.split_at_mut(i + 1);
            if i > 0 {
                // Keras's timestep masks (Embedding(mask_zero=True) -> RNN) flow layer to layer.
                let (lo, hi) = self.layers.split_at_mut(i);
                let mut j = i - 1;
                let mask = loop {
                    if let Some(m) = lo[j].output_mask() {
                        break Some(m);
                    }
                    if j == 0 || !lo[j].passes_mask() {
                        break None;
                    }
                    j -= 1;
                };
                hi[0].set_input_mask(mask);
            }
            self.layers[i].forward(&a[i], &mut b[0], training);
        }
    }

    /// Backpropagates `grads[n]` through every layer, setting parameter gradients.
    pub(crate) fn backward(&mut self) {
        let n = self.layers.len();
        self.grads.resize_with(n + 1, Tensor::default);
        // Input gradients are only worth computing while a layer below has parameters
        // (Flatten -> Dense: the Dense layer's input gradient would go nowhere).
        let first = self
            .layers
            .iter()
            .position(|l| !l.params().is_empty())
            .unwrap_or(n);
        for i in (first..n).rev() {
            let (lo, hi) = self.grads.split_at_mut(i + 1);
            let gx = if i > first { Some(&mut lo[i]) } else { None };
            self.layers[i].backward(&self.acts[i], &self.acts[i + 1], &mut hi[0], gx);
        }
    }
}

fn with_layer(e: Error, layer: &str) -> Error {
    match e {
        Error::Shape {
            context,
            expected,
            got,
        } if !context.contains(layer) => Error::Shape {
            context: format!("layer '{layer}': {context}"),
            expected,
            got,
        },
        e => e,
    }
}
