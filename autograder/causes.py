"""Which cells a cell depends on, by the names it reads: so that a test's reason names the root cause.

When an earlier exercise is wrong, a later test that uses what it made often fails too; its reason then says
first which earlier test failed (``test_sst2_data failed first: ...``), so that the student fixes the cause, not
the symptom. A code cell depends on the last earlier code cell that binds a name it reads (statically, from the
source: assignments, definitions, imports), and on what that cell depends on.
"""

from __future__ import annotations

import ast


def _parse(code: str) -> ast.AST | None:
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def defined_names(code: str) -> set[str] | None:
    """Every name ``code`` binds (assignments, defs, classes, imports; nested ones too), None if unparsable."""
    tree = _parse(code)
    if tree is None:
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def used_names(code: str) -> set[str]:
    """Every name ``code`` reads (an empty set if unparsable)."""
    tree = _parse(code)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def depends_on(sources: list[str]) -> list[set[int]]:
    """For each cell of ``sources`` (code cells in notebook order), the indices of the earlier cells it depends on,
    directly or through others."""
    defines = [defined_names(s) or set() for s in sources]
    out: list[set[int]] = []
    for i, source in enumerate(sources):
        direct = set()
        for name in used_names(source) - defines[i]:
            earlier = [j for j in range(i) if name in defines[j]]
            if earlier:
                direct.add(earlier[-1])
        out.append(direct | {k for j in direct for k in out[j]})
    return out


def root_causes(cells, failed: dict[str, str]) -> dict[str, str]:
    """``{test: earlier test}`` for each failed test of ``failed`` (grade id -> reason) whose exercise depends on an
    earlier exercise whose own test failed too: the earliest such test. ``cells``: the notebook's cells (nbformat);
    a test belongs to the answer cell before it, and depends on what that answer and the test itself read."""
    code = [c for c in cells if c.cell_type == "code"]
    deps = depends_on([c.source for c in code])
    answer_of: dict[int, int] = {}  # test cell index -> its answer cell index
    tests_of: dict[int, list[str]] = {}  # answer cell index -> its tests
    current = None
    for i, c in enumerate(code):
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):
            current = i
        elif meta.get("grade") and current is not None:
            answer_of[i] = current
            tests_of.setdefault(current, []).append(meta["grade_id"])
    out = {}
    for i, c in enumerate(code):
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid not in failed or i not in answer_of:
            continue
        needs = deps[answer_of[i]] | deps[i]
        for answer in sorted(a for a in tests_of if a < answer_of[i] and a in needs):
            broken = [t for t in tests_of[answer] if t in failed]
            if broken:
                out[gid] = broken[0]
                break
    return out
