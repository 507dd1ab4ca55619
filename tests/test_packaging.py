"""pyproject.toml and environment.yml install the same packages; the `course` command exists."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("offline", "dev"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    pip_lines = [line.strip()[2:] for line in (ROOT / "environment.yml").read_text().splitlines()
                 if line.strip().startswith("- ") and line.startswith("      ")]
    listed = {_name(r) for r in pip_lines if not r.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_required_packages_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    required = {"jupyterlab", "nbgrader", "transformers", "datasets", "evaluate", "torch", "ipywidgets", "papermill"}
    assert required <= names
    assert project["scripts"]["course"] == "course.cli:main"
