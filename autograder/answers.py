"""What students wrote in their answer cells, beside what the release gave them: "not attempted" and the input of
the similarity check (:mod:`autograder.similarity`).

Answer cells are the cells nbgrader marks ``solution`` (code and written answers), keyed by notebook and grade id.
A student's are read from ``<out>/autograded/<student>/<assignment>/`` (what was graded, after repairs; also what
``course merge`` copies), as hostile data: regular files only, size-limited, parsed by nbformat. The release's are
read from ``<course>/release/<assignment>/`` (``course release`` keeps it up to date).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .cells import grade_id, is_solution
from .files import UnsafeFile, read_regular

MAX_NOTEBOOK_BYTES = 100_000_000
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Answer:
    notebook: str
    cell: str  # the answer cell's grade id
    kind: str  # "code" or "markdown"
    source: str


def _cells_of(data) -> list[Answer]:
    """The answer cells of a notebook's JSON, read as hostile data (no schema: only what is needed, type-checked)."""
    cells = data.get("cells") if isinstance(data, dict) else None
    out = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        if not is_solution(cell) or grade_id(cell) is None:
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(x for x in source if isinstance(x, str))
        if isinstance(source, str):
            kind = str(cell.get("cell_type", ""))
            out.append(Answer("", grade_id(cell), kind, plain_text(source) if kind == "markdown" else source))
    return out


def plain_text(markdown: str) -> str:
    """A written answer's words: stored notebooks hold sanitized Markdown (autograder/sanitize.py may leave it as
    HTML), so tags are dropped and entities decoded before answers are compared."""
    return html.unescape(_TAG.sub("", markdown))


def _read(folder: Path) -> list[Answer]:
    out = []
    if not folder.is_dir() or folder.is_symlink():
        return out
    for path in sorted(folder.glob("*.ipynb")):
        try:
            data = json.loads(read_regular(path, MAX_NOTEBOOK_BYTES))
        except (UnsafeFile, UnicodeDecodeError, ValueError, RecursionError):
            continue
        out += [Answer(path.stem, a.cell, a.kind, a.source) for a in _cells_of(data)]
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


def class_answers(out_dir: Path, submissions: list[tuple[str, str]]) -> dict[tuple[str, str], list[Answer]]:
    """(student, assignment) -> the answer cells of its graded notebooks: read once for a report."""
    return {key: submitted_answers(out_dir, *key) for key in submissions}


def not_attempted(out_dir: Path, course_root: Path, submissions: list[tuple[str, str]],
                  answers: dict[tuple[str, str], list[Answer]] | None = None) -> set[tuple[str, str]]:
    """The (student, assignment) pairs of ``submissions`` whose graded notebooks change no answer cell of the release
    (pairs without an autograded notebook, or assignments without a release, are never listed)."""
    answers = answers if answers is not None else class_answers(out_dir, submissions)
    released: dict[str, list[Answer]] = {}
    blank = set()
    for student, assignment in submissions:
        if assignment not in released:
            released[assignment] = released_answers(course_root, assignment)
        answers_of_student = answers.get((student, assignment), [])
        if answers_of_student and released[assignment] and not attempted(answers_of_student, released[assignment]):
            blank.add((student, assignment))
    return blank
