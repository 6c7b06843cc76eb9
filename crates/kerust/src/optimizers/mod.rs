//! Optimizers with Keras's names, defaults and update rules, step for step.
//!
//! ```
//! use kerust::optimizers::{Adam, SGD, Optimizer};
//! let a = Adam::new(1e-4);                      // Adam(learning_rate=1e-4)
//! let s = SGD::new(0.01).momentum(0.9).nesterov(true);
//! let by_name: Optimizer = "rmsprop".parse().unwrap();
//! assert_eq!(by_name.learning_rate_now(), 0.001);
//! ```

mod schedules;

pub use schedules::{LearningRate, Schedule};

use crate::layers::{Layer, Param};
use crate::{Error, Result};
use std::str::FromStr;

/// The update rule and its hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Stochastic gradient descent, with optional (Nesterov) momentum.
    Sgd {
        /// Momentum factor (default 0).
        momentum: f32,
        /// Nesterov momentum (default false).
        nesterov: bool,
    },
    /// Adam; `decoupled` marks AdamW (its weight decay default differs).
    Adam {
        /// First-moment decay (0.9).
        beta_1: f32,
        /// Second-moment decay (0.999).
        beta_2: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
        /// Keep the maximum of second moments.
        amsgrad: bool,
        /// True for AdamW.
        decoupled: bool,
    },
    /// RMSprop (Keras divides by `sqrt(v + eps)`).
    RmsProp {
        /// Decay of the squared-gradient average (0.9).
        rho: f32,
        /// Momentum (0).
        momentum: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
        /// Divide by the gradient's variance instead of its second moment.
        centered: bool,
    },
    /// Adagrad.
    Adagrad {
        /// Starting value of the accumulators (0.1).
        initial_accumulator_value: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
    },
    /// Adadelta.
    Adadelta {
        /// Decay rate (0.95).
        rho: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
    },
    /// Adamax (infinity-norm Adam).
    Adamax {
        /// First-moment decay (0.9).
        beta_1: f32,
        /// Infinity-norm decay (0.999).
        beta_2: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
    },
    /// Nadam (Adam with Nesterov momentum and Keras's momentum schedule).
    Nadam {
        /// First-moment decay (0.9).
        beta_1: f32,
        /// Second-moment decay (0.999).
        beta_2: f32,
        /// Fuzz factor (1e-7).
        epsilon: f32,
    },
}

/// An optimizer: an update rule, a learning rate, gradient clipping and weight decay, and
/// the per-variable state (moments) it keeps between steps.
#[derive(Clone, Debug)]
pub struct Optimizer {
    /// The rule.
    pub kind: Kind,
    /// Constant or scheduled learning rate.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay: `w -= w * weight_decay * lr` before each update.
    pub weight_decay: Option<f32>,
    /// Clip each gradient to this L2 norm.
    pub clipnorm: Option<f32>,
    /// Clip each gradient value to `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f32>,
    /// Clip all gradients together to this global L2 norm.
    pub global_clipnorm: Option<f32>,
    iterations: u64,
    slots: Vec<Vec<f32>>,
    u_product: f32,
}

macro_rules! constructor {
    ($(#[$doc:meta])* $ty:ident, $lr:expr, $kind:expr) => {
        $(#[$doc])*
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;
        impl $ty {
            /// The optimizer with this learning rate (a number or a [`Schedule`]) and Keras's
            /// other defaults.
            #[allow(clippy::new_ret_no_self)]
            pub fn new(learning_rate: impl Into<LearningRate>) -> Optimizer {
                Optimizer::new($kind, learning_rate.into())
            }
            /// The optimizer with all of Keras's defaults.
            #[allow(clippy::should_implement_trait)]
            pub fn default() -> Optimizer {
                Self::new($lr)
            }
        }
    };
}

constructor!(
    /// `keras.optimizers.SGD` (learning rate 0.01).
    SGD, 0.01f32, Kind::Sgd { momentum: 0.0, nesterov: false });
constructor!(
    /// `keras.optimizers.Adam` (learning rate 0.001).
    Adam, 0.001f32, Kind::Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, decoupled: false });
constructor!(
    /// `keras.optimizers.AdamW` (learning rate 0.001, weight decay 0.004).
    AdamW, 0.001f32, Kind::Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, decoupled: true });
