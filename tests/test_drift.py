"""``course drift`` (course_tools/drift.py): what it reads from a pytest run and from executed notebooks, what the lock
would move to, and its report. (The whole command ran here against the newest releases: benchmarks/drift.md.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from course_tools.drift import DriftReport, Failure, Step, failing_cells, junit_failures, lock_moves, render
from course_tools.lock import read_lock


def test_failing_tests_come_from_pytests_junit_report(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_ok():\n    pass\n\n\ndef test_broken():\n"
                                        "    assert 1 == 2, 'one is not two'\n")
    xml = tmp_path / "out.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
                    str(tmp_path / "test_x.py")], cwd=tmp_path, capture_output=True)
    found = junit_failures(xml)
    assert [f.where for f in found] == ["test_x.py::test_broken"]
    assert "one is not two" in found[0].error and found[0].kind == "test"
    assert junit_failures(tmp_path / "missing.xml") == []


def test_the_failing_cell_of_an_executed_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_code_cell("x = 1")
    bad = nbformat.v4.new_code_cell('from transformers import AdamW\n# the old import')
    bad.outputs = [nbformat.v4.new_output("error", ename="ImportError", evalue="cannot import name 'AdamW'",
                                          traceback=[])]
    nb.cells = [ok, bad]
    bad.id = "old-import"
    (tmp_path / "04_loop").mkdir()
    path = tmp_path / "04_loop" / "loop.ipynb"
    nbformat.write(nb, path)
    [failure] = failing_cells(path)
    assert failure.where == "04_loop/loop.ipynb cell 1 (old-import)"
    assert failure.error == "ImportError: cannot import name 'AdamW'"
    assert failure.code.startswith("from transformers import AdamW")


def test_what_the_lock_would_move_to():
    lock = {"torch": "2.13.0", "transformers": "5.25.0", "gone": "1.0"}
    newest = {"torch": "2.15.0", "transformers": "5.25.0", "new": "0.1"}
    assert lock_moves(lock, newest) == {"gone": ("1.0", ""), "new": ("", "0.1"), "torch": ("2.13.0", "2.15.0")}
    assert lock_moves(read_lock(), read_lock()) == {}


def test_report_names_versions_failures_and_moves():
    report = DriftReport(date="2026-12-06", python="3.11.7",
                         versions={"torch": ("2.13.0", "2.13.0"), "transformers": ("5.24.0", "5.25.0")},
                         torch_note="torch kept at the lock's 2.13.0.",
                         steps=[Step("install", True, 60.0, "exit 0"), Step("smoke run", False, 300.0, "exit 1")],
                         failures=[Failure("notebook", "02_trainer/trainer.ipynb cell 14 (cell-14)",
                                           "TypeError: boom", "trainer.train()")],
                         moves={"transformers": ("5.24.0", "5.25.0"), "soupsieve": ("2.10", "4.1.4")})
    text = render(report)
    assert report.broke and "**Something broke**" in text
    assert "| transformers | 5.24.0 | 5.25.0 (moved) |" in text and "torch kept at the lock's 2.13.0." in text
    assert "`02_trainer/trainer.ipynb cell 14 (cell-14)`: `TypeError: boom`" in text and "trainer.train()" in text
    assert "| transformers | 5.24.0 | 5.25.0 |" in text and "course lock --upgrade" in text
    assert "| soupsieve | 2.10 | 4.1.4 (held at <3.0.2 by course_tools.lock.HOLDS" in text
    clean = DriftReport(date="d", python="p", steps=[Step("install", True, 1.0)])
    assert not clean.broke and "Nothing broke" in render(clean)


def test_a_failure_that_passes_alone_is_flaky(tmp_path):
    """The failed tests run once more by themselves: one that passes then is reported as flaky (not drift), one
    that fails again stays a failure."""
    from course_tools.drift import rerun_failures

    (tmp_path / "test_y.py").write_text(
        "from pathlib import Path\n\n\ndef test_first_time_only():\n"
        "    marker = Path(__file__).with_name('ran')\n    ran = marker.exists()\n    marker.touch()\n"
        "    assert ran, 'fails the first time'\n\n\ndef test_always():\n    assert False, 'always'\n")
    xml = tmp_path / "first.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
                    "test_y.py"], cwd=tmp_path, capture_output=True)
    first = junit_failures(xml)
    assert {f.where for f in first} == {"test_y.py::test_first_time_only", "test_y.py::test_always"}
    again = rerun_failures(Path(sys.executable), first, tmp_path / "again.xml", tmp_path / "log", cwd=tmp_path)
    kinds = {f.where: f.kind for f in again}
    assert kinds == {"test_y.py::test_first_time_only": "flaky", "test_y.py::test_always": "test"}
    report = DriftReport(date="d", python="p", steps=[Step("quick tests", False, 1.0)], failures=again)
    assert report.broke
    report.failures = [f for f in again if f.kind == "flaky"]
    assert not report.broke


def test_a_failure_that_fails_with_the_lock_too_is_not_drift(tmp_path):
    """A test that fails with the newest releases is run in the lock's environment (this one): failing there too,
    it is reported as such and does not count as drift."""
    from course_tools.drift import with_the_lock

    (tmp_path / "test_z.py").write_text("def test_broken_anyway():\n    assert False\n")
    found = [Failure("test", "test_z.py::test_broken_anyway", "assert False"),
             Failure("notebook", "02_trainer/trainer.ipynb cell 3 (c)", "TypeError: x")]
    marked = with_the_lock(found, tmp_path / "lock.xml", tmp_path / "log", cwd=tmp_path)
    assert [f.kind for f in marked] == ["lock", "notebook"] and "with the lock's versions too" in marked[0].error
    report = DriftReport(date="d", python="p", steps=[Step("quick tests", False, 1.0)], failures=marked[:1])
    assert not report.broke and "flaky or fails with the lock too" in render(report)
