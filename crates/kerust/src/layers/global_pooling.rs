//! Global pooling over all spatial axes (channels last): `GlobalMaxPooling1D/2D/3D` and
//! `GlobalAveragePooling1D/2D/3D`.

use super::{base_config, Layer};
use crate::error::fmt_shape;
use crate::rng::Rng;
use crate::saving::config::Keys;
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Max,
    Average,
}

/// What the six global pooling layers share.
#[derive(Debug)]
struct Core {
    class: &'static str,
    op: Op,
    /// Spatial axes: 1, 2 or 3.
    rank: usize,
    keepdims: bool,
    name: String,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
    positions: usize,
    channels: usize,
    /// Max pooling: how many positions hold each row's maximum (ties share the gradient,
    /// as JAX's `max` does).
    ties: Vec<f32>,
}

impl Core {
    fn new(class: &'static str, op: Op, rank: usize) -> Self {
        Core {
            class,
            op,
            rank,
            keepdims: false,
            name: String::new(),
            input_shape: None,
            out: Vec::new(),
            positions: 0,
            channels: 0,
            ties: Vec::new(),
        }
    }

    fn read_keys(mut self, keys: &mut Keys<'_>) -> Result<Self> {
        keys.require(
            "data_format",
            |v| v.as_str() == Some("channels_last"),
            "channels_first pooling",
        )?;
        self.keepdims = keys.bool("keepdims", false)?;
        Ok(self)
    }

    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        if input_shape.len() != self.rank + 1 || input_shape.contains(&0) {
            let example = match self.rank {
                1 => "(None, steps, channels)",
                2 => "(None, rows, cols, channels)",
                _ => "(None, dim1, dim2, dim3, channels)",
            };
            return Err(Error::shape(
                format!("{} layer '{}'", self.class, self.name),
                format!("a {}-D input {example}", self.rank + 2),
                fmt_shape(None, input_shape),
            ));
        }
        super::checked_product(input_shape, self.class)?;
        let c = input_shape[self.rank];
        let out = if self.keepdims {
            let mut o = vec![1; self.rank];
            o.push(c);
            o
        } else {
            vec![c]
        };
        Ok((out, 0))
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        self.channels = input_shape[self.rank];
        self.positions = input_shape[..self.rank].iter().product();
        Ok(self.out.clone())
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let n = x.rows();
        let (p, c) = (self.positions, self.channels);
        y.resize_batch(n, &self.out);
        match self.op {
            Op::Average => {
                let inv = 1.0 / p as f32;
                for (yr, xs) in y
                    .data_mut()
                    .chunks_exact_mut(c)
                    .zip(x.data().chunks_exact(p * c))
                {
                    yr.fill(0.0);
                    for row in xs.chunks_exact(c) {
                        for (a, &v) in yr.iter_mut().zip(row) {
                            *a += v;
                        }
                    }
                    yr.iter_mut().for_each(|a| *a *= inv);
                }
            }
            Op::Max => {
                self.ties.resize(n * c, 0.0);
                for ((yr, xs), tr) in y
                    .data_mut()
                    .chunks_exact_mut(c)
                    .zip(x.data().chunks_exact(p * c))
                    .zip(self.ties.chunks_exact_mut(c))
                {
                    yr.fill(f32::NEG_INFINITY);
                    for row in xs.chunks_exact(c) {
                        for (a, &v) in yr.iter_mut().zip(row) {
                            // NaN propagates, as in `jnp.max`.
                            if v > *a || v.is_nan() {
                                *a = v;
                            }
                        }
                    }
                    tr.fill(0.0);
                    for row in xs.chunks_exact(c) {
                        for ((t, &v), &m) in tr.iter_mut().zip(row).zip(yr.iter()) {
                            if v == m {
                                *t += 1.0;
                            }
                        }
                    }
                }
            }
        }
    }

    fn backward(&self, x: &Tensor, y: &Tensor, gy: &Tensor, gx: &mut Tensor) {
        gx.resize(x.shape());
        let (p, c) = (self.positions, self.channels);
        let chunks = gx
            .data_mut()
            .chunks_exact_mut(p * c)
            .zip(gy.data().chunks_exact(c));
        match self.op {
            Op::Average => {
                let inv = 1.0 / p as f32;
                for (gs, gr) in chunks {
                    for row in gs.chunks_exact_mut(c) {
                        for (a, &g) in row.iter_mut().zip(gr) {
                            *a = g * inv;
                        }
                    }
                }
            }
            Op::Max => {
                for (((gs, gr), xs), (yr, tr)) in chunks
                    .zip(x.data().chunks_exact(p * c))
                    .zip(y.data().chunks_exact(c).zip(self.ties.chunks_exact(c)))
                {
                    for (grow, xrow) in gs.chunks_exact_mut(c).zip(xs.chunks_exact(c)) {
                        for k in 0..c {
                            grow[k] = if xrow[k] == yr[k] { gr[k] / tr[k] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }

    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("data_format".into(), "channels_last".into());
        m.insert("keepdims".into(), self.keepdims.into());
        Value::Object(m)
    }
}

macro_rules! global_pooling {
    ($(#[$doc:meta])* $ty:ident, $op:expr, $rank:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            core: Core,
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $ty {
            /// The layer, channels last, without `keepdims`.
            pub fn new() -> Self {
                $ty {
                    core: Core::new(stringify!($ty), $op, $rank),
                }
            }
            /// Keep the pooled axes as size 1 (Keras's `keepdims`, default false).
            pub fn keepdims(mut self, keep: bool) -> Self {
                self.core.keepdims = keep;
                self
            }
            /// The shape of one input sample, when this is the first layer.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.core.input_shape = Some(shape.to_vec());
                self
            }
            /// A user-chosen layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.core.name = name.to_string();
                self
            }
            /// Reads Keras's config options.
            pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
                Ok($ty {
                    core: Self::new().core.read_keys(keys)?,
                })
            }
        }

        impl Layer for $ty {
            fn class_name(&self) -> &'static str {
                self.core.class
            }
            fn name(&self) -> &str {
                &self.core.name
            }
            fn set_name(&mut self, name: String) {
                self.core.name = name;
            }
            fn declared_input_shape(&self) -> Option<&[usize]> {
                self.core.input_shape.as_deref()
            }
            fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
                self.core.plan(input_shape)
            }
            fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
                self.core.build(input_shape)
            }
            fn output_shape(&self) -> &[usize] {
                &self.core.out
            }
            fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
                self.core.forward(x, y);
            }
            fn backward(
                &mut self,
                x: &Tensor,
                y: &Tensor,
                gy: &mut Tensor,
                gx: Option<&mut Tensor>,
            ) {
                if let Some(gx) = gx {
                    self.core.backward(x, y, gy, gx);
                }
            }
            fn config(&self) -> Value {
                self.core.config()
            }
        }
    };
}

