#!/usr/bin/env python3
"""Generate golden JSON fixtures for kerust from real Keras 3 (JAX backend).

Run (after `bash tools/setup_venv.sh`):

    KERAS_BACKEND=jax tools/.venv/bin/python tools/gen_fixtures.py

Writes into crates/kerust/tests/fixtures/.  Everything is deterministic
(fixed numpy seeds / keras.utils.set_random_seed) except wall-clock times in
fit_log.json.

Conventions
-----------
* An array ("ARR") is {"shape": [...], "data": [flat row-major list]}.
* float32 values are stored as the Python float of the float32 value
  (float(np.float32(x))), so parsing the JSON number as f64 and casting to f32
  gives back the exact float32 bits.  scalers.json holds float64 data
  (scikit-learn works in float64) stored exactly.
* Each file has "_meta": {"keras", "backend", "generator", ...}.

Some fixtures (summary text, progress-bar output) must be captured exactly as
Keras prints them to a NON-terminal stdout; those are produced by re-running
this script as a child process (`--child ...`) with stdout connected to a pipe.
"""

import inspect
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
# Keep JAX quiet and on CPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
from keras import ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures")
GENERATOR = "tools/gen_fixtures.py"

assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def meta(**extra):
    m = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "generator": GENERATOR,
    }
    m.update(extra)
    return m


def f32(x):
    return float(np.float32(np.asarray(x)))


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": [int(s) for s in a.shape], "data": [float(v) for v in a.ravel()]}


