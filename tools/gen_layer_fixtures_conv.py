"""Golden fixtures for kerust's convolution and pooling layers, from real Keras 3 (JAX).

Run from the repository root:

    KERAS_BACKEND=jax tools/.venv/bin/python tools/gen_layer_fixtures_conv.py [--cases-only]

Writes
* crates/kerust/tests/fixtures/layers_conv.json: per case, the layer's Keras config, fixed
  weights, a fixed input x and upstream gradient g, the output y = layer(x) and the
  gradients of sum(y * g) with respect to x and to every weight (jax.grad through
  layer.stateless_call), in Keras's variable order. Arrays are {"shape", "data"} with
  float32 values stored exactly.
* crates/kerust/tests/fixtures/keras_files/layers_conv.keras: a Keras-written model using
  the layers, and layers_conv_predictions.json: Keras's predictions on fixed inputs.
* layers_conv_summary.json: model.summary() text, printed by a child process to a pipe.
"""

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
GENERATOR = "tools/gen_layer_fixtures_conv.py"

assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"


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


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": [int(s) for s in a.shape], "data": [float(v) for v in a.ravel()]}


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    return obj


def write(name, payload):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(payload, indent=1, allow_nan=False, ensure_ascii=False))
    print("wrote", path)


L = keras.layers

# (case name, layer factory, input shape with batch)
CASES = [
    ("conv2d_valid_relu", lambda: L.Conv2D(4, 3, activation="relu"), (2, 6, 7, 3)),
    (
        "conv2d_same_strides_tanh",
        lambda: L.Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="tanh"),
        (2, 7, 6, 3),
    ),
    (
        "conv2d_dilated_nobias",
        lambda: L.Conv2D(3, (2, 3), dilation_rate=(2, 1), padding="same", use_bias=False),
        (2, 8, 7, 2),
    ),
    (
        "conv2d_groups_sigmoid",
        lambda: L.Conv2D(6, 3, groups=3, padding="same", activation="sigmoid"),
        (2, 5, 5, 6),
    ),
    (
        "conv2d_channels_first_softmax",
        lambda: L.Conv2D(4, (3, 3), strides=2, data_format="channels_first", activation="softmax"),
        (2, 3, 7, 8),
    ),
    ("maxpool2d_valid", lambda: L.MaxPooling2D(), (2, 6, 7, 3)),
    ("maxpool2d_same_s2", lambda: L.MaxPooling2D(3, strides=2, padding="same"), (2, 7, 6, 3)),
    ("avgpool2d_valid_s1", lambda: L.AveragePooling2D((2, 2), strides=1), (2, 5, 6, 3)),
    ("avgpool2d_same_s2", lambda: L.AveragePooling2D((3, 3), strides=2, padding="same"), (2, 7, 6, 3)),
    (
        "maxpool2d_channels_first",
        lambda: L.MaxPooling2D((2, 3), padding="same", data_format="channels_first"),
        (2, 3, 5, 7),
    ),
    (
        "avgpool2d_channels_first_same",
        lambda: L.AveragePooling2D(3, strides=(1, 2), padding="same", data_format="channels_first"),
        (2, 2, 5, 6),
    ),
    (
        "conv1d_causal_dilated",
        lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="elu"),
        (2, 9, 3),
    ),
    ("conv1d_same_s2", lambda: L.Conv1D(3, 5, strides=2, padding="same"), (2, 11, 2)),
    ("maxpool1d", lambda: L.MaxPooling1D(2), (2, 9, 3)),
    ("avgpool1d_same", lambda: L.AveragePooling1D(3, strides=2, padding="same"), (2, 8, 3)),
    (
        "conv3d_same",
        lambda: L.Conv3D(3, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="relu"),
        (2, 4, 5, 4, 2),
    ),
    ("maxpool3d", lambda: L.MaxPooling3D(2), (2, 4, 5, 4, 2)),
    (
        "avgpool3d_same",
        lambda: L.AveragePooling3D((2, 2, 3), strides=1, padding="same"),
        (2, 3, 4, 5, 2),
    ),
    (
        "conv2d_transpose_same_s2",
        lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu"),
        (2, 4, 5, 2),
    ),
    ("conv2d_transpose_valid_s3_k2", lambda: L.Conv2DTranspose(2, 2, strides=3), (2, 3, 4, 3)),
    ("conv2d_transpose_k4_s2_same", lambda: L.Conv2DTranspose(2, 4, strides=2, padding="same"), (2, 3, 3, 2)),
    (
        "conv2d_transpose_channels_first",
        lambda: L.Conv2DTranspose(3, (3, 2), strides=(2, 1), data_format="channels_first"),
        (2, 2, 4, 3),
    ),
    (
        "conv1d_transpose_dilated_same",
        lambda: L.Conv1DTranspose(2, 3, dilation_rate=2, padding="same"),
        (2, 6, 3),
    ),
    ("conv3d_transpose", lambda: L.Conv3DTranspose(2, 2, strides=2), (1, 2, 3, 2, 2)),
    (
        "depthwise2d_same_s2",
        lambda: L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", activation="tanh"),
        (2, 6, 5, 3),
    ),
    (
        "depthwise2d_channels_first",
        lambda: L.DepthwiseConv2D((2, 3), data_format="channels_first"),
        (2, 3, 5, 6),
    ),
    ("depthwise1d", lambda: L.DepthwiseConv1D(3, depth_multiplier=2), (2, 7, 2)),
    (
        "separable2d_same",
        lambda: L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", activation="relu"),
        (2, 6, 6, 3),
    ),
    ("separable1d_s2", lambda: L.SeparableConv1D(3, 3, strides=2), (2, 9, 2)),
    # 3x3, stride 1, 16 channels and filters or more: kerust takes Winograd's F(4x4, 3x3).
    (
        "conv2d_winograd_same_relu",
        lambda: L.Conv2D(16, 3, padding="same", activation="relu"),
        (2, 7, 9, 16),
    ),
    ("conv2d_winograd_valid", lambda: L.Conv2D(20, 3), (2, 10, 6, 17)),
]


