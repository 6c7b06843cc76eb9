#!/usr/bin/env python3
"""Golden fixtures for kerust's normalization, global-pooling and reshaping layers, from
real Keras 3 (JAX backend).

Run from the repository root:

    KERAS_BACKEND=jax /work/main/tools/.venv/bin/python tools/gen_layer_fixtures_norm.py

Writes
* crates/kerust/tests/fixtures/layers_norm.json: per layer case, fixed weights and inputs,
  outputs in inference and (where they differ) training mode, the input gradient and the
  weight gradients of `sum(y * g)` for a fixed `g`, and the weights after a training pass
  (BatchNormalization's moving statistics);
* crates/kerust/tests/fixtures/layers_norm_model.json: a model using the layers, its initial
  weights, the weights and losses after `fit`, its `summary()` text (printed to a pipe),
  and Keras's predictions from the `.keras` file below, plus the weights after one more
  epoch of training from it;
* crates/kerust/tests/fixtures/keras_files/layers_norm.keras;
* layers_norm_shape_model.json and keras_files/layers_norm_shape.keras: a model of the
  reshaping and noise layers, Keras's predictions and summary text.

Arrays are {"shape", "data"} with float32 values stored exactly (as in gen_fixtures.py).
"""

import inspect
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures")
L = keras.layers


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def meta(extra=None):
    m = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "generator": "tools/gen_layer_fixtures_norm.py",
    }
    m.update(extra or {})
    return m


def normal(rng, shape, scale=1.0, loc=0.0):
    return (loc + scale * rng.standard_normal(shape)).astype(np.float32)


def grads(layer, x, g, training):
    """(y, dx, [dw per trainable variable]) of sum(layer(x) * g)."""
    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]

    kw = {"training": training} if "training" in inspect.signature(layer.call).parameters else {}

    def f(tv, x):
        y, _ = layer.stateless_call(tv, ntv, x, **kw)
        return jnp.sum(y * g), y

    (gtv, gx), y = jax.grad(f, argnums=(0, 1), has_aux=True)(tv, jnp.asarray(x))
    return np.asarray(y), np.asarray(gx), [np.asarray(t) for t in gtv]


def case(name, layer, x, weights=None, training=False, grad=True, seed=0):
    """Records one layer case. `training`: also record the training-mode pass."""
    rng = np.random.default_rng(1000 + seed)
    layer.build((None,) + x.shape[1:])
    if weights is not None:
        layer.set_weights(weights)
    cfg = layer.get_config()
    cfg.pop("dtype", None)
    y_inf = np.asarray(layer(x, training=False))
    g = normal(rng, y_inf.shape)
    c = {
        "name": name,
        "class": type(layer).__name__,
        "config": cfg,
        "x": arr(x),
        "weights": [arr(w) for w in layer.get_weights()],
        "trainable": [bool(v.trainable) for v in layer.weights],
        "g": arr(g),
        "y": arr(y_inf),
    }
    if grad:
        _, gx, gw = grads(layer, x, g, False)
        c["gx"] = arr(gx)
        c["gw"] = [arr(w) for w in gw]
    if training:
        y_tr, gx_tr, gw_tr = grads(layer, x, g, True)
        c["y_train"] = arr(y_tr)
        c["gx_train"] = arr(gx_tr)
        c["gw_train"] = [arr(w) for w in gw_tr]
        layer(x, training=True)  # updates the moving statistics
        c["weights_after_train"] = [arr(w) for w in layer.get_weights()]
    return c


def bn_weights(rng, c, scale=True, center=True):
    w = []
    if scale:
        w.append(normal(rng, (c,), 0.3, 1.0))
    if center:
        w.append(normal(rng, (c,), 0.5))
    w.append(normal(rng, (c,), 0.5))
    w.append(rng.uniform(0.5, 2.0, (c,)).astype(np.float32))
    return w


def affine(rng, c, scale=True, center=True):
    w = []
    if scale:
        w.append(normal(rng, (c,), 0.3, 1.0))
    if center:
        w.append(normal(rng, (c,), 0.5))
    return w


