#!/usr/bin/env bash
# Set up the course on a fresh machine: a virtual environment in .venv with everything installed.
#   bash bootstrap.sh            (then: . .venv/bin/activate)
# torch is installed first and pinned to the CPU build 2.13.0, so nothing pulls several GB of CUDA packages.
# On a GPU machine set TORCH_SPEC (for example TORCH_SPEC="torch" with the CUDA index of your choice).
set -euo pipefail
cd "$(dirname "$0")"
# course grade runs every student's kernel in a bubblewrap sandbox: install it when we may (root), else say how.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) ||
      echo "could not install bubblewrap; course grade needs it: apt-get install bubblewrap" >&2
  else
    echo "note: course grade needs bubblewrap (bwrap): sudo apt-get install bubblewrap" >&2
  fi
fi
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
python -m pip install --quiet -e ".[offline,dev]"
echo "Set up. Activate with: . .venv/bin/activate   then: course doctor"
