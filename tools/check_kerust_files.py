#!/usr/bin/env python3
"""Check that real Keras 3 loads the .keras files kerust writes (issue 4).

Run (after `bash tools/setup_venv.sh`, from anywhere):

    KERAS_BACKEND=jax tools/.venv/bin/python tools/check_kerust_files.py

1. Runs the ignored Rust test `write_files_for_keras` (crates/kerust/tests/saving.rs),
   which saves models with kerust into crates/kerust/tests/fixtures/kerust_files/ (the
   folder is emptied first), with `index.json` listing each file, its inputs, kerust's
   predictions and, for models that can continue training deterministically, labels, a
   batch size and kerust's predictions after one more epoch of `fit` (shuffle off) from
   the saved state.
2. Loads each file with `keras.saving.load_model`, predicts, and compares with
   kerust's predictions; where labels are given, continues training as kerust did and
   compares again (so the optimizer's state must have come through whole: a
   "Skipping variable loading for optimizer" warning is a failure).
3. Writes the report to crates/kerust/tests/fixtures/kerust_files/keras_check.txt,
   ending with a line `N passed, M failed`; exits 1 if anything failed.

The files, the index and the report are committed; the Rust test
`kerust_still_writes_the_files_keras_checked` checks that kerust still writes exactly
these files (config.json, model.weights.h5 and kerust_state.json byte for byte, the same
predictions), so the report's verdict applies to kerust as it is. When that test fails
because kerust's output changed on purpose, run this script again and commit its output.
"""

import io
import json
import os
import subprocess
import sys
import warnings
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
OUT = os.path.join(REPO, "crates", "kerust", "tests", "fixtures", "kerust_files")
REPORT = os.path.join(OUT, "keras_check.txt")
TOL = 1e-5

# Continued training whose result is rounding noise amplified, with the tolerance it gets and
# why. The norm model puts a Dense bias before BatchNormalization: in training the batch
# mean cancels the bias, so its gradient is rounding noise (about 1e-9), which Adam turns
# into steps of about the learning rate, different in every implementation's summation
# order; the moving mean carries those steps into inference. Its predictions after one
# more epoch differ from Keras's by about 1e-5 (6.7e-6 and 1.6e-5 for two summation orders
# of kerust's products); its predictions before it match to 6e-8 like the others.
CONTINUE_TOL = {
    "layers_norm_resaved.keras": (
        1e-4,
        "a Dense bias before BatchNormalization trains on rounding noise (Adam)",
    ),
}


def arr(v):
    return np.asarray(v["data"], dtype=np.float32).reshape(v["shape"])


def write_files(out):
    env = dict(os.environ, KERUST_SAVING_OUT=out)
    args = ["--ignored", "--exact", "write_files_for_keras"]
    cmd = ["cargo", "test", "-q", "-p", "kerust", "--test", "saving", "--"] + args
    if os.environ.get("KERUST_SAVING_TEST_BIN"):  # an already built test binary
        cmd = [os.environ["KERUST_SAVING_TEST_BIN"]] + args
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "index.json")) as f:
        return json.load(f)


def saved_before_first_step(path):
    """Whether the file's optimizer state is only iterations == 0 and the learning rate."""
    with zipfile.ZipFile(path) as zf:
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
            if "optimizer/vars" not in h5:
                return False
            v = h5["optimizer/vars"]
            return len(v) <= 2 and int(v["0"][()]) == 0


def check(out, entry):
    """Returns (ok, lines)."""
    lines = []
    ok = True
    path = os.path.join(out, entry["file"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(path)
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    if skipped and saved_before_first_step(path):
        # Keras warns so for its own files too: an optimizer saved before its first step
        # holds no slots, and Keras's loader builds the optimizer before loading it.
        lines.append(
            "  ok   optimizer saved before its first step (iterations 0, no slots): Keras "
            "skips it with a warning, as for a Keras-written file"
        )
    elif skipped:
        ok = False
        lines.append(f"  FAIL optimizer state not loaded: {skipped[0][:160]}")
    x = arr(entry["inputs"])
    d = float(np.max(np.abs(model.predict(x, verbose=0) - arr(entry["predictions"]))))
    good = d <= TOL
    ok &= good
    lines.append(f"  {'ok  ' if good else 'FAIL'} predict: max |keras - kerust| = {d:.3g}")
    opt = getattr(model, "optimizer", None)
    if opt is not None and "labels" in entry:
        lines.append(
            f"       optimizer {type(opt).__name__}, iterations {int(opt.iterations.numpy())}"
        )
        y = np.asarray(entry["labels"], dtype=np.int64)
        model.fit(x, y, epochs=1, batch_size=entry["batch_size"], shuffle=False, verbose=0)
        d = float(
            np.max(np.abs(model.predict(x, verbose=0) - arr(entry["predictions_after_continue"])))
        )
        tol, why = CONTINUE_TOL.get(entry["file"], (TOL, None))
        good = d <= tol
        ok &= good
        lines.append(
            f"  {'ok  ' if good else 'FAIL'} fit one more epoch from the saved state: "
            f"max |keras - kerust| = {d:.3g}"
            + (f" (tolerance {tol:g}: {why})" if why else "")
        )
    return ok, lines


def main():
    out = OUT
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".keras") or name == "index.json":
            os.remove(os.path.join(out, name))
    index = write_files(out)
    report = [
        "# tools/check_kerust_files.py: real Keras loads kerust-written .keras files",
        f"# keras {keras.__version__}, backend {keras.backend.backend()}, jax {jax.__version__}, "
        f"numpy {np.__version__}; tolerance {TOL}",
        "# files: crates/kerust/tests/fixtures/kerust_files/ (index.json: inputs and kerust's "
        "predictions)",
        "",
    ]
    passed = failed = 0
    for entry in index:
        try:
            ok, lines = check(out, entry)
        except Exception as e:  # a load failure is a result, not a crash
            ok, lines = False, [f"  FAIL {type(e).__name__}: {str(e)[:300]}"]
        report.append(f"{'PASS' if ok else 'FAIL'} {entry['file']}")
        report.extend(lines)
        passed += ok
        failed += not ok
    report.append("")
    report.append(f"{passed} passed, {failed} failed")
    text = "\n".join(report) + "\n"
    with open(REPORT, "w") as f:
        f.write(text)
    print(text)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
