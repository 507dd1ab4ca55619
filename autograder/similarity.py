"""Similar work across a class: winnowing fingerprints of the answer cells (copydetect), pairs side by side.

For each assignment, each student's answer cells (:mod:`autograder.answers`; code and written answers apart) are
fingerprinted with `copydetect <https://github.com/blingenf/copydetect>`_, the MOSS algorithm (Schleimer, Wilkerson
and Aiken, *Winnowing*, SIGMOD 2003): code is tokenized by Pygments with every name replaced by one letter, so a
copy with renamed variables and other comments has the same fingerprints. What is not evidence of copying is
subtracted before two students are compared (as copydetect's and MOSS's "boilerplate"):

* the released scaffold of the answer cells (signatures, docstrings, stubs);
* the instructor's solution (``Similarity.ignore_reference``): the expected answer is no sign of copying;
* fingerprints that more than ``Similarity.max_class_share`` of the class share (MOSS's ``-m``): the obvious way.

A pair is listed when the code (or text) they share is at least ``Similarity.min_shared`` fingerprinted characters
and at least ``Similarity.min_share`` of one of the two students' fingerprinted answers. The check never changes a
grade: it writes ``grading/similarity.html`` (the pairs with their shared lines side by side, every student text
HTML-escaped) and ``grading/similarity.json`` for a person to read.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from traitlets import Bool, Float, Integer
from traitlets.config import Configurable

from .answers import Answer, class_answers, released_answers
from .cells import grade_id, is_solution
from .config import SOLUTION_BEGIN, SOLUTION_END
from .escape import html_text
from .files import safe_dir, write_file

K_GRAM = 25  # copydetect's noise threshold: matches shorter than this many filtered characters are ignored
GUARANTEE = 30  # copydetect's guarantee threshold: every match this long is found (window = 30 - 25 + 1)
MAX_ANSWER_CHARS = 200_000  # of one answer cell: a submission cannot make the check slow with megabytes of code


class Similarity(Configurable):
    """When two students' answers count as similar (``c.Similarity`` in nbgrader_config.py)."""

    min_share = Float(0.5, help="Share of one student's fingerprinted answer (code or text) that the other's "
                      "must contain for the pair to be listed.").tag(config=True)
    min_shared = Integer(60, help="Fingerprinted characters (names count as one) two answers must share at least: "
                         "short answers are alike by necessity.").tag(config=True)
    max_class_share = Float(0.5, help="Fingerprints found in more than this share of the class's submissions "
                            "(at least 3) are ignored: the common way to write it.").tag(config=True)
    ignore_reference = Bool(True, help="Ignore what the instructor's solution (source/) contains.").tag(config=True)


@dataclass
class SharedCell:
    notebook: str
    cell: str
    left: list[tuple[str, bool]]  # (line, shared) of the first student's answer
    right: list[tuple[str, bool]]


@dataclass
class Pair:
    assignment: str
    kind: str  # "code" or "text"
    students: tuple[str, str]
    shares: tuple[float, float]  # of each student's fingerprinted answer, found in the other's
    shared: int  # fingerprinted characters in common
    cells: list[SharedCell] = field(default_factory=list)


def _fingerprint(text: str, kind: str, boilerplate, window: int = GUARANTEE - K_GRAM + 1):
    from copydetect import CodeFingerprint  # imports matplotlib: only when a class is checked

    return CodeFingerprint("answer.py" if kind == "code" else "answer.txt", K_GRAM, window,
                           boilerplate=boilerplate, filter=kind == "code", fp=io.StringIO(text))


def _hashes(texts: list[str], kind: str) -> np.ndarray:
    """Every k-gram hash of ``texts`` (window 1), as copydetect's boilerplate."""
    found = set()
    for t in texts:
        if t.strip():
            found |= set(_fingerprint(t, kind, None, window=1).hashes)
    return np.array(sorted(found), dtype=np.int64)