def layer_cases():
    rng = np.random.default_rng(7)
    cs = []
    # --- normalization
    cs.append(case("bn_2d", L.BatchNormalization(), normal(rng, (6, 5), 2.0, 0.7),
                   bn_weights(rng, 5), training=True, seed=1))
    cs.append(case("bn_4d", L.BatchNormalization(momentum=0.9, epsilon=1e-5),
                   normal(rng, (3, 4, 4, 3), 1.5, -0.4), bn_weights(rng, 3), training=True, seed=2))
    cs.append(case("bn_plain", L.BatchNormalization(center=False, scale=False),
                   normal(rng, (5, 4), 1.0, 0.3), bn_weights(rng, 4, False, False),
                   training=True, seed=3))
    cs.append(case("bn_scale_only", L.BatchNormalization(center=False, axis=2),
                   normal(rng, (4, 3, 2)), bn_weights(rng, 2, True, False), training=True, seed=4))
    cs.append(case("ln_2d", L.LayerNormalization(), normal(rng, (4, 6), 2.0, 1.0),
                   affine(rng, 6), seed=5))
    cs.append(case("ln_3d", L.LayerNormalization(epsilon=1e-5), normal(rng, (2, 3, 8)),
                   affine(rng, 8), seed=6))
    cs.append(case("ln_rms", L.LayerNormalization(rms_scaling=True), normal(rng, (3, 5), 1.0, 0.5),
                   affine(rng, 5, True, False), seed=7))
    cs.append(case("ln_nocenter", L.LayerNormalization(center=False), normal(rng, (3, 4)),
                   affine(rng, 4, True, False), seed=8))
    cs.append(case("gn_4d", L.GroupNormalization(groups=2), normal(rng, (2, 3, 3, 4), 1.0, 0.2),
                   affine(rng, 4), seed=9))
    cs.append(case("gn_instance", L.GroupNormalization(groups=-1), normal(rng, (2, 5, 3)),
                   affine(rng, 3), seed=10))
    cs.append(case("gn_one_noscale", L.GroupNormalization(groups=1, scale=False, epsilon=1e-5),
                   normal(rng, (2, 4, 6)), affine(rng, 6, False, True), seed=11))
    cs.append(case("un_2d", L.UnitNormalization(), normal(rng, (4, 5)), seed=12))
    cs.append(case("un_3d", L.UnitNormalization(), normal(rng, (2, 3, 4)), seed=13))
    # --- global pooling
    x3 = normal(rng, (2, 5, 3))
    x4 = normal(rng, (2, 3, 4, 3))
    x5 = normal(rng, (2, 2, 3, 2, 3))
    cs.append(case("gmp1d", L.GlobalMaxPooling1D(), x3, seed=20))
    cs.append(case("gmp2d", L.GlobalMaxPooling2D(), x4, seed=21))
    cs.append(case("gmp3d_keepdims", L.GlobalMaxPooling3D(keepdims=True), x5, seed=22))
    cs.append(case("gap1d", L.GlobalAveragePooling1D(), x3, seed=23))
    cs.append(case("gap2d_keepdims", L.GlobalAveragePooling2D(keepdims=True), x4, seed=24))
    cs.append(case("gap3d", L.GlobalAveragePooling3D(), x5, seed=25))
    # --- reshaping
    cs.append(case("reshape", L.Reshape((3, -1)), normal(rng, (2, 4, 3)), seed=30))
    cs.append(case("permute2", L.Permute((2, 1)), normal(rng, (2, 3, 4)), seed=31))
    cs.append(case("permute3", L.Permute((3, 1, 2)), normal(rng, (2, 2, 3, 4)), seed=32))
    cs.append(case("repeat_vector", L.RepeatVector(3), normal(rng, (2, 4)), seed=33))
    cs.append(case("zeropad_int", L.ZeroPadding2D(1), normal(rng, (2, 2, 3, 2)), seed=34))
    cs.append(case("zeropad_pairs", L.ZeroPadding2D(((1, 0), (2, 1))), normal(rng, (1, 2, 2, 3)), seed=35))
    cs.append(case("zeropad_pair", L.ZeroPadding2D((0, 2)), normal(rng, (1, 2, 2, 1)), seed=36))
    cs.append(case("crop_pairs", L.Cropping2D(((1, 0), (1, 2))), normal(rng, (2, 4, 5, 2)), seed=37))
    cs.append(case("crop_int", L.Cropping2D(1), normal(rng, (1, 4, 4, 3)), seed=38))
    cs.append(case("upsample_nearest", L.UpSampling2D((2, 3)), normal(rng, (2, 2, 3, 2)), seed=39))
    cs.append(case("upsample_bilinear", L.UpSampling2D(2, interpolation="bilinear"),
                   normal(rng, (2, 3, 2, 2)), seed=40))
    # --- random layers: inference mode only (the identity)
    cs.append(case("spatial_dropout2d", L.SpatialDropout2D(0.3), normal(rng, (2, 3, 3, 4)), seed=41))
    cs.append(case("gaussian_noise", L.GaussianNoise(0.5), normal(rng, (3, 4)), seed=42))
    cs.append(case("gaussian_dropout", L.GaussianDropout(0.4), normal(rng, (3, 4)), seed=43))
    return cs


