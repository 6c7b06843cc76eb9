#!/usr/bin/env python3
"""Write Keras 2 (tf.keras 2.x, the `tf_keras` package) legacy .h5 files for kerust's
saving tests (issue 4): Keras 3's loader reads them, and so must kerust, optimizer state
included.

Run (after `bash tools/setup_venv_keras2.sh`):

    tools/.venv-keras2/bin/python tools/gen_keras2_files.py

Writes into crates/kerust/tests/fixtures/keras_files/:

* keras2_adam.h5 -- Dense(16, relu, input_shape=(5,)) -> Dropout(0.3) -> Dense(3, softmax),
  compiled with Adam(0.01) / sparse_categorical_crossentropy / accuracy, trained 6 steps
  (2 epochs of 3 batches), saved with model.save(..., save_format="h5"): `model_config`,
  `training_config`, `model_weights` and `optimizer_weights` (Keras 2's optimizer
  variables: the iteration count and Adam's m and v per variable).
* keras2_legacy_adam.h5 -- the same with `tf_keras.optimizers.legacy.Adam` (the optimizer
  of Keras 2 before 2.11, still selectable): other variable names and order.
* keras2_predictions.json -- per file: inputs, predictions, evaluate() on them, and the
  predictions after one more epoch of fit (batch 5, no shuffling) on them with Dropout's
  rate set to 0 after loading (Dropout's masks cannot match between libraries; the layer
  stays in the model).
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures", "keras_files")


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": [int(s) for s in a.shape], "data": [float(v) for v in a.ravel()]}


def make(path, optimizer, seed):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [
            keras.layers.Dense(16, activation="relu", input_shape=(5,)),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.normal(size=(48, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=(48,)).astype(np.int64)
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    model.save(path, save_format="h5")
    t = rng.normal(size=(10, 5)).astype(np.float32)
    t_y = rng.integers(0, 3, size=(10,)).astype(np.int64)
    pred = model.predict(t, batch_size=32, verbose=0)
    evaluation = model.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True)

    back = keras.models.load_model(path)
    np.testing.assert_array_equal(back.predict(t, batch_size=32, verbose=0), pred)
    assert back.evaluate(t, t_y, batch_size=32, verbose=0, return_dict=True) == evaluation
    assert int(back.optimizer.iterations.numpy()) == 6
    back.layers[1].rate = 0.0
    back.fit(t, t_y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    pred_cont = back.predict(t, batch_size=32, verbose=0)
    with h5py.File(path, "r") as h5:
        names = [n.decode() if isinstance(n, bytes) else n for n in h5["optimizer_weights"].attrs["weight_names"]]
    return {
        "optimizer": type(optimizer).__module__ + "." + type(optimizer).__name__,
        "optimizer_weight_names": names,
        "inputs": arr(t),
        "labels": [int(v) for v in t_y],
        "predictions": arr(pred),
        "evaluation": {k: float(np.float32(v)) for k, v in evaluation.items()},
        "predictions_after_continue": arr(pred_cont),
        "weights_after_continue": [arr(w) for w in back.get_weights()],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "keras2_adam.h5": make(
            os.path.join(OUT, "keras2_adam.h5"), keras.optimizers.Adam(learning_rate=0.01), 21
        ),
        "keras2_legacy_adam.h5": make(
            os.path.join(OUT, "keras2_legacy_adam.h5"),
            keras.optimizers.legacy.Adam(learning_rate=0.01),
            22,
        ),
    }
    meta = {
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "generator": "tools/gen_keras2_files.py",
        "note": (
            "Keras 2 files: trained 6 Adam steps with Dropout(0.3). inputs/labels: 10 "
            "samples; predictions: model.predict; evaluation: model.evaluate (batch 32); "
            "predictions_after_continue / weights_after_continue: load the .h5, set the "
            "Dropout layer's rate to 0, fit(inputs, labels, epochs=1, batch_size=5, "
            "shuffle=False)."
        ),
    }
    with open(os.path.join(OUT, "keras2_predictions.json"), "w") as f:
        json.dump({"_meta": meta, "files": files}, f, separators=(",", ":"))
        f.write("\n")
    for name, v in files.items():
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes;", v["optimizer_weight_names"])


if __name__ == "__main__":
    main()