def reference_answers(course_root: Path, assignment: str) -> list[Answer]:
    """The instructor's solutions (source/, markers dropped)."""
    out = []
    for path in sorted((Path(course_root) / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if is_solution(cell):
                src = "\n".join(line for line in cell.source.splitlines()
                                if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))
                out.append(Answer(path.stem, grade_id(cell) or "", cell.cell_type, src))
    return out


def _kind(answer: Answer) -> str:
    return "code" if answer.kind == "code" else "text"


def _lines(source: str, slices) -> list[tuple[str, bool]]:
    """The lines of ``source``, each with whether it overlaps a copied slice (copydetect's (starts, ends))."""
    out, pos = [], 0
    for line in source.splitlines(keepends=True) or [""]:
        lo, hi = pos, pos + len(line)
        shared = bool(line.strip()) and any(s < hi and e > lo for s, e in zip(*slices))
        out.append((line.rstrip("\n"), shared))
        pos = hi
    return out


def _cells(answers: dict[tuple[str, str], list[Answer]], students: list[str], assignment: str,
           answer_cells: set[tuple[str, str]]) -> dict[tuple[str, str, str], dict[str, Answer]]:
    """(notebook, cell, kind) -> student -> their answer in that cell: the release's answer cells only, non-empty,
    at most :data:`MAX_ANSWER_CHARS` characters of each."""
    cells: dict[tuple[str, str, str], dict[str, Answer]] = {}
    for student in students:
        for a in answers.get((student, assignment), []):
            if a.source.strip() and (a.notebook, a.cell) in answer_cells:
                a = Answer(a.notebook, a.cell, a.kind, a.source[:MAX_ANSWER_CHARS])
                cells.setdefault((a.notebook, a.cell, _kind(a)), {})[student] = a
    return cells


def compare_class(out_dir: Path, course_root: Path, submissions: list[tuple[str, str]], cfg=None,
                  answers: dict[tuple[str, str], list[Answer]] | None = None) -> list[Pair]:
    """The similar pairs among ``submissions`` ((student, assignment) pairs with graded notebooks).

    Each answer cell is fingerprinted on its own (with its own scaffold, solution and class-wide fingerprints
    subtracted); a pair's shares add up over the cells of one kind (code, or written answers)."""
    from copydetect import compare_files

    opts = Similarity(config=cfg) if cfg is not None else Similarity()
    answers = answers if answers is not None else class_answers(out_dir, submissions)
    by_assignment: dict[str, list[str]] = {}
    for student, assignment in submissions:
        by_assignment.setdefault(assignment, []).append(student)
    pairs: list[Pair] = []
    for assignment, students in sorted(by_assignment.items()):
        if len(students) < 2:
            continue
        given = {(a.notebook, a.cell): a.source for a in released_answers(course_root, assignment)}
        solved = {(a.notebook, a.cell): a.source for a in reference_answers(course_root, assignment)} \
            if opts.ignore_reference else {}
        # (kind, student) -> fingerprinted size; (kind, a, b) -> [shared characters, cells]
        coverage: dict[tuple[str, str], float] = {}
        found: dict[tuple[str, str, str], list] = {}
        for (nb, cell, kind), by_student in sorted(_cells(answers, sorted(students), assignment, set(given)).items()):
            base = _hashes([given.get((nb, cell), ""), solved.get((nb, cell), "")], kind)
            prints = {s: _fingerprint(a.source, kind, base) for s, a in by_student.items()}
            counts = Counter(h for p in prints.values() for h in set(p.hashes))
            limit = max(2, opts.max_class_share * len(students))
            common = np.array(sorted(h for h, n in counts.items() if n > limit), dtype=np.int64)
            if len(common):
                prints = {s: _fingerprint(by_student[s].source, kind, np.union1d(base, common)) for s in by_student}
            for s, p in prints.items():
                coverage[(kind, s)] = coverage.get((kind, s), 0) + p.token_coverage
            # only pairs that share a fingerprint can be similar: found through an index, not all n^2 pairs
            holders: dict[int, list[str]] = {}
            for st, p in prints.items():
                for h in p.hashes:
                    holders.setdefault(h, []).append(st)
            candidates = set()
            for group in holders.values():
                group = sorted(group)
                candidates |= {(x, y) for i, x in enumerate(group) for y in group[i + 1:]}
            for a, b in sorted(candidates):
                shared, _, slices = compare_files(prints[a], prints[b])
                if shared:
                    entry = found.setdefault((kind, a, b), [0, []])
                    entry[0] += int(shared)
                    entry[1].append(SharedCell(nb, cell, _lines(by_student[a].source, slices[0]),
                                               _lines(by_student[b].source, slices[1])))
        for (kind, a, b), (shared, cells) in sorted(found.items()):
            shares = (shared / max(coverage[(kind, a)], 1), shared / max(coverage[(kind, b)], 1))
            if shared >= opts.min_shared and max(shares) >= opts.min_share:
                pairs.append(Pair(assignment, kind, (a, b), (round(min(shares[0], 1.0), 3),
                                                             round(min(shares[1], 1.0), 3)), shared, cells))
    return pairs


PAGE_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table.pair { border-collapse: collapse; width: 100%; table-layout: fixed; margin-bottom: 1em; }
table.pair td, table.pair th { border: 1px solid #ccc; vertical-align: top; padding: 0.3em; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
span.shared { background: #ffe08a; display: block; }
"""


def render_page(pairs: list[Pair]) -> str:
    """The HTML page of the pairs: every student text escaped (nothing a student wrote is markup here)."""
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similar work</title>",
           f"<style>{PAGE_STYLE}</style></head><body><h1>Similar work</h1>",
           "<p>Pairs whose answer cells share more than chance and the common way of writing them would explain "
           "(the released scaffold, the instructor's solution and what most of the class wrote are not counted). "
           "Shared lines are highlighted. <strong>This changes no grade</strong>: read the pair before you decide "
           "anything.</p>"]
    if not pairs:
        out.append("<p>No pair of submissions is similar.</p>")
    for n, p in enumerate(pairs, 1):
        a, b = (html_text(s) for s in p.students)
        out.append(f"<h2 id='pair-{n}'>{n}. {a} and {b} &mdash; {html_text(p.assignment)} ({p.kind})</h2>"
                   f"<p>{p.shares[0]:.0%} of {a}'s and {p.shares[1]:.0%} of {b}'s fingerprinted answers are in the "
                   f"other's ({p.shared} characters in common).</p>")
        for cell in p.cells:
            out.append(f"<table class='pair'><tr><th colspan='2'>{html_text(cell.notebook)} / "
                       f"{html_text(cell.cell)}</th></tr><tr><th>{a}</th><th>{b}</th></tr><tr>")
            for lines in (cell.left, cell.right):
                body = "".join(f"<span class='shared'>{html_text(t) or ' '}</span>" if s else f"{html_text(t)}\n"
                               for t, s in lines)
                out.append(f"<td><pre>{body}</pre></td>")
            out.append("</tr></table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_similarity(out_dir: Path, pairs: list[Pair]) -> dict[str, Path]:
    folder = safe_dir(out_dir, "grading")
    data = [asdict(p) | {"cells": [c.cell for c in p.cells]} for p in pairs]
    return {"similarity_html": write_file(folder, "similarity.html", render_page(pairs).encode()),
            "similarity_json": write_file(folder, "similarity.json", json.dumps(data, indent=1).encode())}
