"""The Python peers of the benchmark suite: one measurement of one workload in PyTorch or
Keras 3 (TensorFlow backend), printed as one JSON line with the same fields as
`kerust-bench` (see bench/workloads.json for the workloads).

    tools/.venv-bench/bin/python bench/peers.py torch W1 --threads 2 --size full
    tools/.venv-bench/bin/python bench/peers.py keras W1 --threads 1

bench/run.py starts one process per measurement. The thread counts are set before any
work: torch.set_num_threads + set_num_interop_threads, TensorFlow's intra/inter-op
threads through tf.config.threading (the runner also sets OMP_NUM_THREADS and
MKL_NUM_THREADS). Import time is not timed. Training workloads run a short warm-up (about
ten batches, same last partial batch) in the same process, then time the workload's epochs;
predict workloads time calls for at least min_seconds.

The code is what a user of each library writes:
- Keras: keras.Sequential of the layers (Dense; Conv2D, MaxPooling2D, Flatten, Dropout;
  LSTM), compile(Adam/SGD, "sparse_categorical_crossentropy",
  metrics=["accuracy"]) with the defaults (jit_compile="auto", i.e. XLA where it applies),
  model.fit(x, y, batch_size, epochs, shuffle=True, verbose=0); model.predict(x, verbose=0).
- PyTorch: nn.Sequential of nn.Linear + activation modules (nn.Conv2d, nn.MaxPool2d,
  nn.Flatten, nn.Dropout for the CNN, on channels-first images; for the LSTM a small
  nn.Module: nn.LSTM(batch_first=True), then the head on the last step), a loop over shuffled index
  batches (torch.randperm), optimizer.zero_grad(); loss.backward(); optimizer.step(), with
  the batch accuracy counted as a metric. A softmax output is written the torch way: the
  model emits logits and nn.CrossEntropyLoss applies log-softmax (the same function as
  Keras's softmax + sparse categorical crossentropy). A sigmoid output (W4) keeps Keras's
  meaning: the probabilities are normalised, clipped to [1e-7, 1 - 1e-7] and their log fed
  to nll_loss. Prediction runs under torch.inference_mode() and applies the softmax.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def layers(spec):
    """The workload's layers as tagged lists: [units, activation] means a Dense layer."""
    return [["dense", *l] if isinstance(l[0], int) else l for l in spec["layers"]]


def input_shape(spec):
    """The shape of one sample (channels last): `input` is a feature count or a list."""
    i = spec["input"]
    return list(i) if isinstance(i, list) else [i]


def classes(spec):
    return layers(spec)[-1][1]


