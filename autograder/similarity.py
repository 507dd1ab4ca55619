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

from .answers import Answer, released_answers, submitted_answers
from .config import SOLUTION_BEGIN, SOLUTION_END
from .escape import html_text
from .files import safe_dir, write_file

K_GRAM = 25  # copydetect's noise threshold: matches shorter than this many filtered characters are ignored
GUARANTEE = 30  # copydetect's guarantee threshold: every match this long is found (window = 30 - 25 + 1)


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


@dataclass
class _Doc:
    text: str
    spans: list[tuple[Answer, int, int]]  # each answer's place in text


def _document(answers: list[Answer]) -> _Doc:
    parts, spans, pos = [], [], 0
    for a in answers:
        src = a.source if a.source.endswith("\n") else a.source + "\n"
        spans.append((a, pos, pos + len(src)))
        parts.append(src)
        pos += len(src)
    return _Doc("".join(parts), spans)


def _fingerprint(text: str, kind: str, boilerplate, window: int = GUARANTEE - K_GRAM + 1):
    from copydetect import CodeFingerprint  # imports matplotlib: only when a class is checked

    return CodeFingerprint("answers.py" if kind == "code" else "answers.txt", K_GRAM, window,
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
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                src = "\n".join(line for line in cell.source.splitlines()
                                if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))
                out.append(Answer(path.stem, meta.get("grade_id", ""), cell.cell_type, src))
    return out


def _kind(answer: Answer) -> str:
    return "code" if answer.kind == "code" else "text"


def _lines(doc: _Doc, answer_span: tuple[Answer, int, int], slices) -> list[tuple[str, bool]]:
    answer, start, _end = answer_span
    out, pos = [], start
    for line in answer.source.splitlines(keepends=True) or [""]:
        lo, hi = pos, pos + len(line)
        shared = any(s < hi and e > lo for s, e in zip(*slices)) and bool(line.strip())
        out.append((line.rstrip("\n"), shared))
        pos = hi
    return out


def compare_class(out_dir: Path, course_root: Path, submissions: list[tuple[str, str]], cfg=None) -> list[Pair]:
    """The similar pairs among ``submissions`` ((student, assignment) pairs with graded notebooks)."""
    from copydetect import compare_files

    opts = Similarity(config=cfg) if cfg is not None else Similarity()
    pairs: list[Pair] = []
    by_assignment: dict[str, list[str]] = {}
    for student, assignment in submissions:
        by_assignment.setdefault(assignment, []).append(student)
    for assignment, students in sorted(by_assignment.items()):
        if len(students) < 2:
            continue
        released = released_answers(course_root, assignment)
        reference = reference_answers(course_root, assignment) if opts.ignore_reference else []
        answers = {s: submitted_answers(out_dir, s, assignment) for s in sorted(students)}
        for kind in ("code", "text"):
            docs = {s: _document([a for a in ans if _kind(a) == kind]) for s, ans in answers.items()}
            docs = {s: d for s, d in docs.items() if d.text.strip()}
            if len(docs) < 2:
                continue
            base = _hashes([a.source for a in released + reference if _kind(a) == kind], kind)
            prints = {s: _fingerprint(d.text, kind, base) for s, d in docs.items()}
            counts = Counter(h for p in prints.values() for h in set(p.hashes))
            limit = max(2, opts.max_class_share * len(prints))
            common = np.array(sorted(h for h, n in counts.items() if n > limit), dtype=np.int64)
            if len(common):
                prints = {s: _fingerprint(d.text, kind, np.union1d(base, common)) for s, d in docs.items()}
            names = sorted(prints)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    shared, (share_a, share_b), slices = compare_files(prints[a], prints[b])
                    if shared < opts.min_shared or max(share_a, share_b) < opts.min_share:
                        continue
                    pair = Pair(assignment, kind, (a, b), (round(float(share_a), 3), round(float(share_b), 3)),
                                int(shared))
                    spans_b = {(x.notebook, x.cell): (x, lo, hi) for x, lo, hi in docs[b].spans}
                    for span_a in docs[a].spans:
                        span_b = spans_b.get((span_a[0].notebook, span_a[0].cell))
                        if span_b is None:
                            continue
                        left, right = _lines(docs[a], span_a, slices[0]), _lines(docs[b], span_b, slices[1])
                        if any(s for _, s in left) or any(s for _, s in right):
                            pair.cells.append(SharedCell(span_a[0].notebook, span_a[0].cell, left, right))
                    pairs.append(pair)
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
