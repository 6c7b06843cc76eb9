//! [`Tensor`]: a shape and a contiguous row-major `f32` buffer. Batch is axis 0.
//!
//! The compute core works on tensors; the public API speaks `ndarray` and converts at the edge.

use ndarray::{ArrayD, IxDyn};

/// A dense row-major `f32` array. The buffer is reused when the shape changes to one of
/// equal or smaller size, so steady-state training allocates nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// A tensor from a shape and data; `None` when the sizes differ.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Option<Self> {
        (shape.iter().product::<usize>() == data.len()).then(|| Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The flat data.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The flat data, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Size of axis 0 (the batch), or 0 for a scalar shape.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Elements per row (product of all axes but the first).
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Changes the shape, reusing the buffer. Contents are unspecified afterwards
    /// (they are whatever was there); callers overwrite them.
    pub fn resize(&mut self, shape: &[usize]) {
        let n: usize = shape.iter().product();
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
        if self.data.len() != n {
            self.data.resize(n, 0.0);
        }
    }

    /// Sets the shape to `[batch] ++ dims`, reusing the buffer.
    pub fn resize_batch(&mut self, batch: usize, dims: &[usize]) {
        let n = batch * dims.iter().product::<usize>();
        if self.shape.len() != dims.len() + 1 || self.shape[0] != batch || self.shape[1..] != *dims
        {
            self.shape.clear();
            self.shape.push(batch);
            self.shape.extend_from_slice(dims);
        }
        if self.data.len() != n {
            self.data.resize(n, 0.0);
        }
    }

    /// Sets every element to `v`.
    pub fn fill(&mut self, v: f32) {
        self.data.fill(v);
    }

    /// Copies the tensor into an `ndarray` array.
    pub fn to_array(&self) -> ArrayD<f32> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), self.data.clone())
            .expect("tensor shape and data length agree")
    }

    /// A tensor from any `ndarray` array (copied into row-major order).
    pub fn from_array<S, D>(a: &ndarray::ArrayBase<S, D>) -> Self
    where
        S: ndarray::Data<Elem = f32>,
        D: ndarray::Dimension,
    {
        Tensor {
            shape: a.shape().to_vec(),
            data: a.iter().copied().collect(),
        }
    }
}