def forward_flops(spec):
    """Multiply-adds x 2 of one sample's forward pass through the model's matrix products
    (Dense, convolutions as im2col products, the LSTM's input and recurrent kernels), as
    kerust-bench counts them."""
    shape, f = input_shape(spec), 0
    for l in layers(spec):
        kind = l[0]
        if kind == "dense":
            rows = 1
            for d in shape[:-1]:
                rows *= d
            f += 2 * rows * shape[-1] * l[1]
            shape = shape[:-1] + [l[1]]
        elif kind == "conv2d":
            k = l[2]
            h, w, c = shape[0] + 1 - k, shape[1] + 1 - k, shape[2]
            f += 2 * h * w * l[1] * k * k * c
            shape = [h, w, l[1]]
        elif kind == "maxpool2d":
            shape = [shape[0] // l[1], shape[1] // l[1], shape[2]]
        elif kind == "flatten":
            n = 1
            for d in shape:
                n *= d
            shape = [n]
        elif kind == "lstm":
            steps, features, units = shape[0], shape[1], l[1]
            f += 2 * steps * (features + units) * 4 * units
            shape = [units]
    return f


def sized(v, size):
    return v[size] if isinstance(v, dict) else v


def repeat(min_seconds, f):
    t = time.perf_counter()
    calls = 0
    while True:
        f()
        calls += 1
        e = time.perf_counter() - t
        if calls >= 3 and e >= min_seconds:
            return calls, e / calls


def data(spec, n):
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.random((n, *input_shape(spec)), dtype=np.float32)
    y = rng.integers(0, classes(spec), size=n).astype(np.int64)
    return x, y


# --------------------------------------------------------------------------- PyTorch
def torch_setup(threads):
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    torch.manual_seed(0)
    return torch


def torch_model(torch, spec, logits):
    """nn.Sequential of the layers, channels first as torch has it (the runner hands it
    (N, C, H, W) images); an LSTM is the usual small Module: nn.LSTM(batch_first=True),
    then the Dense head on the last step's output."""
    nn = torch.nn
    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "softmax": lambda: nn.Softmax(dim=1)}
    ls = layers(spec)
    mods, shape = [], input_shape(spec)
    for i, l in enumerate(ls):
        kind = l[0]
        if kind == "dense":
            mods.append(nn.Linear(shape[-1], l[1]))
            if not (logits and i == len(ls) - 1 and l[2] == "softmax"):
                mods.append(acts[l[2]]())
            shape = shape[:-1] + [l[1]]
        elif kind == "conv2d":
            k = l[2]
            mods += [nn.Conv2d(shape[2], l[1], k), acts[l[3]]()]
            shape = [shape[0] + 1 - k, shape[1] + 1 - k, l[1]]
        elif kind == "maxpool2d":
            mods.append(nn.MaxPool2d(l[1]))
            shape = [shape[0] // l[1], shape[1] // l[1], shape[2]]
        elif kind == "flatten":
            mods.append(nn.Flatten())
            n = 1
            for d in shape:
                n *= d
            shape = [n]
        elif kind == "dropout":
            mods.append(nn.Dropout(l[1]))
        elif kind == "lstm":
            if i != 0:
                raise ValueError("peers.py: an LSTM must be the first layer")
            head = torch_model(torch, {"input": l[1], "layers": ls[1:]}, logits)
            return LastStepLSTM(torch, shape[1], l[1], head)
        else:
            raise ValueError(f"peers.py: unknown layer {l!r}")
    return nn.Sequential(*mods)


def LastStepLSTM(torch, features, units, head):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(features, units, batch_first=True)
            self.head = head

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Model()


def torch_inputs(torch, spec, x):
    """The float32 samples as torch wants them: images (N, H, W, C) as (N, C, H, W)."""
    t = torch.from_numpy(x)
    if any(l[0] == "conv2d" for l in layers(spec)):
        t = t.permute(0, 3, 1, 2).contiguous()
    return t


def torch_train(spec, size, threads):
    torch = torch_setup(threads)
    import torch.nn.functional as F

    n, batch, epochs = sized(spec["samples"], size), spec["batch"], spec["epochs"]
    xn, yn = data(spec, n)
    x, y = torch_inputs(torch, spec, xn), torch.from_numpy(yn)
    model = torch_model(torch, spec, logits=True)
    if layers(spec)[-1][2] == "softmax":
        loss_fn = torch.nn.CrossEntropyLoss()
    else:  # Keras's sparse categorical crossentropy on sigmoid probabilities

        def loss_fn(p, t):
            p = p / p.sum(dim=1, keepdim=True)
            return F.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), t)

    if spec["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=spec["lr"], eps=1e-7)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=spec["lr"])

    def fit(x, y, epochs):
        model.train()
        m = x.shape[0]
        for _ in range(epochs):
            perm = torch.randperm(m)
            total, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
            for i in range(0, m, batch):
                idx = perm[i : i + batch]
                xb, yb = x[idx], y[idx]
                opt.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
                correct += (out.detach().argmax(dim=1) == yb).sum()
        return float(total) / m

    warm = min(10 * batch + n % batch, n)
    fit(x[:warm], y[:warm], 1)
    t = time.perf_counter()
    loss = fit(x, y, epochs)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "final_loss": loss, "version": torch.__version__}


def torch_predict(spec, size, threads):
    torch = torch_setup(threads)
    x = torch_inputs(torch, spec, data(spec, spec["batch"])[0])
    model = torch_model(torch, spec, logits=False).eval()

    def call():
        with torch.inference_mode():
            p = model(x)
        assert tuple(p.shape) == (spec["batch"], classes(spec))

    for _ in range(3):
        call()
    calls, seconds = repeat(sized(spec["min_seconds"], size), call)
    return {"seconds": seconds, "calls": calls, "version": torch.__version__}


def torch_sgemm(spec, size, threads):
    torch = torch_setup(threads)
    n = sized(spec["n"], size)
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(n, n, generator=g), torch.rand(n, n, generator=g)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)
    calls, seconds = repeat(sized(spec["min_seconds"], size), lambda: torch.mm(a, b, out=c))
    return {"seconds": seconds, "calls": calls, "version": torch.__version__}