global_pooling!(
    /// Keras's `GlobalMaxPooling1D`: `(None, steps, channels)` to `(None, channels)`, the
    /// maximum over the steps.
    ///
    /// ```
    /// use kerust::layers::GlobalMaxPooling1D;
    /// let layer = GlobalMaxPooling1D::new().input_shape(&[10, 4]);
    /// ```
    GlobalMaxPooling1D,
    Op::Max,
    1
);
global_pooling!(
    /// Keras's `GlobalMaxPooling2D`: `(None, rows, cols, channels)` to `(None, channels)`,
    /// the maximum over rows and columns.
    ///
    /// ```
    /// use kerust::layers::GlobalMaxPooling2D;
    /// let layer = GlobalMaxPooling2D::new().keepdims(true);
    /// ```
    GlobalMaxPooling2D,
    Op::Max,
    2
);
global_pooling!(
    /// Keras's `GlobalMaxPooling3D`: `(None, d1, d2, d3, channels)` to `(None, channels)`.
    ///
    /// ```
    /// use kerust::layers::GlobalMaxPooling3D;
    /// let layer = GlobalMaxPooling3D::new();
    /// ```
    GlobalMaxPooling3D,
    Op::Max,
    3
);
global_pooling!(
    /// Keras's `GlobalAveragePooling1D`: `(None, steps, channels)` to `(None, channels)`,
    /// the mean over the steps.
    ///
    /// ```
    /// use kerust::layers::GlobalAveragePooling1D;
    /// let layer = GlobalAveragePooling1D::new().input_shape(&[10, 4]);
    /// ```
    GlobalAveragePooling1D,
    Op::Average,
    1
);
global_pooling!(
    /// Keras's `GlobalAveragePooling2D`: `(None, rows, cols, channels)` to
    /// `(None, channels)`, the mean over rows and columns.
    ///
    /// ```
    /// use kerust::prelude::*;
    /// use kerust::layers::GlobalAveragePooling2D;
    /// let model = Sequential::new(vec![
    ///     Dense::new(4).input_shape(&[8, 8, 3]).into(),
    ///     GlobalAveragePooling2D::new().into(),
    /// ])?;
    /// assert_eq!(model.output_shape(), Some(vec![4]));
    /// # Ok::<(), kerust::Error>(())
    /// ```
    GlobalAveragePooling2D,
    Op::Average,
    2
);
global_pooling!(
    /// Keras's `GlobalAveragePooling3D`: `(None, d1, d2, d3, channels)` to
    /// `(None, channels)`.
    ///
    /// ```
    /// use kerust::layers::GlobalAveragePooling3D;
    /// let layer = GlobalAveragePooling3D::new().keepdims(true);
    /// ```
    GlobalAveragePooling3D,
    Op::Average,
    3
);
