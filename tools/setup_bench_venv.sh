#!/usr/bin/env bash
# Create tools/.venv-bench with the pinned PyTorch + TensorFlow/Keras 3 stack used by the
# benchmark runner (bench/run.py) as kerust's peers. PyPI only; a few GB (torch's Linux
# wheel brings CUDA runtime packages, unused here: everything runs on the CPU).
#
# Usage:  bash tools/setup_bench_venv.sh      (from anywhere; needs python3 >= 3.10)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-bench"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-bench.txt"
KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" -c '
import numpy, torch, tensorflow as tf, keras
print("numpy", numpy.__version__, "torch", torch.__version__, "tensorflow", tf.__version__,
      "keras", keras.__version__, "backend", keras.backend.backend())'