def arr64(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": [int(s) for s in a.shape], "data": [float(v) for v in a.ravel()]}


def jsonable(obj):
    """Make configs JSON-serialisable (numpy scalars, tuples, dtypes...)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "shape"):  # arrays / tensors
        return jsonable(np.asarray(obj).tolist())
    return str(obj)


def check_finite(obj, path="$"):
    if isinstance(obj, float):
        if not np.isfinite(obj):
            raise ValueError(f"non-finite float at {path}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_finite(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_finite(v, f"{path}[{i}]")


def write(name, payload):
    payload = dict(payload)
    payload.setdefault("_meta", meta())
    check_finite(payload)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    text = json.dumps(payload, indent=1, allow_nan=False, ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 2 * 1024 * 1024, f"{name} too large: {size} bytes"
    print(f"wrote {os.path.relpath(path, REPO)} ({size} bytes)", file=sys.stderr)


def check_kwargs(fn, kwargs, what):
    """Fail loudly if a kwarg name is not in Keras's actual signature."""
    params = inspect.signature(fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    for k in kwargs:
        if k not in params:
            raise TypeError(f"{what}: kwarg {k!r} not in signature {inspect.signature(fn)}")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# --------------------------------------------------------------------------
# 1. activations
# --------------------------------------------------------------------------
def gen_activations():
    rng = np.random.default_rng(1)
    x = np.array(
        [
            [-6.0, -4.5, -3.0, -2.2, -1.5, -1.0],
            [-0.7, -0.5, -0.25, -0.1, 0.0, 0.1],
            [0.3, 0.5, 0.8, 1.0, 1.7, 2.5],
            [3.0, 3.5, 4.0, 4.6, 5.2, 6.0],
        ],
        dtype=np.float32,
    )
    g = rng.normal(size=x.shape).astype(np.float32)
    specs = [
        ("linear", {}),
        ("relu", {}),
        ("relu", {"negative_slope": 0.1}),
        ("relu", {"max_value": 4.0}),
        ("relu", {"threshold": 0.5}),
        ("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 0.5}),
        ("leaky_relu", {}),
        ("leaky_relu", {"negative_slope": 0.1}),
        ("elu", {}),
        ("elu", {"alpha": 0.5}),
        ("selu", {}),
        ("gelu", {}),
        ("gelu", {"approximate": False}),
        ("gelu", {"approximate": True}),
        ("silu", {}),
        ("sigmoid", {}),
        ("hard_sigmoid", {}),
        ("hard_silu", {}),
        ("tanh", {}),
        ("softmax", {}),
        ("softmax", {"axis": 0}),
        ("log_softmax", {}),
        ("softplus", {}),
        ("softsign", {}),
        ("exponential", {}),
        ("relu6", {}),
        ("mish", {}),
    ]
    cases = []
    xj = jnp.asarray(x)
    gj = jnp.asarray(g)
    for name, kw in specs:
        fn = getattr(keras.activations, name)
        check_kwargs(fn, kw, f"activations.{name}")
        y = np_(fn(xj, **kw))
        grad = np.asarray(jax.grad(lambda t: jnp.sum(fn(t, **kw) * gj))(xj))
        cases.append({"name": name, "kwargs": kw, "y": arr(y), "grad": arr(grad)})
    defaults = {
        n: {
            p.name: p.default
            for p in inspect.signature(getattr(keras.activations, n)).parameters.values()
            if p.default is not inspect.Parameter.empty
        }
        for n in sorted({s[0] for s in specs})
    }
    write(
        "activations.json",
        {
            "_meta": meta(
                note="y = keras.activations.<name>(x, **kwargs); grad = jax.grad(sum(y*g)) w.r.t. x"
            ),
            "signature_defaults": jsonable(defaults),
            "x": arr(x),
            "g": arr(g),
            "cases": cases,
        },
    )


# --------------------------------------------------------------------------
# 2. losses
# --------------------------------------------------------------------------
LOSS_CLASSES = {
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "log_cosh": "LogCosh",
    "poisson": "Poisson",
    "huber": "Huber",
    "cosine_similarity": "CosineSimilarity",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
    "kl_divergence": "KLDivergence",
}


def softmax_np(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def gen_losses():
    rng = np.random.default_rng(2)
    B = 5
    sw = np.array([1.0, 0.5, 2.0, 0.0, 0.75], dtype=np.float32)

    # regression data, strictly positive, errors spread on both sides of 0.5/1.0
    yt_reg = rng.uniform(0.2, 4.0, size=(B, 3)).astype(np.float32)
    yp_reg = np.abs(yt_reg + rng.normal(0.0, 1.2, size=(B, 3))).astype(np.float32) + np.float32(0.05)
    err = np.abs(yp_reg - yt_reg)
    assert (err > 1.0).any() and (err < 0.5).any(), "huber branches not both covered"

    # hinge family
    yt_pm1 = rng.choice([-1.0, 1.0], size=(B, 3)).astype(np.float32)
    yt_01 = rng.choice([0.0, 1.0], size=(B, 3)).astype(np.float32)
    yt_01[0, :] = [0.0, 1.0, 1.0]
    yp_hinge = (rng.normal(size=(B, 3)) * 1.5).astype(np.float32)
    ids4 = rng.integers(0, 4, size=B)
    yt_oh4 = np.eye(4, dtype=np.float32)[ids4]
    yp_ch = (rng.normal(size=(B, 4)) * 1.5).astype(np.float32)

    # classification
    logits = (rng.normal(size=(B, 4)) * 2.0).astype(np.float32)
    probs = softmax_np(logits.astype(np.float64)).astype(np.float32)
    probs_tiny = probs.copy()
    probs_tiny[0] = [1e-9, 0.5, 0.3, 0.2 - 1e-9]
    yt_tiny = yt_oh4.copy()
    yt_tiny[0] = [1.0, 0.0, 0.0, 0.0]
    sparse_ids = ids4.astype(np.float32)
    yt_bin = rng.choice([0.0, 1.0], size=(B, 3)).astype(np.float32)
    bin_logits = (rng.normal(size=(B, 3)) * 2.0).astype(np.float32)
    bin_probs = (1.0 / (1.0 + np.exp(-bin_logits.astype(np.float64)))).astype(np.float32)
    kl_t = softmax_np(rng.normal(size=(B, 4))).astype(np.float32)
    kl_p = softmax_np(rng.normal(size=(B, 4))).astype(np.float32)

    specs = [
        ("mean_squared_error", {}, yt_reg, yp_reg),
        ("mean_absolute_error", {}, yt_reg, yp_reg),
        ("mean_absolute_percentage_error", {}, yt_reg, yp_reg),
        ("mean_squared_logarithmic_error", {}, yt_reg, yp_reg),
        ("log_cosh", {}, yt_reg, yp_reg),
        ("poisson", {}, yt_reg, yp_reg),
        ("huber", {}, yt_reg, yp_reg),
        ("huber", {"delta": 0.5}, yt_reg, yp_reg),
        ("cosine_similarity", {}, yt_reg, yp_reg),
        ("cosine_similarity", {"axis": -1}, yt_reg - 2.0, yp_reg - 2.0),
        ("hinge", {}, yt_pm1, yp_hinge),
        ("hinge", {}, yt_01, yp_hinge),
        ("squared_hinge", {}, yt_pm1, yp_hinge),
        ("squared_hinge", {}, yt_01, yp_hinge),
        ("categorical_hinge", {}, yt_oh4, yp_ch),
        ("categorical_crossentropy", {}, yt_oh4, probs),
        ("categorical_crossentropy", {"from_logits": True}, yt_oh4, logits),
        ("categorical_crossentropy", {"label_smoothing": 0.1}, yt_oh4, probs),
        ("categorical_crossentropy", {}, yt_tiny, probs_tiny),
        ("sparse_categorical_crossentropy", {}, sparse_ids, probs),
        ("sparse_categorical_crossentropy", {"from_logits": True}, sparse_ids, logits),
        ("binary_crossentropy", {}, yt_bin, bin_probs),
        ("binary_crossentropy", {"from_logits": True}, yt_bin, bin_logits),
        ("binary_crossentropy", {"label_smoothing": 0.2}, yt_bin, bin_probs),
        ("kl_divergence", {}, kl_t, kl_p),
    ]
    cases = []
    for name, kw, yt, yp in specs:
        cls_name = LOSS_CLASSES[name]
        cls = getattr(keras.losses, cls_name)
        check_kwargs(cls.__init__, kw, f"losses.{cls_name}")
        yt = np.asarray(yt, dtype=np.float32)
        yp = np.asarray(yp, dtype=np.float32)
        if name == "sparse_categorical_crossentropy":
            yt_k = jnp.asarray(yt.astype(np.int32))
        else:
            yt_k = jnp.asarray(yt)
        yp_k = jnp.asarray(yp)
        sw_k = jnp.asarray(sw)

        def L(reduction="sum_over_batch_size"):
            return cls(reduction=reduction, **kw)

        per_sample = np_(L(None)(yt_k, yp_k))
        mean = f32(np_(L()(yt_k, yp_k)))
        total = f32(np_(L("sum")(yt_k, yp_k)))
        wmean = f32(np_(L()(yt_k, yp_k, sample_weight=sw_k)))
        wsum = f32(np_(L("sum")(yt_k, yp_k, sample_weight=sw_k)))
        wper = np_(L(None)(yt_k, yp_k, sample_weight=sw_k))
        wmean_sw = f32(np_(L("mean_with_sample_weight")(yt_k, yp_k, sample_weight=sw_k)))
        grad = np.asarray(jax.grad(lambda p: L()(yt_k, p))(yp_k))
        fn_name = name
        cases.append(
            {
                "name": name,
                "class": cls_name,
                "class_default_name": inspect.signature(cls.__init__).parameters["name"].default,
                "function": f"keras.losses.{fn_name}",
                "kwargs": kw,
                "y_true": arr(yt),
                "y_pred": arr(yp),
                "sample_weight": arr(sw),
                "per_sample": arr(per_sample),
                "mean": mean,
                "sum": total,
                "weighted_mean": wmean,
                "weighted_sum": wsum,
                "weighted_per_sample": arr(wper),
                "weighted_mean_with_sample_weight": wmean_sw,
                "grad": arr(grad),
            }
        )
    write(
        "losses.json",
        {
            "_meta": meta(
                epsilon=keras.config.epsilon(),
                note=(
                    "Loss classes: per_sample = reduction=None; mean = default "
                    "'sum_over_batch_size' (sum / number of per-sample values); "
                    "sum = reduction 'sum'; weighted_* use sample_weight (weighted_mean "
                    "= sum(per_sample*w) / batch_size, NOT / sum(w)); "
                    "weighted_mean_with_sample_weight = reduction 'mean_with_sample_weight' "
                    "(divides by sum(w)); grad = d mean / d y_pred via jax.grad. "
                    "sparse y_true are int class ids stored as floats."
                ),
            ),
            "cases": cases,
        },
    )


# --------------------------------------------------------------------------
# 3. optimizers + schedules
# --------------------------------------------------------------------------
def gen_optimizers():
    rng = np.random.default_rng(3)
    var0 = rng.normal(size=(3, 4)).astype(np.float32)
    var0_b = rng.normal(size=(4,)).astype(np.float32)
    grads = [(rng.normal(size=(3, 4)) * 1.0).astype(np.float32) for _ in range(5)]
    grads_b = [(rng.normal(size=(4,)) * 1.5).astype(np.float32) for _ in range(5)]
    grads[0][0, 0] = 2.5
    grads_b[1][2] = -3.0
    ED = keras.optimizers.schedules.ExponentialDecay
    specs = [
        ("SGD", {}),
        ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
        ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
        ("Adam", {}),
        ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
        ("AdamW", {}),
        ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.01}),
        ("RMSprop", {}),
        ("RMSprop", {"momentum": 0.9, "centered": True, "learning_rate": 0.01}),
        ("Adagrad", {}),
        ("Adadelta", {}),
        ("Adadelta", {"learning_rate": 1.0}),
        ("Adamax", {}),
        ("Nadam", {}),
        ("Adam", {"clipnorm": 0.5}),
        ("Adam", {"clipvalue": 0.1}),
        ("Adam", {"global_clipnorm": 0.5}),
        ("SGD", {"weight_decay": 0.01, "learning_rate": 0.1}),
        (
            "Adam",
            {
                "learning_rate": {
                    "class_name": "ExponentialDecay",
                    "config": {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5},
                }
            },
        ),
    ]
    cases = []
    for name, cfg in specs:
        cls = getattr(keras.optimizers, name)
        kw = dict(cfg)
        if isinstance(kw.get("learning_rate"), dict):
            lr_spec = kw["learning_rate"]
            kw["learning_rate"] = getattr(keras.optimizers.schedules, lr_spec["class_name"])(
                **lr_spec["config"]
            )
        check_kwargs(cls.__init__, {k: v for k, v in kw.items()}, f"optimizers.{name}")
        opt = cls(**kw)
        v = keras.Variable(var0.copy(), dtype="float32", name="var_a")
        vb = keras.Variable(var0_b.copy(), dtype="float32", name="var_b")
        vals, vals_b, lrs = [], [], []
        for g, gb in zip(grads, grads_b):
            lrs.append(f32(np_(opt.learning_rate)))
            opt.apply_gradients([(jnp.asarray(g), v), (jnp.asarray(gb), vb)])
            vals.append(arr(np_(v.value)))
            vals_b.append(arr(np_(vb.value)))
        cases.append(
            {
                "name": name,
                "config": cfg,
                "full_config": jsonable(opt.get_config()),
                "var0": arr(var0),
                "var0_b": arr(var0_b),
                "grads": [arr(g) for g in grads],
                "grads_b": [arr(g) for g in grads_b],
                "vars": vals,
                "vars_b": vals_b,
                "learning_rate_per_step": lrs,
                "iterations_after": int(np_(opt.iterations)),
            }
        )

    S = keras.optimizers.schedules
    sched_specs = [
        ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
        (
            "ExponentialDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True},
        ),
        ("PiecewiseConstantDecay", {"boundaries": [2, 5], "values": [1.0, 0.5, 0.1]}),
        ("CosineDecay", {"initial_learning_rate": 1.0, "decay_steps": 10, "alpha": 0.1}),
        (
            "CosineDecay",
            {
                "initial_learning_rate": 0.1,
                "decay_steps": 10,
                "warmup_target": 1.0,
                "warmup_steps": 5,
            },
        ),
        ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
        (
            "InverseTimeDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5, "staircase": True},
        ),
        ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01}),
        (
            "PolynomialDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01, "power": 2.0},
        ),
        (
            "PolynomialDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01, "cycle": True},
        ),
        (
            "PolynomialDecay",
            {
                "initial_learning_rate": 0.1,
                "decay_steps": 4,
                "end_learning_rate": 0.01,
                "power": 2.0,
                "cycle": True,
            },
        ),
    ]
    steps = [0, 1, 2, 5, 10, 100]
    schedules = []
    for name, cfg in sched_specs:
        cls = getattr(S, name)
        check_kwargs(cls.__init__, cfg, f"schedules.{name}")
        s = cls(**cfg)
        schedules.append(
            {
                "name": name,
                "config": cfg,
                "full_config": jsonable(s.get_config()),
                "steps": steps,
                "values": [f32(np_(s(st))) for st in steps],
            }
        )
    write(
        "optimizers.json",
        {
            "_meta": meta(
                note=(
                    "Each step: opt.apply_gradients([(grads[i], var_a), (grads_b[i], var_b)]) "
                    "in eager mode; vars[i]/vars_b[i] are the values after step i+1. "
                    "learning_rate_per_step[i] = opt.learning_rate read just before step i+1. "
                    "A dict learning_rate in config is a schedule {class_name, config}."
                )
            ),
            "cases": cases,
            "schedules": schedules,
        },
    )