constructor!(
    /// `keras.optimizers.RMSprop` (learning rate 0.001).
    RMSprop, 0.001f32, Kind::RmsProp { rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false });
constructor!(
    /// `keras.optimizers.Adagrad` (learning rate 0.001).
    Adagrad, 0.001f32, Kind::Adagrad { initial_accumulator_value: 0.1, epsilon: 1e-7 });
constructor!(
    /// `keras.optimizers.Adadelta` (learning rate 0.001).
    Adadelta, 0.001f32, Kind::Adadelta { rho: 0.95, epsilon: 1e-7 });
constructor!(
    /// `keras.optimizers.Adamax` (learning rate 0.001).
    Adamax, 0.001f32, Kind::Adamax { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 });
constructor!(
    /// `keras.optimizers.Nadam` (learning rate 0.001).
    Nadam, 0.001f32, Kind::Nadam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 });

/// Every name [`Optimizer::from_str`] accepts.
pub const NAMES: &[&str] = &[
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
];

impl FromStr for Optimizer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "sgd" => SGD::default(),
            "adam" => Adam::default(),
            "adamw" => AdamW::default(),
            "rmsprop" => RMSprop::default(),
            "adagrad" => Adagrad::default(),
            "adadelta" => Adadelta::default(),
            "adamax" => Adamax::default(),
            "nadam" => Nadam::default(),
            _ => return Err(Error::unknown("optimizer", s, NAMES)),
        })
    }
}

impl TryFrom<&str> for Optimizer {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        s.parse()
    }
}

impl Optimizer {
    fn new(kind: Kind, learning_rate: LearningRate) -> Self {
        let weight_decay = match kind {
            Kind::Adam {
                decoupled: true, ..
            } => Some(0.004),
            _ => None,
        };
        Optimizer {
            kind,
            learning_rate,
            weight_decay,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
            iterations: 0,
            slots: Vec::new(),
            u_product: 1.0,
        }
    }

