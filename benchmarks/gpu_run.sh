#!/usr/bin/env bash
# The course on a bare GPU machine (only its image's packages, no network): install the carried wheels into a
# folder of their own, point the course at the carried data mirror and compact MiniLM, then measure everything
# in one run of benchmarks/gpu_run.py, which writes one JSON (gpu_run.json) into $OUT.
#
#   python -m benchmarks.gpu_prepare          # first, where pip works: fills .gpu-carry (see README "GPU run")
#   bash benchmarks/gpu_run.sh [DRIVER OPTIONS]   # then, on the GPU machine (python -m benchmarks.gpu_run --help)
#
# Variables: CARRY (default .gpu-carry), PYTHON (python3), PROFILE (gpu), OUT (build/gpu-run), SITE (where the
# wheels go; default a new temporary folder).  The rehearsal (python -m benchmarks.gpu_rehearsal) runs this very
# script on CPU with PYTHON set to a fresh virtual environment's interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY="${CARRY:-.gpu-carry}"
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-build/gpu-run}"
case "$CARRY" in /*) ;; *) CARRY="$PWD/$CARRY" ;; esac
if [ ! -f "$CARRY/manifest.json" ]; then
  echo "gpu_run.sh: nothing carried at $CARRY: run \`python -m benchmarks.gpu_prepare\` where pip works first." >&2
  exit 2
fi
tag=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
if [ ! -d "$CARRY/wheels/$tag" ]; then
  echo "gpu_run.sh: $CARRY has no wheels for $tag ($PYTHON): python -m benchmarks.gpu_prepare --python X.Y.Z" >&2
  exit 2
fi
if [ -z "${SITE:-}" ]; then
  SITE="$(mktemp -d "${TMPDIR:-/tmp}/course-site.XXXXXX")"
  trap 'rm -rf "$SITE"' EXIT
fi
start=$(date +%s)
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
  "$CARRY"/wheels/any/*.whl "$CARRY/wheels/$tag"/*.whl
echo "gpu_run.sh: $(ls "$CARRY"/wheels/any/*.whl "$CARRY/wheels/$tag"/*.whl | wc -l) carried wheels installed" \
  "into $SITE in $(( $(date +%s) - start )) s"
export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$SITE/bin:$PATH"  # the wheels' commands: nbgrader runs `alembic` to check its gradebook
export COURSE_DATA_DIR="$CARRY/data" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export COURSE_CHECKPOINT="$CARRY/data/sentence-transformers/all-MiniLM-L6-v2"
# torch.cuda.is_available() asks NVML instead of initialising CUDA: processes forked after it (the grader's
# warm workers) can still use the GPU
export PYTORCH_NVML_BASED_CUDA_CHECK=1 PYTHONUNBUFFERED=1
unset COURSE_PROFILE
"$PYTHON" -m benchmarks.gpu_run --out "$OUT" --profile "${PROFILE:-gpu}" --carry "$CARRY" --site "$SITE" "$@"
