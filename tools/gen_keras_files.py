#!/usr/bin/env python3
"""Write Keras-made model files for kerust's saving tests (issue 4).

Run (after `bash tools/setup_venv.sh`):

    KERAS_BACKEND=jax KERUST_DATA=../shared/datasets tools/.venv/bin/python tools/gen_keras_files.py

Writes into crates/kerust/tests/fixtures/keras_files/:

* seed003.keras / seed003.h5 -- the seed-003 Fashion-MNIST model
  (Flatten(28, 28) -> Dense(128, relu) -> Dense(10, softmax), compiled with
  adam / sparse_categorical_crossentropy / accuracy) after one epoch on the
  60,000 real Fashion-MNIST training images (/ 255), saved in Keras 3's native
  format and in the legacy HDF5 format. The IDX files are read from
  $KERUST_DATA/fashion-mnist (default: ../shared/datasets beside the repo).
* seed003_predictions.json -- Keras's predictions on the first 20 real test
  images (not stored: the tests read them with kerust's loader; their labels
  and pixel sum are stored to check it is the same data), Keras's evaluate()
  on them, and the predictions after `fit` continues for one epoch on those 20
  images and their labels (batch_size 10, shuffle False: two more Adam steps
  from the saved optimizer state).
* activations.keras / activations_predictions.json -- a small model with
  Dropout, Activation layers and one Dense layer per activation, compiled with
  SGD(momentum=0.9) / categorical_crossentropy / accuracy, trained a few steps.
* seed003_layout.json -- the HDF5 layout of seed003.keras's model.weights.h5
  (every group and dataset path, shapes, dtypes, attribute names) and the zip
  member names, so that a test can check kerust writes the same layout.

The output is the same on every run except metadata.json's `date_saved`
(and so the .keras zips' bytes).
"""

import gzip
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


def data_root():
    """$KERUST_DATA, else ../shared/datasets beside the repository (as kerust's tests)."""
    root = os.environ.get("KERUST_DATA") or os.path.join(REPO, "..", "shared", "datasets")
    return os.path.abspath(root)


def read_idx(path):
    """An IDX file (gzip or raw) as a numpy uint8 array of the shape its header declares."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic = int.from_bytes(raw[:4], "big")
    assert magic >> 8 == 8, f"{path}: not a uint8 IDX file (magic {magic})"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims)), f"{path}: payload does not match {dims}"
    return data.reshape(dims)


def fashion_mnist():
    d = os.path.join(data_root(), "fashion-mnist")
    return (
        (read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")),
         read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))),
        (read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")),
         read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))),
    )


N_TEST = 20


def seed003():
    """Seed tutorial 003's model after one epoch on the real Fashion-MNIST training set."""
    (x_train_u8, y_train), (x_test_u8, y_test) = fashion_mnist()
    assert x_train_u8.shape == (60000, 28, 28) and x_test_u8.shape == (10000, 28, 28)
    x_train = x_train_u8.astype(np.float32) / np.float32(255.0)
    keras.utils.set_random_seed(3)
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
    model.fit(x_train, y_train.astype(np.int64), epochs=1, batch_size=32, verbose=0)
    model.save(os.path.join(OUT, "seed003.keras"))
    model.save(os.path.join(OUT, "seed003.h5"))

    # The first 20 real test images, as the tests read them with kerust's loader.
    t_u8 = x_test_u8[:N_TEST]
    t_y = y_test[:N_TEST].astype(np.int64)
    t = t_u8.astype(np.float32) / np.float32(255.0)
    pred = model.predict(t, batch_size=32, verbose=0)
    iterations = int(model.optimizer.iterations.numpy())
    evaluation = model.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True)
    x_test = x_test_u8.astype(np.float32) / np.float32(255.0)
    test_set = model.evaluate(
        x_test, y_test.astype(np.int64), batch_size=32, verbose=0, return_dict=True
    )

    # The loss and metrics come back with the file (Keras's own loader, both formats).
    for name in ["seed003.keras", "seed003.h5"]:
        back = keras.saving.load_model(os.path.join(OUT, name))
        np.testing.assert_array_equal(back.predict(t, verbose=0), pred)
        again = back.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True)
        assert again == evaluation, (name, again, evaluation)

    # Continue training from the saved file, as kerust will: the 20 test images, one
    # epoch, batches of 10, no shuffling (two more Adam steps from the saved state).
    cont = keras.saving.load_model(os.path.join(OUT, "seed003.keras"))
    cont.fit(t, t_y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    pred_cont = cont.predict(t, batch_size=32, verbose=0)
    # (Keras 3 itself cannot continue from its legacy .h5 on JAX: its loader leaves the
    # optimizer unbuilt and `fit` fails. The .h5 holds the same optimizer variables, in
    # `optimizer_weights`; kerust continues from either file to these predictions.)

    dump(
        "seed003_predictions.json",
        {
            "_meta": meta(
                note=(
                    "The seed-003 model trained one epoch (batch 32, Keras's shuffling, "
                    "keras.utils.set_random_seed(3)) on the 60,000 Fashion-MNIST training "
                    "images / 255. Inputs: the first 20 images of t10k-images-idx3-ubyte.gz "
                    "as uint8 / float32(255), read from $KERUST_DATA/fashion-mnist (not "
                    "stored here: test_images_u8_sum and labels identify them). "
                    "predictions: model.predict on them. evaluation: model.evaluate on "
                    "them and their labels (batch 32), from the model and from both files "
                    "reloaded. predictions_after_continue: load seed003.keras, "
                    "fit(inputs, labels, epochs=1, batch_size=10, shuffle=False), predict "
                    "(in Keras from the .keras file). "
                    "optimizer_iterations: steps taken before saving. test_set_evaluation: "
                    "model.evaluate on the 10,000 test images (batch 32)."
                )
            ),
            "test_images": {
                "file": "fashion-mnist/t10k-images-idx3-ubyte.gz",
                "first": N_TEST,
            },
            "test_images_u8_sum": int(t_u8.astype(np.int64).sum()),
            "labels": [int(v) for v in t_y],
            "predictions": arr(pred),
            "evaluation": {k: float(np.float32(v)) for k, v in evaluation.items()},
            "predictions_after_continue": arr(pred_cont),
            "optimizer_iterations": iterations,
            "test_set_evaluation": {k: float(np.float32(v)) for k, v in test_set.items()},
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
    t_y = keras.utils.to_categorical(rng.integers(0, 4, size=(20,)), 4)
    pred = model.predict(t, verbose=0)
    evaluation = model.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True)
    back = keras.saving.load_model(os.path.join(OUT, "activations.keras"))
    np.testing.assert_array_equal(back.predict(t, verbose=0), pred)
    assert back.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True) == evaluation
    dump(
        "activations_predictions.json",
        {
            "_meta": meta(
                note=(
                    "inputs: float32 (20, 6); predictions: model.predict(inputs); "
                    "labels: one-hot (20, 4); evaluation: model.evaluate(inputs, labels, "
                    "batch_size=32)"
                ),
                activations=ACTIVATIONS,
            ),
            "inputs": arr(t),
            "predictions": arr(pred),
            "labels": arr(t_y),
            "evaluation": {k: float(np.float32(v)) for k, v in evaluation.items()},
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
