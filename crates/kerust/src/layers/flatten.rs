//! `Flatten`: one sample becomes one vector.

use super::{base_config, Layer};
use crate::rng::Rng;
use crate::saving::config::Keys;
use crate::tensor::Tensor;
use crate::Result;

/// Keras's `Flatten`: `(None, 28, 28)` becomes `(None, 784)`.
///
/// ```
/// use kerust::layers::Flatten;
/// let layer = Flatten::new().input_shape(&[28, 28]);
/// ```
#[derive(Debug, Default)]
pub struct Flatten {
    name: String,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Self::default()
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

impl Flatten {
    /// Reads Keras's `Flatten` config options (channels_last only).
    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        keys.require(
            "data_format",
            |v| v.as_str() == Some("channels_last"),
            "channels_first flattening",
        )?;
        Ok(Flatten::new())
    }
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
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
        Ok((vec![super::checked_product(input_shape, "Flatten")?], 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        Ok(self.out.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize_batch(x.rows(), &self.out);
        y.data_mut().copy_from_slice(x.data());
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if let Some(gx) = gx {
            gx.resize(x.shape());
            gx.data_mut().copy_from_slice(gy.data());
        }
    }
    fn config(&self) -> serde_json::Value {
        let mut m = base_config(&self.name, true);
        m.insert("data_format".into(), "channels_last".into());
        serde_json::Value::Object(m)
    }
}
