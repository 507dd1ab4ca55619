"""Checking and repairing one submitted notebook before nbgrader sees it.

nbgrader already restores the *source* of locked cells (tests) from the gradebook, converts changed cell
types back and ignores duplicated grade ids except the last one.  What it does not do, or does badly,
is done here, and every change becomes a note in the student's outcome:

* unreadable files (invalid JSON, not a notebook, too large) -> :class:`InvalidNotebook`;
* duplicated or missing nbformat cell ids are renumbered (nbformat would refuse the notebook);
* every nbgrader cell of the released notebook (tests, answers, read-only cells) that is missing from the
  submission -- deleted, or its metadata removed -- is put back, at its place relative to the cells that
  are still there (nbgrader 0.9.6's ``add_missing_cells`` only restores grade cells and raises KeyError
  when the cell before a deleted test is itself not a grade/solution cell);
* the cell tagged ``parameters`` is reset to the released version (students cannot switch the grading
  profile) with the grading profile's hyperparameters (:func:`course.profiles.parameterize`), and papermill's
  ``injected-parameters`` cells are dropped;
* outputs are cleared;
* cell tags and metadata other than nbgrader's are dropped (``skip-execution``, ``raises-exception``...), and
  the notebook's metadata (kernelspec included) is the release's;
* code the student wrote that reaches into the grading machinery is reported as *suspicious*
  (:mod:`autograder.review`; the grade is not changed, the notebook is flagged for a human to look at).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property

import nbformat

from course.profiles import (
    PARAMETERS_TAG,
    PROFILES,
    grading_profile_name,
    is_parameters_cell,
    notebook_parameters,
    parameterize,
)
from course.text import first_line

from .cells import grade_id, is_grade, is_nbgrader_cell, is_solution
from .config import HIDDEN_BEGIN, HIDDEN_END
from .review import review, summarize


class InvalidNotebook(Exception):
    pass


# ----------------------------------------------------------------------------------------------- reading
def parse(data: bytes, max_cells: int | None = None):
    """The notebook in ``data``, with what other editors get wrong repaired; :class:`InvalidNotebook` when it
    cannot be read as one (not UTF-8, not JSON, nested too deeply, not a notebook, a cell that is not a cell, more
    than ``max_cells`` cells)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNotebook(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidNotebook(f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise InvalidNotebook("invalid notebook: its JSON is nested too deeply") from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise InvalidNotebook("JSON file is not a Jupyter notebook (no 'cells')")
    cells = raw.get("cells")
    if max_cells is not None and isinstance(cells, list) and len(cells) > max_cells:
        raise InvalidNotebook(f"the notebook has {len(cells):,} cells; at most {max_cells:,} are graded (the "
                              "assignment's own and Autograder.max_extra_cells of yours): delete the extra cells "
                              "and hand it in again")
    if raw.get("nbformat", 4) != 4:  # old notebooks: let nbformat convert them
        try:
            return nbformat.reads(text, as_version=4)
        except Exception as e:  # noqa: BLE001
            raise InvalidNotebook(f"not a readable Jupyter notebook: {type(e).__name__}: {e}") from None
    return nbformat.from_dict(_normalised_v4(raw))


def _normalised_v4(raw: dict) -> dict:
    """An nbformat 4 notebook's JSON with what other editors get wrong repaired, instead of rejecting it."""
    if not isinstance(raw.get("cells"), list):
        raise InvalidNotebook("notebook has no list of cells")
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
    raw["nbformat"] = 4
    raw["nbformat_minor"] = (
        max(5, int(raw.get("nbformat_minor", 5) or 5)) if isinstance(raw.get("nbformat_minor", 5), int) else 5
    )
    for i, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidNotebook(f"cell {i} is not a valid cell")
        src = cell.get("source", "")
        if isinstance(src, list) and all(isinstance(x, str) for x in src):
            src = "".join(src)
        if not isinstance(src, str):
            raise InvalidNotebook(f"cell {i} has no text source")
        cell["source"] = src
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        _clear_outputs(cell)
    return raw


def _clear_outputs(cell) -> None:
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _positions(nb) -> dict[str, list[int]]:
    """Grade id -> the indices of the cells that carry it, in order."""
    present: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid is not None:
            present.setdefault(gid, []).append(i)
    return present


# ----------------------------------------------------------------------------------------------- the steps
@dataclass
class RepairContext:
    """What the steps of :func:`repair` share: the released notebook, and the notes they write for the report."""

    release: object
    notes: list[str] = field(default_factory=list)

    @cached_property
    def release_cells(self) -> dict:
        """Grade id -> the release's nbgrader cell (test, answer, read-only)."""
        return {grade_id(c): c for c in self.release.cells if grade_id(c) and is_nbgrader_cell(c)}

    @cached_property
    def parameters_cell(self):
        """The release's ``parameters`` cell with the grading profile's hyperparameters (None: it has none)."""
        released = next((c for c in self.release.cells if is_parameters_cell(c)), None)
        if released is None:
            return None
        wanted = copy.deepcopy(released)
        name = grading_profile_name()
        wanted.source = parameterize(released.source, notebook_parameters(PROFILES[name]), profile=name)
        return wanted


def set_nbformat_version(nb, ctx: RepairContext) -> None:
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))


