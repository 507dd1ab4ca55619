"""Generate a class of fixture submissions with their exact expected scores (test data: it holds hostile code).

    python -m tests.class_fixtures DEST [--course-root ROOT] [--assignment A ...] [--hostile-paths]

(from the course root, where ``tests/`` is)

writes ``DEST/submissions/`` (every hand-in layout :mod:`autograder.collect` accepts, mixed) and
``DEST/expected.json``: for every ``student/assignment`` the expected status, autograded score and maximum.
Per assignment (>= 30 submissions with a catalogue): the solution in six hand-in layouts, every catalogue
entry (wrong answers and correct alternatives), pairs of wrong answers, the untouched release, and
broken/hostile notebooks.  Broken notebooks damage the *last* answer cell of the notebook (whose tests
nothing later depends on), so their expected score is exact without knowing the notebook.

``--hostile-paths`` adds a notebook that modifies ``<course-root>/nbgrader_config.py`` by absolute path
(detected, undone and blamed by the grader): use it only on a scratch copy of a course.
"""

from __future__ import annotations

import argparse
import copy
import json
import zipfile
from pathlib import Path

import nbformat

import course
from autograder.catalogue import (
    autograded_tests,
    baseline_entries,
    exercise_tests,
    expected_scores,
    load_catalogue,
    make_submission,
    read_release,
    solution_notebook,
)
from autograder.cells import grade_id
from autograder.config import discover_assignments, find_course_root, notebooks_of
from autograder.release import secret_lines

HIDDEN_PROBE = r"""
# --- hostile: look for hidden tests on disk, relative to the grading directory
import os as _os
_found = []
for _base in [".", "..", "../..", "../../.."]:  # from the kernel's folder up to / (the system and Python pruned)
    for _dp, _dn, _fn in _os.walk(_base):
        _dn[:] = [d for d in _dn if d not in ("proc", "sys", "dev", "usr", "venv", "lib", "lib64", "bin", "sbin")
                  and not _os.path.realpath(_os.path.join(_dp, d)).startswith("/root/.pyenv")]
        for _f in _fn:
            try:
                with open(_os.path.join(_dp, _f), "rb") as _fh:
                    _data = _fh.read(2_000_000)
            except OSError:
                continue
            if any(bytes.fromhex(_h) in _data for _h in _HIDDEN):  # a hidden line (the marker is in public docs)
                _found.append(_os.path.join(_dp, _f))
print("hidden-test probe found", len(_found), "file(s)", sorted(set(_found))[:5])
"""

OVERWRITE_HELPERS = r"""
# --- hostile: replace the grading helpers next to the notebook, and forget the imported copies
import os as _os, sys as _sys
for _f in _os.listdir("."):
    if _f.endswith(".py"):
        with open(_f, "w") as _fh:
            _fh.write("def __getattr__(name):\n    return lambda *a, **k: None\n")
        _sys.modules.pop(_f[:-3], None)
"""

FAKE_RESULT = r"""
# --- hostile: forge a result file and kill the grading process
import json as _json, os as _os, signal as _signal
for _p in ["result.json", "../result.json", "../../result.json", "../../../result.json"]:
    try:
        with open(_p, "w") as _fh:
            _json.dump({"status": "ok", "graded": True, "notebooks": {}}, _fh)
    except OSError:
        pass
_os.kill(_os.getppid(), _signal.SIGKILL)
"""


def _gid(cell):
    return grade_id(cell)


def _cell(nb, gid):
    for c in nb.cells:
        if _gid(c) == gid:
            return c
    raise KeyError(gid)


