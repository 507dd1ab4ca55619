"""requirements.lock, the versions every student installs: bootstrap.sh, environment.yml and CI install it, it
pins every package pyproject.toml declares within its bounds, and it is complete (every requirement of every
locked package is locked too, at a version that satisfies it). The `course` command exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections import deque
from importlib import metadata

import pytest
from conftest import ROOT
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from course_tools.lock import read_lock, torch_pin

OLDEST_PYTHON = "3.11.0"  # pyproject.toml's requires-python (>=3.11); Debian 12 ships 3.11.2


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in ("offline", "dev"):
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_lock_pins_every_declared_package_within_its_bounds():
    lock = read_lock()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in lock, f"{name} is declared in pyproject.toml but not locked: course lock"
        assert req.specifier.contains(lock[name], prereleases=True), \
            f"requirements.lock has {name} {lock[name]}, outside pyproject.toml's {req.specifier}: course lock"


def test_lock_is_complete():
    """Every requirement of the declared packages, and of theirs, down to the last, is in the lock at a version
    that satisfies it (read from the installed packages' metadata where the installed version is the lock's):
    the lock alone reproduces the environment."""
    lock = read_lock()
    queue = deque((canonicalize_name(r.name), frozenset(r.extras)) for r in _declared())
    seen, checked = set(), 0
    while queue:
        name, extras = queue.popleft()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version.split("+")[0] != lock.get(name):
            continue  # another version installed here (course drift's environment): nothing to read
        checked += 1
        requires_python = dist.metadata.get("Requires-Python")
        assert not requires_python or SpecifierSet(requires_python).contains(OLDEST_PYTHON), \
            f"the lock's {name} {dist.version} needs Python {requires_python}: hold it back (course_tools.lock.HOLDS)"
        for line in dist.requires or []:
            req = Requirement(line)
            marker = req.marker or Marker("python_version >= '3'")
            if not any(marker.evaluate({"extra": e}) for e in ("", *extras)):
                continue
            dep = canonicalize_name(req.name)
            assert dep in lock, f"{name} needs {req}, which requirements.lock does not pin: course lock"
            assert req.specifier.contains(lock[dep], prereleases=True), \
                f"{name} needs {req}; the lock has {dep} {lock[dep]}: course lock"
            queue.append((dep, frozenset(req.extras)))
    assert checked > 50, f"only {checked} locked packages are installed here at the lock's version"


def test_bootstrap_environment_and_ci_install_the_lock_with_the_same_torch():
    lock = read_lock()
    assert lock["torch"] == torch_pin(), "bootstrap.sh's TORCH_PIN and the lock's torch differ: course lock"
    bootstrap = (ROOT / "bootstrap.sh").read_text()
    assert "lock=requirements.lock" in bootstrap and 'pip install --quiet -r "$lock"' in bootstrap
    assert "pip install --quiet --no-deps -e ." in bootstrap
    env = [line.strip() for line in (ROOT / "environment.yml").read_text().split("- pip:", 1)[1].splitlines()]
    assert "- -r requirements.lock" in env and "- -e ." in env
    assert not [line for line in env if re.match(r"- [A-Za-z]", line)], "environment.yml's pip installs the lock only"
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert f'TORCH_VERSION: "{lock["torch"]}"' in ci and "pip install -r requirements.lock" in ci


def test_lock_says_how_to_write_it_again():
    head = "".join((ROOT / "requirements.lock").read_text().splitlines(keepends=True)[:8])
    assert "course lock" in head


def test_required_packages_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    required = {"jupyterlab", "nbgrader", "transformers", "datasets", "evaluate", "torch", "ipywidgets", "papermill"}
    assert required <= names
    assert project["scripts"]["course"] == "course_tools.cli:main"


@pytest.mark.slow
def test_course_lock_writes_the_lock_again(tmp_path):
    """`course lock` (pip-compile of pyproject.toml, torch at bootstrap.sh's pin) keeps the lock's pins where they
    satisfy pyproject.toml: run on a copy of the lock, it writes the same pins back (about 30 s, asks the index)."""
    out = tmp_path / "requirements.lock"
    shutil.copy2(ROOT / "requirements.lock", out)
    done = subprocess.run([sys.executable, "-m", "course_tools.cli", "lock", "--output", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_lock(out) == read_lock()
    assert "torch==" + torch_pin() in out.read_text().splitlines()
