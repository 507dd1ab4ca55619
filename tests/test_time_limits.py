"""Per-cell time limits that do not depend on the machine's load (autograder.execute.ContainedExecute).

A cell's limit counts the CPU seconds of the kernel's processes, read from outside the kernel; a cell that is
not computing is held to the same number of wall-clock seconds. The load here is real: three times as many
busy processes as cores, each in its own session (with the scheduler's autogroups, processes of one session
share a core's worth between them and would leave the grader almost undisturbed).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.catalogue import Entry, load_catalogue, make_submission, write_nbgrader_layout
from autograder.execute import ContainedExecute

TOY = Path(__file__).resolve().parent / "fixtures" / "toy_course"
TOY_ASSIGNMENT = "00_toy"


def burn(cpu_seconds: float) -> str:
    """Source of a cell that does ``cpu_seconds`` of CPU work, however long that takes on the wall clock."""
    return (
        "import time as _time\n_t = _time.process_time()\n"
        f"while _time.process_time() - _t < {cpu_seconds}:\n    pass\n"
    )


@contextlib.contextmanager
def cpu_hogs(per_core: int = 3):
    """Busy processes, each in a session (and so a scheduler autogroup) of its own."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(per_core * (os.cpu_count() or 1))
    ]
    try:
        yield
    finally:
        for p in hogs:
            p.kill()
            p.wait()


def wall_seconds(cell) -> float:
    """How long the cell ran (nbclient's execution timestamps)."""
    meta = cell.metadata["execution"]
    start, end = (datetime.fromisoformat(meta[k].replace("Z", "+00:00"))
                  for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def errors(cell) -> list[tuple[str, str]]:
    return [(o["ename"], o["evalue"]) for o in cell.outputs if o.get("output_type") == "error"]


def test_each_kind_of_overrun_is_interrupted_with_its_cause(tmp_path):
    nb = new_notebook(cells=[
        new_code_cell(burn(1.0) + "print('done')"),
        new_code_cell("while True:\n    pass"),
        new_code_cell("import time\ntime.sleep(600)"),
        new_code_cell("print('still here')"),
        new_code_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        new_code_cell("print('never')"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ex = ContainedExecute(timeout=3, responsive_grace=3, idle_window=2)
    nb, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    done, loop, sleep, after, deaf, never = nb.cells

    assert not errors(done) and "done" in done.outputs[0]["text"]
    [(ename, why)] = errors(loop)
    assert ename == "CellTimeoutError" and "used more than its 3 s of CPU time" in why and "endless loop" in why
    [(ename, why)] = errors(sleep)
    assert ename == "CellTimeoutError" and "without computing" in why, why
    assert wall_seconds(sleep) < 60  # interrupted after its limit, not after the sleep
    assert not errors(after) and "still here" in after.outputs[0]["text"]  # the kernel went on
    [(ename, why)] = errors(deaf)
    assert ename == "KernelGone" and "CPU time" in why and "ignored the interrupt" in why
    [(ename, why)] = errors(never)
    assert ename == "KernelGone" and why.startswith("not executed")


def test_a_cell_neither_computing_nor_idle_is_stopped_at_its_wall_cap(tmp_path):
    """A loop that keeps a fifth of a core busy uses too little CPU for the CPU limit and too much to be idle: it is
    stopped after ``wall_factor`` times its limit on the wall clock."""
    trickle = ("import time\nwhile True:\n    _end = time.perf_counter() + 0.02\n"
               "    while time.perf_counter() < _end:\n        pass\n    time.sleep(0.08)\n")
    nb = new_notebook(cells=[new_code_cell(trickle), new_code_cell("print('after')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ex = ContainedExecute(timeout=2, wall_factor=3, idle_window=1)
    nb, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    [(ename, why)] = errors(nb.cells[0])
    assert ename == "CellTimeoutError" and "more than 3 times its 2 s limit" in why, why
    assert not errors(nb.cells[1])


def test_wall_clock_mode_is_still_there(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(600)"), new_code_cell("print('after')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb, _ = ContainedExecute(timeout=2, cpu_limit=False).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    [(ename, why)] = errors(nb.cells[0])
    assert ename == "CellTimeoutError" and "ran longer than its 2 s" in why
    assert not errors(nb.cells[1])


@pytest.mark.slow
def test_same_grades_on_an_idle_and_on_a_loaded_machine(tmp_path):
    """The same small class graded alone and next to CPU hogs gets the same gradebook, including a correct
    but slow answer (2 CPU seconds against a 4 s limit, longer than 4 s on the wall clock under load) and an
    endless loop that costs only the test that needs it."""
    from autograder.grade import grade
    from autograder.gradebook import snapshot

    entries = {"wrong": load_catalogue(TOY, TOY_ASSIGNMENT).wrong[:1]}
    solution = Entry(TOY_ASSIGNMENT, "solution", "toy", "all", "solution", fails=[])
    subs = tmp_path / "submitted"
    for i, entry in enumerate(entries["wrong"]):
        write_nbgrader_layout(subs, f"wrong{i}", TOY_ASSIGNMENT, make_submission(TOY, entry))
    write_nbgrader_layout(subs, "solution", TOY_ASSIGNMENT, make_submission(TOY, solution))
    for student, cell, extra in (("slow", "normalize", burn(2.0)), ("loops", "add", "while True:\n    pass\n")):
        nbs = make_submission(TOY, solution)
        answer = next(c for c in nbs["toy"].cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell)
        answer.source = extra + answer.source
        write_nbgrader_layout(subs, student, TOY_ASSIGNMENT, nbs)

    runs = {}
    runs["idle"] = grade(subs, tmp_path / "idle", jobs=2, course_root=TOY, progress=False, timeout=4)
    with cpu_hogs():
        runs["loaded"] = grade(subs, tmp_path / "loaded", jobs=2, course_root=TOY, progress=False, timeout=4)

    assert snapshot(runs["idle"].gradebook) == snapshot(runs["loaded"].gradebook)
    # idle, the endless loop is stopped by its CPU limit; loaded with more hogs than the kernel's third of a
    # core, the wall-clock cap (3 times the limit) may come first: either way the same cell, named, same grade
    causes = {"idle": ("'add' used more than its 4 s of CPU time",),
              "loaded": ("'add' used more than its 4 s of CPU time", "'add' ran ")}
    for name, run in runs.items():
        slow = run.outcome("slow", TOY_ASSIGNMENT)
        assert slow.status == "ok" and not slow.failed_tests, slow
        loops = run.outcome("loops", TOY_ASSIGNMENT)
        assert set(loops.failed_tests) == {"test_add"}, loops  # the later exercises keep their points
        assert any(c in loops.failed_tests["test_add"] for c in causes[name]), loops.failed_tests["test_add"]
        assert any(c in n for n in loops.notes for c in causes[name]), loops.notes
    # the student reads the cause under the failed test too
    feedback = (tmp_path / "idle" / "feedback" / "loops" / TOY_ASSIGNMENT / "toy.html").read_text()
    assert "used more than its 4 s of CPU time" in feedback
    # the load was real: the slow answer took longer than its limit on the wall clock, and still passed
    graded = nbformat.read(tmp_path / "loaded" / "autograded" / "slow" / TOY_ASSIGNMENT / "toy.ipynb", as_version=4)
    answer = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "normalize")
    assert wall_seconds(answer) > 4
