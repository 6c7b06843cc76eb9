//! Layers that move values without arithmetic (channels last): `Reshape`, `Permute`,
//! `RepeatVector`, `ZeroPadding2D`, `Cropping2D`, `UpSampling2D` (nearest; bilinear as
//! Keras/JAX resize with half-pixel centers).

use super::{base_config, Layer};
use crate::error::fmt_shape;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::{json, Value};

/// Marks an output element with no source (zero padding).
const NONE: usize = usize::MAX;

/// A per-sample gather: output element `o` of a sample is input element `map[o]` of the
/// same sample (or 0 for [`NONE`]). Backward scatters (adds) the gradient back.
#[derive(Debug, Default)]
struct Gather {
    map: Vec<usize>,
    in_len: usize,
}

impl Gather {
    fn forward(&self, x: &Tensor, y: &mut Tensor, out_shape: &[usize]) {
        y.resize_batch(x.rows(), out_shape);
        let out_len = self.map.len();
        if out_len == 0 || self.in_len == 0 {
            return;
        }
        for (ys, xs) in y
            .data_mut()
            .chunks_exact_mut(out_len)
            .zip(x.data().chunks_exact(self.in_len))
        {
            for (v, &m) in ys.iter_mut().zip(&self.map) {
                *v = if m == NONE { 0.0 } else { xs[m] };
            }
        }
    }

