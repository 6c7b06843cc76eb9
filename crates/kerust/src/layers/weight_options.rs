//! The kernel and bias options that `Dense` and the convolutions share (initializers,
//! regularizers, constraints, quantization), read from and written to Keras's config under
//! Keras's names.

use super::activation::initializer_config;
use super::Regularizer;
use crate::initializers::Initializer;
use crate::saving::config::{self as cfg, Keys};
use crate::Result;
use serde_json::{Map, Value};

/// Which of Keras's names a layer's kernel options go by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelNames {
    /// `kernel_initializer`, `kernel_regularizer`, `kernel_constraint`.
    Kernel,
    /// `depthwise_initializer`, `depthwise_regularizer`, `depthwise_constraint`.
    Depthwise,
}

impl KernelNames {
    /// The initializer, regularizer and constraint keys.
    fn keys(self) -> [&'static str; 3] {
        match self {
            KernelNames::Kernel => [
                "kernel_initializer",
                "kernel_regularizer",
                "kernel_constraint",
            ],
            KernelNames::Depthwise => [
                "depthwise_initializer",
                "depthwise_regularizer",
                "depthwise_constraint",
            ],
        }
    }
}

/// A layer's kernel and bias options, borrowed from its fields.
pub(crate) struct WeightOptions<'a> {
    pub kernel_initializer: &'a mut Initializer,
    pub bias_initializer: &'a mut Initializer,
    pub kernel_regularizer: &'a mut Option<Regularizer>,
    pub bias_regularizer: &'a mut Option<Regularizer>,
}

impl WeightOptions<'_> {
    /// Reads the options present in `keys` (absent initializers keep the layer's defaults),
    /// and refuses constraints, quantization and LoRA, which kerust does not model.
    pub(crate) fn read(self, keys: &mut Keys<'_>, ctx: &str, names: KernelNames) -> Result<()> {
        let [init_k, reg_k, cons_k] = names.keys();
        if let Some(v) = keys.get(init_k) {
            *self.kernel_initializer = cfg::initializer(v, ctx)?;
        }
        if let Some(v) = keys.get("bias_initializer") {
            *self.bias_initializer = cfg::initializer(v, ctx)?;
        }
        *self.kernel_regularizer = cfg::regularizer(keys.get(reg_k), ctx)?;
        *self.bias_regularizer = cfg::regularizer(keys.get("bias_regularizer"), ctx)?;
        keys.require(cons_k, |_| false, "weight constraints")?;
        keys.require("bias_constraint", |_| false, "weight constraints")?;
        keys.require("quantization_config", |_| false, "quantization")?;
        keys.require("lora_rank", |v| v.as_u64() == Some(0), "LoRA")?;
        keys.ignore(&["lora_alpha"]);
        Ok(())
    }
}

/// Writes the kernel and bias options as Keras does (constraints are always `null`).
pub(crate) fn write_weight_options(
    m: &mut Map<String, Value>,
    names: KernelNames,
    (kernel_initializer, bias_initializer): (&Initializer, &Initializer),
    (kernel_regularizer, bias_regularizer): (Option<Regularizer>, Option<Regularizer>),
) {
    let [init_k, reg_k, cons_k] = names.keys();
    m.insert(init_k.into(), initializer_config(kernel_initializer));
    m.insert(
        "bias_initializer".into(),
        initializer_config(bias_initializer),
    );
    m.insert(reg_k.into(), regularizer_config(kernel_regularizer));
    m.insert(
        "bias_regularizer".into(),
        regularizer_config(bias_regularizer),
    );
    m.insert(cons_k.into(), Value::Null);
    m.insert("bias_constraint".into(), Value::Null);
}

/// A regularizer as Keras serializes it, or `null`.
pub(crate) fn regularizer_config(r: Option<Regularizer>) -> Value {
    match r {
        None => Value::Null,
        Some(Regularizer::L1(l1)) => {
            serde_json::json!({"module": "keras.regularizers", "class_name": "L1", "config": {"l1": l1}, "registered_name": null})
        }
        Some(Regularizer::L2(l2)) => {
            serde_json::json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": l2}, "registered_name": null})
        }
        Some(Regularizer::L1L2 { l1, l2 }) => {
            serde_json::json!({"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": l1, "l2": l2}, "registered_name": null})
        }
    }
}
