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

import nbformat

from course.profiles import PROFILES, grading_profile_name, notebook_parameters, parameterize

from .review import review, summarize


class InvalidNotebook(Exception):
    pass


def parse(data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNotebook(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidNotebook(f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise InvalidNotebook("JSON file is not a Jupyter notebook (no 'cells')")
    if raw.get("nbformat", 4) != 4:  # old notebooks: let nbformat convert them
        try:
            return nbformat.reads(text, as_version=4)
        except Exception as e:  # noqa: BLE001
            raise InvalidNotebook(f"not a readable Jupyter notebook: {type(e).__name__}: {e}") from None
    # nbformat 4: repair what other editors get wrong instead of rejecting the whole notebook
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
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nbformat.from_dict(raw)


def _grade_id(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        return meta["grade_id"]
    return None


def _is_nbgrader_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task"))


def repair(nb, release_nb) -> tuple[object, list[str], list[str]]:
    """Repair ``nb`` (in place, also returned) against the released notebook.
    Returns (nb, notes, suspicious)."""
    notes: list[str] = []
    suspicious: list[str] = []
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))

    # papermill artefacts and outputs
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if len(nb.cells) != before:
        notes.append("removed papermill 'injected-parameters' cell")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)

    # nbgrader cells of the release, in order
    rel_cells = [c for c in release_nb.cells if _grade_id(c) and _is_nbgrader_cell(c)]
    rel_ids = [_grade_id(c) for c in rel_cells]
    present: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = _grade_id(cell)
        if gid is not None:
            present.setdefault(gid, []).append(i)
    for gid, idx in present.items():
        if len(idx) > 1 and gid in rel_ids:
            notes.append(f"cell '{gid}' appears {len(idx)} times: only the last copy is graded")
    by_gid = {_grade_id(c): c for c in rel_cells}
    for gid, idx in present.items():
        if gid in by_gid and nb.cells[idx[-1]].cell_type != by_gid[gid].cell_type:
            notes.append(
                f"cell '{gid}' was changed from {by_gid[gid].cell_type} to {nb.cells[idx[-1]].cell_type}; "
                "converted back"
            )
    # nbgrader metadata is the instructor's: reset it from the release (a student cannot change points,
    # lock state or cell roles, and corrupted metadata cannot make nbgrader's validation fail).  Earlier
    # copies of a duplicated cell and cells with unknown grade ids lose their nbgrader metadata.
    changed_meta = []
    for i, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        gid = _grade_id(cell)
        if gid in by_gid and present.get(gid, [None])[-1] == i:
            if cell.metadata.get("nbgrader") != by_gid[gid].metadata["nbgrader"]:
                changed_meta.append(gid)
            cell.metadata["nbgrader"] = copy.deepcopy(by_gid[gid].metadata["nbgrader"])
        else:
            del cell.metadata["nbgrader"]
    for gid in list(present):
        if gid not in by_gid:
            del present[gid]
        else:
            present[gid] = present[gid][-1:]
    if changed_meta:
        notes.append("nbgrader metadata edited in cell(s) " + ", ".join(changed_meta) + "; reset")

    # restore missing nbgrader cells at their release position: after the nearest preceding release cell
    # that is still in the submission (matched by grade id, else by nbformat cell id), else before the
    # nearest following one
    def locate(rel_cell):
        gid = _grade_id(rel_cell)
        if gid is not None and _is_nbgrader_cell(rel_cell):
            return present[gid][-1] if gid in present else None
        cid = rel_cell.get("id")
        for i, c in enumerate(nb.cells):
            if cid is not None and c.get("id") == cid and _grade_id(c) is None:
                return i
        return None

    restored = []
    for k, rel_cell in enumerate(release_nb.cells):
        gid = _grade_id(rel_cell)
        if gid is None or not _is_nbgrader_cell(rel_cell) or gid in present:
            continue
        pos = None
        for prev in reversed(release_nb.cells[:k]):
            at = locate(prev)
            if at is not None:
                pos = at + 1
                break
        if pos is None:
            for nxt in release_nb.cells[k + 1 :]:
                at = locate(nxt)
                if at is not None:
                    pos = at
                    break
        if pos is None:
            pos = len(nb.cells)
        nb.cells.insert(pos, copy.deepcopy(rel_cell))
        for other, idx in present.items():
            present[other] = [i + 1 if i >= pos else i for i in idx]
        present[gid] = [pos]
        restored.append(gid)
    if restored:
        notes.append("restored missing cells from the release: " + ", ".join(restored))

    # parameters cell: always the released one, with the grading profile's hyperparameters
    rel_params = [c for c in release_nb.cells if "parameters" in c.metadata.get("tags", [])]
    if rel_params:
        params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
        released = rel_params[0]
        wanted = copy.deepcopy(released)
        wanted.source = parameterize(released.source, notebook_parameters(PROFILES[grading_profile_name()]))
        rel_params = [wanted]
        if params:
            cell = nb.cells[params[0]]
            if cell.source != released.source or cell.cell_type != released.cell_type:
                notes.append("the 'parameters' cell was edited; reset to the released version")
            nb.cells[params[0]] = copy.deepcopy(wanted)
        else:
            rel_pos = release_nb.cells.index(released)
            nb.cells.insert(min(rel_pos, len(nb.cells)), copy.deepcopy(wanted))
            notes.append("the 'parameters' cell was missing; restored")

    # nbformat cell ids: unique and valid
    seen, renumbered = set(), 0
    for cell in nb.cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid) or cid in seen:
            if cid is not None:
                renumbered += 1
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])
    if renumbered:
        notes.append(f"{renumbered} duplicated/invalid cell id(s) renumbered")

    # nothing but the instructor's metadata decides how a cell runs: tags such as skip-execution or
    # raises-exception, papermill or jupyter settings are dropped (the parameters cell keeps its tag)
    dropped = set()
    params_source = rel_params[0].source if rel_params else None
    for cell in nb.cells:
        keep = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "editable", "deletable")}
        tags = set(cell.metadata.get("tags", []))
        if "parameters" in tags and cell.source == params_source:
            keep["tags"] = ["parameters"]
        dropped |= tags - set(keep.get("tags", []))
        cell.metadata = nbformat.from_dict(keep)
    if dropped:
        notes.append("cell tags dropped before grading: " + ", ".join(sorted(dropped)[:10]))
    nb.metadata = copy.deepcopy(release_nb.metadata)

    # what the student wrote that reaches into the grading machinery (reported; the sandbox and the judges
    # decide the grade)
    suspicious.extend(summarize(review(nb, release_nb)))
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        notes.append(f"notebook does not fully validate ({str(e).splitlines()[0]})")
    return nb, notes, suspicious


def redaction_lines(source_nb) -> list[str]:
    """What must not appear in feedback when hidden tests are hidden: the hidden-test markers and every
    line (stripped, >= 4 characters) of the hidden-test blocks that does not also appear elsewhere."""
    from .config import HIDDEN_BEGIN, HIDDEN_END

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
    visible = {_grade_id(c): c.source for c in release_nb.cells if _grade_id(c)}
    count = 0
    note = "# (hidden tests not shown)"
    for cell in nb.cells:
        gid = _grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if gid in visible and meta.get("grade") and not meta.get("solution") and cell.source != visible[gid]:
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