# --------------------------------------------------------------------------
# 4. initializers
# --------------------------------------------------------------------------
TRUNC_STD_FACTOR = 0.87962566103423978  # std of N(0,1) truncated to [-2, 2]


def gen_initializers():
    I = keras.initializers
    SEED = 1337

    def vs_expect(scale, mode, distribution, fan_in, fan_out):
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
        n = max(1.0, n)
        var = scale / n
        if distribution == "truncated_normal":
            param_std = np.sqrt(var) / TRUNC_STD_FACTOR
            return float(np.sqrt(var)), float(2.0 * param_std)
        if distribution == "untruncated_normal":
            return float(np.sqrt(var)), None
        limit = np.sqrt(3.0 * var)
        return float(np.sqrt(var)), float(limit)

    # name, class, config, fan-sensitive, (scale, mode, distribution) or None
    vs = {
        "glorot_uniform": (1.0, "fan_avg", "uniform"),
        "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
        "he_normal": (2.0, "fan_in", "truncated_normal"),
        "he_uniform": (2.0, "fan_in", "uniform"),
        "lecun_normal": (1.0, "fan_in", "truncated_normal"),
        "lecun_uniform": (1.0, "fan_in", "uniform"),
    }
    class_of = {
        "glorot_uniform": "GlorotUniform",
        "glorot_normal": "GlorotNormal",
        "he_normal": "HeNormal",
        "he_uniform": "HeUniform",
        "lecun_normal": "LecunNormal",
        "lecun_uniform": "LecunUniform",
        "random_normal": "RandomNormal",
        "random_uniform": "RandomUniform",
        "truncated_normal": "TruncatedNormal",
        "orthogonal": "Orthogonal",
        "ones": "Ones",
        "zeros": "Zeros",
        "constant": "Constant",
        "variance_scaling": "VarianceScaling",
    }
    specs = []
    for n in vs:
        specs.append((n, {"seed": SEED}, [256, 512]))
        specs.append((n, {"seed": SEED}, [512, 256]))
    specs += [
        ("random_normal", {"seed": SEED}, [256, 512]),
        ("random_uniform", {"seed": SEED}, [256, 512]),
        ("truncated_normal", {"seed": SEED}, [256, 512]),
        ("orthogonal", {"seed": SEED}, [64, 64]),
        ("orthogonal", {"seed": SEED}, [32, 64]),
        ("orthogonal", {"seed": SEED}, [64, 32]),
        ("orthogonal", {"seed": SEED, "gain": 2.0}, [32, 64]),
        ("ones", {}, [256, 512]),
        ("zeros", {}, [256, 512]),
        ("constant", {"value": 0.3}, [256, 512]),
    ]
    vs_variants = [
        {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"},
        {"scale": 1.0, "mode": "fan_out", "distribution": "untruncated_normal"},
        {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"},
        {"scale": 0.5, "mode": "fan_out", "distribution": "uniform"},
        {"scale": 3.0, "mode": "fan_avg", "distribution": "truncated_normal"},
    ]
    for v in vs_variants:
        for shape in ([256, 512], [512, 256]):
            specs.append(("variance_scaling", dict(v, seed=SEED), shape))
    specs.append(("variance_scaling", {"seed": SEED}, [256, 512]))

    cases = []
    for name, cfg, shape in specs:
        cls = getattr(I, class_of[name])
        check_kwargs(cls.__init__, cfg, f"initializers.{class_of[name]}")
        init = cls(**cfg)
        w = np_(init(tuple(shape), dtype="float32")).astype(np.float64)
        fan_in, fan_out = shape[0], shape[1]
        full = jsonable(init.get_config())
        expected_std, bound = None, None
        extra = {}
        if name in vs:
            expected_std, bound = vs_expect(*vs[name], fan_in, fan_out)
        elif name == "variance_scaling":
            c = init.get_config()
            expected_std, bound = vs_expect(c["scale"], c["mode"], c["distribution"], fan_in, fan_out)
        elif name == "random_normal":
            expected_std, bound = float(init.stddev), None
        elif name == "random_uniform":
            expected_std = float((init.maxval - init.minval) / np.sqrt(12.0))
            bound = float(max(abs(init.minval), abs(init.maxval)))
        elif name == "truncated_normal":
            expected_std = float(init.stddev * TRUNC_STD_FACTOR)
            bound = float(2.0 * init.stddev)
        elif name == "orthogonal":
            gain = float(init.gain)
            expected_std = float(gain / np.sqrt(max(fan_in, fan_out)))
            if fan_in <= fan_out:
                gram, which = w @ w.T, "WWt"
            else:
                gram, which = w.T @ w, "WtW"
            if fan_in == fan_out:
                which = "WtW"
                gram = w.T @ w
            gram = gram / (gain * gain)
            off = gram - np.diag(np.diag(gram))
            extra = {
                "identity_gram": which,
                "gram_scaled_by": "1/gain^2",
                "max_abs_offdiag_gram": float(np.abs(off).max()),
                "max_abs_diag_minus_one": float(np.abs(np.diag(gram) - 1.0).max()),
            }
            if which == "WtW":
                extra["max_abs_offdiag_WtW"] = extra["max_abs_offdiag_gram"]
            else:
                extra["max_abs_offdiag_WWt"] = extra["max_abs_offdiag_gram"]
        elif name == "ones":
            expected_std = 0.0
        elif name == "zeros":
            expected_std = 0.0
        elif name == "constant":
            expected_std = 0.0
        case = {
            "name": name,
            "class": class_of[name],
            "config": cfg,
            "full_config": full,
            "shape": shape,
            "fan_in": fan_in,
            "fan_out": fan_out,
            "mean": float(w.mean()),
            "std": float(w.std()),
            "min": float(w.min()),
            "max": float(w.max()),
            "expected_std": expected_std,
            "bound": bound,
        }
        case.update(extra)
        cases.append(case)
    write(
        "initializers.json",
        {
            "_meta": meta(
                note=(
                    "Stats (float64) of one draw of init(shape, dtype='float32') with seed 1337. "
                    "expected_std is the theoretical std of the distribution actually sampled "
                    "(truncated normals are rescaled by 1/0.87962566103423978 so that their std is "
                    "sqrt(scale/n)); bound = max |value| allowed (uniform limit or 2*stddev_param "
                    "for truncated normal), null if unbounded. For 2-D shapes fan_in=shape[0], "
                    "fan_out=shape[1]. Orthogonal: identity_gram tells which Gram matrix (W^T W "
                    "or W W^T) is the identity after dividing by gain^2."
                ),
                truncated_normal_std_factor=TRUNC_STD_FACTOR,
            ),
            "cases": cases,
        },
    )


# --------------------------------------------------------------------------
# 5. training
# --------------------------------------------------------------------------
def build_mlp(input_dim, layers):
    model = keras.Sequential([keras.Input((input_dim,))])
    for spec in layers:
        model.add(keras.layers.Dense(spec["units"], activation=spec["activation"]))
    return model


def make_opt(name, cfg):
    cls = getattr(keras.optimizers, name)
    check_kwargs(cls.__init__, cfg, f"optimizers.{name}")
    return cls(**cfg)


def resolved_metric_classes(model):
    out = {}
    try:
        for m in model._compile_metrics.metrics:
            out[m.name] = type(m).__name__
    except Exception as e:  # pragma: no cover - informative only
        out["_error"] = repr(e)
    return out


def gen_training():
    specs = [
        {
            "optimizer": "SGD",
            "optimizer_config": {"learning_rate": 0.1},
            "loss": "sparse_categorical_crossentropy",
            "layers": [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
            "target": "sparse",
        },
        {
            "optimizer": "Adam",
            "optimizer_config": {"learning_rate": 0.01},
            "loss": "sparse_categorical_crossentropy",
            "layers": [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
            "target": "sparse",
        },
        {
            "optimizer": "SGD",
            "optimizer_config": {"learning_rate": 0.1, "momentum": 0.9},
            "loss": "mean_squared_error",
            "layers": [{"units": 5, "activation": "tanh"}, {"units": 3, "activation": "sigmoid"}],
            "target": "onehot",
        },
        {
            "optimizer": "RMSprop",
            "optimizer_config": {"learning_rate": 0.01},
            "loss": "binary_crossentropy",
            "layers": [{"units": 6, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
            "target": "binary",
        },
    ]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    ids = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    ybin = np.array([[0], [1], [1], [0], [1], [0], [0], [1]], dtype=np.float32)
    ys = {
        "sparse": ids.astype(np.float32),
        "onehot": np.eye(3, dtype=np.float32)[ids],
        "binary": ybin,
    }
    cases = []
    for i, spec in enumerate(specs):
        keras.backend.clear_session()
        keras.utils.set_random_seed(1000 + i)
        model = build_mlp(4, spec["layers"])
        weights0 = [np.asarray(w) for w in model.get_weights()]
        model.compile(
            optimizer=make_opt(spec["optimizer"], spec["optimizer_config"]),
            loss=spec["loss"],
            metrics=["accuracy"],
        )
        y = ys[spec["target"]]
        y_in = y.astype(np.int32) if spec["target"] == "sparse" else y
        steps = []
        for _ in range(3):
            logs = model.train_on_batch(x, y_in, return_dict=True)
            steps.append(
                {
                    "loss": f32(logs["loss"]),
                    "accuracy": f32(logs["accuracy"]),
                    "weights": [arr(w) for w in model.get_weights()],
                }
            )
        cases.append(
            {
                "optimizer": spec["optimizer"],
                "optimizer_config": spec["optimizer_config"],
                "loss": spec["loss"],
                "metrics": ["accuracy"],
                "accuracy_resolved_to": resolved_metric_classes(model).get("accuracy"),
                "layers": spec["layers"],
                "input_dim": 4,
                "weights0": [arr(w) for w in weights0],
                "x": arr(x),
                "y": arr(y),
                "batch_size": 8,
                "steps": steps,
            }
        )

    # fit case
    keras.backend.clear_session()
    keras.utils.set_random_seed(2000)
    layers = [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "softmax"}]
    model = build_mlp(4, layers)
    weights0 = [np.asarray(w) for w in model.get_weights()]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    hist = model.fit(x, ids.astype(np.int32), batch_size=4, epochs=2, shuffle=False, verbose=0)
    fit_case = {
        "optimizer": "Adam",
        "optimizer_config": {"learning_rate": 0.01},
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
        "layers": layers,
        "input_dim": 4,
        "weights0": [arr(w) for w in weights0],
        "x": arr(x),
        "y": arr(ids.astype(np.float32)),
        "fit_kwargs": {"batch_size": 4, "epochs": 2, "shuffle": False, "verbose": 0},
        "history": {k: [f32(v) for v in vals] for k, vals in hist.history.items()},
        "final_weights": [arr(w) for w in model.get_weights()],
        "note": (
            "history[k][e] is the epoch-e value of the metric tracker: loss = mean of the "
            "per-batch mean losses weighted by batch size (batches here are equal so plain "
            "mean over the 2 batches), each computed with the weights BEFORE that batch's "
            "update; accuracy = fraction correct over all samples seen in the epoch, also "
            "pre-update. Trackers reset at epoch start."
        ),
    }
    write(
        "training.json",
        {
            "_meta": meta(
                note=(
                    "model.train_on_batch(x, y, return_dict=True) calls model.reset_metrics() "
                    "first, so each step's loss/accuracy are for that batch ONLY (not cumulative), "
                    "computed from the forward pass with the weights BEFORE the update; "
                    "steps[i].weights are model.get_weights() AFTER the update (order: kernel0, "
                    "bias0, kernel1, bias1; kernels are [in, out]). weights0 drawn by Keras's "
                    "default initializers (glorot_uniform kernels, zero biases) after "
                    "keras.utils.set_random_seed. 'accuracy' resolves by shapes: sparse ids -> "
                    "SparseCategoricalAccuracy, one-hot [8,3] -> CategoricalAccuracy, [8,1] "
                    "output -> BinaryAccuracy (threshold 0.5). sparse y stored as floats."
                )
            ),
            "cases": cases,
            "fit_case": fit_case,
        },
    )


# --------------------------------------------------------------------------
# children: verbatim stdout capture (summary, fit logs)
# --------------------------------------------------------------------------
def child_env():
    env = dict(os.environ)
    for k in (
        "COLUMNS",
        "LINES",
        "FORCE_COLOR",
        "NO_COLOR",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
        "CLICOLOR_FORCE",
        "PYCHARM_HOSTED",
        "JUPYTER_COLUMNS",
        "JUPYTER_LINES",
    ):
        env.pop(k, None)
    env["KERAS_BACKEND"] = "jax"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_child(*args):
    side = os.path.join(OUT, ".child_side.json")
    if os.path.exists(side):
        os.remove(side)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", *args, side],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=REPO,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
        raise RuntimeError(f"child {args} failed")
    with open(side, encoding="utf-8") as f:
        side_data = json.load(f)
    os.remove(side)
    return proc.stdout.decode("utf-8"), side_data


SUMMARY_MODELS = [
    "seed000",
    "seed001a",
    "seed001b",
    "seed002",
    "seed003",
    "seed004",
    "dropout",
    "seed003_compiled",
]


def build_summary_model(name):
    L = keras.layers
    I = keras.Input
    if name == "seed000":
        return keras.Sequential(
            [I((784,)), L.Dense(512, activation="sigmoid"), L.Dense(512, activation="sigmoid"),
             L.Dense(10, activation="softmax")]
        )
    if name == "seed001a":
        return keras.Sequential([I((2,)), L.Dense(3, activation="relu"), L.Dense(2, activation="softmax")])
    if name == "seed001b":
        return keras.Sequential(
            [I((1,)), L.Dense(6, activation="relu"), L.Dense(32, activation="relu"),
             L.Dense(2, activation="sigmoid")]
        )
    if name == "seed002":
        return keras.Sequential(
            [I((784,)), L.Dense(64, activation="relu"), L.Dense(64, activation="relu"),
             L.Dense(10, activation="softmax")]
        )
    if name in ("seed003", "seed003_compiled"):
        return keras.Sequential(
            [I((28, 28)), L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]
        )
    if name == "seed004":
        return keras.Sequential(
            [I((784,)), L.Dense(32, activation="sigmoid"), L.Dense(10, activation="sigmoid"),
             L.Dense(1, activation="sigmoid")]
        )
    if name == "dropout":
        return keras.Sequential(
            [I((20,)), L.Dense(16, activation="relu"), L.Dropout(0.5), L.Activation("relu"),
             L.Dense(4, name="out")],
            name="my_model",
        )
    raise KeyError(name)


def child_summary(name, side):
    import io
    import shutil

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_summary_model(name)
    extra = {}
    if name == "seed003_compiled":
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        xs = rng.normal(size=(4, 28, 28)).astype(np.float32)
        ys = rng.integers(0, 10, size=(4,))
        model.fit(xs, ys, batch_size=4, epochs=1, verbose=0)
        extra["optimizer_params"] = int(sum(int(np.prod(v.shape)) for v in model.optimizer.variables))
        extra["optimizer_variables"] = [
            {"path": v.path, "shape": list(v.shape), "dtype": str(v.dtype)} for v in model.optimizer.variables
        ]
    sys.stdout.flush()
    model.summary()  # -> real (piped, non-tty) stdout
    sys.stdout.flush()
    calls = []
    model.summary(print_fn=lambda s, *a, **k: calls.append(s))
    calls88 = []
    model.summary(line_length=88, print_fn=lambda s, *a, **k: calls88.append(s))
    import rich.console

    c = rich.console.Console()
    side_data = {
        "total_params": int(model.count_params()),
        "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "non_trainable_params": int(sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)),
        "text_print_fn": "".join(calls),
        "print_fn_calls": len(calls),
        "text_line_length_88": "".join(calls88),
        "shutil_terminal_columns": shutil.get_terminal_size().columns,
        "line_length": min(88, shutil.get_terminal_size().columns - 4),
        "rich_console_width": c.width,
        "stdout_isatty": sys.stdout.isatty(),
        "layers": [
            {"name": l.name, "class": type(l).__name__, "params": int(l.count_params())} for l in model.layers
        ],
        "model_name": model.name,
    }
    side_data.update(extra)
    with open(side, "w", encoding="utf-8") as f:
        json.dump(side_data, f)


def gen_summary():
    cases = []
    for name in SUMMARY_MODELS:
        text, side = run_child("summary", name)
        case = {"name": name, "text": text}
        case.update(side)
        case["summary_total_params"] = (
            side["trainable_params"] + side["non_trainable_params"] + side.get("optimizer_params", 0)
        )
        cases.append(case)
    write(
        "summary.json",
        {
            "_meta": meta(
                note=(
                    "text = exact bytes model.summary() wrote to stdout when stdout is a pipe "
                    "(no tty, COLUMNS unset, stdin /dev/null). Keras renders with rich: table width "
                    "line_length = min(88, shutil.get_terminal_size().columns - 4) = 76 when not a "
                    "tty (shutil falls back to 80 columns); rich emits no ANSI codes when not a "
                    "terminal. text_print_fn = concatenation of the strings passed to "
                    "summary(print_fn=f) (a single call with the whole rendering, trailing newline "
                    "included). text_line_length_88 = summary(line_length=88, print_fn=f), i.e. what a terminal >= 92 columns wide gets (minus colours). 'Total params' in the text includes optimizer variables once the "
                    "optimizer is built (summary_total_params); total_params = model.count_params()."
                )
            ),
            "cases": cases,
        },
    )


def fitlog_model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model = build_summary_model("seed003")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=(64,))
    return model, x, y


def child_fitlog(which, side):
    model, x, y = fitlog_model()
    side_data = {}
    sys.stdout.flush()
    if which == "fit_verbose2":
        h = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=2)
        side_data["history"] = {k: [float(v) for v in vs] for k, vs in h.history.items()}
    elif which == "fit_verbose1":
        h = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=1)
        side_data["history"] = {k: [float(v) for v in vs] for k, vs in h.history.items()}
    elif which == "fit_verbose_auto":
        model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25)
    elif which == "evaluate_verbose1":
        r = model.evaluate(x, y, batch_size=32, verbose=1, return_dict=True)
        side_data["result"] = {k: float(v) for k, v in r.items()}
    elif which == "predict_verbose1":
        p = model.predict(x, batch_size=32, verbose=1)
        side_data["shape"] = list(p.shape)
    else:
        raise KeyError(which)
    sys.stdout.flush()
    with open(side, "w", encoding="utf-8") as f:
        json.dump(side_data, f)


def gen_fit_log():
    out = {}
    for which in ("fit_verbose2", "fit_verbose1", "fit_verbose_auto", "evaluate_verbose1", "predict_verbose1"):
        text, side = run_child("fitlog", which)
        out[which] = text
        if which == "fit_verbose2":
            out["history"] = side["history"]
        if which == "fit_verbose1":
            out["history_verbose1"] = side["history"]
        if which == "evaluate_verbose1":
            out["evaluate_result"] = side["result"]
    out["setup"] = {
        "model": "Sequential([Input((28,28)), Flatten(), Dense(128, relu), Dense(10, softmax)])",
        "compile": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
        "x_shape": [64, 28, 28],
        "fit_kwargs": {"epochs": 2, "batch_size": 32, "validation_split": 0.25},
        "evaluate_kwargs": {"batch_size": 32, "verbose": 1},
        "predict_kwargs": {"batch_size": 32, "verbose": 1},
    }
    out["_meta"] = meta(
        note=(
            "Exact stdout (stdout = pipe, not a tty) of each call in a fresh process; timings "
            "vary run to run. Keras's Progbar always uses 'dynamic display' on POSIX "
            "('posix' in sys.modules), so verbose=1 output contains \\b backspaces, \\r and "
            "ANSI escape codes (\\x1b[1m bold, \\x1b[32m/\\x1b[37m bar colours, \\x1b[0m reset) "
            "even when piped; intermediate updates are throttled to every 0.05 s so their "
            "number varies. fit's default verbose='auto' is 1. verbose=2 prints one line per "
            "epoch, no escapes."
        )
    )
    write("fit_log.json", out)


# --------------------------------------------------------------------------
# 8. metrics
# --------------------------------------------------------------------------
def gen_metrics():
    rng = np.random.default_rng(8)
    M = keras.metrics

    def probs(n, k):
        return softmax_np(rng.normal(size=(n, k)) * 1.5).astype(np.float32)

    def onehot(ids, k):
        return np.eye(k, dtype=np.float32)[ids]

    def batches_for(kind):
        out = []
        for n in (4, 6):
            if kind == "binary":
                yt = rng.choice([0.0, 1.0], size=(n, 3)).astype(np.float32)
                yp = rng.uniform(0.02, 0.98, size=(n, 3)).astype(np.float32)
            elif kind == "categorical":
                ids = rng.integers(0, 5, size=n)
                yt, yp = onehot(ids, 5), probs(n, 5)
            elif kind == "sparse":
                ids = rng.integers(0, 5, size=n)
                yt, yp = ids.astype(np.float32), probs(n, 5)
            elif kind == "regression":
                yt = rng.normal(size=(n, 3)).astype(np.float32)
                yp = (yt + rng.normal(size=(n, 3)) * 0.7).astype(np.float32)
            elif kind == "pr":
                m = 2 * n
                yt = rng.choice([0.0, 1.0], size=(m,)).astype(np.float32)
                yp = rng.uniform(0.01, 0.99, size=(m,)).astype(np.float32)
            elif kind == "auc":
                m = 2 * n
                yt = rng.choice([0.0, 1.0], size=(m,)).astype(np.float32)
                yt[0], yt[1] = 0.0, 1.0
                # keep away from the exact 1/199 threshold grid
                yp = (np.round(rng.uniform(0.0, 1.0, size=(m,)) * 199.0) + 0.5) / 199.0
                yp = np.clip(yp, 0.001, 0.999).astype(np.float32)
            out.append((yt, yp))
        return out

    specs = [
        ("binary_accuracy", "BinaryAccuracy", {"threshold": 0.5}, "binary"),
        ("categorical_accuracy", "CategoricalAccuracy", {}, "categorical"),
        ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, "sparse"),
        ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 2}, "categorical"),
        ("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
        ("mean_squared_error", "MeanSquaredError", {}, "regression"),
        ("mean_absolute_error", "MeanAbsoluteError", {}, "regression"),
        ("root_mean_squared_error", "RootMeanSquaredError", {}, "regression"),
        ("precision", "Precision", {}, "pr"),
        ("recall", "Recall", {}, "pr"),
        ("auc", "AUC", {}, "auc"),
        ("auc", "AUC", {"num_thresholds": 200, "curve": "PR"}, "auc"),
    ]
    cases = []
    for name, cls_name, cfg, kind in specs:
        cls = getattr(M, cls_name)
        check_kwargs(cls.__init__, cfg, f"metrics.{cls_name}")
        m = cls(**cfg)
        bs = batches_for(kind)
        results = []
        for yt, yp in bs:
            if kind == "sparse":
                # ensure no exact ties in top-k (continuous softmax makes ties impossible)
                m.update_state(jnp.asarray(yt.astype(np.int32)), jnp.asarray(yp))
            else:
                m.update_state(jnp.asarray(yt), jnp.asarray(yp))
            results.append(f32(np_(m.result())))
        cases.append(
            {
                "name": name,
                "class": cls_name,
                "config": cfg,
                "full_config": jsonable(m.get_config()),
                "batches": [{"y_true": arr(yt), "y_pred": arr(yp)} for yt, yp in bs],
                "result_after_each": results,
                "result": results[-1],
            }
        )
    write(
        "metrics.json",
        {
            "_meta": meta(
                note=(
                    "Metric class instance, update_state(batch) for each batch in order, "
                    "result() recorded after each update; 'result' is the final one."
                )
            ),
            "cases": cases,
        },
    )


