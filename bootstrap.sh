#!/usr/bin/env bash
# Set up the course on a fresh machine: a virtual environment in .venv with everything installed.
#   bash bootstrap.sh            (then: . .venv/bin/activate)
# It installs requirements.lock, the versions the course was tested with (every student of a class gets the same
# libraries; `course lock` writes it, `course drift` checks the newest releases), then the course itself.
# torch is installed first and pinned to the CPU build 2.13.0, so nothing pulls several GB of CUDA packages.
# On a GPU machine set TORCH_SPEC (for example TORCH_SPEC="torch" with the CUDA index of your choice): the lock's
# torch line is then left out.  COURSE_UNLOCKED=1 installs the newest releases pyproject.toml allows instead.
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
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap.sh: the course needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1). Run: PYTHON=python3.11 bash bootstrap.sh" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
TORCH_PIN="torch==2.13.0"  # the lock's torch (tests/test_packaging.py keeps them in step)
python -m pip install --quiet "${TORCH_SPEC:-$TORCH_PIN}"
if [ -n "${COURSE_UNLOCKED:-}" ]; then
  python -m pip install --quiet -e ".[offline,dev]"
else
  lock=requirements.lock
  if [ -n "${TORCH_SPEC:-}" ]; then  # your torch, the lock's everything else
    grep -v '^torch==' requirements.lock > .venv/requirements-without-torch.lock
    lock=.venv/requirements-without-torch.lock
  fi
  python -m pip install --quiet -r "$lock"
  python -m pip install --quiet --no-deps -e .
fi
echo "Set up. Activate with: . .venv/bin/activate   then: course doctor"
