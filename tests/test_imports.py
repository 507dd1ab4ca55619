"""No module of ``autograder`` or ``course`` imports a module that imports it back, not even from inside a
function (where a cycle hides until the function runs)."""

from __future__ import annotations

import ast

from conftest import ROOT

PACKAGES = ("autograder", "course")


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, object]:
    """Module name -> its file, for every module of the packages."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported(node, module: str, is_package: bool, known) -> set[str]:
    """The project modules an ``import`` or ``from ... import`` statement in ``module`` imports."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    submodules = {f"{target}.{a.name}" for a in node.names} & set(known)
    # ``from pkg import sub`` imports the submodule; ``from mod import name``, the module
    return submodules or ({target} & set(known))


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, at the top level or in any function."""
    known = modules()
    graph = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= imported(node, name, is_package, known) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules, the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "autograder.grade" in graph["autograder"]  # autograder.grade(), imported when called
    assert {"autograder.outcome", "autograder.jobs"} <= graph["autograder.grade"]
    assert "autograder.processes" in graph["autograder.zygote"]  # from . import processes


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_a_module_that_imports_it_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
