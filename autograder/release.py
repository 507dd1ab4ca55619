"""Generating the student versions (``release/``) and checking them.

* :func:`release_all` runs nbgrader's ``generate_assignment`` for every assignment of ``source/`` with a
  throw-away gradebook in a temporary course directory (nothing is written into the repository except
  the release folder itself) and normalises the notebooks so that a regeneration is byte-identical.
* :func:`release_is_up_to_date` regenerates into a temporary folder and lists the differences.
* :func:`find_leaks` searches released notebooks for solution / hidden-test markers and, given the
  source notebooks, for hidden-test or solution code.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .config import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    MARK_SCHEME_BEGIN,
    MARK_SCHEME_END,
    SKIP_DIRS,
    SOLUTION_BEGIN,
    SOLUTION_END,
    discover_assignments,
    load_course_config,
)
from .nbgrader_run import course_config, run_converter

# Fields that change from one execution/edit session to the next and carry no content.  They are
# stripped from released notebooks (so regeneration is byte-identical) and ignored when comparing.
VOLATILE_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets")


# ----------------------------------------------------------------------------------------------- helpers
def normalise_notebook(nb) -> None:
    """Strip volatile fields in place."""
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def canonical_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def copy_tree(src: Path, dest: Path, skip_notebooks: bool = False) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if name.endswith(".pyc") or (skip_notebooks and name.endswith(".ipynb")):
                continue
            shutil.copyfile(Path(dirpath) / name, dest / rel / name)


def build_assignment(course_root: str | os.PathLike, assignment: str, workdir: str | os.PathLike, cfg=None) -> Path:
    """Run generate_assignment for one assignment in the temporary course directory ``workdir``.

    Afterwards ``workdir/gradebook.db`` holds the assignment definition (hidden tests included) and
    ``workdir/release/<assignment>/`` the normalised student version.  Returns ``workdir``.
    """
    from nbgrader.converters import GenerateAssignment

    course_root = Path(course_root).resolve()
    workdir = Path(workdir)
    copy_tree(course_root / "source" / assignment, workdir / "source" / assignment)
    base = cfg if cfg is not None else load_course_config(course_root)
    run_converter(
        GenerateAssignment,
        course_config(base, workdir, assignment_id=assignment, source_directory="source", release_directory="release"),
        force=True,
    )
    for path in sorted((workdir / "release" / assignment).rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        normalise_notebook(nb)
        os.chmod(path, 0o644)
        path.write_bytes(canonical_bytes(nb))
    return workdir


# ----------------------------------------------------------------------------------------------- release
def release_all(
    course_root: str | os.PathLike,
    dest: str | os.PathLike | None = None,
    assignments: list[str] | None = None,
) -> list[Path]:
    """Generate ``dest/<assignment>/`` (default ``<course_root>/release``) for every assignment found in
    ``source/`` (or just ``assignments``).  Each assignment folder of ``dest`` is replaced as a whole.
    Returns the folders written."""
    course_root = Path(course_root).resolve()
    dest = Path(dest) if dest is not None else course_root / "release"
    cfg = load_course_config(course_root)
    written = []
    for assignment in assignments or discover_assignments(course_root):
        with tempfile.TemporaryDirectory(prefix="ag-release-") as tmp:
            build_assignment(course_root, assignment, tmp, cfg)
            target = dest / assignment
            if target.exists():
                shutil.rmtree(target)
            copy_tree(Path(tmp) / "release" / assignment, target)
        for path in target.rglob("*"):
            if path.is_file():
                os.chmod(path, 0o644)
        written.append(target)
    return written


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            p = Path(dirpath) / name
            out[p.relative_to(folder).as_posix()] = p
    return out


def _describe_notebook_diff(rel: str, expected: Path, actual: Path) -> list[str]:
    try:
        a = nbformat.read(actual, as_version=4)
    except Exception as e:  # noqa: BLE001
        return [f"{rel}: committed file is not a readable notebook ({e})"]
    e = nbformat.read(expected, as_version=4)
    normalise_notebook(a)
    normalise_notebook(e)
    if canonical_bytes(a) == canonical_bytes(e):
        return [f"{rel}: only formatting/volatile fields differ (run `course release` to rewrite it)"]
    diffs = []
    if len(a.cells) != len(e.cells):
        diffs.append(f"{rel}: {len(a.cells)} cells in release, {len(e.cells)} expected")
    for i, (ca, ce) in enumerate(zip(a.cells, e.cells)):
        name = ce.metadata.get("nbgrader", {}).get("grade_id") or ce.get("id") or i
        if ca.cell_type != ce.cell_type:
            diffs.append(f"{rel}: cell {i} ({name}) is {ca.cell_type}, expected {ce.cell_type}")
        elif ca.source != ce.source:
            d = "".join(
                list(
                    difflib.unified_diff(
                        ce.source.splitlines(True), ca.source.splitlines(True), "expected", "release", n=0
                    )
                )[:12]
            )
            diffs.append(f"{rel}: cell {i} ({name}) source differs:\n{d}")
        elif dict(ca.metadata) != dict(ce.metadata):
            diffs.append(f"{rel}: cell {i} ({name}) metadata differs")
        elif ca.get("id") != ce.get("id"):
            diffs.append(f"{rel}: cell {i} ({name}) id differs")
    if not diffs:
        diffs.append(f"{rel}: notebook metadata differs")
    return diffs


def release_is_up_to_date(course_root: str | os.PathLike, release_dir: str | os.PathLike | None = None) -> list[str]:
    """Regenerate every assignment into a temporary folder and compare with the committed release.
    Returns human-readable differences (empty list: up to date).  Released notebooks are compared
    after stripping the volatile fields listed in this module; other files byte for byte."""
    course_root = Path(course_root).resolve()
    release_dir = Path(release_dir) if release_dir is not None else course_root / "release"
    diffs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ag-release-check-") as tmp:
        release_all(course_root, tmp)
        expected, actual = _files(Path(tmp)), _files(release_dir)
        assignments = set(discover_assignments(course_root))
        for rel in sorted(set(expected) - set(actual)):
            diffs.append(f"{rel}: missing from {release_dir.name}/")
        for rel in sorted(set(actual) - set(expected)):
            top = rel.split("/", 1)[0]
            why = "no such assignment in source/" if top not in assignments else "not produced from source/"
            diffs.append(f"{rel}: extra file in {release_dir.name}/ ({why})")
        for rel in sorted(set(expected) & set(actual)):
            if expected[rel].read_bytes() == actual[rel].read_bytes():
                continue
            if rel.endswith(".ipynb"):
                diffs.extend(_describe_notebook_diff(rel, expected[rel], actual[rel]))
            else:
                diffs.append(f"{rel}: differs from source/")
    return diffs


# ----------------------------------------------------------------------------------------------- leaks
@dataclass(frozen=True)
class Leak:
    path: str
    cell: int | None
    kind: str
    snippet: str

    def __str__(self) -> str:
        where = self.path if self.cell is None else f"{self.path} cell {self.cell}"
        return f"{where}: {self.kind}: {self.snippet!r}"


def _blocks(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly inside begin/end marker blocks."""
    out, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            out.append(line)
    return out


