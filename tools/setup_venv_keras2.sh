#!/usr/bin/env bash
# Create tools/.venv-keras2 with TensorFlow 2.21 (CPU) and tf-keras 2.21, the Keras 2 API,
# for tools/gen_keras2_files.py. PyPI only.
#
# Usage:  bash tools/setup_venv_keras2.sh      (from anywhere; needs python3 >= 3.10)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-keras2"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-keras2.txt"
TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" -c '
import tensorflow as tf, tf_keras
print("tensorflow", tf.__version__, "tf_keras", tf_keras.__version__)'
