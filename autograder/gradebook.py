"""The class gradebook: the single writer side of parallel grading.

Workers grade in private gradebooks; only the parent process writes ``<out>/gradebook.db``, one job
after the other, through nbgrader's own :class:`nbgrader.api.Gradebook` API (so the file stays a normal
nbgrader gradebook usable by formgrader, ``nbgrader export`` and ``nbgrader generate_feedback``).

Merging rules (they mirror nbgrader's SaveAutoGrades):

* a graded job updates ``auto_score`` / ``needs_manual_grade`` and the automatic comments of its
  submission; ``manual_score``, ``extra_credit`` and ``manual_comment`` entered earlier by a grader
  are kept (and, as in nbgrader, a cell with a manual score is marked as needing a new look);
* a job that produced no grades (invalid/missing notebook, grader error, timeout, tampering) leaves an
  existing submission untouched; if there is none, it creates one with zero automatic scores, flagged,
  like nbgrader does for a missing notebook;
* the assignment definition (notebooks, cells, points) is copied from the assignment's template on
  first use; if the gradebook already has a *different* set of graded cells and submissions exist,
  grading that assignment is refused (grades of two versions must not be mixed).
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Comment, Grade, Gradebook, MissingEntry

from .outcome import Outcome, Status


class DefinitionMismatch(RuntimeError):
    pass


def read_definition(db_path: str | Path, assignment: str, course_id: str) -> dict:
    """The assignment as stored by generate_assignment (hidden tests included: keep it in memory)."""
    with Gradebook(f"sqlite:///{db_path}", course_id) as gb:
        a = gb.find_assignment(assignment)
        d = {"name": a.name, "duedate": a.duedate, "notebooks": []}
        for nb in a.notebooks:
            d["notebooks"].append(
                {
                    "name": nb.name,
                    "kernelspec": nb.kernelspec,
                    "source_cells": [
                        {
                            "name": c.name,
                            "cell_type": c.cell_type,
                            "locked": c.locked,
                            "source": c.source,
                            "checksum": c.checksum,
                        }
                        for c in nb.source_cells
                    ],
                    "grade_cells": [
                        {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.grade_cells
                    ],
                    "solution_cells": [{"name": c.name} for c in nb.solution_cells],
                    "task_cells": [
                        {"name": c.name, "max_score": c.max_score, "cell_type": c.cell_type} for c in nb.task_cells
                    ],
                }
            )
    return d


def _shape(gb: Gradebook, assignment: str):
    a = gb.find_assignment(assignment)
    return sorted(
        (nb.name, kind, c.name, float(getattr(c, "max_score", 0) or 0))
        for nb in a.notebooks
        for kind, cells in (("grade", nb.grade_cells), ("solution", nb.solution_cells), ("task", nb.task_cells))
        for c in cells
    )


def _def_shape(d: dict):
    return sorted(
        (nb["name"], kind, c["name"], float(c.get("max_score", 0) or 0))
        for nb in d["notebooks"]
        for kind in ("grade", "solution", "task")
        for c in nb[f"{kind}_cells"]
    )


def ensure_assignment(gb: Gradebook, d: dict) -> None:
    name = d["name"]
    try:
        existing = gb.find_assignment(name)
    except MissingEntry:
        existing = None
    if existing is not None:
        if _shape(gb, name) == _def_shape(d):
            for nb in d["notebooks"]:  # same cells and points: refresh the test source
                for c in nb["source_cells"]:
                    gb.update_or_create_source_cell(
                        c["name"], nb["name"], name, **{k: v for k, v in c.items() if k != "name"}
                    )
            return
        if existing.submissions:
            raise DefinitionMismatch(
                f"the gradebook's definition of {name} (cells/points) differs from source/{name} and it already "
                "holds submissions; grade into a new --out folder, or remove the assignment from the gradebook "
                f"(nbgrader db assignment remove {name}) if the old grades can go"
            )
        gb.remove_assignment(name)
    gb.add_assignment(name, duedate=d["duedate"])
    for nb in d["notebooks"]:
        gb.add_notebook(nb["name"], name, kernelspec=nb["kernelspec"])
        for c in nb["source_cells"]:
            gb.add_source_cell(c["name"], nb["name"], name, **{k: v for k, v in c.items() if k != "name"})
        for c in nb["grade_cells"]:
            gb.add_grade_cell(c["name"], nb["name"], name, max_score=c["max_score"], cell_type=c["cell_type"])
        for c in nb["solution_cells"]:
            gb.add_solution_cell(c["name"], nb["name"], name)
        for c in nb["task_cells"]:
            gb.add_task_cell(c["name"], nb["name"], name, max_score=c["max_score"], cell_type=c["cell_type"])


def has_submission(gb: Gradebook, assignment: str, student: str) -> bool:
    try:
        gb.find_submission(assignment, student)
        return True
    except MissingEntry:
        return False


def trusted_auto_score(value, cell_type: str, max_score: float):
    """A job's automatic score as the class gradebook accepts it: a number clamped to 0..max_score for a test
    cell; for a written (markdown) answer only "unanswered" (0) or "a person grades it" (None), never points."""
    if cell_type == "markdown":
        return 0.0 if value == 0 else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0.0
    return float(min(max(value, 0.0), float(max_score or 0.0)))


def merge_result(gb: Gradebook, d: dict, outcome: Outcome, timestamp=None) -> str:
    """Write one job's outcome into the class gradebook.  Returns what was done."""
    assignment, student = outcome.assignment, outcome.student
    ensure_assignment(gb, d)
    gb.update_or_create_student(student)
    existed = has_submission(gb, assignment, student)
    if not outcome.graded:
        if existed:
            return "kept previous grades"
        sub = gb.update_or_create_submission(assignment, student)
        for snb in sub.notebooks:
            snb.flagged = True
            for g in snb.grades:
                g.auto_score = 0
                g.needs_manual_grade = False
        gb.db.commit()
        return "recorded zero (not gradable)"
    kwargs = {"timestamp": timestamp} if timestamp else {}
    sub = gb.update_or_create_submission(assignment, student, **kwargs)
    for snb in sub.notebooks:
        r = outcome.notebooks.get(snb.name)
        if r is None:
            continue
        for g in snb.grades:
            rg = r["grades"].get(g.cell.name)
            if rg is None:
                continue
            g.auto_score = trusted_auto_score(rg.get("auto_score"), g.cell.cell_type, g.max_score)
            # a written answer waits for a person until one grades it; a finished manual grade stays finished
            g.needs_manual_grade = g.auto_score is None and g.manual_score is None
        for c in snb.comments:
            if c.cell.name in r["comments"]:
                c.auto_comment = r["comments"][c.cell.name]
        snb.late_submission_penalty = r.get("late_submission_penalty")
        if outcome.suspicious or outcome.status != Status.OK:
            snb.flagged = True
    gb.db.commit()
    return "updated" if existed else "created"