def _block_line_numbers(source: str, begin: str, end: str) -> set[int]:
    """Numbers of the lines of ``source`` inside begin/end blocks, the marker lines included."""
    out, inside = set(), False
    for i, line in enumerate(source.splitlines()):
        if begin in line:
            inside = True
        if inside:
            out.add(i)
        if end in line:
            inside = False
    return out


def secret_lines(source_nb) -> tuple[set[str], set[str]]:
    """(hidden-test lines, solution lines) of a source notebook that are specific enough to search
    for: stripped, at least 8 characters, not comments, and not appearing outside the secret blocks."""
    hidden, solution, public = set(), set(), set()
    for cell in source_nb.cells:
        src = cell.source
        h = {l.strip() for l in _blocks(src, HIDDEN_BEGIN, HIDDEN_END)}
        s = {l.strip() for l in _blocks(src, SOLUTION_BEGIN, SOLUTION_END)}
        s |= {l.strip() for l in _blocks(src, MARK_SCHEME_BEGIN, MARK_SCHEME_END)}
        is_solution_cell = cell.metadata.get("nbgrader", {}).get("solution", False)
        if is_solution_cell and cell.cell_type == "markdown" and SOLUTION_BEGIN not in src:
            s |= {l.strip() for l in src.splitlines()}  # whole markdown answer is the solution
        hidden |= h
        solution |= s
        inside = {i for b, e in ((HIDDEN_BEGIN, HIDDEN_END), (SOLUTION_BEGIN, SOLUTION_END),
                                 (MARK_SCHEME_BEGIN, MARK_SCHEME_END)) for i in _block_line_numbers(src, b, e)}
        if not (is_solution_cell and cell.cell_type == "markdown" and SOLUTION_BEGIN not in src):
            public |= {l.strip() for i, l in enumerate(src.splitlines()) if i not in inside}
    public_text = "\n".join(public)
    # a secret line that is also part of a public line (an assert message repeated by a judge) is no secret
    keep = lambda lines: {l for l in lines - public if len(l) >= 8 and not l.startswith("#") and l not in public_text}
    return keep(hidden), keep(solution)


