#!/usr/bin/env bash
# Create tools/.venv with the pinned Keras 3 / JAX (CPU) / scikit-learn stack
# used by tools/gen_fixtures.py to produce the golden fixtures in
# crates/kerust/tests/fixtures/.
#
# Usage:  bash tools/setup_venv.sh        (from anywhere; needs python3 >= 3.10)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
KERAS_BACKEND=jax "$venv/bin/python" -c 'import keras, jax, numpy, sklearn, h5py; print("keras", keras.__version__, "jax", jax.__version__, "numpy", numpy.__version__, "sklearn", sklearn.__version__)'
