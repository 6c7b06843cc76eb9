"""One epoch of the seed-003 model in real Keras 3, for a side-by-side figure with
`cargo bench -p kerust --bench fashion_epoch` on the same machine.

    KERAS_BACKEND=jax tools/.venv/bin/python tools/keras_epoch.py ../shared/datasets

Prints the median and range of epochs 2..6 (epoch 1 includes tracing and compilation).
Threads: run under `taskset -c 0` for one core.
"""
import gzip, sys, time
import numpy as np
import keras

def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets"
x = idx(f"{root}/fashion-mnist/train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28) / 255.0
y = idx(f"{root}/fashion-mnist/train-labels-idx1-ubyte.gz", 8)
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input((28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
times = []
for epoch in range(6):
    t = time.perf_counter()
    model.fit(x.astype("float32"), y, epochs=1, batch_size=32, verbose=0)
    times.append(time.perf_counter() - t)
rest = sorted(times[1:])
print(f"keras {keras.__version__} ({keras.backend.backend()}): median {rest[len(rest)//2]:.3f} s/epoch, "
      f"min {rest[0]:.3f}, max {rest[-1]:.3f}; first epoch {times[0]:.3f} s")
