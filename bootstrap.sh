#!/usr/bin/env bash
# Set up the course on a fresh machine: a virtual environment in .venv with everything installed.
#   bash bootstrap.sh            (then: . .venv/bin/activate)
# torch is installed first and pinned to the CPU build 2.13.0, so nothing pulls several GB of CUDA packages.
# On a GPU machine set TORCH_SPEC (for example TORCH_SPEC="torch" with the CUDA index of your choice).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
python -m pip install --quiet -e ".[offline,dev]"
echo "Set up. Activate with: . .venv/bin/activate   then: course doctor"