def snapshot(db_path: str | Path) -> dict:
    """Every grade and comment of a gradebook, keyed by names (no ids/timestamps): for comparisons."""
    out = {}
    with Gradebook(f"sqlite:///{Path(db_path).resolve()}") as gb:  # the ORM of nbgrader.api, every course
        for g in gb.db.query(Grade).all():
            nb = g.notebook
            key = (nb.student.id, nb.assignment.name, nb.name, g.name)
            out[("grade", *key)] = (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade, nb.flagged)
        for c in gb.db.query(Comment).all():
            nb = c.notebook
            out[("comment", nb.student.id, nb.assignment.name, nb.name, c.name)] = (c.auto_comment, c.manual_comment)
    return out


def scores(db_path: str | Path, course_id: str) -> list[dict]:
    """One row per (student, assignment) of the gradebook, for every student and every assignment
    (``submitted`` False when the student has no submission for it)."""
    rows = []
    with Gradebook(f"sqlite:///{db_path}", course_id) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for student in sorted(gb.students, key=lambda s: s.id):
            for a in assignments:
                answer = {(nb.name, c.name) for nb in a.notebooks for c in nb.solution_cells}
                auto_max = sum(
                    c.max_score for nb in a.notebooks for c in nb.grade_cells if (nb.name, c.name) not in answer
                )
                row = {
                    "student": student.id,
                    "assignment": a.name,
                    "submitted": False,
                    "score": 0.0,
                    "max_score": float(a.max_score),
                    "auto_score": 0.0,
                    "auto_max": float(auto_max),
                    "needs_manual_grade": False,
                    "pending_manual": 0.0,  # points of written answers no person has graded yet
                    "flagged": False,
                    "timestamp": "",
                    "cells": {},
                }
                try:
                    sub = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    rows.append(row)
                    continue
                row["submitted"] = True
                row["score"] = float(sub.score)
                row["needs_manual_grade"] = bool(sub.needs_manual_grade)
                row["timestamp"] = str(sub.timestamp or "")
                for snb in sub.notebooks:
                    row["flagged"] |= bool(snb.flagged)
                    for g in snb.grades:
                        auto = (snb.name, g.cell.name) not in answer
                        pending = bool(g.needs_manual_grade) and g.manual_score is None
                        row["cells"][g.cell.name] = {
                            "score": float(g.score or 0),
                            "max_score": float(g.max_score),
                            "auto": auto,
                            "pending": pending,
                        }
                        row["pending_manual"] += float(g.max_score) if pending else 0.0
                        if auto:
                            row["auto_score"] += float(g.auto_score or 0)
                rows.append(row)
    return rows