def layer_case(name, make, shape, seed):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    layer = make()
    layer.build(shape)
    weights = []
    for v in layer.weights:
        scale = 0.3 if len(v.shape) > 1 else 0.1
        weights.append(rng.normal(scale=scale, size=v.shape).astype(np.float32))
    layer.set_weights(weights)
    x = rng.normal(size=shape).astype(np.float32)
    y = np.asarray(layer(x, training=True))
    g = rng.uniform(-1, 1, size=y.shape).astype(np.float32)

    def loss(tv, xv):
        out, _ = layer.stateless_call(tv, [], xv)
        return jnp.sum(out * g)

    tv = [jnp.asarray(w) for w in weights]
    gw, gx = jax.grad(loss, argnums=(0, 1))(tv, jnp.asarray(x))
    y2 = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(y, y2)
    return {
        "name": name,
        "class_name": layer.__class__.__name__,
        "config": jsonable(layer.get_config()),
        "input_shape": list(shape[1:]),
        "output_shape": [int(d) for d in y.shape[1:]],
        "weights": [arr(w) for w in weights],
        "weight_names": [v.name for v in layer.weights],
        "x": arr(x),
        "g": arr(g),
        "y": arr(y),
        "gx": arr(gx),
        "gw": [arr(w) for w in gw],
    }


def gen_cases():
    cases = [layer_case(n, mk, s, 100 + i) for i, (n, mk, s) in enumerate(CASES)]
    write(
        "layers_conv.json",
        {
            "_meta": meta(
                note="y = layer(x) (training and inference agree for these layers); "
                "gx, gw = jax.grad of sum(y * g) w.r.t. x and the weights (Keras's order)"
            ),
            "cases": cases,
        },
    )


def keras_file_model(which="layers_conv"):
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    if which == "layers_conv_more":
        model = keras.Sequential(
            [
                keras.Input((8, 8, 3)),
                L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu"),
                L.SeparableConv2D(4, 3, activation="tanh"),
                L.Conv2DTranspose(3, 3, strides=2, padding="same"),
                L.MaxPooling2D(3, strides=2),
                L.Flatten(),
                L.Dense(5, activation="softmax"),
            ],
            name="conv_more",
        )
        return finish_keras_file(model, which, rng, (8, 8, 3))
    model = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            L.Conv2D(4, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(6, 3, padding="same", groups=2, activation="tanh"),
            L.AveragePooling2D(2, padding="same"),
            L.Flatten(),
            L.Dense(5, activation="softmax"),
        ],
        name="conv_model",
    )
    return finish_keras_file(model, which, rng, (12, 12, 2))


def finish_keras_file(model, which, rng, shape):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.normal(size=(32, *shape)).astype(np.float32)
    y = rng.integers(0, 5, size=(32,))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = os.path.join(OUT, "keras_files", f"{which}.keras")
    model.save(path)
    t = rng.normal(size=(10, *shape)).astype(np.float32)
    pred = model.predict(t, verbose=0)
    back = keras.saving.load_model(path)
    np.testing.assert_array_equal(back.predict(t, verbose=0), pred)
    write(
        os.path.join("keras_files", f"{which}_predictions.json"),
        {
            "_meta": meta(note=f"inputs float32 (10, {shape}); predictions = model.predict(inputs)"),
            "inputs": arr(t),
            "predictions": arr(pred),
        },
    )


def summary_models():
    return {
        "fashion_cnn": lambda: keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                L.Conv2D(32, (3, 3), activation="relu"),
                L.MaxPooling2D((2, 2)),
                L.Conv2D(64, (3, 3), activation="relu"),
                L.MaxPooling2D((2, 2)),
                L.Flatten(),
                L.Dense(128, activation="relu"),
                L.Dropout(0.5),
                L.Dense(10, activation="softmax"),
            ]
        ),
        "conv_nd": lambda: keras.Sequential(
            [
                keras.Input((16, 4)),
                L.Conv1D(8, 3, padding="causal"),
                L.AveragePooling1D(2),
                L.MaxPooling1D(2, padding="same"),
            ],
            name="conv_nd",
        ),
    }


def child_summary(name):
    keras.utils.set_random_seed(0)
    model = summary_models()[name]()
    sys.stdout.flush()
    model.summary()
    sys.stdout.flush()


def child_env():
    env = dict(os.environ)
    for k in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE",
              "TTY_INTERACTIVE", "CLICOLOR_FORCE", "PYCHARM_HOSTED", "JUPYTER_COLUMNS",
              "JUPYTER_LINES"):
        env.pop(k, None)
    env["KERAS_BACKEND"] = "jax"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def gen_summary():
    cases = []
    for name in summary_models():
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            cwd=REPO,
            check=True,
        )
        cases.append({"name": name, "text": proc.stdout.decode("utf-8")})
    write(
        "layers_conv_summary.json",
        {
            "_meta": meta(note="text = exact bytes model.summary() wrote to a piped stdout"),
            "cases": cases,
        },
    )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child_summary(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "--cases-only":
        # Only layers_conv.json (leaves the .keras files and the summaries as they are).
        gen_cases()
    else:
        gen_cases()
        keras_file_model()
        keras_file_model("layers_conv_more")
        gen_summary()