    /// An optimizer from Keras's class name and `get_config()` (unknown keys are ignored;
    /// `lr` is accepted for `learning_rate`, as old Keras did).
    pub fn from_config(class_name: &str, config: &serde_json::Value) -> Result<Self> {
        let f = |k: &str| config.get(k).and_then(|v| v.as_f64()).map(|v| v as f32);
        let b = |k: &str| config.get(k).and_then(|v| v.as_bool());
        let mut o: Optimizer = class_name.parse()?;
        let lr = config.get("learning_rate").or_else(|| config.get("lr"));
        match lr {
            Some(v) if v.is_number() => {
                o.learning_rate = LearningRate::Constant(v.as_f64().unwrap_or(0.0) as f32)
            }
            Some(v) if v.is_object() => {
                o.learning_rate = LearningRate::Schedule(Schedule::from_config(v)?)
            }
            _ => {}
        }
        if config.get("weight_decay").is_some() {
            o.weight_decay = f("weight_decay");
        }
        o.clipnorm = f("clipnorm");
        o.clipvalue = f("clipvalue");
        o.global_clipnorm = f("global_clipnorm");
        match &mut o.kind {
            Kind::Sgd { momentum, nesterov } => {
                *momentum = f("momentum").unwrap_or(0.0);
                *nesterov = b("nesterov").unwrap_or(false);
            }
            Kind::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
                ..
            } => {
                *beta_1 = f("beta_1").unwrap_or(*beta_1);
                *beta_2 = f("beta_2").unwrap_or(*beta_2);
                *epsilon = f("epsilon").unwrap_or(*epsilon);
                *amsgrad = b("amsgrad").unwrap_or(false);
            }
            Kind::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                *rho = f("rho").unwrap_or(*rho);
                *momentum = f("momentum").unwrap_or(0.0);
                *epsilon = f("epsilon").unwrap_or(*epsilon);
                *centered = b("centered").unwrap_or(false);
            }
            Kind::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                *initial_accumulator_value =
                    f("initial_accumulator_value").unwrap_or(*initial_accumulator_value);
                *epsilon = f("epsilon").unwrap_or(*epsilon);
            }
            Kind::Adadelta { rho, epsilon } => {
                *rho = f("rho").unwrap_or(*rho);
                *epsilon = f("epsilon").unwrap_or(*epsilon);
            }
            Kind::Adamax {
                beta_1,
                beta_2,
                epsilon,
            }
            | Kind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                *beta_1 = f("beta_1").unwrap_or(*beta_1);
                *beta_2 = f("beta_2").unwrap_or(*beta_2);
                *epsilon = f("epsilon").unwrap_or(*epsilon);
            }
        }
        o.validate()?;
        Ok(o)
    }

    /// Keras's class name (`"Adam"`).
    pub fn class_name(&self) -> &'static str {
        match self.kind {
            Kind::Sgd { .. } => "SGD",
            Kind::Adam {
                decoupled: false, ..
            } => "Adam",
            Kind::Adam {
                decoupled: true, ..
            } => "AdamW",
            Kind::RmsProp { .. } => "RMSprop",
            Kind::Adagrad { .. } => "Adagrad",
            Kind::Adadelta { .. } => "Adadelta",
            Kind::Adamax { .. } => "Adamax",
            Kind::Nadam { .. } => "Nadam",
        }
    }

    /// Steps taken so far.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The learning rate the next step will use.
    pub fn learning_rate_now(&self) -> f32 {
        self.learning_rate.at(self.iterations)
    }

    /// Replaces the learning rate (as callbacks such as ReduceLROnPlateau do).
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.learning_rate = LearningRate::Constant(lr);
    }

    /// Sets the momentum (SGD, RMSprop).
    pub fn momentum(mut self, m: f32) -> Self {
        match &mut self.kind {
            Kind::Sgd { momentum, .. } | Kind::RmsProp { momentum, .. } => *momentum = m,
            _ => {}
        }
        self
    }

    /// Nesterov momentum (SGD).
    pub fn nesterov(mut self, v: bool) -> Self {
        if let Kind::Sgd { nesterov, .. } = &mut self.kind {
            *nesterov = v;
        }
        self
    }

    /// AMSGrad (Adam, AdamW).
    pub fn amsgrad(mut self, v: bool) -> Self {
        if let Kind::Adam { amsgrad, .. } = &mut self.kind {
            *amsgrad = v;
        }
        self
    }

    /// Centered RMSprop.
    pub fn centered(mut self, v: bool) -> Self {
        if let Kind::RmsProp { centered, .. } = &mut self.kind {
            *centered = v;
        }
        self
    }

    /// `beta_1` (Adam family).
    pub fn beta_1(mut self, v: f32) -> Self {
        match &mut self.kind {
            Kind::Adam { beta_1, .. }
            | Kind::Adamax { beta_1, .. }
            | Kind::Nadam { beta_1, .. } => *beta_1 = v,
            _ => {}
        }
        self
    }

    /// `beta_2` (Adam family).
    pub fn beta_2(mut self, v: f32) -> Self {
        match &mut self.kind {
            Kind::Adam { beta_2, .. }
            | Kind::Adamax { beta_2, .. }
            | Kind::Nadam { beta_2, .. } => *beta_2 = v,
            _ => {}
        }
        self
    }

    /// `rho` (RMSprop, Adadelta).
    pub fn rho(mut self, v: f32) -> Self {
        match &mut self.kind {
            Kind::RmsProp { rho, .. } | Kind::Adadelta { rho, .. } => *rho = v,
            _ => {}
        }
        self
    }

    /// `epsilon`.
    pub fn epsilon(mut self, v: f32) -> Self {
        match &mut self.kind {
            Kind::Adam { epsilon, .. }
            | Kind::RmsProp { epsilon, .. }
            | Kind::Adagrad { epsilon, .. }
            | Kind::Adadelta { epsilon, .. }
            | Kind::Adamax { epsilon, .. }
            | Kind::Nadam { epsilon, .. } => *epsilon = v,
            Kind::Sgd { .. } => {}
        }
        self
    }

    /// Decoupled weight decay.
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.weight_decay = Some(wd);
        self
    }

    /// Per-variable gradient norm clipping.
    pub fn clipnorm(mut self, c: f32) -> Self {
        self.clipnorm = Some(c);
        self
    }

    /// Gradient value clipping.
    pub fn clipvalue(mut self, c: f32) -> Self {
        self.clipvalue = Some(c);
        self
    }

    /// Global gradient norm clipping.
    pub fn global_clipnorm(mut self, c: f32) -> Self {
        self.global_clipnorm = Some(c);
        self
    }

    fn slots_per_var(&self) -> usize {
        match self.kind {
            Kind::Sgd { momentum, .. } => (momentum != 0.0) as usize,
            Kind::Adam { amsgrad, .. } => 2 + amsgrad as usize,
            Kind::RmsProp {
                momentum, centered, ..
            } => 1 + (momentum > 0.0) as usize + centered as usize,
            Kind::Adagrad { .. } => 1,
            Kind::Adadelta { .. } | Kind::Adamax { .. } | Kind::Nadam { .. } => 2,
        }
    }

    /// Checks the hyperparameters (called by `compile`).
    pub fn validate(&self) -> Result<()> {
        let set = [self.clipnorm, self.clipvalue, self.global_clipnorm]
            .iter()
            .filter(|c| c.is_some())
            .count();
        if set > 1 {
            return Err(Error::arg(
                "clipnorm",
                "only one of clipnorm, clipvalue and global_clipnorm can be set",
            ));
        }
        let lr = self.learning_rate.at(0);
        if !lr.is_finite() || lr < 0.0 {
            return Err(Error::arg(
                "learning_rate",
                format!("must be a finite number >= 0, got {lr}"),
            ));
        }
        Ok(())
    }

    /// One step: clip the gradients of every trainable parameter of `layers`, apply weight
    /// decay, update the values, count the step.
    pub fn apply(&mut self, layers: &mut [Box<dyn Layer>]) {
        let lr = self.learning_rate_now();
        let k = self.slots_per_var();
        if self.slots.is_empty() {
            let init = match self.kind {
                Kind::Adagrad {
                    initial_accumulator_value,
                    ..
                } => initial_accumulator_value,
                _ => 0.0,
            };
            for p in trainable(layers) {
                for _ in 0..k {
                    self.slots.push(vec![init; p.value.len()]);
                }
            }
        }
        let global_scale = self.global_clipnorm.map(|c| {
            let norm = trainable(layers)
                .map(|p| p.grad.data().iter().map(|g| (g * g) as f64).sum::<f64>())
                .sum::<f64>()
                .sqrt() as f32;
            c * (1.0 / norm).min(1.0 / c)
        });
        if let Kind::Nadam { beta_1, .. } = self.kind {
            let t = (self.iterations + 1) as f32;
            self.u_product *= beta_1 * (1.0 - 0.5 * 0.96f32.powf(t));
        }
        let mut slots = std::mem::take(&mut self.slots);
        for (i, p) in layers
            .iter_mut()
            .flat_map(|l| l.params_mut().iter_mut())
            .filter(|p| p.trainable)
            .enumerate()
        {
            self.clip(p, global_scale);
            if let Some(wd) = self.weight_decay {
                p.value
                    .data_mut()
                    .iter_mut()
                    .for_each(|w| *w -= *w * wd * lr);
            }
            self.update(p, &mut slots[i * k..(i + 1) * k], lr);
        }
        self.slots = slots;
        self.iterations += 1;
    }

    fn clip(&self, p: &mut Param, global_scale: Option<f32>) {
        let g = p.grad.data_mut();
        if let Some(c) = self.clipnorm {
            let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
            let scale = c / norm.max(c);
            g.iter_mut().for_each(|v| *v *= scale);
        } else if let Some(s) = global_scale {
            g.iter_mut().for_each(|v| *v *= s);
        } else if let Some(c) = self.clipvalue {
            g.iter_mut().for_each(|v| *v = v.clamp(-c, c));
        }
    }

    fn update(&self, p: &mut Param, slots: &mut [Vec<f32>], lr: f32) {
        let w = p.value.data_mut();
        let g = p.grad.data();
        let t = (self.iterations + 1) as f32;
        match self.kind {
            Kind::Sgd { momentum, nesterov } => {
                if momentum == 0.0 {
                    crate::kernels::sgd_step(w, g, lr);
                } else {
                    let m = &mut slots[0];
                    for i in 0..w.len() {
                        m[i] = -g[i] * lr + m[i] * momentum;
                        w[i] += if nesterov {
                            -g[i] * lr + m[i] * momentum
                        } else {
                            m[i]
                        };
                    }
                }
            }
            Kind::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
                ..
            } => {
                let alpha = lr * (1.0 - beta_2.powf(t)).sqrt() / (1.0 - beta_1.powf(t));
                let (m, rest) = slots.split_first_mut().expect("adam slots");
                let (v, rest) = rest.split_first_mut().expect("adam slots");
                if !amsgrad {
                    crate::kernels::adam_step(w, g, m, v, alpha, beta_1, beta_2, epsilon);
                    return;
                }
                for i in 0..w.len() {
                    m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                    v[i] += (g[i] * g[i] - v[i]) * (1.0 - beta_2);
                    let vi = if amsgrad {
                        rest[0][i] = rest[0][i].max(v[i]);
                        rest[0][i]
                    } else {
                        v[i]
                    };
                    w[i] -= m[i] * alpha / (vi.sqrt() + epsilon);
                }
            }
            Kind::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                let (vel, rest) = slots.split_first_mut().expect("rmsprop slots");
                let (mom, rest) = if momentum > 0.0 {
                    let (m, r) = rest.split_first_mut().expect("momentum slot");
                    (Some(m), r)
                } else {
                    (None, rest)
                };
                let mut avg = if centered { rest.first_mut() } else { None };
                let mut mom = mom;
                for i in 0..w.len() {
                    vel[i] = rho * vel[i] + (1.0 - rho) * g[i] * g[i];
                    let denom = match avg.as_deref_mut() {
                        Some(a) => {
                            a[i] = rho * a[i] + (1.0 - rho) * g[i];
                            vel[i] - a[i] * a[i] + epsilon
                        }
                        None => vel[i] + epsilon,
                    };
                    let inc = lr * g[i] / denom.sqrt();
                    match mom.as_deref_mut() {
                        Some(m) => {
                            m[i] = momentum * m[i] + inc;
                            w[i] -= m[i];
                        }
                        None => w[i] -= inc,
                    }
                }
            }
            Kind::Adagrad { epsilon, .. } => {
                let acc = &mut slots[0];
                for i in 0..w.len() {
                    acc[i] += g[i] * g[i];
                    w[i] -= lr * g[i] / (acc[i] + epsilon).sqrt();
                }
            }
            Kind::Adadelta { rho, epsilon } => {
                let (ag, rest) = slots.split_first_mut().expect("adadelta slots");
                let ad = &mut rest[0];
                for i in 0..w.len() {
                    ag[i] = rho * ag[i] + (1.0 - rho) * g[i] * g[i];
                    let delta = -(ad[i] + epsilon).sqrt() * g[i] / (ag[i] + epsilon).sqrt();
                    ad[i] = rho * ad[i] + (1.0 - rho) * delta * delta;
                    w[i] += lr * delta;
                }
            }
            Kind::Adamax {
                beta_1,
                beta_2,
                epsilon,
            } => {
                let b1p = beta_1.powf(t);
                let (m, rest) = slots.split_first_mut().expect("adamax slots");
                let u = &mut rest[0];
                for i in 0..w.len() {
                    m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                    u[i] = (beta_2 * u[i]).max(g[i].abs());
                    w[i] -= (lr * m[i]) / ((1.0 - b1p) * (u[i] + epsilon));
                }
            }
            Kind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                let u_t = beta_1 * (1.0 - 0.5 * 0.96f32.powf(t));
                let u_t1 = beta_1 * (1.0 - 0.5 * 0.96f32.powf(t + 1.0));
                let up_t = self.u_product;
                let up_t1 = up_t * u_t1;
                let b2p = beta_2.powf(t);
                let (m, rest) = slots.split_first_mut().expect("nadam slots");
                let v = &mut rest[0];
                for i in 0..w.len() {
                    m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                    v[i] += (g[i] * g[i] - v[i]) * (1.0 - beta_2);
                    let m_hat = u_t1 * m[i] / (1.0 - up_t1) + (1.0 - u_t) * g[i] / (1.0 - up_t);
                    let v_hat = v[i] / (1.0 - b2p);
                    w[i] -= m_hat * lr / (v_hat.sqrt() + epsilon);
                }
            }
        }
    }

    /// Keras's `get_config()`.
    pub fn config(&self) -> serde_json::Value {
        use serde_json::json;
        let lr = match &self.learning_rate {
            LearningRate::Constant(v) => json!(v),
            LearningRate::Schedule(s) => s.config(),
        };
        let mut m = json!({
            "name": self.class_name().to_lowercase(),
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": false,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": null,
            "loss_scale_factor": null,
            "gradient_accumulation_steps": null,
        });
        let extra = match self.kind {
            Kind::Sgd { momentum, nesterov } => json!({"momentum": momentum, "nesterov": nesterov}),
            Kind::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
                ..
            } => {
                json!({"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "amsgrad": amsgrad})
            }
            Kind::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                json!({"rho": rho, "momentum": momentum, "epsilon": epsilon, "centered": centered})
            }
            Kind::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                json!({"initial_accumulator_value": initial_accumulator_value, "epsilon": epsilon})
            }
            Kind::Adadelta { rho, epsilon } => json!({"rho": rho, "epsilon": epsilon}),
            Kind::Adamax {
                beta_1,
                beta_2,
                epsilon,
            }
            | Kind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => json!({"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}),
        };
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        m
    }

    /// Number of scalar state values (moments, plus the iteration count and learning rate
    /// that Keras counts in `summary()`'s "Optimizer params").
    pub fn state_size(&self) -> usize {
        self.slots.iter().map(|s| s.len()).sum::<usize>() + 2
    }

    /// True once the first step created the per-variable state.
    pub fn is_built(&self) -> bool {
        !self.slots.is_empty() || self.iterations > 0
    }
}

