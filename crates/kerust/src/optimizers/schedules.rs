//! Learning-rate schedules, as `keras.optimizers.schedules`. Each maps the optimizer's
//! iteration count (steps taken so far) to a learning rate.

use serde_json::json;

/// A learning-rate schedule.
///
/// ```
/// use kerust::optimizers::Schedule;
/// let s = Schedule::ExponentialDecay { initial_learning_rate: 0.1, decay_steps: 2, decay_rate: 0.5, staircase: false };
/// assert!((s.value(2) - 0.05).abs() < 1e-7);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `initial * rate^(step / decay_steps)` (the exponent floored when `staircase`).
    ExponentialDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps per decay period.
        decay_steps: u64,
        /// Factor per period.
        decay_rate: f32,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `values[i]` while `step <= boundaries[i]`, `values[last]` after.
    PiecewiseConstantDecay {
        /// Step boundaries, increasing.
        boundaries: Vec<u64>,
        /// One more value than boundaries.
        values: Vec<f32>,
    },
    /// Cosine decay to `alpha * initial`, with optional linear warmup to `warmup_target`.
    CosineDecay {
        /// Rate at step 0 (or at the start of warmup).
        initial_learning_rate: f32,
        /// Steps of decay.
        decay_steps: u64,
        /// Final rate as a fraction of the initial one.
        alpha: f32,
        /// Rate reached at the end of warmup.
        warmup_target: Option<f32>,
        /// Steps of warmup.
        warmup_steps: u64,
    },
    /// `initial / (1 + rate * step / decay_steps)` (the ratio floored when `staircase`).
    InverseTimeDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps per unit of decay.
        decay_steps: u64,
        /// Decay factor.
        decay_rate: f32,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// Polynomial decay from `initial` to `end_learning_rate` over `decay_steps`.
    PolynomialDecay {
        /// Rate at step 0.
        initial_learning_rate: f32,
        /// Steps of decay.
        decay_steps: u64,
        /// Final rate (Keras default 1e-4).
        end_learning_rate: f32,
        /// Exponent (Keras default 1).
        power: f32,
        /// Restart the decay after `decay_steps`, with a longer period.
        cycle: bool,
    },
}

