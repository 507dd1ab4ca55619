"""Validating the graders: catalogues of wrong answers and correct alternatives.

A catalogue is a Python file ``<assignment>.py`` in ``<course>/catalogues/`` (course data beside ``source/``,
never part of an installed package; the fixture courses keep theirs the same way) defining two lists, ``WRONG``
and ``RIGHT``, of dicts::

    WRONG = [
        dict(
            cell="normalize",                    # grade_id of the ANSWER cell the patch applies to (RIGHT
                                                 # entries may also name an ungraded code cell by its id)
            name="divides_by_len",               # unique per cell; becomes part of a student id
            old="total = sum(xs)",               # exact text of the *solution* cell, must occur once
            new="total = len(xs)",
            why="averages instead of normalising",   # optional, for humans
            fails=["test_normalize"],            # optional: the EXACT set of autograded test cells that
                                                 # must fail (default: the tests following the answer
                                                 # cell up to the next answer cell)
            reason="divide by the sum",          # optional: words the grader's reason for one of those
                                                 # failed tests must contain (case-insensitive)
        ),
    ]
    RIGHT = [dict(cell="add", name="builtin_sum", old="return a + b", new="return sum((a, b))")]

Instead of ``old``/``new`` an entry may give ``replace=[(old, new), ...]`` (applied in order, each must
occur exactly once) or ``source="..."`` (the whole cell).  ``notebook="..."`` is needed only when the
assignment has several notebooks.  ``scores={"test_x": 0.5}`` fixes expected partial credit.  For RIGHT
entries ``fails`` must be empty (the default).  Optional module-level ``RELEASE_SCORES = {"test_x": 1}``
lists tests that pass even on the untouched release.

A submission for an entry is the released notebook with every answer cell filled with the solution
(the source cell without the ``### BEGIN/END SOLUTION`` marker lines) and the entry's patch applied to
its cell.  A patch whose ``old`` text is no longer in the solution raises :class:`CatalogueError`, so a
catalogue cannot silently rot when a notebook changes.

:func:`grade_catalogue` has two modes. ``full`` grades one whole notebook per entry and compares every
autograded test with its expected score (cascades included). ``focused`` (the default, what CI runs) checks
the same claims at a fraction of the cost: a wrong answer's notebook is cut after the last test of its own
exercise (every later code cell that is not a test is emptied, so nothing after it trains) and the tests up
to the cut are compared; correct alternatives on different answer cells are graded together, one
submission per round, and a round that does not get full marks is graded again entry by entry to name the
culprit.  The grader is nbgrader itself in both modes.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .causes import defined_names
from .cells import grade_id, is_answer_code, is_solution, is_test, nbgrader_metadata
from .config import SOLUTION_BEGIN, SOLUTION_END, course_id, load_course_config, notebooks_of
from .outcome import Status

ENTRY_KEYS = {
    "cell", "name", "old", "new", "replace", "source", "notebook", "why", "fails", "scores", "count", "reason",
}  # fmt: skip


class CatalogueError(ValueError):
    pass


@dataclass
class Entry:
    assignment: str
    kind: str  # "wrong" | "right"
    notebook: str
    cell: str
    name: str
    replace: list[tuple[str, str]] = field(default_factory=list)
    source: str | None = None
    fails: list[str] | None = None
    scores: dict[str, float] = field(default_factory=dict)
    why: str = ""
    reason: str = ""  # words the grader's reason for a failed test must contain (what the student reads)

    @property
    def student(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "-", f"{self.kind}-{self.cell}-{self.name}")

    def __str__(self) -> str:
        return f"{self.assignment}:{self.kind}:{self.cell}:{self.name}"


@dataclass
class Catalogue:
    assignment: str
    path: Path | None
    wrong: list[Entry]
    right: list[Entry]
    release_scores: dict[str, float] = field(default_factory=dict)
    equivalent: dict[str, str] = field(default_factory=dict)  # mutants that are correct answers (mutation.py)

    @property
    def entries(self) -> list[Entry]:
        return self.wrong + self.right


def quiz_mistakes(answers: dict[str, tuple[str, list, str]], cell: str = "quiz") -> list[dict]:
    """``WRONG`` entries for a quiz cell that assigns ``quiz_1 = "b"``, ...: ``{variable: (its solution as written,
    [wrong values as written], words the reason must contain)}``; each wrong value fails ``test_<variable>``. A wrong
    value may come with its own reason, as ``(value, reason)`` (a value of the wrong type fails the visible check)."""
    entries = []
    for variable, (right, wrongs, reason) in answers.items():
        for wrong in wrongs:
            value, why = wrong if isinstance(wrong, tuple) else (wrong, reason)
            entries.append(dict(cell=cell, name=f"{variable}_{re.sub(r'[^A-Za-z0-9]+', '_', value).strip('_')}",
                                old=f"{variable} = {right}", new=f"{variable} = {value}",
                                fails=[f"test_{variable}"], reason=why))
    return entries


def catalogue_dirs(course_root) -> list[Path]:
    root = Path(course_root)
    return [root / "catalogues"]


def find_catalogue(course_root, assignment: str) -> Path | None:
    for d in catalogue_dirs(course_root):
        p = d / f"{assignment}.py"
        if p.is_file():
            return p
    return None


def load_catalogue(course_root, assignment: str) -> Catalogue:
    """Load (and check the shape of) the catalogue of ``assignment``; an empty one if there is none."""
    path = find_catalogue(course_root, assignment)
    if path is None:
        return Catalogue(assignment, None, [], [])
    modname = "_catalogue_" + re.sub(r"\W", "_", assignment)
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    nbs = notebooks_of(course_root, assignment)
    out = {}
    for kind, attr in (("wrong", "WRONG"), ("right", "RIGHT")):
        entries, seen = [], set()
        for i, raw in enumerate(getattr(mod, attr, [])):
            where = f"{path.name}: {attr}[{i}]"
            if not isinstance(raw, dict):
                raise CatalogueError(f"{where}: expected a dict")
            unknown = set(raw) - ENTRY_KEYS
            if unknown:
                raise CatalogueError(f"{where}: unknown key(s) {sorted(unknown)}")
            for k in ("cell", "name"):
                if not isinstance(raw.get(k), str) or not raw[k]:
                    raise CatalogueError(f"{where}: '{k}' is required")
            nb = raw.get("notebook") or (nbs[0] if len(nbs) == 1 else None)
            if nb is None:
                raise CatalogueError(f"{where}: 'notebook' is required (assignment has notebooks {nbs})")
            replace = list(raw.get("replace", []))
            if "old" in raw or "new" in raw:
                if "old" not in raw or "new" not in raw:
                    raise CatalogueError(f"{where}: 'old' and 'new' go together")
                replace.insert(0, (raw["old"], raw["new"]))
            if bool(replace) == ("source" in raw):
                raise CatalogueError(f"{where}: give exactly one of old/new, replace or source")
            if (raw["cell"], raw["name"]) in seen:
                raise CatalogueError(f"{where}: duplicate name {raw['name']!r} for cell {raw['cell']!r}")
            seen.add((raw["cell"], raw["name"]))
            fails = raw.get("fails")
            if kind == "right" and (fails or raw.get("reason")):
                raise CatalogueError(f"{where}: a correct alternative cannot have 'fails' or 'reason'")
            entries.append(
                Entry(
                    assignment=assignment,
                    kind=kind,
                    notebook=nb,
                    cell=raw["cell"],
                    name=raw["name"],
                    replace=[(str(o), str(n)) for o, n in replace],
                    source=raw.get("source"),
                    fails=list(fails) if fails is not None else ([] if kind == "right" else None),
                    scores=dict(raw.get("scores", {})),
                    why=raw.get("why", ""),
                    reason=str(raw.get("reason", "")),
                )
            )
        out[kind] = entries
    return Catalogue(assignment, path, out["wrong"], out["right"], dict(getattr(mod, "RELEASE_SCORES", {})),
                     dict(getattr(mod, "EQUIVALENT", {})))


# ----------------------------------------------------------------------------------------------- notebooks


def strip_solution_markers(source: str) -> str:
    return "\n".join(l for l in source.split("\n") if SOLUTION_BEGIN not in l and SOLUTION_END not in l)


def read_release(course_root, assignment, notebook, release_dir=None):
    base = Path(release_dir) if release_dir else Path(course_root) / "release"
    return nbformat.read(base / assignment / f"{notebook}.ipynb", as_version=4)


def solution_notebook(course_root, assignment: str, notebook: str, release_dir=None):
    """The released notebook with every answer cell filled with the instructor's solution."""
    nb = read_release(course_root, assignment, notebook, release_dir)
    src = nbformat.read(Path(course_root) / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    solutions = {grade_id(c): c for c in src.cells if is_solution(c)}
    for cell in nb.cells:
        if is_solution(cell):
            gid = grade_id(cell)
            if gid not in solutions:
                raise CatalogueError(f"answer cell {gid!r} of release/{assignment}/{notebook} is not in source/")
            cell.source = strip_solution_markers(solutions[gid].source)
    return nb


def apply_patch(source: str, entry: Entry) -> str:
    if entry.source is not None:
        return entry.source
    for old, new in entry.replace:
        n = source.count(old)
        if n != 1:
            what = "not found" if n == 0 else f"found {n} times"
            raise CatalogueError(
                f"{entry}: text {old!r} {what} in the solution of cell {entry.cell!r}; update the catalogue"
            )
        source = source.replace(old, new)
    return source


def make_submission(course_root, entry: Entry, release_dir=None) -> dict:
    """{notebook name: notebook} for one catalogue entry (all notebooks of the assignment)."""
    out = {}
    for nb_name in notebooks_of(course_root, entry.assignment):
        nb = solution_notebook(course_root, entry.assignment, nb_name, release_dir)
        if entry.kind == "release":
            nb = read_release(course_root, entry.assignment, nb_name, release_dir)
        elif nb_name == entry.notebook and entry.kind != "solution":
            cells = [c for c in nb.cells if grade_id(c) == entry.cell]
            if not cells and entry.kind == "right":  # students edit the ungraded code cells too
                cells = [c for c in nb.cells if c.get("id") == entry.cell and c.cell_type == "code" and not grade_id(c)]
            elif cells and not is_solution(cells[0]):
                cells = []
            if not cells:
                raise CatalogueError(f"{entry}: {entry.cell!r} is not an answer cell of {nb_name}"
                                     + (" (nor an ungraded code cell's id)" if entry.kind == "right" else ""))
            cells[0].source = apply_patch(cells[0].source, entry)
        out[nb_name] = nb
    return out


def combined_submission(course_root, entries: list[Entry], release_dir=None) -> dict:
    """One submission carrying the patches of several entries, each on its own answer cell."""
    cells = [(e.notebook, e.cell) for e in entries]
    if len(set(cells)) != len(cells):
        raise CatalogueError(f"entries patch the same answer cell twice: {[str(e) for e in entries]}")
    out = make_submission(course_root, entries[0], release_dir)
    for e in entries[1:]:
        patched = make_submission(course_root, e, release_dir)[e.notebook]
        def named(c, cell=e.cell):
            return grade_id(c) == cell or (not grade_id(c) and c.get("id") == cell)

        source = next(c.source for c in patched.cells if named(c))
        next(c for c in out[e.notebook].cells if named(c)).source = source
    return out


def right_rounds(entries: list[Entry]) -> list[list[Entry]]:
    """Correct alternatives in rounds: round k holds the k-th alternative of every answer cell."""
    by_cell: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        by_cell.setdefault((e.notebook, e.cell), []).append(e)
    rounds = max((len(v) for v in by_cell.values()), default=0)
    return [[v[k] for v in by_cell.values() if k < len(v)] for k in range(rounds)]


def cut_after_exercise(nb, cell: str) -> list[str]:
    """Empty every code cell after the last test of answer ``cell`` except autograded tests (nbgrader
    restores those anyway; they fail fast on the missing names).  Returns the tests up to the cut."""
    own = exercise_tests(nb).get(cell, [])
    ids = [grade_id(c) for c in nb.cells]
    last = max((ids.index(t) for t in own), default=ids.index(cell))
    tests = autograded_tests(nb)
    for c in nb.cells[last + 1 :]:
        if c.cell_type == "code" and grade_id(c) not in tests:
            c.source = ""
    return [t for t in tests if ids.index(t) <= last]


def autograded_tests(nb) -> dict[str, float]:
    """Autograded test cells (grade, not solution, code) -> points, in notebook order."""
    out = {}
    for c in nb.cells:
        if is_test(c):
            out[grade_id(c)] = float(nbgrader_metadata(c).get("points", 0))
    return out


def exercise_tests(nb) -> dict[str, list[str]]:
    """Answer cell -> the test cells that follow it, up to the next answer cell."""
    out, current = {}, None
    for c in nb.cells:
        if is_answer_code(c):
            current = grade_id(c)
            out[current] = []
        elif is_test(c) and current is not None:
            out[current].append(grade_id(c))
    return out


def expected_scores(course_root, entry: Entry, release_dir=None) -> dict[str, float]:
    """Expected score of every autograded test cell of the entry's notebook."""
    nb = read_release(course_root, entry.assignment, entry.notebook, release_dir)
    tests = autograded_tests(nb)
    if entry.kind == "solution":
        return tests
    if entry.kind == "release":
        return {t: float(entry.scores.get(t, 0.0)) for t in tests}
    fails = entry.fails if entry.fails is not None else exercise_tests(nb).get(entry.cell, [])
    unknown = set(fails) - set(tests)
    if unknown:
        raise CatalogueError(f"{entry}: 'fails' names unknown test cells {sorted(unknown)}")
    exp = {t: (0.0 if t in fails else pts) for t, pts in tests.items()}
    exp.update({k: float(v) for k, v in entry.scores.items()})
    return exp


# ----------------------------------------------------------------------------------------------- grading
def judge_questions(course_root) -> set[str]:
    """The code the course's judges (``judges/``) send to the kernel, line by line (16 characters or more):
    constants passed to student.value/run/rerun/tensors and rows_expr, and the module constants that hold questions,
    less the lines the released notebooks show anyway (``precision_recall(predictions, references)``). The hidden
    tests' code: no reason may quote it (:func:`quoted_questions`)."""
    found: set[str] = set()
    public = "\n".join(c.source for path in sorted(Path(course_root).glob("release/*/*.ipynb"))
                       for c in nbformat.read(path, as_version=4).cells)
    for path in sorted((Path(course_root) / "judges").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            pieces = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("value", "run", "rerun", "tensors", "rows_expr", "rerun_or_none") and node.args:
                    pieces = node.args[:2]
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
                pieces = [node.value] if isinstance(node.value, (ast.Constant, ast.JoinedStr)) else []
            for piece in pieces:
                for sub in ast.walk(piece):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        found |= {line.strip() for line in sub.value.splitlines() if len(line.strip()) >= 16}
    return {q for q in found if q not in public}


def quoted_questions(reason: str, questions: set[str]) -> list[str]:
    """The lines of the judges' questions that ``reason`` quotes (none may)."""
    return sorted(q for q in questions if q in reason)


@dataclass
class EntryResult:
    entry: Entry
    expected: dict[str, float]
    actual: dict[str, float]
    status: Status
    reason: str = ""
    failed_tests: dict[str, str] = field(default_factory=dict)  # test -> the reason the grader gave

    @property
    def reason_given(self) -> bool:
        """The entry's expected reason (if it states one) is in the grader's reason for one of its failed tests."""
        want = self.entry.reason.lower()
        return not want or any(want in r.lower() for r in self.failed_tests.values())

    @property
    def ok(self) -> bool:
        scores = all(abs(self.actual.get(k, -1) - v) < 1e-9 for k, v in self.expected.items())
        return self.status == Status.OK and scores and self.reason_given

    def describe(self) -> str:
        if self.ok:
            return f"{self.entry}: ok"
        wrong = {k: (v, self.actual.get(k)) for k, v in self.expected.items() if self.actual.get(k) != v}
        text = f"{self.entry}: status {self.status} {self.reason} expected!=actual {wrong}"
        if not self.reason_given:
            text += f"; reason {self.entry.reason!r} not among {self.failed_tests}"
        return text


def write_nbgrader_layout(dest: Path, student: str, assignment: str, notebooks: dict) -> None:
    folder = Path(dest) / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")


def grade_catalogue(
    course_root,
    assignment: str,
    kinds=("wrong", "right"),
    jobs: int = 2,
    out_dir=None,
    entries: list[Entry] | None = None,
    mode: str = "focused",
    **grade_kwargs,
) -> list[EntryResult]:
    """Grade the catalogue entries (``jobs`` submissions in parallel, in one batch) and compare autograded
    test cells with their expected scores; one result per entry, in order.  ``mode``: ``focused`` or
    ``full`` (see the module's docstring)."""
    if mode not in ("focused", "full"):
        raise ValueError(f"mode must be 'focused' or 'full', not {mode!r}")
    cat = load_catalogue(course_root, assignment)
    todo = entries if entries is not None else [e for e in cat.entries if e.kind in kinds]
    # (student id, notebooks, [(entry, expected scores)]) per submission
    plan = []
    for e in todo:
        if mode == "focused" and e.kind == "right":
            continue
        subs = make_submission(course_root, e)
        expected = expected_scores(course_root, e)
        if mode == "focused" and e.kind == "wrong":
            kept = cut_after_exercise(subs[e.notebook], e.cell)
            expected = {t: v for t, v in expected.items() if t in kept}
        plan.append((e.student, subs, [(e, expected)]))
    rights = [e for e in todo if e.kind == "right"] if mode == "focused" else []
    rounds = right_rounds(rights)
    for k, group in enumerate(rounds):
        plan.append(
            (
                f"right-round-{k + 1}",
                combined_submission(course_root, group),
                [(e, expected_scores(course_root, e)) for e in group],
            )
        )
    results = dict(grade_plan(course_root, assignment, plan, jobs, out_dir, grade_kwargs))
    # a failed round: grade its alternatives one by one to name the culprit
    retry = [e for group in rounds for e in group if not results[id(e)].ok]
    if retry:
        plan = [(e.student, make_submission(course_root, e), [(e, expected_scores(course_root, e))]) for e in retry]
        results.update(grade_plan(course_root, assignment, plan, jobs, None, grade_kwargs))
    return [results[id(e)] for e in todo]


def grade_plan(course_root, assignment, plan, jobs, out_dir, grade_kwargs):
    """Grade the planned submissions ``[(student id, notebooks, [(entry, expected scores)])]`` in one batch;
    yields (id(entry), EntryResult)."""
    # nbgrader, sqlalchemy, jupyter: imported only when something is graded
    from .grade import grade
    from .gradebook import scores as gradebook_scores

    with tempfile.TemporaryDirectory(prefix="ag-catalogue-") as tmp:
        subs = Path(tmp) / "submitted"
        for student, notebooks, _ in plan:
            write_nbgrader_layout(subs, student, assignment, notebooks)
        out = Path(out_dir) if out_dir else Path(tmp) / "out"
        kwargs = {"progress": False, "protect": [], "feedback": False, "report": False, **grade_kwargs}
        run = grade(subs, out, jobs=jobs, course_root=course_root, assignment=assignment, **kwargs)
        rows = {
            r["student"]: r
            for r in gradebook_scores(run.gradebook, course_id(load_course_config(course_root)))
            if r["assignment"] == assignment
        }
        for student, _, checks in plan:
            o = run.outcome(student, assignment)
            cells = rows.get(student, {}).get("cells", {})
            for entry, exp in checks:
                actual = {k: v["score"] for k, v in cells.items() if k in exp}
                failed = {k: str(v) for k, v in o.failed_tests.items() if k in exp}
                yield id(entry), EntryResult(entry, exp, actual, o.status, o.reason, failed)


def baseline_entries(course_root, assignment: str) -> list[Entry]:
    """Pseudo-entries: the plain solution (full marks on every test) and the untouched release (zero,
    except the tests listed in the catalogue's RELEASE_SCORES)."""
    nbs = notebooks_of(course_root, assignment)
    cat = load_catalogue(course_root, assignment)
    return [
        Entry(assignment, "solution", nbs[0], "all", "solution", fails=[]),
        Entry(assignment, "release", nbs[0], "all", "unchanged", fails=None, scores=cat.release_scores),
    ]


def _transplants(code: str, wanted: set[str]) -> list[tuple[str, str]]:
    """Pieces of a released cell that could stand in for an answer defining ``wanted``: the whole cell (a
    ``%%writefile`` cell's script body), and each function or class nested in it under a wanted name."""
    body = code.split("\n", 1)[1] if code.startswith("%%writefile") else code
    names = defined_names(body)
    if names is None or not names & wanted:
        return []
    out = [("cell", body)]
    lines = body.splitlines()
    tree = ast.parse("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))
    for node in ast.walk(tree):
        definition = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        nested_def = isinstance(node, definition) and node.col_offset > 0
        if nested_def and node.name in wanted:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            out.append((node.name, textwrap.dedent("\n".join(lines[start:node.end_lineno]))))
    return out


def transplant_entries(course_root, assignment: str, release_dir=None) -> list[Entry]:
    """Wrong-answer entries that prove no released cell gives an answer away: for every answer cell, every
    released code cell (other answer cells as released included, test cells not) that binds one of the names
    the answer binds, pasted in as the answer (``%%writefile`` scripts by their body, nested functions of a
    wanted name on their own). Graded, each must fail every test of its exercise."""
    entries = []
    for nb_name in notebooks_of(course_root, assignment):
        solution = solution_notebook(course_root, assignment, nb_name, release_dir)
        release = read_release(course_root, assignment, nb_name, release_dir)
        tests = exercise_tests(solution)
        for answer in solution.cells:
            gid = grade_id(answer)
            if answer.cell_type != "code" or not gid or not tests.get(gid):
                continue
            wanted = defined_names(answer.source) or set()
            for cell in release.cells:
                if cell.cell_type != "code" or grade_id(cell) == gid or grade_id(cell) in autograded_tests(release):
                    continue
                for label, code in _transplants(cell.source, wanted):
                    name = f"transplant-{grade_id(cell) or cell.get('id')}-{label}"
                    entries.append(Entry(assignment, "wrong", nb_name, gid, name, source=code,
                                         fails=list(tests[gid]),
                                         why=f"released cell {grade_id(cell) or cell.get('id')} pasted as the answer"))
    return entries