# --------------------------------------------------------------------------- Keras 3 / TF
def keras_setup(threads):
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    keras.utils.set_random_seed(0)
    return tf, keras


def keras_model(keras, spec):
    L = keras.layers
    make = {
        "dense": lambda l: L.Dense(l[1], activation=l[2]),
        "conv2d": lambda l: L.Conv2D(l[1], l[2], activation=l[3]),
        "maxpool2d": lambda l: L.MaxPooling2D(l[1]),
        "flatten": lambda l: L.Flatten(),
        "dropout": lambda l: L.Dropout(l[1]),
        "lstm": lambda l: L.LSTM(l[1]),
    }
    return keras.Sequential([keras.Input(tuple(input_shape(spec)))] + [make[l[0]](l) for l in layers(spec)])


def keras_version(tf, keras):
    return f"{keras.__version__} (tensorflow {tf.__version__})"


def keras_train(spec, size, threads):
    tf, keras = keras_setup(threads)
    n, batch, epochs = sized(spec["samples"], size), spec["batch"], spec["epochs"]
    x, y = data(spec, n)
    model = keras_model(keras, spec)
    opt = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[spec["optimizer"]]
    model.compile(
        optimizer=opt(learning_rate=spec["lr"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    warm = min(10 * batch + n % batch, n)
    model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, shuffle=True, verbose=0)
    t = time.perf_counter()
    h = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "final_loss": h.history["loss"][-1],
        "jit_compile": bool(model.jit_compile),
        "version": keras_version(tf, keras),
    }


def keras_predict(spec, size, threads):
    tf, keras = keras_setup(threads)
    x = data(spec, spec["batch"])[0]
    model = keras_model(keras, spec)
    batch = spec["batch"]

    def call():
        p = model.predict(x, batch_size=batch, verbose=0)
        assert p.shape == (batch, classes(spec))

    for _ in range(3):
        call()
    calls, seconds = repeat(sized(spec["min_seconds"], size), call)
    return {"seconds": seconds, "calls": calls, "version": keras_version(tf, keras)}


def keras_sgemm(spec, size, threads):
    tf, keras = keras_setup(threads)
    n = sized(spec["n"], size)
    g = tf.random.Generator.from_seed(1)
    a, b = g.uniform((n, n)), g.uniform((n, n))
    mm = tf.function(tf.linalg.matmul)
    mm(a, b)  # traces; on the CPU the call returns once the product is done
    calls, seconds = repeat(sized(spec["min_seconds"], size), lambda: mm(a, b))
    return {"seconds": seconds, "calls": calls, "version": keras_version(tf, keras)}


RUNNERS = {
    ("torch", "train"): torch_train,
    ("torch", "predict"): torch_predict,
    ("torch", "sgemm"): torch_sgemm,
    ("keras", "train"): keras_train,
    ("keras", "predict"): keras_predict,
    ("keras", "sgemm"): keras_sgemm,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("system", choices=["torch", "keras"])
    ap.add_argument("workload")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", choices=["full", "tiny"], default="full")
    a = ap.parse_args()
    with open(os.path.join(HERE, "workloads.json")) as f:
        workloads = json.load(f)
    if a.workload.startswith("_") or a.workload not in workloads:
        sys.exit(f"peers.py: unknown workload {a.workload!r}")
    spec = workloads[a.workload]
    out = RUNNERS[(a.system, spec["kind"])](spec, a.size, a.threads)
    kind = spec["kind"]
    if kind == "train":
        n = sized(spec["samples"], a.size)
        out["samples"] = n * spec["epochs"]
        out["steps"] = -(-n // spec["batch"]) * spec["epochs"]
        out["forward_flops"] = forward_flops(spec)
        out["gflops"] = 3 * forward_flops(spec) * out["samples"] / out["seconds"] / 1e9
    elif kind == "predict":
        out["samples"] = spec["batch"]
        out["gflops"] = forward_flops(spec) * spec["batch"] / out["seconds"] / 1e9
    else:
        n = sized(spec["n"], a.size)
        out["n"] = n
        out["gflops"] = 2 * n**3 / out["seconds"] / 1e9
    out.update(
        system=a.system,
        workload=a.workload,
        threads=a.threads,
        size=a.size,
        peak_rss_bytes=peak_rss_bytes(),
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