# --------------------------------------------------------------------------------------
# A model using the layers: fit, summary, .keras file
# --------------------------------------------------------------------------------------
def build_model():
    return keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            L.Dense(6),
            L.BatchNormalization(),
            L.GroupNormalization(groups=3),
            L.LayerNormalization(),
            L.UnitNormalization(),
            L.GlobalAveragePooling2D(),
            L.Dense(3, activation="softmax"),
        ],
        name="norm_model",
    )


def model_data():
    rng = np.random.default_rng(3)
    x = normal(rng, (16, 4, 4, 3), 1.0, 0.5)
    y = rng.integers(0, 3, 16).astype(np.float32)
    return x, y


def build_shape_model():
    return keras.Sequential(
        [
            keras.Input((6, 5, 2)),
            L.ZeroPadding2D(((1, 0), (0, 2))),
            L.Cropping2D(((0, 1), (1, 0))),
            L.UpSampling2D((2, 1)),
            L.UpSampling2D(2, interpolation="bilinear"),
            L.SpatialDropout2D(0.3, seed=4),
            L.GaussianNoise(0.2, seed=5),
            L.GaussianDropout(0.2, seed=6),
            L.Permute((2, 1, 3)),
            L.Reshape((-1, 4)),
            L.GlobalMaxPooling1D(),
            L.RepeatVector(3),
            L.GlobalAveragePooling1D(keepdims=True),
            L.Reshape((4,)),
            L.Dense(3, activation="softmax"),
        ],
        name="shape_model",
    )


def summary_child(which):
    keras.utils.set_random_seed(1)
    m = build_model() if which == "norm" else build_shape_model()
    m.summary()


def summary_text(which):
    env = dict(os.environ)
    for k in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(k, None)
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, __file__, "--summary", which], stdout=subprocess.PIPE, env=env, check=True
    ).stdout.decode("utf-8")


def shape_model_fixture():
    keras.utils.set_random_seed(2)
    m = build_shape_model()
    m.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = normal(rng, (4, 6, 5, 2))
    preds = m.predict(x, verbose=0)
    path = os.path.join(OUT, "keras_files", "layers_norm_shape.keras")
    m.save(path)
    return {
        "_meta": meta({"note": "predictions of the saved model (inference: noise layers inactive)"}),
        "x": arr(x),
        "predictions": arr(preds),
        "summary": summary_text("shape"),
    }


def model_fixture():
    keras.utils.set_random_seed(1)
    m = build_model()
    x, y = model_data()
    init = [arr(w) for w in m.get_weights()]
    m.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    h = m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    after = [arr(w) for w in m.get_weights()]
    preds = m.predict(x, verbose=0)
    os.makedirs(os.path.join(OUT, "keras_files"), exist_ok=True)
    path = os.path.join(OUT, "keras_files", "layers_norm.keras")
    m.save(path)
    loaded = keras.saving.load_model(path)
    preds_loaded = loaded.predict(x, verbose=0)
    assert np.array_equal(preds, preds_loaded)
    h2 = loaded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    more = [arr(w) for w in loaded.get_weights()]
    text = summary_text("norm")
    return {
        "_meta": meta({"optimizer": "Adam(0.01)", "loss": "sparse_categorical_crossentropy",
                       "fit": "batch_size=4, epochs=2, shuffle=False"}),
        "x": arr(x),
        "y": arr(y),
        "initial_weights": init,
        "weights_after_fit": after,
        "losses": [float(v) for v in h.history["loss"]],
        "predictions": arr(preds),
        "weights_after_more": more,
        "more_loss": float(h2.history["loss"][0]),
        "summary": text,
    }


def main():
    if "--summary" in sys.argv:
        summary_child(sys.argv[-1])
        return
    cases = layer_cases()
    with open(os.path.join(OUT, "layers_norm.json"), "w") as f:
        json.dump({"_meta": meta(), "cases": cases}, f)
    with open(os.path.join(OUT, "layers_norm_model.json"), "w") as f:
        json.dump(model_fixture(), f, ensure_ascii=False)
    with open(os.path.join(OUT, "layers_norm_shape_model.json"), "w") as f:
        json.dump(shape_model_fixture(), f, ensure_ascii=False)
    print("wrote layers_norm.json, layers_norm_model.json, keras_files/layers_norm.keras")


if __name__ == "__main__":
    main()