impl Schedule {
    /// The learning rate after `step` optimizer steps.
    pub fn value(&self, step: u64) -> f32 {
        let s = step as f32;
        match self {
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let mut p = s / *decay_steps as f32;
                if *staircase {
                    p = p.floor();
                }
                initial_learning_rate * decay_rate.powf(p)
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                let i = boundaries
                    .iter()
                    .position(|&b| step <= b)
                    .unwrap_or(boundaries.len());
                values.get(i).or(values.last()).copied().unwrap_or(0.0)
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                let decay = |step: f32, init: f32| {
                    let frac = step.min(*decay_steps as f32) / (*decay_steps as f32).max(1.0);
                    let cos = 0.5 * (1.0 + (std::f32::consts::PI * frac).cos());
                    init * ((1.0 - alpha) * cos + alpha)
                };
                match warmup_target {
                    None => decay(s, *initial_learning_rate),
                    Some(target) => {
                        if step < *warmup_steps {
                            let done = s / *warmup_steps as f32;
                            (target - initial_learning_rate) * done + initial_learning_rate
                        } else {
                            decay(s - *warmup_steps as f32, *target)
                        }
                    }
                }
            }
            Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let mut p = s / *decay_steps as f32;
                if *staircase {
                    p = p.floor();
                }
                initial_learning_rate / (1.0 + decay_rate * p)
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                let mut steps = *decay_steps as f32;
                let mut s = s;
                if *cycle {
                    let mult = if s == 0.0 { 1.0 } else { (s / steps).ceil() };
                    steps *= mult;
                } else {
                    s = s.min(steps);
                }
                (initial_learning_rate - end_learning_rate) * (1.0 - s / steps).powf(*power)
                    + end_learning_rate
            }
        }
    }

    /// A schedule from Keras's serialized form (`{"class_name": ..., "config": {...}}`) or
    /// from a class name inside `config` under `"name"`.
    pub fn from_config(v: &serde_json::Value) -> crate::Result<Self> {
        let (class, cfg) = match (
            v.get("class_name").and_then(|c| c.as_str()),
            v.get("config"),
        ) {
            (Some(c), Some(cfg)) => (c, cfg),
            _ => (v.get("name").and_then(|c| c.as_str()).unwrap_or(""), v),
        };
        let f = |k: &str, d: f32| cfg.get(k).and_then(|x| x.as_f64()).map_or(d, |x| x as f32);
        let u = |k: &str| cfg.get(k).and_then(|x| x.as_f64()).map_or(1, |x| x as u64);
        let b = |k: &str| cfg.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
        let lr0 = f("initial_learning_rate", 0.0);
        Ok(match class {
            "ExponentialDecay" => Schedule::ExponentialDecay {
                initial_learning_rate: lr0,
                decay_steps: u("decay_steps"),
                decay_rate: f("decay_rate", 1.0),
                staircase: b("staircase"),
            },
            "PiecewiseConstantDecay" => Schedule::PiecewiseConstantDecay {
                boundaries: cfg
                    .get("boundaries")
                    .and_then(|x| x.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_f64())
                            .map(|x| x as u64)
                            .collect()
                    })
                    .unwrap_or_default(),
                values: cfg
                    .get("values")
                    .and_then(|x| x.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_f64())
                            .map(|x| x as f32)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            "CosineDecay" => Schedule::CosineDecay {
                initial_learning_rate: lr0,
                decay_steps: u("decay_steps"),
                alpha: f("alpha", 0.0),
                warmup_target: cfg
                    .get("warmup_target")
                    .and_then(|x| x.as_f64())
                    .map(|x| x as f32),
                warmup_steps: cfg
                    .get("warmup_steps")
                    .and_then(|x| x.as_u64())
                    .unwrap_or(0),
            },
            "InverseTimeDecay" => Schedule::InverseTimeDecay {
                initial_learning_rate: lr0,
                decay_steps: u("decay_steps"),
                decay_rate: f("decay_rate", 1.0),
                staircase: b("staircase"),
            },
            "PolynomialDecay" => Schedule::PolynomialDecay {
                initial_learning_rate: lr0,
                decay_steps: u("decay_steps"),
                end_learning_rate: f("end_learning_rate", 1e-4),
                power: f("power", 1.0),
                cycle: b("cycle"),
            },
            other => {
                return Err(crate::Error::unknown(
                    "learning rate schedule",
                    other,
                    &[
                        "ExponentialDecay",
                        "PiecewiseConstantDecay",
                        "CosineDecay",
                        "InverseTimeDecay",
                        "PolynomialDecay",
                    ],
                ))
            }
        })
    }

    /// Keras's serialized form.
    pub fn config(&self) -> serde_json::Value {
        let (name, cfg) = match self {
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => (
                "ExponentialDecay",
                json!({"initial_learning_rate": initial_learning_rate, "decay_steps": decay_steps, "decay_rate": decay_rate, "staircase": staircase, "name": "ExponentialDecay"}),
            ),
            Schedule::PiecewiseConstantDecay { boundaries, values } => (
                "PiecewiseConstantDecay",
                json!({"boundaries": boundaries, "values": values, "name": "PiecewiseConstant"}),
            ),
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => (
                "CosineDecay",
                json!({"initial_learning_rate": initial_learning_rate, "decay_steps": decay_steps, "alpha": alpha, "name": "CosineDecay", "warmup_target": warmup_target, "warmup_steps": warmup_steps}),
            ),
            Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => (
                "InverseTimeDecay",
                json!({"initial_learning_rate": initial_learning_rate, "decay_steps": decay_steps, "decay_rate": decay_rate, "staircase": staircase, "name": "InverseTimeDecay"}),
            ),
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => (
                "PolynomialDecay",
                json!({"initial_learning_rate": initial_learning_rate, "decay_steps": decay_steps, "end_learning_rate": end_learning_rate, "power": power, "cycle": cycle, "name": "PolynomialDecay"}),
            ),
        };
        json!({"module": "keras.optimizers.schedules", "class_name": name, "config": cfg, "registered_name": null})
    }
}

/// A constant learning rate or a schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum LearningRate {
    /// A fixed rate.
    Constant(f32),
    /// A rate that depends on the step.
    Schedule(Schedule),
}

impl LearningRate {
    /// The rate after `step` steps.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(v) => *v,
            LearningRate::Schedule(s) => s.value(step),
        }
    }
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Constant(v)
    }
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Constant(v as f32)
    }
}

impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}