def _cell_texts(cell) -> list[tuple[str, str]]:
    texts = [("source", cell.source)]
    for out in cell.get("outputs", []):
        texts.append(("output", json.dumps(out)))
    texts.append(("metadata", json.dumps(cell.metadata)))
    return texts


SUBSTRING_MIN = 20  # secret lines at least this long are also searched for inside longer lines


def _contains(text: str, secret: str) -> bool:
    """``secret`` appears in ``text`` as a whole line, or (when long enough) as a word-bounded part of
    a line: ``from transformers import AutoModel`` does not match ``...import AutoModelForX``."""
    if secret not in text:
        return False
    for line in text.splitlines():
        if line.strip() == secret:
            return True
    if len(secret) < SUBSTRING_MIN:
        return False
    left = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
    right = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return re.search(left + re.escape(secret) + right, text) is not None


def find_leaks(
    release_dir: str | os.PathLike,
    source_dir: str | os.PathLike | None = None,
    allow: list[str] | tuple[str, ...] = (),
) -> list[Leak]:
    """Search every released notebook (and text file) for solution / hidden-test / mark-scheme markers,
    for outputs (released notebooks must have none), and, when ``source_dir`` (the ``source/`` folder)
    is given, for the hidden-test and solution lines of the matching source notebook (whole lines, or
    word-bounded parts of lines for secrets of 20+ characters).  ``allow`` lists secret lines that may
    appear on purpose (e.g. a hint in an assert message); nbgrader_config.py: ``c.Autograder.leak_allowlist``."""
    release_dir = Path(release_dir)
    markers = [SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END, MARK_SCHEME_BEGIN, MARK_SCHEME_END]
    # nbgrader itself matches the markers without the leading "###"
    loose = [m.lstrip("#= ").rstrip("= ") for m in markers]
    leaks: list[Leak] = []
    for rel, path in sorted(_files(release_dir).items()):
        if not rel.endswith(".ipynb"):
            try:
                text = path.read_text("utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for m in loose:
                if m in text:
                    leaks.append(Leak(rel, None, "marker", m))
            continue
        nb = nbformat.read(path, as_version=4)
        hidden, solution = set(), set()
        if source_dir is not None:
            src_path = Path(source_dir) / rel
            if src_path.is_file():
                hidden, solution = secret_lines(nbformat.read(src_path, as_version=4))
                hidden -= set(allow)
                solution -= set(allow)
        for i, cell in enumerate(nb.cells):
            if cell.get("outputs"):
                leaks.append(Leak(rel, i, "outputs", f"{len(cell.outputs)} output(s) in a released notebook"))
            for where, text in _cell_texts(cell):
                for m in loose:
                    if m in text:
                        leaks.append(Leak(rel, i, f"marker in {where}", m))
                for line in hidden:
                    if _contains(text, line):
                        leaks.append(Leak(rel, i, f"hidden test in {where}", line))
                for line in solution:
                    if _contains(text, line):
                        leaks.append(Leak(rel, i, f"solution in {where}", line))
    return leaks
