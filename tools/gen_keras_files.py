#!/usr/bin/env python3
"""Write Keras-made model files for kerust's saving tests (issue 4).

Run (after `bash tools/setup_venv.sh`):

    KERAS_BACKEND=jax tools/.venv/bin/python tools/gen_keras_files.py

Writes into crates/kerust/tests/fixtures/keras_files/:

* seed003.keras / seed003.h5 -- the seed-003 Fashion-MNIST model
  (Flatten(28, 28) -> Dense(128, relu) -> Dense(10, softmax), compiled with
  adam / sparse_categorical_crossentropy / accuracy) after one epoch on 512
  deterministic random "images" (uint8 / 255), saved in Keras 3's native
  format and in the legacy Keras 2 HDF5 format.
* seed003_predictions.json -- 20 fixed inputs (as uint8; the model sees
  `u8.astype(float32) / float32(255)`), Keras's predictions on them, and the
  predictions after `fit` continues for one epoch on those 20 inputs
  (batch_size 10, shuffle False: two more Adam steps from the saved optimizer
  state) with the stored labels.
* activations.keras / activations_predictions.json -- a small model with
  Dropout, Activation layers and one Dense layer per activation, compiled with
  SGD(momentum=0.9) / categorical_crossentropy / accuracy, trained a few steps.
* seed003_layout.json -- the HDF5 layout of seed003.keras's model.weights.h5
  (every group and dataset path, shapes, dtypes, attribute names) and the zip
  member names, so that a test can check kerust writes the same layout.

The output is the same on every run except metadata.json's `date_saved`
(and so the .keras zips' bytes).
"""

import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures", "keras_files")
GENERATOR = "tools/gen_keras_files.py"

assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"


def meta(**extra):
    m = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "generator": GENERATOR,
    }
    m.update(extra)
    return m


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": [int(s) for s in a.shape], "data": [float(v) for v in a.ravel()]}


def u8arr(a):
    a = np.asarray(a, dtype=np.uint8)
    return {"shape": [int(s) for s in a.shape], "data": [int(v) for v in a.ravel()]}


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def h5_layout(h5):
    """Every object of an open h5py file: path -> description."""
    out = {}

    def attrs(obj):
        return sorted(obj.attrs.keys())

    out["/"] = {"kind": "group", "attrs": attrs(h5)}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out["/" + name] = {
                "kind": "dataset",
                "shape": [int(s) for s in obj.shape],
                "dtype": str(obj.dtype),
                "attrs": attrs(obj),
            }
        else:
            out["/" + name] = {"kind": "group", "attrs": attrs(obj)}

    h5.visititems(visit)
    return out


def keras_layout(path):
    with zipfile.ZipFile(path) as zf:
        members = sorted(zf.namelist())
        with zf.open("model.weights.h5") as f:
            import io

            with h5py.File(io.BytesIO(f.read()), "r") as h5:
                layout = h5_layout(h5)
    return {"zip_members": members, "weights_h5": layout}


def seed003():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x_u8 = rng.integers(0, 256, size=(512, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=(512,)).astype(np.int64)
    x = x_u8.astype(np.float32) / np.float32(255.0)

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    model.save(os.path.join(OUT, "seed003.keras"))
    model.save(os.path.join(OUT, "seed003.h5"))

    t_u8 = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    t_y = rng.integers(0, 10, size=(20,)).astype(np.int64)
    t = t_u8.astype(np.float32) / np.float32(255.0)
    pred = model.predict(t, batch_size=32, verbose=0)
    iterations = int(model.optimizer.iterations.numpy())

    # Continue training from the saved file, as kerust will.
    cont = keras.saving.load_model(os.path.join(OUT, "seed003.keras"))
    np.testing.assert_array_equal(cont.predict(t, verbose=0), pred)
    cont.fit(t, t_y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    pred_cont = cont.predict(t, batch_size=32, verbose=0)

    legacy = keras.saving.load_model(os.path.join(OUT, "seed003.h5"))
    np.testing.assert_array_equal(legacy.predict(t, verbose=0), pred)

    dump(
        "seed003_predictions.json",
        {
            "_meta": meta(
                note=(
                    "inputs_u8: the 20 inputs as uint8; the model sees "
                    "u8.astype(float32) / float32(255). predictions: "
                    "model.predict on them. labels + predictions_after_continue: "
                    "load seed003.keras, fit(inputs, labels, epochs=1, "
                    "batch_size=10, shuffle=False), predict again. "
                    "optimizer_iterations: steps taken before saving."
                )
            ),
            "inputs_u8": u8arr(t_u8),
            "labels": [int(v) for v in t_y],
            "predictions": arr(pred),
            "predictions_after_continue": arr(pred_cont),
            "optimizer_iterations": iterations,
        },
    )
    layout = keras_layout(os.path.join(OUT, "seed003.keras"))
    with h5py.File(os.path.join(OUT, "seed003.h5"), "r") as h5:
        layout["legacy_h5"] = h5_layout(h5)
    layout["_meta"] = meta(note="the layout of seed003.keras and seed003.h5")
    dump("seed003_layout.json", layout)


ACTIVATIONS = [
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "tanh",
    "softplus",
    "softsign",
    "relu6",
    "mish",
    "linear",
    "exponential",
    "log_softmax",
]


def activations_model():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    layers = [keras.Input(shape=(6,))]
    for i, act in enumerate(ACTIVATIONS):
        layers.append(keras.layers.Dense(8, activation=act))
        if i == 0:
            layers.append(keras.layers.Dropout(0.25))
        if i == 5:
            layers.append(keras.layers.Activation("tanh"))
    layers.append(keras.layers.Dropout(0.1, seed=7))
    layers.append(keras.layers.Dense(4))
    layers.append(keras.layers.Activation("softmax"))
    model = keras.Sequential(layers, name="activations")
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 4, size=(64,)), 4)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(os.path.join(OUT, "activations.keras"))
    t = rng.normal(size=(20, 6)).astype(np.float32)
    pred = model.predict(t, verbose=0)
    back = keras.saving.load_model(os.path.join(OUT, "activations.keras"))
    np.testing.assert_array_equal(back.predict(t, verbose=0), pred)
    dump(
        "activations_predictions.json",
        {
            "_meta": meta(
                note="inputs: float32 (20, 6); predictions: model.predict(inputs)",
                activations=ACTIVATIONS,
            ),
            "inputs": arr(t),
            "predictions": arr(pred),
        },
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    seed003()
    activations_model()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, into {OUT}")


if __name__ == "__main__":
    main()
