"""The packages by audience and their layers (ARCHITECTURE.md), checked by import-linter's contracts in
pyproject.toml ``[tool.importlinter]``: the student runtime ``course`` imports no instructor tool, ``autograder`` sits
on ``course_tools`` on ``course``, and no module imports one that imports it back (not even from inside a function,
where a cycle hides until the function runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module,code,broken", [
    ("autograder/outcome.py", "def _late():\n    from . import grade  # noqa\n", "imports it back"),
    ("course/data.py", "def _late():\n    import course_tools.runner  # noqa\n", "imports no instructor tool"),
    ("course/data.py", "def _late():\n    import judges.common  # noqa\n", "imports no instructor tool"),
    ("judges/common.py", "def _late():\n    import autograder.judge  # noqa\n", "import the student runtime only"),
])
def test_the_contracts_see_a_function_level_import(tmp_path, module, code, broken):
    """A copy of the packages with one import added in a function: the contract that forbids it breaks."""
    for pkg in ("course", "course_tools", "autograder", "judges"):
        subprocess.run(["cp", "-r", str(ROOT / pkg), str(tmp_path / pkg)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    path = tmp_path / module
    path.write_text(path.read_text() + "\n\n" + textwrap.dedent(code))
    result = lint(tmp_path)
    assert result.returncode != 0
    line = next(line for line in result.stdout.splitlines() if broken in line)
    assert line.rstrip().endswith("BROKEN") or "BROKEN" in line, result.stdout[-2000:]
