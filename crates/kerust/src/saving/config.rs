//! Keras's JSON model configs (`config.json`, the legacy `model_config` attribute,
//! `model.to_json()`) to kerust objects and back.
//!
//! Reading is strict: a layer class, an option or an option value that kerust cannot honor
//! is an error naming the layer and the file, never a silent skip.

use crate::activations::Activation as Act;
use crate::initializers::Initializer;
use crate::layers::{
    ActivationLayer, BatchNormalization, Dense, Dropout, Flatten, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    GlobalMaxPooling3D, GroupNormalization, InputLayer, Layer, LayerNormalization, Regularizer,
    UnitNormalization,
};
use crate::layers::{
    Cropping2D, GaussianDropout, GaussianNoise, Permute, RepeatVector, Reshape, SpatialDropout2D,
    UpSampling2D, ZeroPadding2D,
};
use crate::losses::{LossKind, Reduction};
use crate::models::{MetricSpec, Sequential};
use crate::optimizers::Optimizer;
use crate::{Error, Result};
use serde_json::{json, Map, Value};

/// The layer classes kerust rebuilds from a Keras config.
pub const LAYER_CLASSES: &[&str] = &[
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "UnitNormalization",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "Reshape",
    "Permute",
    "RepeatVector",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Embedding",
    "Bidirectional",
    "TimeDistributed",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
];

/// Most parameters a model read from an architecture-only JSON (`model_from_json`,
/// `kerust train --model`) may declare: 2^28 (1 GiB of float32 weights, 3-4 GiB once an
/// Adam-like optimizer has its slots). A `.keras` or `.h5` file bounds its model by the
/// weights it holds; a JSON holds none, so a few bytes could otherwise ask for any size.
/// The bound is above every Sequential model one trains on a CPU (VGG-16, 138M, fits) and
/// low enough that a hostile JSON cannot exhaust a machine's memory.
pub(crate) const MAX_JSON_PARAMS: usize = 1 << 28;

/// The fewest bytes per JSON value a model config may average. Keras's and kerust's configs
/// average 16-21 bytes a value (`"name": "dense_1"` and the like); JSON denser than 10 is
/// not a config but a flood of tiny values, each of which would take 32 bytes or more once
/// parsed. Refusing it before parsing keeps parsing within about 8 times the text's size.
pub(crate) const MIN_JSON_BYTES_PER_VALUE: usize = 10;

/// Parses a model config's JSON text, refusing first (without allocating) text packing more
/// values than a config could: see [`MIN_JSON_BYTES_PER_VALUE`]. The error is a reason.
pub(crate) fn parse_json(text: &[u8]) -> std::result::Result<Value, String> {
    let (mut values, mut in_string, mut escaped) = (1usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => values += 1,
                _ => {}
            }
        }
    }
    if values > 256 && values.saturating_mul(MIN_JSON_BYTES_PER_VALUE) > text.len() {
        return Err(format!(
            "{values} JSON values in {} bytes: denser than a model config (at least \
             {MIN_JSON_BYTES_PER_VALUE} bytes a value); refusing to parse it",
            text.len()
        ));
    }
    serde_json::from_slice(text).map_err(|e| e.to_string())
}

/// A Keras model config, parsed and checked, before anything is allocated.
#[derive(Debug)]
pub(crate) struct ModelSpec {
    pub name: String,
    pub input_shape: Option<Vec<usize>>,
    pub layers: Vec<LayerSpec>,
}

#[derive(Debug)]
pub(crate) struct LayerSpec {
    pub trainable: bool,
    /// The layer, named and configured, not yet built (nothing allocated).
    pub layer: Box<dyn Layer>,
    /// `input_shape` / `batch_input_shape` given on the layer itself (Keras 2 files).
    pub input_shape: Option<Vec<usize>>,
}

/// A compile config: the optimizer, the loss and the metrics.
#[derive(Debug)]
pub(crate) struct CompileSpec {
    pub optimizer: Optimizer,
    pub loss: crate::losses::Loss,
    pub metrics: Vec<MetricSpec>,
}

pub(crate) fn cfg_err(what: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Config {
        what: what.into(),
        reason: reason.into(),
    }
}