    fn backward(&self, x: &Tensor, gy: &Tensor, gx: &mut Tensor) {
        gx.resize(x.shape());
        gx.fill(0.0);
        let out_len = self.map.len();
        if out_len == 0 || self.in_len == 0 {
            return;
        }
        for (gs, gys) in gx
            .data_mut()
            .chunks_exact_mut(self.in_len)
            .zip(gy.data().chunks_exact(out_len))
        {
            for (&g, &m) in gys.iter().zip(&self.map) {
                if m != NONE {
                    gs[m] += g;
                }
            }
        }
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The gather for output `out_shape` where output multi-index `idx` reads input offset
/// `src(idx)`.
fn gather_map(
    out_shape: &[usize],
    in_len: usize,
    src: impl Fn(&[usize]) -> Option<usize>,
) -> Gather {
    let n: usize = out_shape.iter().product();
    let mut map = Vec::with_capacity(n);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..n {
        map.push(src(&idx).unwrap_or(NONE));
        for a in (0..idx.len()).rev() {
            idx[a] += 1;
            if idx[a] < out_shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Gather { map, in_len }
}

macro_rules! common_layer_methods {
    () => {
        fn name(&self) -> &str {
            &self.name
        }
        fn set_name(&mut self, name: String) {
            self.name = name;
        }
        fn declared_input_shape(&self) -> Option<&[usize]> {
            self.input_shape.as_deref()
        }
        fn output_shape(&self) -> &[usize] {
            &self.out
        }
    };
}

macro_rules! builder_methods {
    () => {
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
    };
}

fn shape_err(class: &str, name: &str, expected: &str, got: &[usize]) -> Error {
    Error::shape(
        format!("{class} layer '{name}'"),
        expected,
        fmt_shape(None, got),
    )
}

fn read_ints(keys: &Keys<'_>, k: &str, v: &Value) -> Result<Vec<i64>> {
    v.as_array()
        .and_then(|a| a.iter().map(|d| d.as_i64()).collect::<Option<Vec<_>>>())
        .ok_or_else(|| {
            keys.err(format!(
                "`{k}` must be a list of integers, got {}",
                cfg::brief(v)
            ))
        })
}

fn channels_last(keys: &mut Keys<'_>) -> Result<()> {
    keys.require(
        "data_format",
        |v| v.as_str() == Some("channels_last"),
        "channels_first inputs",
    )
}

// ---------------------------------------------------------------------------------------
// Reshape
// ---------------------------------------------------------------------------------------

/// Keras's `Reshape`: each sample takes `target_shape`; one entry may be `-1`, inferred.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::Reshape;
/// let model = Sequential::new(vec![Reshape::new(&[4, -1]).input_shape(&[8, 3]).into()])?;
/// assert_eq!(model.output_shape(), Some(vec![4, 6]));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Reshape {
    name: String,
    target: Vec<i64>,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
}

impl Reshape {
    /// Reshape each sample to `target_shape` (one `-1` allowed).
    pub fn new(target_shape: &[i64]) -> Self {
        Reshape {
            name: String::new(),
            target: target_shape.to_vec(),
            input_shape: None,
            out: Vec::new(),
        }
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        let v = keys
            .get("target_shape")
            .ok_or_else(|| keys.err("Reshape needs `target_shape`"))?;
        Ok(Reshape::new(&read_ints(keys, "target_shape", v)?))
    }
}

impl Layer for Reshape {
    fn class_name(&self) -> &'static str {
        "Reshape"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let n = super::checked_product(input_shape, "Reshape")?;
        let bad = |why: &str| {
            Error::arg(
                "target_shape",
                format!(
                    "Reshape layer '{}': cannot reshape {} ({n} values) to {:?}: {why}",
                    self.name,
                    fmt_shape(None, input_shape),
                    self.target
                ),
            )
        };
        if self.target.is_empty() || self.target.iter().filter(|&&d| d == -1).count() > 1 {
            return Err(bad("give one or more sizes, at most one of them -1"));
        }
        let mut known = 1usize;
        for &d in &self.target {
            if d == -1 {
                continue;
            }
            let d = usize::try_from(d)
                .ok()
                .filter(|&d| d > 0)
                .ok_or_else(|| bad("sizes must be positive"))?;
            known = known
                .checked_mul(d)
                .ok_or_else(|| bad("the sizes overflow"))?;
        }
        let out: Vec<usize> = self
            .target
            .iter()
            .map(|&d| if d == -1 { n / known } else { d as usize })
            .collect();
        if n % known != 0 || out.iter().product::<usize>() != n {
            return Err(bad("the sizes do not match"));
        }
        Ok((out, 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        Ok(self.out.clone())
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
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("target_shape".into(), json!(self.target));
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// Permute
// ---------------------------------------------------------------------------------------

/// Keras's `Permute`: reorders the sample axes; `dims` are 1-based (the batch axis stays).
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::Permute;
/// let model = Sequential::new(vec![Permute::new(&[2, 1]).input_shape(&[10, 64]).into()])?;
/// assert_eq!(model.output_shape(), Some(vec![64, 10]));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Permute {
    name: String,
    dims: Vec<usize>,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
    gather: Gather,
}

impl Permute {
    /// The permutation of the sample axes, 1-based (`&[2, 1]` swaps two axes).
    pub fn new(dims: &[usize]) -> Self {
        Permute {
            name: String::new(),
            dims: dims.to_vec(),
            input_shape: None,
            out: Vec::new(),
            gather: Gather::default(),
        }
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        let v = keys
            .get("dims")
            .ok_or_else(|| keys.err("Permute needs `dims`"))?;
        let dims = read_ints(keys, "dims", v)?
            .into_iter()
            .map(|d| usize::try_from(d).unwrap_or(0))
            .collect::<Vec<_>>();
        Ok(Permute::new(&dims))
    }
}

impl Layer for Permute {
    fn class_name(&self) -> &'static str {
        "Permute"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let r = input_shape.len();
        let mut seen = vec![false; r];
        let ok = self.dims.len() == r
            && self
                .dims
                .iter()
                .all(|&d| (1..=r).contains(&d) && !std::mem::replace(&mut seen[d - 1], true));
        if !ok {
            return Err(Error::arg(
                "dims",
                format!(
                    "Permute layer '{}': dims {:?} must be a permutation of 1..={r} for inputs {}",
                    self.name,
                    self.dims,
                    fmt_shape(None, input_shape)
                ),
            ));
        }
        super::checked_product(input_shape, "Permute")?;
        Ok((self.dims.iter().map(|&d| input_shape[d - 1]).collect(), 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        let st = strides(input_shape);
        let dims = self.dims.clone();
        self.gather = gather_map(&self.out, input_shape.iter().product(), |idx| {
            Some(idx.iter().zip(&dims).map(|(&i, &d)| i * st[d - 1]).sum())
        });
        Ok(self.out.clone())
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        self.gather.forward(x, y, &self.out);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if let Some(gx) = gx {
            self.gather.backward(x, gy, gx);
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("dims".into(), json!(self.dims));
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// RepeatVector
// ---------------------------------------------------------------------------------------

/// Keras's `RepeatVector`: `(None, features)` to `(None, n, features)`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::RepeatVector;
/// let model = Sequential::new(vec![RepeatVector::new(3).input_shape(&[32]).into()])?;
/// assert_eq!(model.output_shape(), Some(vec![3, 32]));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct RepeatVector {
    name: String,
    n: usize,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
}

impl RepeatVector {
    /// Repeat each input vector `n` times.
    pub fn new(n: usize) -> Self {
        RepeatVector {
            name: String::new(),
            n,
            input_shape: None,
            out: Vec::new(),
        }
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        let n = keys
            .usize("n")?
            .ok_or_else(|| keys.err("RepeatVector needs `n`"))?;
        Ok(RepeatVector::new(n))
    }
}

impl Layer for RepeatVector {
    fn class_name(&self) -> &'static str {
        "RepeatVector"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        if input_shape.len() != 1 {
            return Err(shape_err(
                "RepeatVector",
                &self.name,
                "a 2-D input (None, features)",
                input_shape,
            ));
        }
        if self.n == 0 {
            return Err(Error::arg(
                "n",
                format!("RepeatVector layer '{}' needs n > 0", self.name),
            ));
        }
        let out = vec![self.n, input_shape[0]];
        super::checked_product(&out, "RepeatVector")?;
        Ok((out, 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        Ok(self.out.clone())
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize_batch(x.rows(), &self.out);
        let f = self.out[1];
        if f == 0 {
            return;
        }
        for (ys, xs) in y
            .data_mut()
            .chunks_exact_mut(self.n * f)
            .zip(x.data().chunks_exact(f))
        {
            for row in ys.chunks_exact_mut(f) {
                row.copy_from_slice(xs);
            }
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let Some(gx) = gx else { return };
        gx.resize(x.shape());
        gx.fill(0.0);
        let f = self.out[1];
        if f == 0 {
            return;
        }
        for (gs, gys) in gx
            .data_mut()
            .chunks_exact_mut(f)
            .zip(gy.data().chunks_exact(self.n * f))
        {
            for row in gys.chunks_exact(f) {
                for (a, &b) in gs.iter_mut().zip(row) {
                    *a += b;
                }
            }
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("n".into(), self.n.into());
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// ZeroPadding2D and Cropping2D
// ---------------------------------------------------------------------------------------

/// `((top, bottom), (left, right))` from Keras's int / pair / pair of pairs.
fn read_pairs(keys: &mut Keys<'_>, k: &'static str, default: usize) -> Result<[[usize; 2]; 2]> {
    let Some(v) = keys.get(k) else {
        return Ok([[default; 2]; 2]);
    };
    let bad = || {
        keys.err(format!(
            "`{k}` must be an integer, a pair or a pair of pairs of integers >= 0, got {}",
            cfg::brief(v)
        ))
    };
    let int = |x: &Value| x.as_u64().and_then(|n| usize::try_from(n).ok());
    if let Some(n) = int(v) {
        return Ok([[n; 2]; 2]);
    }
    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let mut out = [[0; 2]; 2];
    for (o, e) in out.iter_mut().zip(a) {
        *o = match (int(e), e.as_array()) {
            (Some(n), _) => [n, n],
            (None, Some(p)) if p.len() == 2 => {
                [int(&p[0]).ok_or_else(bad)?, int(&p[1]).ok_or_else(bad)?]
            }
            _ => return Err(bad()),
        };
    }
    Ok(out)
}

fn check_image(class: &str, name: &str, input_shape: &[usize]) -> Result<()> {
    if input_shape.len() != 3 {
        return Err(shape_err(
            class,
            name,
            "a 4-D input (None, rows, cols, channels)",
            input_shape,
        ));
    }
    super::checked_product(input_shape, class)?;
    Ok(())
}

/// Keras's `ZeroPadding2D`: adds rows and columns of zeros around each image.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::ZeroPadding2D;
/// let model = Sequential::new(vec![
///     ZeroPadding2D::new(((1, 0), (2, 2))).input_shape(&[28, 28, 3]).into(),
/// ])?;
/// assert_eq!(model.output_shape(), Some(vec![29, 32, 3]));
/// let same_on_every_side = ZeroPadding2D::new(1);
/// let rows_and_cols = ZeroPadding2D::new((1, 2));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct ZeroPadding2D {
    name: String,
    padding: [[usize; 2]; 2],
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
    gather: Gather,
}

/// A 2-D padding or cropping amount, as Keras takes it: `n`, `(rows, cols)` or
/// `((top, bottom), (left, right))`.
pub trait IntoPairs {
    /// `[[top, bottom], [left, right]]`.
    fn into_pairs(self) -> [[usize; 2]; 2];
}
impl IntoPairs for usize {
    fn into_pairs(self) -> [[usize; 2]; 2] {
        [[self; 2]; 2]
    }
}
impl IntoPairs for (usize, usize) {
    fn into_pairs(self) -> [[usize; 2]; 2] {
        [[self.0; 2], [self.1; 2]]
    }
}
impl IntoPairs for ((usize, usize), (usize, usize)) {
    fn into_pairs(self) -> [[usize; 2]; 2] {
        [[self.0 .0, self.0 .1], [self.1 .0, self.1 .1]]
    }
}

impl ZeroPadding2D {
    /// Padding `n`, `(rows, cols)` or `((top, bottom), (left, right))`.
    pub fn new(padding: impl IntoPairs) -> Self {
        ZeroPadding2D {
            name: String::new(),
            padding: padding.into_pairs(),
            input_shape: None,
            out: Vec::new(),
            gather: Gather::default(),
        }
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        channels_last(keys)?;
        let p = read_pairs(keys, "padding", 1)?;
        Ok(ZeroPadding2D::new(((p[0][0], p[0][1]), (p[1][0], p[1][1]))))
    }
}

impl Layer for ZeroPadding2D {
    fn class_name(&self) -> &'static str {
        "ZeroPadding2D"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        check_image("ZeroPadding2D", &self.name, input_shape)?;
        let [[t, b], [l, r]] = self.padding;
        let grow = |d: usize, a: usize, c: usize| d.checked_add(a).and_then(|s| s.checked_add(c));
        let out = match (grow(input_shape[0], t, b), grow(input_shape[1], l, r)) {
            (Some(h), Some(w)) => vec![h, w, input_shape[2]],
            _ => return Err(Error::arg("padding", "the padded size overflows")),
        };
        super::checked_product(&out, "ZeroPadding2D")?;
        Ok((out, 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        let (h, w, c) = (input_shape[0], input_shape[1], input_shape[2]);
        let (t, l) = (self.padding[0][0], self.padding[1][0]);
        self.gather = gather_map(&self.out, h * w * c, |idx| {
            let (i, j) = (idx[0].checked_sub(t)?, idx[1].checked_sub(l)?);
            (i < h && j < w).then(|| (i * w + j) * c + idx[2])
        });
        Ok(self.out.clone())
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        self.gather.forward(x, y, &self.out);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if let Some(gx) = gx {
            self.gather.backward(x, gy, gx);
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("padding".into(), json!(self.padding));
        m.insert("data_format".into(), "channels_last".into());
        Value::Object(m)
    }
}

/// Keras's `Cropping2D`: removes rows and columns at the edges of each image.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::Cropping2D;
/// let model = Sequential::new(vec![
///     Cropping2D::new(((2, 2), (4, 4))).input_shape(&[28, 28, 3]).into(),
/// ])?;
/// assert_eq!(model.output_shape(), Some(vec![24, 20, 3]));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Cropping2D {
    name: String,
    cropping: [[usize; 2]; 2],
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
    gather: Gather,
}

impl Cropping2D {
    /// Cropping `n`, `(rows, cols)` or `((top, bottom), (left, right))`.
    pub fn new(cropping: impl IntoPairs) -> Self {
        Cropping2D {
            name: String::new(),
            cropping: cropping.into_pairs(),
            input_shape: None,
            out: Vec::new(),
            gather: Gather::default(),
        }
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        channels_last(keys)?;
        let p = read_pairs(keys, "cropping", 0)?;
        Ok(Cropping2D::new(((p[0][0], p[0][1]), (p[1][0], p[1][1]))))
    }
}

impl Layer for Cropping2D {
    fn class_name(&self) -> &'static str {
        "Cropping2D"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        check_image("Cropping2D", &self.name, input_shape)?;
        let [[t, b], [l, r]] = self.cropping;
        let keep = |d: usize, a: usize, c: usize| {
            a.checked_add(c)
                .and_then(|s| d.checked_sub(s))
                .filter(|&k| k > 0)
        };
        match (keep(input_shape[0], t, b), keep(input_shape[1], l, r)) {
            (Some(h), Some(w)) => Ok((vec![h, w, input_shape[2]], 0)),
            _ => Err(Error::arg(
                "cropping",
                format!(
                    "Cropping2D layer '{}': cropping {:?} leaves nothing of inputs {}",
                    self.name,
                    self.cropping,
                    fmt_shape(None, input_shape)
                ),
            )),
        }
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out = self.plan(input_shape)?.0;
        let (h, w, c) = (input_shape[0], input_shape[1], input_shape[2]);
        let (t, l) = (self.cropping[0][0], self.cropping[1][0]);
        self.gather = gather_map(&self.out, h * w * c, |idx| {
            Some(((idx[0] + t) * w + idx[1] + l) * c + idx[2])
        });
        Ok(self.out.clone())
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        self.gather.forward(x, y, &self.out);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if let Some(gx) = gx {
            self.gather.backward(x, gy, gx);
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("cropping".into(), json!(self.cropping));
        m.insert("data_format".into(), "channels_last".into());
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// UpSampling2D
// ---------------------------------------------------------------------------------------

/// The two input rows (or columns) and weights of each output row for bilinear resizing
/// with half-pixel centers, edges clamped (JAX's `image.resize` when enlarging).
fn bilinear_taps(n_in: usize, factor: usize) -> Vec<(usize, usize, f32, f32)> {
    let n_out = n_in * factor;
    (0..n_out)
        .map(|o| {
            let src = ((o as f64 + 0.5) / factor as f64 - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(n_in - 1);
            let i1 = (i0 + 1).min(n_in - 1);
            let w1 = (src - i0 as f64) as f32;
            let w1 = if i1 == i0 { 0.0 } else { w1 };
            (i0, i1, 1.0 - w1, w1)
        })
        .collect()
}

/// Keras's `UpSampling2D`: repeats each image's rows and columns `size` times
/// (`interpolation = "nearest"`), or resizes bilinearly (`"bilinear"`).
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::UpSampling2D;
/// let model = Sequential::new(vec![
///     UpSampling2D::new((2, 2)).interpolation("bilinear").input_shape(&[8, 8, 3]).into(),
/// ])?;
/// assert_eq!(model.output_shape(), Some(vec![16, 16, 3]));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct UpSampling2D {
    name: String,
    size: [usize; 2],
    bilinear: bool,
    deferred_error: Option<Error>,
    input_shape: Option<Vec<usize>>,
    out: Vec<usize>,
    in_shape: Vec<usize>,
    gather: Gather,
    rows: Vec<(usize, usize, f32, f32)>,
    cols: Vec<(usize, usize, f32, f32)>,
}

/// An upsampling factor: `n` or `(rows, cols)`.
pub trait IntoSize {
    /// `[rows, cols]`.
    fn into_size(self) -> [usize; 2];
}
impl IntoSize for usize {
    fn into_size(self) -> [usize; 2] {
        [self; 2]
    }
}
impl IntoSize for (usize, usize) {
    fn into_size(self) -> [usize; 2] {
        [self.0, self.1]
    }
}

impl UpSampling2D {
    /// Upsampling factors `n` or `(rows, cols)`, nearest-neighbour.
    pub fn new(size: impl IntoSize) -> Self {
        UpSampling2D {
            name: String::new(),
            size: size.into_size(),
            bilinear: false,
            deferred_error: None,
            input_shape: None,
            out: Vec::new(),
            in_shape: Vec::new(),
            gather: Gather::default(),
            rows: Vec::new(),
            cols: Vec::new(),
        }
    }
    /// `"nearest"` (default) or `"bilinear"`.
    pub fn interpolation(mut self, method: &str) -> Self {
        match method {
            "nearest" => self.bilinear = false,
            "bilinear" => self.bilinear = true,
            other => {
                self.deferred_error = Some(Error::unknown(
                    "interpolation",
                    other,
                    &["nearest", "bilinear"],
                ))
            }
        }
        self
    }
    builder_methods!();

    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        channels_last(keys)?;
        let size = match keys.get("size") {
            None => [2, 2],
            Some(v) => {
                let s = match v.as_u64() {
                    Some(n) => vec![n as i64, n as i64],
                    None => read_ints(keys, "size", v)?,
                };
                match s.as_slice() {
                    [a, b] if *a > 0 && *b > 0 => [*a as usize, *b as usize],
                    _ => {
                        return Err(keys.err(format!(
                            "`size` must be two positive integers, got {}",
                            cfg::brief(v)
                        )))
                    }
                }
            }
        };
        let mut l = UpSampling2D::new((size[0], size[1]));
        match keys.str("interpolation")? {
            None | Some("nearest") => {}
            Some("bilinear") => l.bilinear = true,
            Some(other) => {
                return Err(keys.err(format!(
                    "interpolation '{other}' is not supported by kerust (nearest, bilinear)"
                )))
            }
        }
        Ok(l)
    }
}

impl Layer for UpSampling2D {
    fn class_name(&self) -> &'static str {
        "UpSampling2D"
    }
    common_layer_methods!();
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        check_image("UpSampling2D", &self.name, input_shape)?;
        if self.size.contains(&0) {
            return Err(Error::arg(
                "size",
                format!("UpSampling2D layer '{}' needs sizes > 0", self.name),
            ));
        }
        let out = match (
            input_shape[0].checked_mul(self.size[0]),
            input_shape[1].checked_mul(self.size[1]),
        ) {
            (Some(h), Some(w)) => vec![h, w, input_shape[2]],
            _ => return Err(Error::arg("size", "the upsampled size overflows")),
        };
        super::checked_product(&out, "UpSampling2D")?;
        Ok((out, 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        self.out = self.plan(input_shape)?.0;
        self.in_shape = input_shape.to_vec();
        let (h, w, c) = (input_shape[0], input_shape[1], input_shape[2]);
        if self.bilinear {
            self.rows = bilinear_taps(h, self.size[0]);
            self.cols = bilinear_taps(w, self.size[1]);
        } else {
            let [sh, sw] = self.size;
            self.gather = gather_map(&self.out, h * w * c, |idx| {
                Some(((idx[0] / sh) * w + idx[1] / sw) * c + idx[2])
            });
        }
        Ok(self.out.clone())
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        if !self.bilinear {
            self.gather.forward(x, y, &self.out);
            return;
        }
        y.resize_batch(x.rows(), &self.out);
        let (w, c) = (self.in_shape[1], self.in_shape[2]);
        let in_len: usize = self.in_shape.iter().product();
        let out_len: usize = self.out.iter().product();
        let ow = self.out[1];
        for (ys, xs) in y
            .data_mut()
            .chunks_exact_mut(out_len)
            .zip(x.data().chunks_exact(in_len))
        {
            for (oi, &(r0, r1, a0, a1)) in self.rows.iter().enumerate() {
                for (oj, &(c0, c1, b0, b1)) in self.cols.iter().enumerate() {
                    let o = (oi * ow + oj) * c;
                    for k in 0..c {
                        let at = |r: usize, q: usize| xs[(r * w + q) * c + k];
                        ys[o + k] = a0 * (b0 * at(r0, c0) + b1 * at(r0, c1))
                            + a1 * (b0 * at(r1, c0) + b1 * at(r1, c1));
                    }
                }
            }
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let Some(gx) = gx else { return };
        if !self.bilinear {
            self.gather.backward(x, gy, gx);
            return;
        }
        gx.resize(x.shape());
        gx.fill(0.0);
        let (w, c) = (self.in_shape[1], self.in_shape[2]);
        let in_len: usize = self.in_shape.iter().product();
        let out_len: usize = self.out.iter().product();
        let ow = self.out[1];
        for (gs, gys) in gx
            .data_mut()
            .chunks_exact_mut(in_len)
            .zip(gy.data().chunks_exact(out_len))
        {
            for (oi, &(r0, r1, a0, a1)) in self.rows.iter().enumerate() {
                for (oj, &(c0, c1, b0, b1)) in self.cols.iter().enumerate() {
                    let o = (oi * ow + oj) * c;
                    for k in 0..c {
                        let g = gys[o + k];
                        gs[(r0 * w + c0) * c + k] += a0 * b0 * g;
                        gs[(r0 * w + c1) * c + k] += a0 * b1 * g;
                        gs[(r1 * w + c0) * c + k] += a1 * b0 * g;
                        gs[(r1 * w + c1) * c + k] += a1 * b1 * g;
                    }
                }
            }
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("size".into(), json!(self.size));
        m.insert("data_format".into(), "channels_last".into());
        m.insert(
            "interpolation".into(),
            if self.bilinear { "bilinear" } else { "nearest" }.into(),
        );
        Value::Object(m)
    }
}
