"""The GPU run (benchmarks/gpu_prepare.py, gpu_run.sh, gpu_run.py) and its rehearsal on CPU
(benchmarks/gpu_rehearsal.py): what is carried, the compact checkpoint, the driver's JSON, and the whole run
in a fresh virtual environment with only the GPU image's packages (opt-in: COURSE_GPU_REHEARSAL=1)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from benchmarks import gpu_prepare, gpu_run
from benchmarks.gpu_prepare import CARRIED, IMAGE_PACKAGES, NOT_CARRIED, PrepareError, canonical


def test_carried_packages_are_pinned_and_not_in_the_image():
    names = [canonical(spec.split("==")[0]) for spec in CARRIED]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", spec) for spec in CARRIED)
    assert len(names) == len(set(names)), "one version of each: two stop the whole install"
    # a carried copy of an image package would shadow the image's (the carried folder comes first on the path)
    assert not set(names) & IMAGE_PACKAGES
    assert set(gpu_prepare.PURE_WHEELS) <= set(names) and set(gpu_prepare.SLIM) <= set(names)


def test_the_rehearsal_installs_only_image_packages_and_hides_other_environments(tmp_path, monkeypatch):
    from benchmarks import gpu_rehearsal

    names = {canonical(re.split(r"[<>=]", spec, maxsplit=1)[0]) for spec in gpu_rehearsal.IMAGE_BASE}
    assert names <= IMAGE_PACKAGES
    monkeypatch.setenv("PATH", os.pathsep.join(["/work/main/.venv/bin", "/usr/bin", "/bin"]))
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("VIRTUAL_ENV", "/work/main/.venv")
    env = gpu_rehearsal.clean_env(tmp_path / "venv", tmp_path / "home")
    assert env["PATH"].split(os.pathsep) == [str(tmp_path / "venv" / "bin"), "/usr/bin", "/bin"]
    assert env["HOME"] == str(tmp_path / "home") and "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env


def test_every_requirement_of_the_course_is_in_the_image_carried_or_left_out_with_a_reason():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = project["dependencies"] + project["optional-dependencies"]["offline"]
    carried = {canonical(spec.split("==")[0]) for spec in CARRIED}
    for requirement in required:
        name = canonical(re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0])
        assert name in IMAGE_PACKAGES | carried | set(NOT_CARRIED), f"{name}: not in the image, carried or explained"


@pytest.mark.parametrize("wheel,shared", [
    ("datasets-5.2.0-py3-none-any.whl", True),
    ("defusedxml-0.7.1-py2.py3-none-any.whl", True),
    ("multiprocess-0.70.19-py312-none-any.whl", False),  # one Python's
    ("tornado-6.6.1-cp311-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.whl", False),
    ("pyzmq-27.3.0-cp312-cp312-manylinux_2_26_x86_64.whl", False),
])
def test_wheels_are_shared_only_when_pure_python_3(wheel, shared):
    assert gpu_prepare.is_shared(wheel) is shared
    assert gpu_prepare.python_tag("3.12.3") == "cp312"


def make_wheel(path: Path, files: dict[str, str]) -> Path:
    name, version = "tinypkg", "1.0"
    dist = f"{name}-{version}.dist-info"
    files = {**files, f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{f},,\n" for f in files) + f"{dist}/RECORD,,\n"
    wheel = path / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for f, text in {**files, f"{dist}/RECORD": record}.items():
            z.writestr(f, text)
    return wheel


def test_a_slimmed_wheel_loses_the_files_and_their_record_lines_and_still_installs(tmp_path):
    wheel = make_wheel(tmp_path, {"tinypkg/__init__.py": "VALUE = 1\n", "tinypkg/docs/big.txt": "x" * 100_000,
                                  "tinypkg/tests/test_it.py": "assert True\n"})
    saved = gpu_prepare.slim_wheel(wheel, ("tinypkg/docs/", "tinypkg/tests/"))
    assert saved > 0
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        record = z.read("tinypkg-1.0.dist-info/RECORD").decode()
    assert "tinypkg/__init__.py" in names and not any("/docs/" in n or "/tests/" in n for n in names)
    assert "docs/" not in record and "tests/" not in record and "tinypkg/__init__.py" in record
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    assert (target / "tinypkg" / "__init__.py").read_text() == "VALUE = 1\n"


def test_the_compact_checkpoint_stores_float16_and_loads_the_float32_model(tmp_path, offline):
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification

    from course import sources

    source = sources.checkpoint_source(gpu_prepare.CHECKPOINT_ID).path
    info = gpu_prepare.write_compact_checkpoint(tmp_path / "minilm", source)
    dest = tmp_path / "minilm"
    with safe_open(str(dest / "model.safetensors"), "pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    assert dtypes == {"F16"}
    original = sum(p.stat().st_size for p in Path(source).glob("*.safetensors"))
    assert (dest / "model.safetensors").stat().st_size < 0.55 * original
    assert json.loads((dest / "config.json").read_text())["dtype"] == "float32"
    assert {"tokenizer.json", "tokenizer_config.json", "config.json"} <= set(info["files"])
    model = AutoModelForSequenceClassification.from_pretrained(dest, num_labels=2)
    assert {str(p.dtype) for p in model.parameters()} == {"torch.float32"}
    assert info["parameters"] == 22_713_216 and info["max_relative_difference"] < 1e-2


def test_the_carry_must_be_a_folder_git_ignores():
    gpu_prepare.check_destination(ROOT / gpu_prepare.DEFAULT_DEST)
    gpu_prepare.check_destination(ROOT / "build" / "gpu-rehearsal" / "carry")
    with pytest.raises(PrepareError, match="never be committed"):
        gpu_prepare.check_destination(ROOT / "benchmarks" / "carry-here")


def test_the_carried_size_counts_the_checkout_and_the_device_python_wheels_only(tmp_path):
    for folder, size in (("wheels/any", 1000), ("wheels/cp312", 2000), ("wheels/cp311", 4000), ("data/x", 500)):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "f").write_bytes(b"0" * size)
    size = gpu_prepare.carried_bytes(tmp_path, "3.12.3")
    assert size["parts"]["wheels/any"] == 1000 and size["parts"]["wheels/cp312"] == 2000
    assert size["parts"]["data"] == 500 and "wheels/cp311" not in size["parts"]
    assert size["total"] == size["parts"]["checkout"] + 3500 and size["limit"] == 64 * 2**20
    assert size["parts"]["checkout"] > 0


def test_gpu_run_sh_says_what_to_do_when_nothing_was_carried(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_run.sh")], capture_output=True, text=True,
                          env={**os.environ, "CARRY": str(tmp_path), "PYTHON": sys.executable})
    assert proc.returncode == 2
    assert "python -m benchmarks.gpu_prepare" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_the_driver_writes_one_json_with_the_probe(tmp_path, offline):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu_run", "--parts", "probe", "--matmul-n", "256",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "gpu_run.json").read_text())
    assert data["valid"] is True and data["parts"] == ["probe"]
    peaks = data["probe"]["matmul"]["flops_per_s"]
    assert set(peaks) == {"bf16", "fp32"} and all(math.isfinite(v) and v > 0 for v in peaks.values())
    assert data["packages"]["torch"]["version"] and data["packages"]["nbgrader"]["from"] == "installed"
    assert data["probe"]["cuda_available"] is False and data["probe"]["device"].startswith("cpu")


def test_a_part_that_breaks_makes_the_run_invalid_and_the_json_says_why(tmp_path, monkeypatch, offline):
    def broken(run, args):
        raise RuntimeError("no device")

    monkeypatch.setattr(gpu_run, "run_probe", broken)
    monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "1")  # main() sets it for itself and what it starts
    assert gpu_run.main(["--parts", "probe", "--out", str(tmp_path)]) == 1
    data = json.loads((tmp_path / "gpu_run.json").read_text())
    assert data["valid"] is False and data["checks"]["probe"] == {"ok": False, "detail": "RuntimeError: no device"}
    assert "no device" in data["errors"]["probe"]


def test_an_unknown_notebook_stops_the_driver_before_it_runs_anything(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    with pytest.raises(SystemExit, match="no notebook called 'nope'"):
        gpu_run.main(["--notebooks", "nope", "--out", str(tmp_path)])
    assert not (tmp_path / "gpu_run.json").exists()


def test_stopwatch_waits_for_queued_gpu_work(monkeypatch):
    """On CUDA a timer must wait for the GPU (kernels run asynchronously); without CUDA it waits for nothing."""
    import torch

    from course.training import stopwatch

    calls = []
    with stopwatch():
        pass
    assert calls == []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("sync"))
    with stopwatch() as elapsed:
        assert calls == ["sync"]
    assert calls == ["sync", "sync"] and elapsed() >= 0


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["trainer_bf16", "accelerate_bf16"])
def test_the_bf16_training_variants_train(variant, offline):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.training", variant, "--steps", "2", "--warmup", "1",
                           "--batch-size", "4", "--examples", "16"], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["bf16"] is True and r["finite_losses"] is True and r["steps"] == 2 and r["device"] == "cpu"


REHEARSAL_SKIP = ("the rehearsal builds a fresh virtual environment from the package registry (torch, "
                  "transformers...: about 1 GB, cached after the first time) and runs every notebook and the grading "
                  "(about 10 minutes on 2 cores); run it with COURSE_GPU_REHEARSAL=1, or `python -m "
                  "benchmarks.gpu_rehearsal` (README \"GPU run\")")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("COURSE_GPU_REHEARSAL") != "1", reason=REHEARSAL_SKIP)
def test_the_gpu_run_rehearsed_on_cpu_with_only_the_image_packages(mirror_dir, monkeypatch):
    """benchmarks/gpu_run.sh in a fresh venv of the image's packages plus the carried wheels: all seven notebooks
    pass, all seven solutions get every autograded point, the training variants train, the carry fits."""
    from benchmarks.gpu_rehearsal import rehearse

    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror_dir))
    result = rehearse("grading")
    assert result["rehearsal"]["exit_status"] == 0 and result["valid"] is True, json.dumps(result["checks"])
    assert result["rehearsal"]["device_carry_bytes"]["total"] <= gpu_prepare.CARRY_LIMIT
    notebooks = result["notebooks"]["results"]
    assert len(notebooks) == 7 and all(r["status"] == "ok" for r in notebooks.values())
    grades = result["grading"]["assignments"]
    assert len(grades) == 7 and all(g["auto_score"] == g["auto_max"] > 0 for g in grades.values())
    carried = {name for name, p in result["packages"].items() if p and p["from"] == "carried"}
    assert {"datasets", "evaluate", "papermill", "nbgrader", "ipykernel"} <= carried
    assert result["packages"]["transformers"] == {"version": "5.17.0", "from": "installed"}