/// Reads the keys of one config object, remembering which were understood, so that
/// [`Keys::finish`] can refuse the rest.
pub(crate) struct Keys<'a> {
    obj: &'a Map<String, Value>,
    used: Vec<&'static str>,
    ctx: String,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(v: &'a Value, ctx: String) -> Result<Self> {
        match v.as_object() {
            Some(obj) => Ok(Keys {
                obj,
                used: Vec::new(),
                ctx,
            }),
            None => Err(cfg_err(
                ctx,
                format!("expected a JSON object, got {}", brief(v)),
            )),
        }
    }

    pub(crate) fn get(&mut self, k: &'static str) -> Option<&'a Value> {
        self.used.push(k);
        self.obj.get(k).filter(|v| !v.is_null())
    }

    pub(crate) fn err(&self, reason: impl Into<String>) -> Error {
        cfg_err(self.ctx.clone(), reason)
    }

    pub(crate) fn usize(&mut self, k: &'static str) -> Result<Option<usize>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) => usize::try_from(n)
                    .map(Some)
                    .map_err(|_| self.err(format!("`{k}` = {n} is too large"))),
                None => Err(self.err(format!(
                    "`{k}` must be a non-negative integer, got {}",
                    brief(v)
                ))),
            },
        }
    }

    pub(crate) fn f32(&mut self, k: &'static str) -> Result<Option<f32>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x as f32)),
                _ => Err(self.err(format!("`{k}` must be a finite number, got {}", brief(v)))),
            },
        }
    }

    pub(crate) fn bool(&mut self, k: &'static str, default: bool) -> Result<bool> {
        match self.get(k) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(format!("`{k}` must be true or false, got {}", brief(v)))),
        }
    }

    pub(crate) fn str(&mut self, k: &'static str) -> Result<Option<&'a str>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(format!("`{k}` must be a string, got {}", brief(v)))),
        }
    }

    /// A key kerust does not model: accepted only at the value that means "off".
    pub(crate) fn require(
        &mut self,
        k: &'static str,
        ok: impl Fn(&Value) -> bool,
        meaning: &str,
    ) -> Result<()> {
        if let Some(v) = self.get(k) {
            if !ok(v) {
                return Err(self.err(format!(
                    "option `{k}` = {} is not supported by kerust ({meaning})",
                    brief(v)
                )));
            }
        }
        Ok(())
    }

    /// Keys whose value does not change what the object computes.
    pub(crate) fn ignore(&mut self, keys: &[&'static str]) {
        self.used.extend_from_slice(keys);
    }

    pub(crate) fn finish(self) -> Result<()> {
        let mut unknown: Vec<&str> = self
            .obj
            .keys()
            .map(|k| k.as_str())
            .filter(|k| !self.used.contains(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        Err(cfg_err(
            self.ctx,
            format!(
                "unknown option{} {}; kerust would not compute what Keras computes, so it refuses the file",
                if unknown.len() > 1 { "s" } else { "" },
                unknown
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// A short description of a JSON value for error messages (never the whole value).
pub(crate) fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        let cut = (0..=60).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

/// `null` or `[]`.
pub(crate) fn is_empty(v: &Value) -> bool {
    v.is_null()
        || v.as_array().is_some_and(|a| a.is_empty())
        || v.as_object().is_some_and(|o| o.is_empty())
}

/// A dtype (policy) that means float32.
fn check_dtype(keys: &mut Keys<'_>) -> Result<()> {
    let Some(v) = keys.get("dtype") else {
        return Ok(());
    };
    let name = match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o
            .get("config")
            .and_then(|c| c.get("name"))
            .and_then(|n| n.as_str()),
        _ => None,
    };
    if name != Some("float32") {
        return Err(keys.err(format!(
            "dtype {} is not supported; kerust computes in float32 only",
            brief(v)
        )));
    }
    Ok(())
}

/// A shape list such as `[null, 28, 28]`: the batch entry is dropped, the rest must be
/// positive integers.
fn sample_shape(keys: &Keys<'_>, k: &str, v: &Value, has_batch: bool) -> Result<Vec<usize>> {
    let arr = v
        .as_array()
        .ok_or_else(|| keys.err(format!("`{k}` must be a list, got {}", brief(v))))?;
    let dims = if has_batch {
        arr.get(1..).unwrap_or(&[])
    } else {
        &arr[..]
    };
    if dims.is_empty() || dims.len() > 32 {
        return Err(keys.err(format!(
            "`{k}` = {} must have 1 to 32 sample axes",
            brief(v)
        )));
    }
    dims.iter()
        .map(|d| match d.as_u64() {
            Some(n) if n > 0 => {
                usize::try_from(n).map_err(|_| keys.err(format!("`{k}` axis {n} is too large")))
            }
            _ => Err(keys.err(format!(
                "`{k}` = {}: every sample axis must be a known positive size",
                brief(v)
            ))),
        })
        .collect()
}

/// `(class_name, config)` of a serialized object `{"class_name": ..., "config": ...}`.
pub(crate) fn class_and_config<'a>(v: &'a Value, ctx: &str) -> Result<(&'a str, &'a Value)> {
    let class = v
        .get("class_name")
        .and_then(|c| c.as_str())
        .ok_or_else(|| {
            cfg_err(
                ctx,
                format!("expected an object with a `class_name`, got {}", brief(v)),
            )
        })?;
    static EMPTY: Value = Value::Null;
    Ok((class, v.get("config").unwrap_or(&EMPTY)))
}

pub(crate) fn activation(v: &Value, ctx: &str) -> Result<Act> {
    let bad = |e: Error| cfg_err(ctx, format!("activation {}: {e}", brief(v)));
    match v {
        Value::Null => Ok(Act::Linear),
        Value::String(s) => Act::from_config(s, &json!({})).map_err(bad),
        Value::Object(_) => {
            let (class, config) = class_and_config(v, ctx)?;
            match (class, config) {
                ("function", Value::String(name)) => {
                    Act::from_config(name, &json!({})).map_err(bad)
                }
                (class, config) => Act::from_config(class, config).map_err(bad),
            }
        }
        _ => Err(cfg_err(
            ctx,
            format!("activation must be a name, got {}", brief(v)),
        )),
    }
}

pub(crate) fn initializer(v: &Value, ctx: &str) -> Result<Initializer> {
    let bad = |e: Error| cfg_err(ctx, format!("initializer {}: {e}", brief(v)));
    match v {
        Value::String(s) => Initializer::from_config(s, &json!({})).map_err(bad),
        Value::Object(_) => {
            let (class, config) = class_and_config(v, ctx)?;
            Initializer::from_config(class, config).map_err(bad)
        }
        _ => Err(cfg_err(
            ctx,
            format!("initializer must be a name or an object, got {}", brief(v)),
        )),
    }
}

pub(crate) fn regularizer(v: Option<&Value>, ctx: &str) -> Result<Option<Regularizer>> {
    let Some(v) = v else { return Ok(None) };
    let num = |c: &Value, k: &str| c.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0) as f32;
    match v {
        Value::String(s) => Regularizer::from_name(s)
            .map(Some)
            .map_err(|e| cfg_err(ctx, e.to_string())),
        Value::Object(_) => {
            let (class, c) = class_and_config(v, ctx)?;
            match class {
                "L1" | "l1" => Ok(Some(Regularizer::L1(num(c, "l1")))),
                "L2" | "l2" => Ok(Some(Regularizer::L2(num(c, "l2")))),
                "L1L2" | "l1_l2" => Ok(Some(Regularizer::L1L2 {
                    l1: num(c, "l1"),
                    l2: num(c, "l2"),
                })),
                other => Err(cfg_err(
                    ctx,
                    format!(
                        "regularizer class '{other}' is not supported (kerust knows L1, L2, L1L2)"
                    ),
                )),
            }
        }
        _ => Err(cfg_err(
            ctx,
            format!("regularizer must be an object, got {}", brief(v)),
        )),
    }
}

/// Parses a `Sequential` config (`{"class_name": "Sequential", "config": {...}}`). `file`
/// names the source in errors.
pub(crate) fn parse_model(v: &Value, file: &str) -> Result<ModelSpec> {
    let ctx = format!("model config in {file}");
    let (class, config) = class_and_config(v, &ctx)?;
    if class != "Sequential" {
        return Err(cfg_err(
            ctx,
            format!("model class '{class}' is not supported; kerust loads Sequential models only"),
        ));
    }
    let mut keys = Keys::new(config, ctx.clone())?;
    let name = keys.str("name")?.unwrap_or("sequential").to_string();
    keys.ignore(&["trainable"]);
    check_dtype(&mut keys)?;
    let mut input_shape = match keys.get("build_input_shape") {
        Some(s) => Some(sample_shape(&keys, "build_input_shape", s, true)?),
        None => None,
    };
    let layer_list = keys
        .get("layers")
        .and_then(|l| l.as_array())
        .ok_or_else(|| cfg_err(ctx.clone(), "the Sequential config has no `layers` list"))?;
    keys.finish()?;
    if input_shape.is_none() {
        // Keras 3 also writes the shape as the model's `build_config`.
        input_shape = match v.get("build_config").and_then(|b| b.get("input_shape")) {
            Some(s) if !s.is_null() => Some(sample_shape(
                &Keys::new(&json!({}), ctx.clone())?,
                "build_config.input_shape",
                s,
                true,
            )?),
            _ => None,
        };
    }
    let mut layers = Vec::with_capacity(layer_list.len().min(1024));
    let mut declared_input = None;
    for (i, l) in layer_list.iter().enumerate() {
        let lctx = format!("layer #{i} in {file}");
        let (class, config) = class_and_config(l, &lctx)?;
        let lname = config.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let lctx = format!("{class} layer '{lname}' in {file}");
        if class == "InputLayer" {
            if i != 0 {
                return Err(cfg_err(
                    lctx,
                    "an InputLayer can only come first in a Sequential model",
                ));
            }
            declared_input = Some(parse_input_layer(config, lctx)?);
            continue;
        }
        let spec = parse_layer(l, lctx)?;
        layers.push(spec);
    }
    let input_shape = declared_input
        .or_else(|| {
            layers
                .first()
                .and_then(|l: &LayerSpec| l.input_shape.clone())
        })
        .or(input_shape);
    Ok(ModelSpec {
        name,
        input_shape,
        layers,
    })
}

fn parse_input_layer(config: &Value, ctx: String) -> Result<Vec<usize>> {
    let mut keys = Keys::new(config, ctx)?;
    keys.ignore(&["name", "trainable", "batch_size"]);
    check_dtype(&mut keys)?;
    keys.require("sparse", |v| v == &Value::Bool(false), "sparse inputs")?;
    keys.require("ragged", |v| v == &Value::Bool(false), "ragged inputs")?;
    keys.require("optional", |v| v == &Value::Bool(false), "optional inputs")?;
    let shape = match (keys.get("batch_shape"), keys.get("batch_input_shape")) {
        (Some(s), _) => sample_shape(&keys, "batch_shape", s, true)?,
        (None, Some(s)) => sample_shape(&keys, "batch_input_shape", s, true)?,
        (None, None) => match keys.get("shape") {
            Some(s) => sample_shape(&keys, "shape", s, false)?,
            None => return Err(keys.err("an InputLayer needs `batch_shape`")),
        },
    };
    keys.finish()?;
    Ok(shape)
}

/// The layer of Keras class `class` from its config keys (the common keys `name`,
/// `trainable`, `dtype`, `input_shape`... are already consumed). Each layer reads its own
/// options in its `from_keys`, next to its `config()` that writes them.
fn layer_from_keys(class: &str, keys: &mut Keys<'_>, ctx: &str) -> Result<Box<dyn Layer>> {
    Ok(match class {
        "Dense" => Box::new(Dense::from_keys(keys, ctx)?),
        "Flatten" => Box::new(Flatten::from_keys(keys, ctx)?),
        "Dropout" => Box::new(Dropout::from_keys(keys, ctx)?),
        "Activation" => Box::new(ActivationLayer::from_keys(keys, ctx)?),
        "BatchNormalization" => Box::new(BatchNormalization::from_keys(keys, ctx)?),
        "LayerNormalization" => Box::new(LayerNormalization::from_keys(keys, ctx)?),
        "GroupNormalization" => Box::new(GroupNormalization::from_keys(keys, ctx)?),
        "UnitNormalization" => Box::new(UnitNormalization::from_keys(keys, ctx)?),
        "GlobalMaxPooling1D" => Box::new(GlobalMaxPooling1D::from_keys(keys, ctx)?),
        "GlobalMaxPooling2D" => Box::new(GlobalMaxPooling2D::from_keys(keys, ctx)?),
        "GlobalMaxPooling3D" => Box::new(GlobalMaxPooling3D::from_keys(keys, ctx)?),
        "GlobalAveragePooling1D" => Box::new(GlobalAveragePooling1D::from_keys(keys, ctx)?),
        "GlobalAveragePooling2D" => Box::new(GlobalAveragePooling2D::from_keys(keys, ctx)?),
        "GlobalAveragePooling3D" => Box::new(GlobalAveragePooling3D::from_keys(keys, ctx)?),
        "Reshape" => Box::new(Reshape::from_keys(keys, ctx)?),
        "Permute" => Box::new(Permute::from_keys(keys, ctx)?),
        "RepeatVector" => Box::new(RepeatVector::from_keys(keys, ctx)?),
        "ZeroPadding2D" => Box::new(ZeroPadding2D::from_keys(keys, ctx)?),
        "Cropping2D" => Box::new(Cropping2D::from_keys(keys, ctx)?),
        "UpSampling2D" => Box::new(UpSampling2D::from_keys(keys, ctx)?),
        "SpatialDropout2D" => Box::new(SpatialDropout2D::from_keys(keys, ctx)?),
        "GaussianNoise" => Box::new(GaussianNoise::from_keys(keys, ctx)?),
        "GaussianDropout" => Box::new(GaussianDropout::from_keys(keys, ctx)?),
        "LSTM" => Box::new(crate::layers::LSTM::from_keys(keys, ctx)?),
        "GRU" => Box::new(crate::layers::GRU::from_keys(keys, ctx)?),
        "SimpleRNN" => Box::new(crate::layers::SimpleRNN::from_keys(keys, ctx)?),
        "Embedding" => Box::new(crate::layers::Embedding::from_keys(keys, ctx)?),
        "Bidirectional" => Box::new(crate::layers::Bidirectional::from_keys(keys, ctx)?),
        "TimeDistributed" => Box::new(crate::layers::TimeDistributed::from_keys(keys, ctx)?),
        "Conv1D" => Box::new(crate::layers::Conv1D::from_keys(keys, ctx)?),
        "Conv2D" => Box::new(crate::layers::Conv2D::from_keys(keys, ctx)?),
        "Conv3D" => Box::new(crate::layers::Conv3D::from_keys(keys, ctx)?),
        "MaxPooling1D" => Box::new(crate::layers::MaxPooling1D::from_keys(keys, ctx)?),
        "MaxPooling2D" => Box::new(crate::layers::MaxPooling2D::from_keys(keys, ctx)?),
        "MaxPooling3D" => Box::new(crate::layers::MaxPooling3D::from_keys(keys, ctx)?),
        "AveragePooling1D" => Box::new(crate::layers::AveragePooling1D::from_keys(keys, ctx)?),
        "AveragePooling2D" => Box::new(crate::layers::AveragePooling2D::from_keys(keys, ctx)?),
        "AveragePooling3D" => Box::new(crate::layers::AveragePooling3D::from_keys(keys, ctx)?),
        "Conv1DTranspose" => Box::new(crate::layers::Conv1DTranspose::from_keys(keys, ctx)?),
        "Conv2DTranspose" => Box::new(crate::layers::Conv2DTranspose::from_keys(keys, ctx)?),
        "Conv3DTranspose" => Box::new(crate::layers::Conv3DTranspose::from_keys(keys, ctx)?),
        "DepthwiseConv1D" => Box::new(crate::layers::DepthwiseConv1D::from_keys(keys, ctx)?),
        "DepthwiseConv2D" => Box::new(crate::layers::DepthwiseConv2D::from_keys(keys, ctx)?),
        "SeparableConv1D" => Box::new(crate::layers::SeparableConv1D::from_keys(keys, ctx)?),
        "SeparableConv2D" => Box::new(crate::layers::SeparableConv2D::from_keys(keys, ctx)?),
        // Every name of LAYER_CLASSES but InputLayer has its arm above (a unit test checks).
        _ => return Err(unknown_class(class, None, ctx)),
    })
}

/// The error for a layer class kerust does not implement; `registered` is the object's
/// `registered_name` when it names a custom class (`package>Class`).
fn unknown_class(class: &str, registered: Option<&str>, ctx: &str) -> Error {
    let custom = match registered {
        Some(r) if r != class => format!(" (the custom class registered as '{r}')"),
        _ => String::new(),
    };
    Error::Config {
        what: ctx.to_string(),
        reason: format!(
            "unknown layer class '{class}'{custom}; kerust knows {}",
            LAYER_CLASSES
                .iter()
                .filter(|c| **c != "InputLayer")
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A layer from its serialized object (`{"class_name": ..., "config": ..., "registered_name":
/// ...}`), not yet built; `ctx` names the layer and the file in errors.
pub(crate) fn parse_layer(obj: &Value, ctx: String) -> Result<LayerSpec> {
    let (class, config) = class_and_config(obj, &ctx)?;
    if !LAYER_CLASSES.contains(&class) || class == "InputLayer" {
        let registered = obj.get("registered_name").and_then(|r| r.as_str());
        return Err(unknown_class(class, registered, &ctx));
    }
    let mut keys = Keys::new(config, ctx.clone())?;
    let name = keys.str("name")?.unwrap_or("").to_string();
    let trainable = keys.bool("trainable", true)?;
    check_dtype(&mut keys)?;
    let input_shape = match (keys.get("batch_input_shape"), keys.get("input_shape")) {
        (Some(s), _) => Some(sample_shape(&keys, "batch_input_shape", s, true)?),
        (None, Some(s)) => Some(sample_shape(&keys, "input_shape", s, false)?),
        (None, None) => None,
    };
    keys.ignore(&["batch_size"]);
    keys.require("activity_regularizer", |_| false, "activity regularization")?;
    let mut layer = layer_from_keys(class, &mut keys, &ctx)?;
    keys.finish()?;
    layer.set_name(name);
    Ok(LayerSpec {
        trainable,
        layer,
        input_shape,
    })
}

impl ModelSpec {
    /// Number of parameters the model will create, without creating them; an error when a
    /// layer cannot take its input or the sizes overflow.
    pub(crate) fn param_count(&self) -> Result<usize> {
        let Some(input) = &self.input_shape else {
            return Ok(0);
        };
        let mut shape = input.clone();
        let mut total = 0usize;
        for l in &self.layers {
            let (out, n) = l.layer.plan(&shape)?;
            total = total
                .checked_add(n)
                .ok_or_else(|| Error::arg("layers", "the layer sizes overflow"))?;
            shape = out;
        }
        Ok(total)
    }

    /// Builds the model. Refuses, before allocating, a model of more than `max_params`
    /// parameters.
    pub(crate) fn build(self, max_params: usize, file: &str) -> Result<Sequential> {
        let in_file = |e: Error| match e {
            Error::InvalidArgument { name: arg, reason } => cfg_err(
                format!("model config in {file}"),
                format!("`{arg}`: {reason}"),
            ),
            e => e,
        };
        let n = self.param_count().map_err(in_file)?;
        if n > max_params {
            return Err(cfg_err(
                format!("model config in {file}"),
                format!(
                    "the model declares {n} parameters, more than the {max_params} the file can hold"
                ),
            ));
        }
        let mut model = Sequential::empty().with_name(&self.name);
        if let Some(s) = &self.input_shape {
            model.add(InputLayer::new(s))?;
        }
        for l in self.layers {
            let name = l.layer.name().to_string();
            model.add(l.layer).map_err(|e| match e {
                Error::InvalidArgument { name: arg, reason } => cfg_err(
                    format!("layer '{name}' in {file}"),
                    format!("`{arg}`: {reason}"),
                ),
                e => e,
            })?;
            if !l.trainable {
                if let Some(last) = model.layers.last_mut() {
                    last.set_trainable(false);
                }
            }
        }
        Ok(model)
    }
}

/// Parses a Keras 3 `compile_config`, or a legacy `training_config` (which names the
/// optimizer `optimizer_config`).
pub(crate) fn parse_compile(v: &Value, file: &str) -> Result<CompileSpec> {
    let ctx = format!("compile config in {file}");
    let mut keys = Keys::new(v, ctx.clone())?;
    keys.ignore(&[
        "run_eagerly",
        "steps_per_execution",
        "jit_compile",
        "auto_scale_loss",
    ]);
    keys.require("loss_weights", is_empty, "loss weights (one output only)")?;
    keys.require("weighted_metrics", is_empty, "weighted metrics")?;
    let opt = match keys.get("optimizer") {
        Some(o) => o,
        None => keys
            .get("optimizer_config")
            .ok_or_else(|| keys.err("no optimizer"))?,
    };
    let optimizer = parse_optimizer(opt, &format!("optimizer in {file}"))?;
    let loss_v = keys.get("loss").ok_or_else(|| keys.err("no loss"))?;
    let loss = parse_loss(loss_v, &format!("loss in {file}"))?;
    let metrics = match keys.get("metrics") {
        None => Vec::new(),
        // Keras 2's training_config: one list per output.
        Some(Value::Array(ms)) if ms.len() == 1 && ms[0].is_array() => ms[0]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| parse_metric(m, &format!("metric {} in {file}", brief(m))))
            .collect::<Result<_>>()?,
        Some(Value::Array(ms)) => ms
            .iter()
            .map(|m| parse_metric(m, &format!("metric {} in {file}", brief(m))))
            .collect::<Result<_>>()?,
        Some(m) => vec![parse_metric(m, &format!("metric {} in {file}", brief(m)))?],
    };
    keys.finish()?;
    Ok(CompileSpec {
        optimizer,
        loss,
        metrics,
    })
}

fn parse_optimizer(v: &Value, ctx: &str) -> Result<Optimizer> {
    if let Value::String(s) = v {
        return s.parse().map_err(|e: Error| cfg_err(ctx, e.to_string()));
    }
    let (class, config) = class_and_config(v, ctx)?;
    let ctx = format!("{class} {ctx}");
    // Keras 2.11+ registers its optimizers as `Custom>Adam`...: the same classes.
    let class = class.strip_prefix("Custom>").unwrap_or(class);
    let mut keys = Keys::new(config, ctx.clone())?;
    keys.ignore(&[
        "name",
        "jit_compile",
        "learning_rate",
        "lr",
        "weight_decay",
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
        "ema_momentum",
        "ema_overwrite_frequency",
        "momentum",
        "nesterov",
        "beta_1",
        "beta_2",
        "epsilon",
        "amsgrad",
        "rho",
        "centered",
        "initial_accumulator_value",
        "is_legacy_optimizer",
    ]);
    keys.require(
        "use_ema",
        |v| v == &Value::Bool(false),
        "moving averages of the weights",
    )?;
    keys.require("loss_scale_factor", |_| false, "loss scaling")?;
    keys.require(
        "gradient_accumulation_steps",
        |_| false,
        "gradient accumulation",
    )?;
    keys.require(
        "decay",
        |v| v.as_f64() == Some(0.0),
        "Keras 2's learning-rate decay",
    )?;
    keys.finish()?;
    Optimizer::from_config(class, config).map_err(|e| cfg_err(ctx, e.to_string()))
}

fn parse_loss(v: &Value, ctx: &str) -> Result<crate::losses::Loss> {
    let bad = |e: Error| cfg_err(ctx, e.to_string());
    match v {
        Value::String(s) => crate::losses::Loss::from_config(s, &json!({})).map_err(bad),
        Value::Object(_) => {
            let (class, config) = class_and_config(v, ctx)?;
            if let ("function", Value::String(name)) = (class, config) {
                return crate::losses::Loss::from_config(name, &json!({})).map_err(bad);
            }
            let mut keys = Keys::new(config, format!("{class} {ctx}"))?;
            keys.ignore(&[
                "name",
                "reduction",
                "from_logits",
                "label_smoothing",
                "delta",
                "axis",
                "dtype",
            ]);
            keys.require("ignore_class", |_| false, "ignored classes")?;
            keys.finish()?;
            crate::losses::Loss::from_config(class, config).map_err(bad)
        }
        _ => Err(cfg_err(
            ctx,
            "the loss must be a name or an object (one output only)",
        )),
    }
}

fn parse_metric(v: &Value, ctx: &str) -> Result<MetricSpec> {
    match v {
        Value::String(s) => {
            crate::metrics::get(s, 1, 2).map_err(|e| cfg_err(ctx, e.to_string()))?;
            Ok(MetricSpec::Name(s.clone()))
        }
        Value::Object(_) => {
            let (class, config) = class_and_config(v, ctx)?;
            if class == "MeanMetricWrapper" {
                // Keras 2: a metric function (`fn`) averaged over batches, named `name`.
                let f = config.get("fn").and_then(|f| f.as_str()).ok_or_else(|| {
                    cfg_err(
                        ctx,
                        "a MeanMetricWrapper needs the name of its function `fn`",
                    )
                })?;
                let mut m =
                    crate::metrics::get(f, 1, 2).map_err(|e| cfg_err(ctx, e.to_string()))?;
                if let Some(n) = config.get("name").and_then(|n| n.as_str()) {
                    m.set_name(n.to_string());
                }
                return Ok(MetricSpec::Object(m));
            }
            let fname = crate::models::snake(class);
            let mut m = crate::metrics::from_config(&fname, config, 1, 2)
                .map_err(|e| cfg_err(ctx, e.to_string()))?;
            if let Some(n) = config.get("name").and_then(|n| n.as_str()) {
                m.set_name(n.to_string());
            }
            Ok(MetricSpec::Object(m))
        }
        _ => Err(cfg_err(
            ctx,
            "a metric must be a name or an object (one output only)",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

fn wrap(module: &str, class: &str, config: Value) -> Value {
    json!({"module": module, "class_name": class, "config": config, "registered_name": null})
}

fn batch_shape(s: &[usize]) -> Value {
    let mut v = vec![Value::Null];
    v.extend(s.iter().map(|&d| Value::from(d)));
    Value::Array(v)
}

/// The model's config as Keras writes it in `config.json` (with `compile_config` when
/// compiled and `with_compile`).
pub(crate) fn model_config(model: &Sequential, with_compile: bool) -> Result<Value> {
    let mut layers = Vec::with_capacity(model.layers.len() + 1);
    if let Some(s) = &model.input_shape {
        layers.push(wrap(
            "keras.layers",
            "InputLayer",
            json!({"batch_shape": batch_shape(s), "dtype": "float32", "sparse": false,
                   "ragged": false, "name": "input_layer", "optional": false}),
        ));
    }
    let mut shape = model.input_shape.clone();
    for l in &model.layers {
        if !LAYER_CLASSES.contains(&l.class_name()) {
            return Err(cfg_err(
                format!("layer '{}'", l.name()),
                format!(
                    "class '{}' cannot be written in a Keras file",
                    l.class_name()
                ),
            ));
        }
        let mut config = l.config();
        if !l.trainable() {
            if let Some(o) = config.as_object_mut() {
                o.insert("trainable".into(), false.into());
            }
        }
        let mut w = wrap("keras.layers", l.class_name(), config);
        if let Some(s) = &shape {
            w["build_config"] = json!({"input_shape": batch_shape(s)});
            shape = Some(l.output_shape().to_vec());
        }
        layers.push(w);
    }
    let policy = json!({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null});
    let mut config =
        json!({"name": model.name, "trainable": true, "dtype": policy, "layers": layers});
    let mut top = wrap("keras", "Sequential", Value::Null);
    if let Some(s) = &model.input_shape {
        config["build_input_shape"] = batch_shape(s);
        top["build_config"] = json!({"input_shape": batch_shape(s)});
    }
    top["config"] = config;
    if with_compile {
        if let Some(c) = &model.compiled {
            let metrics = c
                .specs
                .iter()
                .map(|s| {
                    let name = match s {
                        MetricSpec::Name(n) => n.as_str(),
                        MetricSpec::Object(o) => o.name(),
                    };
                    crate::metrics::get(name, 1, 2)
                        .map(|_| Value::from(name))
                        .map_err(|_| {
                            cfg_err(
                                format!("metric '{name}'"),
                                "only metrics named as Keras names them can be written in a Keras file",
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            top["compile_config"] = json!({
                "optimizer": wrap("keras.optimizers", c.optimizer.class_name(), c.optimizer.config()),
                "loss": loss_config(&c.loss),
                "loss_weights": null,
                "metrics": metrics,
                "weighted_metrics": null,
                "run_eagerly": false,
                "steps_per_execution": 1,
                "jit_compile": true,
            });
        }
    }
    tidy_floats(&mut top, false);
    Ok(top)
}

/// Writes each number that is exactly a float32 with the fewest digits that read back as
/// that float32 (`0.9`, not `0.8999999761581421`), as Keras's Python floats read; except
/// the optimizer's `learning_rate`, which Keras reads from a float32 variable and writes
/// widened.
fn tidy_floats(v: &mut Value, keep: bool) {
    match v {
        Value::Number(n) if !keep => {
            if let Some(x) = n.as_f64().filter(|x| n.is_f64() && x.is_finite()) {
                let f = x as f32;
                if f as f64 == x {
                    if let Some(short) = f
                        .to_string()
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                    {
                        *n = short;
                    }
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| tidy_floats(x, false)),
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                tidy_floats(x, k == "learning_rate");
            }
        }
        _ => {}
    }
}

/// A loss as Keras writes it: its function name when it has Keras's defaults, else the
/// class with its config.
fn loss_config(loss: &crate::losses::Loss) -> Value {
    use LossKind::*;
    let defaults = crate::losses::Loss::from_config(loss.name(), &json!({}))
        .map(|d| d == *loss)
        .unwrap_or(false);
    if defaults {
        return loss.name().into();
    }
    let reduction = match loss.reduction {
        Reduction::SumOverBatchSize => "sum_over_batch_size",
        Reduction::Sum => "sum",
        Reduction::None => "none",
    };
    let mut config = json!({"name": loss.name(), "reduction": reduction});
    let class = match loss.kind {
        MeanSquaredError => "MeanSquaredError",
        MeanAbsoluteError => "MeanAbsoluteError",
        MeanAbsolutePercentageError => "MeanAbsolutePercentageError",
        MeanSquaredLogarithmicError => "MeanSquaredLogarithmicError",
        SquaredHinge => "SquaredHinge",
        Hinge => "Hinge",
        CategoricalHinge => "CategoricalHinge",
        LogCosh => "LogCosh",
        CategoricalCrossentropy {
            from_logits,
            label_smoothing,
        } => {
            config["from_logits"] = from_logits.into();
            config["label_smoothing"] = label_smoothing.into();
            config["axis"] = (-1).into();
            "CategoricalCrossentropy"
        }
        SparseCategoricalCrossentropy { from_logits } => {
            config["from_logits"] = from_logits.into();
            "SparseCategoricalCrossentropy"
        }
        BinaryCrossentropy {
            from_logits,
            label_smoothing,
        } => {
            config["from_logits"] = from_logits.into();
            config["label_smoothing"] = label_smoothing.into();
            config["axis"] = (-1).into();
            "BinaryCrossentropy"
        }
        KlDivergence => "KLDivergence",
        Poisson => "Poisson",
        CosineSimilarity => "CosineSimilarity",
        Huber { delta } => {
            config["delta"] = delta.into();
            "Huber"
        }
    };
    wrap("keras.losses", class, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_density_counts_values_outside_strings_only() {
        // Commas and brackets inside strings (escaped quotes included) are not values.
        let inside = format!(r#"{{"a": "{}\",[{{"}}"#, ",[{".repeat(2000));
        assert!(parse_json(inside.as_bytes()).is_ok());
        let flood = format!("[{}0]", "0,".repeat(2000));
        let e = parse_json(flood.as_bytes()).unwrap_err();
        assert!(e.contains("2002 JSON values in 4003 bytes"), "{e}");
        // Under 256 values, any density (small literal configs).
        assert!(parse_json(b"[0,0,0,0,0,0]").is_ok());
    }

    #[test]
    fn every_listed_layer_class_has_a_reader() {
        // An empty config may lack a required option, but never meets the unknown-class arm.
        for class in LAYER_CLASSES.iter().filter(|c| **c != "InputLayer") {
            let config = json!({});
            let mut keys = Keys::new(&config, format!("{class} layer")).unwrap();
            if let Err(e) = layer_from_keys(class, &mut keys, "test") {
                assert!(
                    !e.to_string().contains("unknown layer class"),
                    "{class}: {e}"
                );
            }
        }
        let config = json!({});
        let mut keys = Keys::new(&config, "x".into()).unwrap();
        let e = layer_from_keys("MultiHeadAttention", &mut keys, "ctx").unwrap_err();
        assert!(e
            .to_string()
            .contains("unknown layer class 'MultiHeadAttention'"));
    }
}