fn trainable(layers: &mut [Box<dyn Layer>]) -> impl Iterator<Item = &mut Param> {
    layers
        .iter_mut()
        .flat_map(|l| l.params_mut().iter_mut())
        .filter(|p| p.trainable)
}

/// State access for `kerust::saving` (Keras's `optimizer/vars/<i>`).
impl Optimizer {
    /// Sets the number of steps taken (Keras's `iterations` variable).
    pub(crate) fn set_iterations(&mut self, n: u64) {
        self.iterations = n;
    }

    /// The per-variable state: `slots_per_variable()` arrays per trainable parameter, in
    /// parameter order (empty before the first step).
    pub(crate) fn slots(&self) -> &[Vec<f32>] {
        &self.slots
    }

    /// Replaces the per-variable state (same layout as [`slots`](Self::slots)).
    pub(crate) fn set_slots(&mut self, slots: Vec<Vec<f32>>) {
        self.slots = slots;
    }

    /// State arrays kept per trainable parameter.
    pub(crate) fn slots_per_variable(&self) -> usize {
        self.slots_per_var()
    }

    /// Nadam's running product of momentum factors (1 for the other optimizers).
    pub(crate) fn u_product(&self) -> f32 {
        self.u_product
    }

    /// Sets Nadam's running product of momentum factors.
    pub(crate) fn set_u_product(&mut self, v: f32) {
        self.u_product = v;
    }
}
