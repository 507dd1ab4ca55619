"""The code stays readable: no function outside the tests is longer than a screen and a half (80 lines), and every
package ARCHITECTURE.md names exists (and every package is named there)."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

PACKAGES = ("course", "course_tools", "autograder", "judges", "benchmarks")
MAX_LINES = 80


def test_no_function_is_longer_than_80_lines():
    long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these into parts:\n" + "\n".join(long)


def test_architecture_names_every_package_and_module_that_exists():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`((?:course|course_tools|autograder)/[\w/]+\.py)`", text))
    missing = sorted(n for n in named if "NN_" not in n and not (ROOT / n).is_file())
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"
    for package in ("course", "course_tools", "autograder", "judges"):
        if (ROOT / package).is_dir():
            assert f"`{package}/`" in text, f"ARCHITECTURE.md does not describe the package {package}/"
