"""What a notebook cell is to nbgrader, in one place: its grade id and nbgrader's own predicates
(:func:`nbgrader.utils.is_grade`, :func:`nbgrader.utils.is_solution`, :func:`nbgrader.utils.is_locked`).

Every step of the grader asks these questions of notebooks a student wrote, whose metadata may be anything (a
list where nbgrader keeps a dict, a number as a grade id); nbgrader's predicates assume its own metadata, so each
function here first reads the metadata safely and answers "no" for anything not shaped as nbgrader writes it."""

from __future__ import annotations

from types import SimpleNamespace

from nbgrader import utils


def nbgrader_metadata(cell) -> dict:
    """The cell's ``metadata.nbgrader`` dict, or ``{}`` when the cell (a dict or a NotebookNode) has none or a
    malformed one."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade id (``None`` when it has none, or one that is not a string)."""
    gid = nbgrader_metadata(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _as_nbgrader_sees(cell) -> SimpleNamespace:
    return SimpleNamespace(metadata={"nbgrader": nbgrader_metadata(cell)})


def is_grade(cell) -> bool:
    """nbgrader's :func:`~nbgrader.utils.is_grade`: the cell carries points (a test cell or a graded answer)."""
    return bool(utils.is_grade(_as_nbgrader_sees(cell)))


def is_solution(cell) -> bool:
    """nbgrader's :func:`~nbgrader.utils.is_solution`: an answer cell the student writes."""
    return bool(utils.is_solution(_as_nbgrader_sees(cell)))


def is_locked(cell) -> bool:
    """nbgrader's :func:`~nbgrader.utils.is_locked`: a cell the student may not change (graded and read-only
    cells included)."""
    return bool(utils.is_locked(_as_nbgrader_sees(cell)))


def _is_code(cell) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "code"


def is_test(cell) -> bool:
    """An autograded test cell: graded code that is not an answer."""
    return is_grade(cell) and not is_solution(cell) and _is_code(cell)


def is_answer_code(cell) -> bool:
    """An answer cell of code (an exercise the student writes and tests check)."""
    return is_solution(cell) and _is_code(cell)


def is_nbgrader_cell(cell) -> bool:
    """Any cell nbgrader manages: graded, an answer, locked or a task."""
    return is_grade(cell) or is_solution(cell) or is_locked(cell) or bool(nbgrader_metadata(cell).get("task"))


def label(cell, index: int) -> str:
    """How reasons and notes name a cell: ``cell 'grade_id'``, else its position."""
    gid = grade_id(cell)
    return f"cell '{gid}'" if gid else f"cell {index}"
