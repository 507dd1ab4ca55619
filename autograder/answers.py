"""What students wrote in their answer cells, beside what the release gave them: "not attempted" and the input of
the similarity check (:mod:`autograder.similarity`).

Answer cells are the cells nbgrader marks ``solution`` (code and written answers), keyed by notebook and grade id.
A student's are read from ``<out>/autograded/<student>/<assignment>/`` (what was graded, after repairs; also what
``course merge`` copies), as hostile data: regular files only, size-limited, parsed by nbformat. The release's are
read from ``<course>/release/<assignment>/`` (``course release`` keeps it up to date).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .files import UnsafeFile, read_regular

MAX_NOTEBOOK_BYTES = 100_000_000


@dataclass(frozen=True)
class Answer:
    notebook: str
    cell: str  # the answer cell's grade id
    kind: str  # "code" or "markdown"
    source: str


def answers_of(nb) -> list[Answer]:
    """The answer cells of a notebook (its notebook name is filled in by the caller)."""
    out = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id"):
            out.append(Answer("", str(meta["grade_id"]), cell.cell_type, str(cell.source)))
    return out


def _read(folder: Path) -> list[Answer]:
    out = []
    if not folder.is_dir() or folder.is_symlink():
        return out
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.reads(read_regular(path, MAX_NOTEBOOK_BYTES).decode("utf-8"), as_version=4)
        except (UnsafeFile, UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
            continue
        out += [Answer(path.stem, a.cell, a.kind, a.source) for a in answers_of(nb)]
    return out


def released_answers(course_root: Path, assignment: str) -> list[Answer]:
    """The answer cells as the release gives them (the scaffold: stubs, signatures, docstrings)."""
    return _read(Path(course_root) / "release" / assignment)


def submitted_answers(out_dir: Path, student: str, assignment: str) -> list[Answer]:
    return _read(Path(out_dir) / "autograded" / student / assignment)


def normalise(source: str) -> str:
    """A cell's source without what does not change it: trailing spaces, blank lines."""
    return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())


def attempted(answers: list[Answer], released: list[Answer]) -> bool:
    """Whether any of the release's answer cells differs from the release (a student who only ran the notebook did
    not attempt it; cells the release has no answer cell for do not count)."""
    given = {(a.notebook, a.cell): normalise(a.source) for a in released}
    return any(normalise(a.source) != given[(a.notebook, a.cell)] for a in answers if (a.notebook, a.cell) in given)


def not_attempted(out_dir: Path, course_root: Path, submissions: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (student, assignment) pairs of ``submissions`` whose graded notebooks change no answer cell of the release
    (pairs without an autograded notebook, or assignments without a release, are never listed)."""
    released: dict[str, list[Answer]] = {}
    blank = set()
    for student, assignment in submissions:
        if assignment not in released:
            released[assignment] = released_answers(course_root, assignment)
        answers = submitted_answers(out_dir, student, assignment)
        if answers and released[assignment] and not attempted(answers, released[assignment]):
            blank.add((student, assignment))
    return blank
