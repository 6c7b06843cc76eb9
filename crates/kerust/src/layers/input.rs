//! `Input` / `InputLayer`: declares the shape of one sample.

use super::{base_config, Layer};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Result;

/// Keras's `InputLayer`: passes data through and fixes the model's input shape. A
/// [`Sequential`](crate::models::Sequential) model takes it as its input specification and
/// does not list it among its layers, as Keras does.
///
/// ```
/// use kerust::layers::{Dense, Input};
/// let model = kerust::models::Sequential::new(vec![
///     Input::new(&[784]).into(),
///     Dense::new(10).activation("softmax").into(),
/// ]).unwrap();
/// assert_eq!(model.layers().len(), 1);
/// ```
#[derive(Debug)]
pub struct InputLayer {
    name: String,
    shape: Vec<usize>,
}

/// Keras's `Input(shape=...)`, the usual way to write an [`InputLayer`].
pub type Input = InputLayer;

impl InputLayer {
    /// An input of samples shaped `shape` (without the batch axis).
    pub fn new(shape: &[usize]) -> Self {
        InputLayer {
            name: String::new(),
            shape: shape.to_vec(),
        }
    }

    /// The sample shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

impl Layer for InputLayer {
    fn class_name(&self) -> &'static str {
        "InputLayer"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        Some(&self.shape)
    }
    fn plan(&self, _input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        Ok((self.shape.clone(), 0))
    }
    fn build(&mut self, _input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        Ok(self.shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize(x.shape());
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
        let mut shape: Vec<serde_json::Value> = vec![serde_json::Value::Null];
        shape.extend(self.shape.iter().map(|&d| d.into()));
        m.insert("batch_shape".into(), shape.into());
        m.insert("sparse".into(), false.into());
        serde_json::Value::Object(m)
    }
}
