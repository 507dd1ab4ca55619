"""Notebook and code hygiene.

* source/ notebooks carry no outputs or execution counts;
* the pre-commit hook (nbstripout with the options of .pre-commit-config.yaml) cleans a dirty notebook without
  touching cell ids, nbgrader metadata or the papermill ``parameters`` tag;
* ``ruff check`` passes over the project's Python code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT

SOURCE_NOTEBOOKS = sorted((ROOT / "source").glob("*/*.ipynb"))
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
RUFF_DIRS = ["course", "autograder", "judges", "tests", "benchmarks"]


def dirty_cells(path: Path) -> list[str]:
    """One line per code cell of ``path`` that carries outputs or an execution count."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = cell.get("id") or f"#{i}"
        if cell.outputs:
            problems.append(f"{path.name}: cell {name} has {len(cell.outputs)} output(s)")
        if cell.execution_count is not None:
            problems.append(f"{path.name}: cell {name} has execution count {cell.execution_count}")
    return problems


def hook(hook_id: str) -> dict:
    config = yaml.safe_load(PRE_COMMIT.read_text())
    for repo in config["repos"]:
        for h in repo["hooks"]:
            if h["id"] == hook_id:
                return h
    raise AssertionError(f"no {hook_id} hook in {PRE_COMMIT.name}")


def tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: pip install -e '.[dev]'", pytrace=False)
    return found


def make_dirty(src: Path, dest: Path) -> None:
    """What a notebook looks like after a run in JupyterLab/papermill: outputs, counts, volatile metadata."""
    nb = nbformat.read(src, as_version=4)
    nb.metadata["papermill"] = {"duration": 12.3}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="some output\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=n + 1),
        ]
        cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
        cell.metadata["papermill"] = {"status": "completed"}
        cell.metadata["scrolled"] = True
    nbformat.write(nb, dest)


# ------------------------------------------------------------------------------------------- notebooks
def test_there_are_source_notebooks():
    assert len(SOURCE_NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_source_notebook_has_no_outputs_or_counts(path):
    problems = dirty_cells(path)
    assert not problems, "strip it (pre-commit run nbstripout --files ...):\n" + "\n".join(problems)


def test_checker_catches_a_dirty_notebook(tmp_path):
    dirty = tmp_path / "dirty.ipynb"
    make_dirty(SOURCE_NOTEBOOKS[0], dirty)
    problems = dirty_cells(dirty)
    n_code = sum(c.cell_type == "code" for c in nbformat.read(dirty, as_version=4).cells)
    assert len(problems) == 2 * n_code
    assert any("output" in p for p in problems) and any("execution count" in p for p in problems)
    # a single stray execution count is enough
    nb = nbformat.read(SOURCE_NOTEBOOKS[0], as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.execution_count = 7
    nbformat.write(nb, tmp_path / "one.ipynb")
    assert dirty_cells(tmp_path / "one.ipynb") == [f"one.ipynb: cell {first.id} has execution count 7"]


def test_precommit_hooks_target_the_right_files():
    strip = hook("nbstripout")
    assert "--keep-id" in strip["args"], "without --keep-id nbstripout renumbers every cell id"
    pattern = re.compile(strip["files"])
    assert all(pattern.search(p.relative_to(ROOT).as_posix()) for p in SOURCE_NOTEBOOKS)
    for other in ("release/01_preprocessing/preprocessing.ipynb", "tests/fixtures/x/source/a/a.ipynb"):
        assert not pattern.search(other), f"{other} must not be stripped by the hook"
    ruff = hook("ruff")
    assert ruff["entry"].split()[:2] == ["ruff", "check"]
    pattern = re.compile(ruff["files"])
    assert all(pattern.search(f"{d}/x.py") for d in RUFF_DIRS) and not pattern.search("release/x.py")


@pytest.mark.parametrize("source", SOURCE_NOTEBOOKS[:1] + SOURCE_NOTEBOOKS[-1:], ids=lambda p: p.parent.name)
def test_nbstripout_with_the_precommit_config_cleans_and_keeps_nbgrader_metadata(tmp_path, source):
    strip = hook("nbstripout")
    dirty = tmp_path / source.name
    make_dirty(source, dirty)
    assert dirty_cells(dirty)
    # The hook's command, isolated from the developer's git config (nbstripout reads extra keys from it).
    cmd = [tool(strip["entry"]), *strip.get("args", []), str(dirty)]
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=env)
    assert result.returncode == 0, f"{shlex.join(cmd)}\n{result.stdout}{result.stderr}"

    assert dirty_cells(dirty) == []
    before, after = nbformat.read(source, as_version=4), nbformat.read(dirty, as_version=4)
    assert [c.id for c in after.cells] == [c.id for c in before.cells], "cell ids kept"
    nbgrader_meta = [c.metadata.get("nbgrader") for c in before.cells]
    assert [c.metadata.get("nbgrader") for c in after.cells] == nbgrader_meta
    assert [c.metadata.get("tags") for c in after.cells] == [c.metadata.get("tags") for c in before.cells]
    assert any("parameters" in c.metadata.get("tags", []) for c in after.cells)
    assert sum("nbgrader" in c.metadata for c in after.cells) >= 4
    assert "papermill" not in after.metadata and "widgets" not in after.metadata
    assert not any({"execution", "papermill", "scrolled"} & set(c.metadata) for c in after.cells)
    # Stripping gives back exactly the committed notebook: the hook never rewrites a clean source notebook.
    assert json.loads(dirty.read_text()) == json.loads(source.read_text())
    assert dirty.read_bytes() == source.read_bytes()


# ------------------------------------------------------------------------------------------------ ruff
def test_ruff_check_passes():
    dirs = [d for d in RUFF_DIRS if (ROOT / d).is_dir()]
    cmd = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *dirs]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, f"{shlex.join(cmd[2:])}:\n{result.stdout}{result.stderr}"


def test_architecture_names_only_files_and_tests_that_exist():
    """ARCHITECTURE.md's checklists name the tests that enforce them: a renamed test or module must not leave a
    checklist pointing nowhere."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    paths = set(re.findall(r"`((?:course|autograder|tests|benchmarks)/[\w/.]+\.py)", text))
    assert paths and not [p for p in paths if "NN_topic" not in p and not (ROOT / p).is_file()]
    tests_code = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    names = set(re.findall(r"::(test_\w+)", text))
    assert names and not [n for n in names if f"def {n}(" not in tests_code]