def drop_injected_parameters(nb, ctx: RepairContext) -> None:
    """Papermill's ``injected-parameters`` cells go: the grading profile's parameters are the release's."""
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if len(nb.cells) != before:
        ctx.notes.append("removed papermill 'injected-parameters' cell")


def clear_outputs(nb, ctx: RepairContext) -> None:
    for cell in nb.cells:
        _clear_outputs(cell)


def note_duplicated_and_retyped_cells(nb, ctx: RepairContext) -> None:
    """Say which nbgrader cells appear more than once (nbgrader grades the last) or changed type (nbgrader
    converts them back)."""
    present = _positions(nb)
    for gid, idx in present.items():
        if len(idx) > 1 and gid in ctx.release_cells:
            ctx.notes.append(f"cell '{gid}' appears {len(idx)} times: only the last copy is graded")
    for gid, idx in present.items():
        released = ctx.release_cells.get(gid)
        if released is not None and nb.cells[idx[-1]].cell_type != released.cell_type:
            ctx.notes.append(
                f"cell '{gid}' was changed from {released.cell_type} to {nb.cells[idx[-1]].cell_type}; converted back"
            )


def reset_nbgrader_metadata(nb, ctx: RepairContext) -> None:
    """nbgrader metadata is the instructor's: reset from the release (a student cannot change points, lock state
    or cell roles, and corrupted metadata cannot make nbgrader's validation fail). Earlier copies of a duplicated
    cell and cells with unknown grade ids lose their nbgrader metadata."""
    present = _positions(nb)
    changed = []
    for i, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        gid = grade_id(cell)
        if gid in ctx.release_cells and present[gid][-1] == i:
            if cell.metadata.get("nbgrader") != ctx.release_cells[gid].metadata["nbgrader"]:
                changed.append(gid)
            cell.metadata["nbgrader"] = copy.deepcopy(ctx.release_cells[gid].metadata["nbgrader"])
        else:
            del cell.metadata["nbgrader"]
    if changed:
        ctx.notes.append("nbgrader metadata edited in cell(s) " + ", ".join(changed) + "; reset")


def restore_missing_cells(nb, ctx: RepairContext) -> None:
    """Every nbgrader cell of the release missing from the submission (deleted, or its metadata removed) is put
    back at its release position: after the nearest preceding release cell that is still in the submission
    (matched by grade id, else by nbformat cell id), else before the nearest following one."""
    present = {gid: idx[-1] for gid, idx in _positions(nb).items()}  # after reset_nbgrader_metadata: one each

    def locate(rel_cell):
        gid = grade_id(rel_cell)
        if gid is not None and is_nbgrader_cell(rel_cell):
            return present.get(gid)
        cid = rel_cell.get("id")
        for i, c in enumerate(nb.cells):
            if cid is not None and c.get("id") == cid and grade_id(c) is None:
                return i
        return None

    restored = []
    cells = ctx.release.cells
    for k, rel_cell in enumerate(cells):
        gid = grade_id(rel_cell)
        if gid is None or not is_nbgrader_cell(rel_cell) or gid in present:
            continue
        before = (locate(prev) for prev in reversed(cells[:k]))
        after = (locate(nxt) for nxt in cells[k + 1 :])
        at = next((i + 1 for i in before if i is not None), None)
        pos = at if at is not None else next((i for i in after if i is not None), len(nb.cells))
        nb.cells.insert(pos, copy.deepcopy(rel_cell))
        present = {other: i + 1 if i >= pos else i for other, i in present.items()}
        present[gid] = pos
        restored.append(gid)
    if restored:
        ctx.notes.append("restored missing cells from the release: " + ", ".join(restored))


def reset_parameters_cell(nb, ctx: RepairContext) -> None:
    """The cell tagged ``parameters`` is always the released one, with the grading profile's hyperparameters
    (students cannot switch the grading profile)."""
    wanted = ctx.parameters_cell
    if wanted is None:
        return
    released = next(c for c in ctx.release.cells if is_parameters_cell(c))
    params = [i for i, c in enumerate(nb.cells) if is_parameters_cell(c)]
    if params:
        cell = nb.cells[params[0]]
        if cell.source != released.source or cell.cell_type != released.cell_type:
            ctx.notes.append("the 'parameters' cell was edited; reset to the released version")
        nb.cells[params[0]] = copy.deepcopy(wanted)
    else:
        nb.cells.insert(min(ctx.release.cells.index(released), len(nb.cells)), copy.deepcopy(wanted))
        ctx.notes.append("the 'parameters' cell was missing; restored")