# --------------------------------------------------------------------------
# 9. scalers / utils
# --------------------------------------------------------------------------
def gen_scalers():
    import sklearn
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    rng = np.random.default_rng(9)
    X = np.column_stack(
        [rng.normal(5.0, 2.0, size=10), np.full(10, 3.25), rng.uniform(-10.0, 10.0, size=10)]
    ).astype(np.float64)
    X2 = np.column_stack(
        [rng.normal(0.0, 1.0, size=4), rng.normal(0.0, 1.0, size=4), rng.uniform(-1.0, 1.0, size=4)]
    ).astype(np.float64)
    specs = [
        ("MinMaxScaler", {}, MinMaxScaler),
        ("MinMaxScaler", {"feature_range": [-1, 1]}, MinMaxScaler),
        ("StandardScaler", {}, StandardScaler),
    ]
    cases = []
    for name, cfg, cls in specs:
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
        s = cls(**kw).fit(X)
        attrs = {}
        for a in ("data_min_", "data_max_", "data_range_", "scale_", "min_", "mean_", "var_"):
            if hasattr(s, a) and getattr(s, a) is not None:
                attrs[a] = [float(v) for v in getattr(s, a)]
        cases.append(
            {
                "name": name,
                "config": cfg,
                "params": jsonable(s.get_params()),
                "input": arr64(X),
                "transform": arr64(s.transform(X)),
                "second_input": arr64(X2),
                "inverse_transform_second": arr64(s.inverse_transform(X2)),
                "fitted": attrs,
            }
        )
    xn = np.array([[3.0, 4.0, 0.0], [1.0, -2.0, 2.0], [0.0, 0.0, 0.0], [0.5, 0.25, -1.5]], dtype=np.float32)
    norm = keras.utils.normalize(xn, axis=-1, order=2)
    norm_np_out = keras.utils.normalize(xn.astype(np.float64), axis=-1, order=2)
    cat = keras.utils.to_categorical([0, 2, 1, 3], num_classes=5)
    write(
        "scalers.json",
        {
            "_meta": meta(
                sklearn=sklearn.__version__,
                note="scikit-learn data are float64 stored exactly; normalize input float32.",
            ),
            "cases": cases,
            "normalize": {
                "kwargs": {"axis": -1, "order": 2},
                "input": arr(xn),
                "output": arr(np_(norm)),
                "output_dtype": str(np.asarray(np_(norm)).dtype),
                "output_float64_input": arr64(np_(norm_np_out)),
            },
            "to_categorical": {
                "input": [0, 2, 1, 3],
                "num_classes": 5,
                "output": arr(cat),
                "output_dtype": str(np.asarray(cat).dtype),
            },
        },
    )


# --------------------------------------------------------------------------
def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        kind = sys.argv[2]
        if kind == "summary":
            child_summary(sys.argv[3], sys.argv[4])
        elif kind == "fitlog":
            child_fitlog(sys.argv[3], sys.argv[4])
        else:
            raise SystemExit(f"unknown child {kind}")
        return
    only = set(sys.argv[1:])
    gens = [
        ("activations", gen_activations),
        ("losses", gen_losses),
        ("optimizers", gen_optimizers),
        ("initializers", gen_initializers),
        ("training", gen_training),
        ("summary", gen_summary),
        ("fit_log", gen_fit_log),
        ("metrics", gen_metrics),
        ("scalers", gen_scalers),
    ]
    for name, fn in gens:
        if only and name not in only:
            continue
        print(f"== {name}", file=sys.stderr)
        fn()


if __name__ == "__main__":
    main()
