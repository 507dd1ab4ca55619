"""``python -m benchmarks.gpu_rehearsal``: the GPU run rehearsed on this CPU machine, so that on the GPU machine
it can only fail on CUDA itself.

1. ``benchmarks.gpu_prepare`` fills ``build/gpu-rehearsal/carry`` as for the device (the device's Python's
   wheels, whose size is checked against the limit) plus compiled wheels for the Python here;
2. a fresh virtual environment (``build/gpu-rehearsal/venv-*``, kept for the next rehearsal) gets ONLY packages
   of the GPU image (:data:`IMAGE_BASE`, at the image's versions where the registry has them); whatever pip
   pulls in that the image does not have is uninstalled again, and the list is checked against
   ``gpu_prepare.IMAGE_PACKAGES``;
3. ``bash benchmarks/gpu_run.sh`` runs with that interpreter, a HOME of its own and a clean PATH: it installs
   the carried wheels exactly as on the device and runs ``benchmarks.gpu_run`` at a small profile (default
   ``grading``: the seven notebooks in about two minutes), then the JSON must say ``valid``.

What differs from the device: Python here is 3.11 (the device's 3.12: the compiled wheels differ, the pure ones
are the same files), torch is the CPU build 2.13.0 (the device's is 2.11.0 with CUDA 13), numpy is the
registry's newest (the device has 2.5.2), and no GPU: CUDA, bf16 on a GPU, NVML and peak GPU memory are not
exercised. ``--profile smoke`` runs the notebooks at the size where the models learn (about four minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import gpu_prepare
from benchmarks.gpu_prepare import DEVICE_PYTHON, IMAGE_PACKAGES, IMAGE_VERSIONS, canonical

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "build" / "gpu-rehearsal"
# The image's packages that the course's code path uses (directly, or as a need of a carried package), at the
# image's versions where known. torch: 2.13.0 (the CPU wheel pip gives here; the device has 2.11.0+cu130).
IMAGE_BASE = (
    "torch==2.13.0", *(f"{name}=={version}" for name, version in IMAGE_VERSIONS.items()
                       if name not in ("torch", "numpy")),
    "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "matplotlib", "pillow", "psutil", "xxhash", "fsspec",
    "aiohttp", "anyio", "httpx", "attrs", "click", "filelock", "jinja2", "markupsafe", "prometheus-client",
    "pygments", "python-dateutil", "pyyaml", "requests", "setuptools", "six", "tqdm", "typing-extensions",
    "regex", "packaging", "nvidia-ml-py",
)  # fmt: skip
KEEP = {"pip", "setuptools", "wheel"}  # a venv's own


def pip(venv: Path, *args: str) -> str:
    """``pip ARGS`` in ``venv``; its output, or SystemExit with pip's last lines."""
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "is ignored" not in line]
        raise SystemExit(f"gpu_rehearsal: pip {args[0]} failed in {venv}:\n" + "\n".join(errors[-10:]))
    return proc.stdout