def renumber_cell_ids(nb, ctx: RepairContext) -> None:
    """nbformat cell ids unique and valid (nbformat would refuse the notebook)."""
    seen, renumbered = set(), 0
    for cell in nb.cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid) or cid in seen:
            if cid is not None:
                renumbered += 1
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])
    if renumbered:
        ctx.notes.append(f"{renumbered} duplicated/invalid cell id(s) renumbered")


def drop_foreign_metadata(nb, ctx: RepairContext) -> None:
    """Nothing but the instructor's metadata decides how a cell runs: tags such as skip-execution or
    raises-exception, papermill or jupyter settings are dropped (the parameters cell keeps its tag), and the
    notebook's metadata (kernelspec included) is the release's."""
    dropped = set()
    params_source = ctx.parameters_cell.source if ctx.parameters_cell is not None else None
    for cell in nb.cells:
        keep = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "editable", "deletable")}
        tags = set(cell.metadata.get("tags", []))
        if PARAMETERS_TAG in tags and cell.source == params_source:
            keep["tags"] = [PARAMETERS_TAG]
        dropped |= tags - set(keep.get("tags", []))
        cell.metadata = nbformat.from_dict(keep)
    if dropped:
        ctx.notes.append("cell tags dropped before grading: " + ", ".join(sorted(dropped)[:10]))
    nb.metadata = copy.deepcopy(ctx.release.metadata)


def note_validation_errors(nb, ctx: RepairContext) -> None:
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        ctx.notes.append(f"notebook does not fully validate ({first_line(e)})")


# In this order, as nbgrader runs its preprocessors: each step reads what the previous ones left.
REPAIRS = (
    set_nbformat_version,
    drop_injected_parameters,
    clear_outputs,
    note_duplicated_and_retyped_cells,
    reset_nbgrader_metadata,
    restore_missing_cells,
    reset_parameters_cell,
    renumber_cell_ids,
    drop_foreign_metadata,
    note_validation_errors,
)


def repair(nb, release_nb) -> tuple[object, list[str], list[str]]:
    """Repair ``nb`` (in place, also returned) against the released notebook with the steps of
    :data:`REPAIRS`. Returns (nb, notes, suspicious): what the student wrote that reaches into the grading
    machinery is reported, not changed (the sandbox and the judges decide the grade)."""
    ctx = RepairContext(release_nb)
    for step in REPAIRS:
        step(nb, ctx)
    return nb, ctx.notes, summarize(review(nb, release_nb))


def redaction_lines(source_nb) -> list[str]:
    """What must not appear in feedback when hidden tests are hidden: the hidden-test markers and every
    line (stripped, >= 4 characters) of the hidden-test blocks that does not also appear elsewhere."""
    hidden, public = set(), set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
                inside = False
            elif inside:
                hidden.add(line.strip())
                continue
            public.add(line.strip())
    lines = {h for h in hidden - public if len(h) >= 4}
    return sorted(lines | {HIDDEN_BEGIN.lstrip("# "), HIDDEN_END.lstrip("# ")})


def redact_hidden(nb, hidden: list[str], release_nb) -> int:
    """For feedback: replace the source of test cells by the released (visible) part and blank every
    output line that quotes a hidden-test line.  Returns the number of redactions."""
    if not hidden:
        hidden = []
    visible = {grade_id(c): c.source for c in release_nb.cells if grade_id(c)}
    count = 0
    note = "# (hidden tests not shown)"
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in visible and is_grade(cell) and not is_solution(cell) and cell.source != visible[gid]:
            cell.source = visible[gid].rstrip("\n") + "\n" + note
            count += 1
        for out in cell.get("outputs", []):
            for key in ("text",):
                if isinstance(out.get(key), str):
                    new = _scrub_text(out[key], hidden)
                    count += new != out[key]
                    out[key] = new
            if "traceback" in out:
                new_tb = [_scrub_text(line, hidden) for line in out.traceback]
                count += new_tb != list(out.traceback)
                out.traceback = new_tb
            if "evalue" in out and isinstance(out.evalue, str):
                new = _scrub_text(out.evalue, hidden)
                count += new != out.evalue
                out.evalue = new
            for mime, value in list(out.get("data", {}).items()):
                if isinstance(value, str):
                    new = _scrub_text(value, hidden)
                    count += new != value
                    out.data[mime] = new
    return count


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _scrub_text(text: str, hidden: list[str]) -> str:
    if not hidden or not text:
        return text
    plain = _ANSI.sub("", text)
    if not any(h in plain for h in hidden):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        p = _ANSI.sub("", line)
        if any(h in p for h in hidden):
            lines[i] = "[hidden test line]"
    return "\n".join(lines)