def _zip(path: Path, files: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _bytes(nb) -> bytes:
    # plain JSON, no nbformat validation: broken fixtures must stay broken (e.g. duplicated cell ids)
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


class Builder:
    def __init__(self, course_root: Path, dest: Path, suffix: str):
        self.root = course_root
        self.subs = dest / "submissions"
        self.subs.mkdir(parents=True, exist_ok=True)
        self.expected: dict[str, dict] = {}
        self.problems: list[str] = []
        self.suffix = suffix

    def sid(self, name: str) -> str:
        return f"{name}{self.suffix}"

    def expect(self, student, assignment, status, auto, auto_max, description, **extra):
        self.expected[f"{student}/{assignment}"] = {
            "student": student,
            "assignment": assignment,
            "status": status,
            "auto_score": float(auto),
            "auto_max": float(auto_max),
            "description": description,
            **extra,
        }

    def nbgrader_layout(self, student, assignment, notebooks: dict):
        folder = self.subs / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, nb in notebooks.items():
            (folder / f"{name}.ipynb").write_bytes(nb if isinstance(nb, bytes) else _bytes(nb))


def write_fixture_submissions(b: Builder, a: str, hostile_paths: bool) -> None:
    """Every fixture submission of assignment ``a`` into ``b``'s submissions folder, with its expected outcome."""
    root = b.root
    nbs = notebooks_of(root, a)
    main = nbs[0]
    sol = {n: solution_notebook(root, a, n) for n in nbs}
    release = {n: read_release(root, a, n) for n in nbs}
    tests = {}
    for n in nbs:
        tests.update(autograded_tests(release[n]))
    auto_max = sum(tests.values())
    cat = load_catalogue(root, a)
    rel_scores = cat.release_scores

    # ------------------------------------------------------------------ the solution, in every layout
    b.nbgrader_layout(b.sid("sol-nbgrader"), a, sol)
    b.expect(b.sid("sol-nbgrader"), a, "ok", auto_max, auto_max, "solution, nbgrader layout")
    _zip(b.subs / f"{b.sid('sol-zip')}.zip", {f"{b.sid('sol-zip')}/{n}.ipynb": _bytes(nb) for n, nb in sol.items()})
    b.expect(b.sid("sol-zip"), a, "ok", auto_max, auto_max, "solution in <student>.zip (inside a folder)")
    _zip(b.subs / f"{b.sid('sol-zipa')}_{a}.zip", {f"{n}.ipynb": _bytes(nb) for n, nb in sol.items()})
    b.expect(b.sid("sol-zipa"), a, "ok", auto_max, auto_max, "solution in <student>_<assignment>.zip")
    for n, nb in sol.items():
        (b.subs / f"{b.sid('sol-loose')}_{n}.ipynb").write_bytes(_bytes(nb))
        d = b.subs / b.sid("sol-folder")
        d.mkdir(exist_ok=True)
        (d / f"{n}.ipynb").write_bytes(_bytes(nb))
    b.expect(b.sid("sol-loose"), a, "ok", auto_max, auto_max, "solution as loose <student>_<notebook>.ipynb")
    b.expect(b.sid("sol-folder"), a, "ok", auto_max, auto_max, "solution as <student>/<notebook>.ipynb")
    _zip(
        b.subs / f"{b.sid('sol-renamed')}.zip",
        {f"Downloads/{n} (1).ipynb": _bytes(nb) for n, nb in sol.items()}
        | {f"__MACOSX/._{nbs[0]}.ipynb": b"junk", f".ipynb_checkpoints/{nbs[0]}-checkpoint.ipynb": b"{}"},
    )
    b.expect(b.sid("sol-renamed"), a, "ok", auto_max, auto_max, "solution renamed '<nb> (1).ipynb' in a zip")
    canvas = b.sid("sol-canvas")  # an LMS's bulk download (autograder/collect.py), unpacked and zipped
    for i, (n, nb) in enumerate(sol.items()):
        (b.subs / f"{canvas}_LATE_{4100 + i}_{5200 + i}_{n}-1.ipynb").write_bytes(_bytes(nb))
    b.expect(canvas, a, "ok", auto_max, auto_max, "solution in a Canvas bulk download (late, re-submitted)")
    moodle = "Mo Odle" + b.suffix
    for n, nb in sol.items():
        folder = b.subs / f"{moodle}_77_assignsubmission_file_"
        folder.mkdir(exist_ok=True)
        (folder / f"{n}.ipynb").write_bytes(_bytes(nb))
    b.expect(moodle.replace(" ", "_"), a, "ok", auto_max, auto_max, "solution in a Moodle bulk download (unpacked)")
    spaced = "Dave Smith" + b.suffix
    _zip(b.subs / f"{spaced}.zip", {f"{n}.ipynb": _bytes(nb) for n, nb in sol.items()})
    b.expect(spaced.replace(" ", "_"), a, "ok", auto_max, auto_max, "student id with a space")

    # ------------------------------------------------------------------ catalogue
    for e in baseline_entries(root, a)[1:] + cat.entries:
        student = b.sid(e.student)
        b.nbgrader_layout(student, a, make_submission(root, e))
        exp = expected_scores(root, e)
        status = "not_attempted" if e.kind == "release" else "ok"  # the untouched release: no answer changed
        b.expect(student, a, status, sum(exp.values()), auto_max, f"catalogue {e}", tests=exp)
    wrong_by_cell = {}
    for e in cat.wrong:
        wrong_by_cell.setdefault((e.notebook, e.cell), []).append(e)
    cells = sorted(wrong_by_cell)
    for k in range(min(3, len(cells) - 1)):
        e1, e2 = wrong_by_cell[cells[k]][0], wrong_by_cell[cells[k + 1]][-1]
        subm = make_submission(root, e1)
        patched = make_submission(root, e2)[e2.notebook]
        _cell(subm[e2.notebook], e2.cell).source = _cell(patched, e2.cell).source
        ex1, ex2 = expected_scores(root, e1), expected_scores(root, e2)
        exp = {t: min(ex1.get(t, p), ex2.get(t, p)) for t, p in tests.items()}
        student = b.sid(f"combo-{k}")
        b.nbgrader_layout(student, a, subm)
        b.expect(student, a, "ok", sum(exp.values()), auto_max, f"two mistakes: {e1} + {e2}", tests=exp)

    # ------------------------------------------------------------------ broken / hostile
    answers = [gid for gid in exercise_tests(release[main])]
    last = answers[-1]
    last_tests = exercise_tests(release[main])[last]
    lost_last = sum(tests[t] - rel_scores.get(t, 0.0) for t in last_tests)
    first = answers[0]

    def variant(name, status, auto, description, mutate=None, raw: bytes | None = None, **extra):
        student = b.sid(name)
        if raw is not None:
            b.nbgrader_layout(student, a, {main: raw})
        else:
            notebooks = copy.deepcopy(sol)
            mutate(notebooks[main])
            b.nbgrader_layout(student, a, notebooks)
        b.expect(student, a, status, auto, auto_max, description, **extra)

    def prepend(gid, code):
        def f(nb):
            c = _cell(nb, gid)
            c.source = code + "\n" + c.source

        return f

    def append(gid, code):
        def f(nb):
            c = _cell(nb, gid)
            c.source = c.source + "\n" + code

        return f

    variant("broken-invalid-json", "invalid", 0, "truncated JSON", raw=_bytes(sol[main])[:-200])
    variant("broken-not-a-notebook", "invalid", 0, "JSON that is not a notebook", raw=b'{"hello": [1, 2, 3]}')
    if len(nbs) == 1:
        _zip(b.subs / f"{b.sid('broken-missing')}_{a}.zip", {"notes.txt": b"forgot the notebook"})
        b.expect(b.sid("broken-missing"), a, "missing", 0, auto_max, "zip without the notebook")

    def delete_tests(nb):
        nb.cells = [c for c in nb.cells if _gid(c) not in tests]

    variant("broken-deleted-tests", "ok", auto_max, "all test cells deleted (restored)", delete_tests)

    def edit_tests(nb):
        _cell(nb, last).source = read_cell_source(release[main], last)
        for t in last_tests:
            c = _cell(nb, t)
            c.source = "pass  # tests are for other people"
            c.metadata["nbgrader"]["points"] = 1000
            c.metadata["nbgrader"]["locked"] = False

    variant("broken-edited-tests", "ok", auto_max - lost_last, "last answer missing, its tests edited", edit_tests)

    def cell_types(nb):
        c = _cell(nb, last)
        c.cell_type = "markdown"
        c.pop("outputs", None)
        c.pop("execution_count", None)
        for t in last_tests:
            tc = _cell(nb, t)
            tc.cell_type = "markdown"
            tc.pop("outputs", None)
            tc.pop("execution_count", None)

    variant("broken-cell-types", "ok", auto_max, "answer and test cells turned into markdown", cell_types)

    def duplicate(nb):
        c = _cell(nb, first)
        draft = copy.deepcopy(c)
        draft.source = "raise ValueError('old draft')"
        nb.cells.insert(nb.cells.index(c), draft)
        nb.cells[0]["id"] = nb.cells[1]["id"]

    variant("broken-duplicate-ids", "ok", auto_max, "duplicated answer cell and duplicated cell ids", duplicate)
    variant(
        "broken-syntax-error",
        "ok",
        auto_max - lost_last,
        "syntax error in the last answer",
        prepend(last, "def broken(:\n    pass"),
    )
    variant(
        "hostile-infinite-loop",
        "ok",
        auto_max - lost_last,
        "infinite loop (per-cell timeout)",
        prepend(last, "while True:\n    pass"),
    )
    variant(
        "hostile-sys-exit-start",
        "ok",
        auto_max - lost_last,
        "sys.exit() before the answer",
        prepend(last, "import sys\nsys.exit()"),
    )
    variant(
        "hostile-sys-exit-end", "ok", auto_max, "sys.exit() after the answer", append(last, "import sys\nsys.exit(3)")
    )
    variant(
        "hostile-os-exit",
        "kernel_died",
        auto_max - lost_last,
        "os._exit(1) kills the kernel",
        prepend(last, "import os\nos._exit(1)"),
    )
    variant(
        "hostile-segfault",
        "kernel_died",
        auto_max - lost_last,
        "segfault kills the kernel",
        prepend(last, "import ctypes\nctypes.string_at(0)"),
    )
    variant(
        "hostile-ignores-interrupt",
        "kernel_unresponsive",
        auto_max - lost_last,
        "infinite loop that ignores SIGINT",
        prepend(
            last, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)"
        ),
    )
    variant(
        "hostile-big-output",
        "ok",
        auto_max,
        "megabytes of output",
        append(first, "print('x' * 3_000_000)\nfor _i in range(3000):\n    print(_i)"),
    )
    hidden = set()
    for n in nbs:
        hidden |= secret_lines(nbformat.read(root / "source" / a / f"{n}.ipynb", as_version=4))[0]
    # lines the public course package also holds (`from course.grading import student`) are no secret
    public = "\n".join(f.read_text() for f in (Path(course.__file__).parent).rglob("*.py"))
    hidden = {h for h in hidden if h not in public}
    # hex-encoded, so that the probe does not find its own source
    probe = f"_HIDDEN = {[h.encode().hex() for h in sorted(hidden)]!r}\n" + HIDDEN_PROBE
    variant(
        "hostile-reads-hidden-tests",
        "ok",
        auto_max,
        "searches the disk for hidden tests",
        append(first, probe),
        probe_expect="hidden-test probe found 0 file(s)",
    )
    variant(  # the helper files are read-only in the kernel's folder: the overwrite fails, the answers are graded
        "hostile-overwrites-helpers",
        "ok",
        auto_max,
        "overwrites the helper modules next to the notebook",
        append(first, OVERWRITE_HELPERS),
    )
    # the sandboxed kernel reaches neither the result file nor the grading process: graded on its answers
    variant(
        "hostile-forges-result",
        "ok",
        auto_max,
        "forges result.json and kills the grader process",
        append(first, FAKE_RESULT),
    )
    if hostile_paths:
        target = (root / "nbgrader_config.py").resolve()
        code = f"with open({str(target)!r}, 'a') as _fh:\n    _fh.write('\\n# pwned\\n')"
        variant(  # the course folder is not in the sandbox: the write fails, the answers are graded
            "hostile-writes-course-files",
            "ok",
            auto_max,
            "appends to nbgrader_config.py by absolute path",
            append(first, code),
        )

    # ------------------------------------------------------------------ files that are not submissions
    (b.subs / "README.txt").write_text("not a submission")
    b.problems.append("README.txt")
    (b.subs / f"{b.sid('eve')}_homework.ipynb").write_bytes(_bytes(sol[main]))
    b.problems.append(f"{b.sid('eve')}_homework.ipynb")


def read_cell_source(nb, gid) -> str:
    return _cell(nb, gid).source


def make_fixtures(dest, course_root=None, assignments=None, hostile_paths=False) -> dict:
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    dest = Path(dest)
    assignments = assignments or discover_assignments(course_root)
    expected, problems = {}, []
    for k, a in enumerate(assignments):
        b = Builder(course_root, dest, "" if len(assignments) == 1 else f"-a{k}")
        write_fixture_submissions(b, a, hostile_paths)
        expected.update(b.expected)
        problems.extend(b.problems)
    data = {
        "course_root": str(course_root),
        "assignments": assignments,
        "submissions": expected,
        "problems": sorted(set(problems)),
    }
    (dest / "expected.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.class_fixtures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dest")
    p.add_argument("--course-root")
    p.add_argument("--assignment", action="append", help="repeatable; default: every assignment")
    p.add_argument("--hostile-paths", action="store_true", help="include a notebook that writes course files")
    args = p.parse_args(argv)
    data = make_fixtures(args.dest, args.course_root, args.assignment, args.hostile_paths)
    print(f"{len(data['submissions'])} submissions written to {Path(args.dest) / 'submissions'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
