"""Golden fixtures for kerust's recurrent layers (LSTM, GRU, SimpleRNN), from real Keras 3.

Run from the repository root:

    KERAS_BACKEND=jax tools/.venv/bin/python tools/gen_layer_fixtures_rnn.py

Writes
* crates/kerust/tests/fixtures/layers_rnn.json: per case, the layer's config, fixed weights,
  a fixed input (and timestep mask), Keras's output in inference mode, and the gradients of
  sum(y * g) for a fixed upstream gradient g with respect to the input and to every weight
  (jax.grad through `layer.stateless_call`).
* crates/kerust/tests/fixtures/keras_files/layers_rnn.keras (+ layers_rnn_predictions.json):
  a Keras-written model using the layers, with Keras's predictions on fixed inputs and its
  summary() text as printed to a pipe.

Arrays are {"shape", "data"} with float32 values stored exactly.
"""

import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures")
GENERATOR = "tools/gen_layer_fixtures_rnn.py"


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


def write(path, payload):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(payload, indent=1, allow_nan=False))


L = keras.layers

# (name, constructor, input shape (batch, steps, features), with mask)
CASES = [
    ("lstm", lambda: L.LSTM(5), (3, 6, 4), False),
    ("lstm_seq", lambda: L.LSTM(5, return_sequences=True), (3, 6, 4), False),
    ("lstm_back_seq", lambda: L.LSTM(4, return_sequences=True, go_backwards=True), (2, 5, 3), False),
    ("lstm_back", lambda: L.LSTM(4, go_backwards=True), (2, 5, 3), False),
    ("lstm_nobias_hard", lambda: L.LSTM(3, use_bias=False, recurrent_activation="hard_sigmoid",
                                        activation="relu"), (2, 4, 3), False),
    ("lstm_mask", lambda: L.LSTM(4, return_sequences=True), (3, 5, 3), True),
    ("lstm_mask_last", lambda: L.LSTM(4), (3, 5, 3), True),
    ("lstm_mask_zero_out", lambda: L.LSTM(4, return_sequences=True, zero_output_for_mask=True),
     (3, 5, 3), True),
    ("gru", lambda: L.GRU(5), (3, 6, 4), False),
    ("gru_seq", lambda: L.GRU(5, return_sequences=True), (3, 6, 4), False),
    ("gru_back_seq", lambda: L.GRU(4, return_sequences=True, go_backwards=True), (2, 5, 3), False),
    ("gru_nobias", lambda: L.GRU(3, use_bias=False), (2, 4, 3), False),
    ("gru_mask", lambda: L.GRU(4, return_sequences=True), (3, 5, 3), True),
    ("gru_mask_back", lambda: L.GRU(4, go_backwards=True), (3, 5, 3), True),
    ("simple_rnn", lambda: L.SimpleRNN(5), (3, 6, 4), False),
    ("simple_rnn_seq_relu", lambda: L.SimpleRNN(4, return_sequences=True, activation="relu"),
     (2, 5, 3), False),
    ("simple_rnn_back", lambda: L.SimpleRNN(4, go_backwards=True, return_sequences=True), (2, 5, 3),
     False),
    ("simple_rnn_mask", lambda: L.SimpleRNN(4, return_sequences=True), (3, 5, 3), True),
    ("bidi_lstm_concat_seq", lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), (2, 5, 3), False),
    ("bidi_gru_sum", lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), (2, 5, 3), False),
    ("bidi_simple_mul_seq_mask",
     lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="mul"), (3, 5, 3), True),
    ("bidi_lstm_ave_mask", lambda: L.Bidirectional(L.LSTM(3), merge_mode="ave"), (3, 5, 3), True),
    ("bidi_gru_concat_seq_mask", lambda: L.Bidirectional(L.GRU(2, return_sequences=True)), (3, 5, 3), True),
    ("time_distributed_dense", lambda: L.TimeDistributed(L.Dense(3, activation="tanh")), (2, 5, 4), False),
]