def fresh_venv(python: str = sys.executable) -> tuple[Path, list[str]]:
    """A virtual environment with only the image's packages (made once per package list and Python); returns
    it and the packages pip pulled in that the image lacks (uninstalled again)."""
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256("\n".join((version, *IMAGE_BASE, *sorted(IMAGE_PACKAGES))).encode()).hexdigest()[:10]
    venv = HERE / f"venv-{key}"
    stamp = venv / "image-only.json"
    if stamp.is_file():
        return venv, json.loads(stamp.read_text())["removed"]
    shutil.rmtree(venv, ignore_errors=True)
    print(f"gpu_rehearsal: a fresh virtual environment with the image's packages only: {venv}", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip(venv, "install", "--quiet", *IMAGE_BASE)
    listed = json.loads(pip(venv, "list", "--format", "json"))
    removed = sorted(p["name"] for p in listed if canonical(p["name"]) not in IMAGE_PACKAGES | KEEP)
    if removed:
        pip(venv, "uninstall", "--quiet", "-y", *removed)
    listed = json.loads(pip(venv, "list", "--format", "json"))
    stray = [p["name"] for p in listed if canonical(p["name"]) not in IMAGE_PACKAGES | KEEP]
    if stray:
        raise SystemExit(f"gpu_rehearsal: packages the image lacks are still installed: {stray}")
    stamp.write_text(json.dumps({"removed": removed, "packages": {p["name"]: p["version"] for p in listed}},
                                indent=1) + "\n")
    return venv, removed


def clean_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment of a bare machine: the venv's interpreter first on PATH, no other venv, no PYTHONPATH,
    a HOME of its own (no user Jupyter kernels or caches), offline."""
    keep = ("LANG", "LC_ALL", "TERM", "TZ", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not Path(p, "activate").is_file() and ".venv" not in Path(p).parts]
    env.update(PATH=os.pathsep.join([str(venv / "bin"), *path]), HOME=str(home), HF_HUB_OFFLINE="1")
    return env


def rehearse(profile: str = "grading", parts: list[str] | None = None, extra: list[str] | None = None) -> dict:
    """Prepare, make the venv, run gpu_run.sh; returns the run's JSON (raises SystemExit when it failed)."""
    from course import sources

    start = time.perf_counter()
    mirror = sources.data_dir()
    if mirror is None:
        raise SystemExit("gpu_rehearsal: set COURSE_DATA_DIR to the course data mirror (see README).")
    here_python = platform.python_version()
    carry = HERE / "carry"
    manifest = gpu_prepare.prepare(carry, [DEVICE_PYTHON, here_python], Path(mirror).resolve())
    size = manifest["carried_bytes"]
    if size["total"] > size["limit"]:
        raise SystemExit(f"gpu_rehearsal: the device's carry is {gpu_prepare.mib(size['total'])}, over "
                         f"{gpu_prepare.mib(size['limit'])}")
    prepared = time.perf_counter()
    venv, removed = fresh_venv()
    made = time.perf_counter()
    out, home = HERE / "out", HERE / "home"
    for folder in (out, home):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    env = clean_env(venv, home)
    env.update(PYTHON=str(venv / "bin" / "python"), CARRY=str(carry), OUT=str(out), PROFILE=profile)
    cmd = ["bash", str(ROOT / "benchmarks" / "gpu_run.sh"), *(["--parts", *parts] if parts else []), *(extra or [])]
    print(f"gpu_rehearsal: {' '.join(cmd)}  (PYTHON={env['PYTHON']}, PROFILE={profile})", flush=True)
    proc = subprocess.run(cmd, env=env, cwd=ROOT)
    result_path = out / "gpu_run.json"
    result = json.loads(result_path.read_text()) if result_path.is_file() else {}
    result["rehearsal"] = {
        "seconds": {"prepare": round(prepared - start, 1), "venv": round(made - prepared, 1),
                    "gpu_run.sh": round(time.perf_counter() - made, 1)},
        "python": here_python, "venv": str(venv), "uninstalled_as_not_in_the_image": removed,
        "device_carry_bytes": size, "exit_status": proc.returncode,
    }
    if result_path.is_file():
        result_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return result


def summary(result: dict) -> str:
    """What the rehearsal showed, in a few lines."""
    lines = []
    size = result["rehearsal"]["device_carry_bytes"]
    lines.append(f"carried to the device: {gpu_prepare.mib(size['total'])} of {gpu_prepare.mib(size['limit'])} ("
                 + ", ".join(f"{k} {gpu_prepare.mib(v)}" for k, v in size["parts"].items()) + ")")
    grading = result.get("grading", {})
    for a, s in grading.get("assignments", {}).items():
        lines.append(f"grading {a}: {s['status']} {s['auto_score']:g}/{s['auto_max']:g}"
                     + (f" (+{s['manual_max']:g} graded by a person)" if s["manual_max"] else ""))
    for name, r in result.get("notebooks", {}).get("results", {}).items():
        lines.append(f"notebook {name}: {r['status']} {r.get('seconds', 0):.1f} s {r.get('error', '')}")
    for key, r in result.get("training", {}).get("variants", {}).items():
        if "examples_per_s" in r:
            lines.append(f"training {key}: {r['examples_per_s']:.1f} examples/s, {r['tokens_per_s']:.0f} tokens/s")
    seconds = result["rehearsal"]["seconds"]
    lines.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))
    lines.append(f"valid: {result.get('valid')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="grading", choices=["grading", "smoke"],
                        help="the notebooks' profile (default: grading, about two minutes)")
    parser.add_argument("--parts", nargs="+", help="benchmarks.gpu_run parts (default: all)")
    args, extra = parser.parse_known_args(argv)
    result = rehearse(args.profile, args.parts, extra)
    if "rehearsal" not in result or not result.get("checks"):
        print("gpu_rehearsal: gpu_run.sh wrote no result", file=sys.stderr)
        return 1
    print(summary(result))
    return 0 if result.get("valid") and result["rehearsal"]["exit_status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