def gen_cases():
    out = []
    for i, (name, make, shape, with_mask) in enumerate(CASES):
        rng = np.random.default_rng(100 + i)
        layer = make()
        x = rng.uniform(-1.5, 1.5, size=shape).astype(np.float32)
        mask = None
        if with_mask:
            m = np.ones(shape[:2], dtype=bool)
            m[0, -2:] = False  # trailing padding
            m[1, :2] = False  # leading padding
            m[2, 2] = False  # a hole
            mask = m
        layer.build(shape)
        weights = [rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        y = np.asarray(layer(x, mask=mask, training=False))
        g = rng.uniform(-1, 1, size=y.shape).astype(np.float32)
        tv = [v.value for v in layer.trainable_variables]
        ntv = [v.value for v in layer.non_trainable_variables]

        def loss(xv, tvs):
            yv, _ = layer.stateless_call(tvs, ntv, xv, mask=mask, training=False)
            return jnp.sum(yv * g)

        dx, dws = jax.grad(loss, argnums=(0, 1))(jnp.asarray(x), tv)
        cfg = layer.get_config()
        out.append(
            {
                "name": name,
                "class_name": type(layer).__name__,
                "config": json.loads(json.dumps(cfg, default=str)),
                "x": arr(x),
                "mask": None if mask is None else arr(mask.astype(np.float32)),
                "weights": [arr(w) for w in weights],
                "y": arr(y),
                "g": arr(g),
                "dx": arr(dx),
                "dweights": [arr(d) for d in dws],
            }
        )
    # Embedding: indices as float32, repeated and zero indices; mask from compute_mask.
    rng = np.random.default_rng(55)
    layer = L.Embedding(7, 3, mask_zero=True)
    x = rng.integers(0, 7, size=(3, 5)).astype(np.float32)
    x[0, -2:] = 0
    layer.build((3, 5))
    weights = [rng.uniform(-0.6, 0.6, size=(7, 3)).astype(np.float32)]
    layer.set_weights(weights)
    y = np.asarray(layer(x))
    mask = np.asarray(layer.compute_mask(x)).astype(np.float32)
    g = rng.uniform(-1, 1, size=y.shape).astype(np.float32)
    tv = [v.value for v in layer.trainable_variables]

    def eloss(tvs):
        yv, _ = layer.stateless_call(tvs, [], jnp.asarray(x))
        return jnp.sum(yv * g)

    dws = jax.grad(eloss)(tv)
    out.append(
        {
            "name": "embedding_mask_zero",
            "class_name": "Embedding",
            "config": json.loads(json.dumps(layer.get_config(), default=str)),
            "x": arr(x),
            "mask": None,
            "output_mask": arr(mask),
            "weights": [arr(w) for w in weights],
            "y": arr(y),
            "g": arr(g),
            "dx": None,
            "dweights": [arr(d) for d in dws],
        }
    )
    write(
        os.path.join(OUT, "layers_rnn.json"),
        {
            "_meta": meta(
                description="Recurrent layers in inference mode: y = layer(x, mask), and the "
                "gradients of sum(y * g) with respect to x and each weight (Keras's order)."
            ),
            "cases": out,
        },
    )


def build_file_model():
    return keras.Sequential(
        [
            keras.Input((6, 4)),
            L.LSTM(5, return_sequences=True),
            L.GRU(4, return_sequences=True, go_backwards=True),
            L.SimpleRNN(3),
            L.Dense(2, activation="softmax"),
        ],
        name="rnn_stack",
    )


def build_wrappers_model():
    return keras.Sequential(
        [
            keras.Input((5, 3)),
            L.Bidirectional(L.LSTM(4, return_sequences=True)),
            L.TimeDistributed(L.Dense(3, activation="relu")),
            L.Bidirectional(L.GRU(2), merge_mode="ave"),
            L.Dense(1),
        ],
        name="wrappers",
    )


def child_summary(side, kind):
    keras.utils.set_random_seed(0)
    model = build_wrappers_model() if kind == "wrappers" else build_file_model()
    sys.stdout.flush()
    model.summary()
    sys.stdout.flush()
    with open(side, "w") as f:
        json.dump({"total_params": int(model.count_params())}, f)


def gen_file(kind="rnn"):
    keras.utils.set_random_seed(1)
    model = build_wrappers_model() if kind == "wrappers" else build_file_model()
    stem = "layers_rnn_wrappers" if kind == "wrappers" else "layers_rnn"
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.uniform(-1, 1, size=(4,) + tuple(model.input_shape[1:])).astype(np.float32)
    pred = model.predict(x, verbose=0)
    kdir = os.path.join(OUT, "keras_files")
    model.save(os.path.join(kdir, stem + ".keras"))
    side = os.path.join(OUT, ".rnn_child.json")
    env = dict(os.environ)
    for k in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(k, None)
    env["KERAS_BACKEND"] = "jax"
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--summary", side, kind],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode())
        raise RuntimeError("summary child failed")
    with open(side) as f:
        side_data = json.load(f)
    os.remove(side)
    write(
        os.path.join(kdir, stem + "_predictions.json"),
        {
            "_meta": meta(
                description=stem + ".keras: "
                + (
                    "Bidirectional(LSTM, concat, sequences) -> TimeDistributed(Dense relu) -> "
                    "Bidirectional(GRU, ave) -> Dense"
                    if kind == "wrappers"
                    else "LSTM(return_sequences) -> GRU(go_backwards, return_sequences) -> "
                    "SimpleRNN -> Dense(softmax)"
                )
                + ", random weights; Keras's predictions on x, and summary() as printed to a "
                "pipe (a fresh model of the same architecture)."
            ),
            "x": arr(x),
            "predictions": arr(pred),
            "summary_text": proc.stdout.decode("utf-8"),
            "total_params": side_data["total_params"],
        },
    )


def gen_masked_model():
    """Embedding(mask_zero) -> Dropout(0) -> LSTM(return_sequences) -> GRU -> Dense: the
    mask flows through Dropout into both recurrent layers. Keras's predictions, and the
    weights after two SGD steps (train_on_batch, MSE), so that the whole backward pass
    through the masked layers is checked."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            L.Embedding(9, 4, mask_zero=True),
            L.Dropout(0.0),
            L.LSTM(5, return_sequences=True),
            L.GRU(3),
            L.Dense(2),
        ],
        name="masked_stack",
    )
    rng = np.random.default_rng(21)
    model.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in model.get_weights()])
    x = rng.integers(1, 9, size=(4, 6)).astype(np.float32)
    x[0, -3:] = 0  # trailing padding
    x[1, :2] = 0  # leading padding
    x[2, 3] = 0  # a hole
    t = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    kdir = os.path.join(OUT, "keras_files")
    model.save(os.path.join(kdir, "layers_rnn_masked.keras"))
    pred = model.predict(x, verbose=0)
    model.train_on_batch(x, t)
    model.train_on_batch(x, t)
    write(
        os.path.join(kdir, "layers_rnn_masked_predictions.json"),
        {
            "_meta": meta(description=gen_masked_model.__doc__),
            "x": arr(x),
            "targets": arr(t),
            "predictions": arr(pred),
            "weights_after_two_sgd_steps": [arr(w) for w in model.get_weights()],
            "predictions_after": arr(model.predict(x, verbose=0)),
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--summary":
        child_summary(sys.argv[2], sys.argv[3])
    else:
        only = sys.argv[1:]
        if not only or "cases" in only:
            gen_cases()
        if not only or "file" in only:
            gen_file()
        if not only or "wrappers" in only:
            gen_file("wrappers")
        if not only or "masked" in only:
            gen_masked_model()
