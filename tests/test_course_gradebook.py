"""The running course: the class gradebook, LMS exports, the roster, due dates and the late policy, "not attempted",
the similarity check and the formgrader command (autograder/export.py, roster.py, late.py, answers.py,
similarity.py, formgrader.py, report.py).

The end-to-end part grades a toy class as an instructor would, with the documented commands: a roster, one late
hand-in (nbgrader's timestamp) and one Canvas ``_LATE`` file, a blank hand-in, a pair that copied and renamed the
variables, an independent solution, a student id that looks like a formula; then re-grades one student and checks
the report, the similarity page, the feedback and each LMS export, and starts formgrader with the command the report
prints.
"""

from __future__ import annotations

import copy
import csv
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.catalogue import read_release, solution_notebook, write_nbgrader_layout
from autograder.collect import Job, SubmittedFile, lms_record
from autograder.escape import csv_cell
from autograder.export import ClassExport, ExportStudent, render
from autograder.late import PerDayPenalty, format_delay, parse_time, submission_time
from autograder.roster import RosterEntry, read_roster

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "fixtures" / "toy_course"
A = "00_toy"
DUE = "2027-01-15 12:00:00 UTC"

# A distinctive solution (not the instructor's), which two students share with other names and comments.
COPIED_NORMALIZE = '''def normalize(xs):
    """Scale xs so that it sums to 1."""
    if not xs:
        raise ValueError("<script>alert('normalize needs numbers')</script>")
    running = 0.0
    for value in xs:
        running = running + value
    scaled = []
    for value in xs:
        scaled.append(value / running)
    return scaled
'''
COPIED_MEAN = '''def mean_of_squares(xs):
    count = 0
    acc = 0.0
    for value in xs:
        acc = acc + value ** 2
        count = count + 1
    if count == 0:
        return 0.0
    return acc / count
'''
# Correct solutions written independently, each its own way
INDEPENDENT = {
    "normalize": 'def normalize(xs):\n    """Scale xs so that it sums to 1."""\n    s = sum(xs)\n'
                 '    return list(map(lambda x: x / s, xs))\n',
    "mean_of_squares": "def mean_of_squares(xs):\n    return sum(map(lambda x: x * x, xs)) / len(xs) if xs else 0.0\n",
}
INDEPENDENT_2 = {
    "normalize": 'def normalize(xs):\n    """Scale xs so that it sums to 1."""\n    import numpy as np\n'
                 '    arr = np.asarray(xs, dtype=float)\n    return (arr / arr.sum()).tolist()\n',
    "mean_of_squares": "def mean_of_squares(xs):\n    if len(xs) == 0:\n        return 0.0\n"
                       "    import statistics\n    return statistics.fmean(x ** 2 for x in xs)\n",
}
ROSTER = """id,first_name,last_name,email
ann,Ann,Lee,ann@example.edu
bob,Bob,"=HYPERLINK(""http://evil.example"",""x"")",bob@example.edu
cy,Cy,Young,cy@example.edu
dan,Dan,Brown,dan@example.edu
eve,Eve,Adams,eve@example.edu
fay,Fay,Wray,fay@example.edu
ida,Ida,Lin,ida@example.edu
smithgus,Gus,Smith,gus@example.edu
hal,Hal,Nine,hal@example.edu
"""


def _answers(base, **cells):
    nb = copy.deepcopy(base)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            c.source = cells[gid]
    return nb


def _rename(src: str, pairs) -> str:
    for old, new in pairs:
        src = src.replace(old, new)
    return src


def course_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``course ARGS`` as an instructor types it (the installed command, this checkout's packages)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([shutil.which("course") or "course", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


# ============================================================================================ unit tests
def test_per_day_penalty_follows_nbgraders_plugin_semantics():
    plugin = PerDayPenalty(percent_per_day=10, grace_minutes=15, max_percent=50)
    assert plugin.late_submission_penalty("s", 20.0, 10 * 60) is None, "within the grace period"
    assert plugin.late_submission_penalty("s", 20.0, 16 * 60) == pytest.approx(2.0), "a started day: 10%"
    assert plugin.late_submission_penalty("s", 20.0, 86400 + 16 * 60) == pytest.approx(4.0), "two started days"
    assert plugin.late_submission_penalty("s", 20.0, 30 * 86400) == pytest.approx(10.0), "at most 50%"
    assert "10% of the score per started day" in plugin.describe()


def test_submission_times_come_from_nbgrader_then_the_lms_file_name(tmp_path):
    from traitlets.config import Config

    from autograder.collect import LmsRecord

    cfg = Config()
    cfg.Autograder.lms_timezone = "Europe/Berlin"
    due = parse_time(DUE, "test")
    assert submission_time("2027-01-15 13:00:00.5 UTC", None, due, cfg) == parse_time("2027-01-15 13:00:00.5", "t")
    board = LmsRecord("Blackboard", "jsmith", submitted="2027-01-15 13:30:00")
    assert submission_time(None, board, due, cfg) == parse_time("2027-01-15 12:30:00", "t"), "Berlin is UTC+1"
    canvas = LmsRecord("Canvas", "4242", late=True)
    assert (submission_time(None, canvas, due, cfg) - due).total_seconds() == 1, "Canvas _LATE: just after due"
    assert submission_time(None, canvas, None, cfg) is None, "no due date: nothing to be late against"
    assert submission_time(None, None, due, cfg) is None
    with pytest.raises(ValueError, match="is not a time.*2027-01-15 23:59:00 Europe/Berlin"):
        parse_time("next friday-ish", "c.Autograder.due_dates['a']")
    assert format_delay(93784) == "1 day 2 h 4 min" and format_delay(1) == "1 min"


def test_lms_records_are_read_from_names_the_lms_wrote_only(tmp_path):
    def job(origin):
        return Job("x", A, {"toy": SubmittedFile(origin, tmp_path / "f")})

    canvas = lms_record(job("smithgus_LATE_4242_777_toy-1.ipynb"), tmp_path)
    assert (canvas.lms, canvas.user_id, canvas.late) == ("Canvas", "4242", True)
    moodle = lms_record(job("Ann Lee_42_assignsubmission_file_/toy.ipynb"), tmp_path)
    assert (moodle.lms, moodle.user_id, moodle.late) == ("Moodle", "42", False)
    board = lms_record(job("Assignment 1_jsmith_attempt_2025-01-10-12-30-00_toy.ipynb"), tmp_path)
    assert (board.user_id, board.submitted) == ("jsmith", "2025-01-10 12:30:00")
    # a name inside a student's own zip or folder is the student's, not the LMS's
    assert lms_record(job("alice.zip:bob_LATE_1_2_toy.ipynb"), tmp_path) is None
    assert lms_record(job("alice/bob_LATE_1_2_toy.ipynb"), tmp_path) is None
    export = tmp_path / "export.zip"
    export.write_bytes(b"")
    assert lms_record(job("export.zip:smithgus_4242_7_toy.ipynb"), export).user_id == "4242"


@pytest.mark.parametrize("text, message", [
    ("first_name,email\nAnn,a@x\n", "no 'id' column"),
    ("id,email\nann,a@x\nann,b@x\n", "already on line 2"),
    ("id,email\nann lee,a@x\n", "not a student id"),
    ("id,email\n", "no student"),
])
def test_a_bad_roster_is_one_line_that_says_what_to_fix(tmp_path, text, message):
    path = tmp_path / "students.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        read_roster(path)
    assert "\n" not in str(err.value)


def test_roster_headers_as_people_write_them(tmp_path):
    path = tmp_path / "students.csv"
    path.write_bytes("\ufeffStudent ID,First Name,Last Name,E-mail,LMS user id\nann,Ann,Lee,ann@x.edu,17\n".encode())
    (entry,) = read_roster(path)
    assert (entry.id, entry.first_name, entry.last_name, entry.email, entry.lms_user_id) == \
        ("ann", "Ann", "Lee", "ann@x.edu", "17")


def _export_data(**student) -> ClassExport:
    s = ExportStudent(RosterEntry(**student))
    s.final, s.status, s.penalty = {A: 4.5}, {A: "late"}, {A: 1.5}
    return ClassExport({A: 8.0}, [s], {})


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "blackboard", "csv"])
@pytest.mark.parametrize("evil", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1+2", "\r@SUM(A1)"])
def test_no_export_cell_is_a_spreadsheet_formula(fmt, evil):
    text = render(_export_data(id="s1", first_name=evil, last_name=evil, email=evil), fmt)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (fmt, cell)
    assert csv_cell(evil).startswith("'"), "a formula (or one behind a tab or a carriage return) becomes text"
    assert csv_cell("-1.5") == "-1.5" and csv_cell(3.0) == 3.0, "numbers stay numbers"


def test_similarity_flags_a_renamed_copy_and_not_independent_solutions(tmp_path):
    """copydetect's fingerprints see through renamed variables; the same exercise solved two other ways, or the
    instructor's way by two students, is not a pair."""
    from autograder.similarity import compare_class, render_page

    course = tmp_path / "course"
    shutil.copytree(TOY, course)
    out = tmp_path / "out"
    sol = solution_notebook(course, A, "toy")
    copied = _answers(sol, normalize=COPIED_NORMALIZE, mean_of_squares=COPIED_MEAN)
    renamed = _answers(sol, normalize=_rename(COPIED_NORMALIZE, [("running", "acc"), ("value", "v"),
                                                                 ("scaled", "res"), ("Scale", "Divide")]),
                       mean_of_squares=_rename(COPIED_MEAN, [("count", "n"), ("acc", "total"), ("value", "x")]))
    notebooks = {"dan": copied, "eve": renamed, "fay": _answers(sol, **INDEPENDENT),
                 "ida": _answers(sol, **INDEPENDENT_2), "ann": sol, "bob": sol}
    for student, nb in notebooks.items():
        (out / "autograded" / student / A).mkdir(parents=True)
        nbformat.write(nb, out / "autograded" / student / A / "toy.ipynb")
    pairs = compare_class(out, course, [(s, A) for s in notebooks])
    assert [(p.students, p.kind) for p in pairs] == [(("dan", "eve"), "code")], pairs
    assert min(pairs[0].shares) > 0.9
    page = render_page(pairs)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page, "student text is escaped"
    shared = re.findall(r"<span class='shared'>(.*?)</span>", page)
    assert any("running = running + value" in s for s in shared) and any("acc = acc + v" in s for s in shared)


# ============================================================================================ end to end
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A toy class graded with the documented commands, then one student re-graded."""
    tmp = tmp_path_factory.mktemp("course")
    course = tmp / "course"
    shutil.copytree(TOY, course, ignore=shutil.ignore_patterns("__pycache__"))
    with open(course / "nbgrader_config.py", "a") as fh:  # the course's due date and late policy
        fh.write(f"c.Autograder.due_dates = {{{A!r}: {DUE!r}}}\n"
                 'c.AssignLatePenalties.plugin_class = "autograder.late.PerDayPenalty"\n'
                 "c.PerDayPenalty.percent_per_day = 25\n")
    sol = solution_notebook(course, A, "toy")
    subs = tmp / "submissions"
    write_nbgrader_layout(subs, "ann", A, {"toy": sol})
    (subs / "ann" / A / "timestamp.txt").write_text("2027-01-15 11:00:00.000000 UTC")  # on time
    write_nbgrader_layout(subs, "bob", A, {"toy": sol})
    (subs / "bob" / A / "timestamp.txt").write_text("2027-01-16 13:00:00.000000 UTC")  # 1 day 1 h late
    write_nbgrader_layout(subs, "cy", A, {"toy": read_release(course, A, "toy")})  # blank: only opened it
    write_nbgrader_layout(subs, "dan", A, {"toy": _answers(sol, normalize=COPIED_NORMALIZE,
                                                           mean_of_squares=COPIED_MEAN)})
    write_nbgrader_layout(subs, "eve", A, {"toy": _answers(
        sol, normalize=_rename(COPIED_NORMALIZE, [("running", "acc"), ("value", "v"), ("scaled", "res")]),
        mean_of_squares=_rename(COPIED_MEAN, [("count", "n"), ("acc", "total"), ("value", "x")]))})
    write_nbgrader_layout(subs, "fay", A, {"toy": _answers(sol, add="def add(a, b):\n    return a - b\n",
                                                           **INDEPENDENT)})
    write_nbgrader_layout(subs, "ida", A, {"toy": _answers(sol, **INDEPENDENT_2)})
    write_nbgrader_layout(subs, "@SUM(1+1)", A, {"toy": sol})  # an id that a spreadsheet would run
    nbformat.write(sol, subs / "smithgus_LATE_4242_777_toy.ipynb")  # Canvas: late, user id 4242
    (tmp / "students.csv").write_text(ROSTER)
    out = tmp / "class"

    roster = course_cli("roster", str(tmp / "students.csv"), "--out", str(out), cwd=course)
    assert roster.returncode == 0, roster.stderr
    first = course_cli("grade", str(subs), "--out", str(out), "--jobs", "2", cwd=course)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    report_before = (out / "grading" / "report.md").read_text()
    # fay fixes her add() and hands in again; only she is re-graded
    write_nbgrader_layout(subs, "fay", A, {"toy": _answers(sol, **INDEPENDENT)})
    again = course_cli("grade", str(subs), "--out", str(out), "--student", "fay", cwd=course)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    exports = {}
    for fmt in ("canvas", "moodle", "blackboard", "csv"):
        done = course_cli("export", "--format", fmt, "--out", str(out), cwd=course)
        assert done.returncode == 0, done.stderr
        exports[fmt] = out / "grading" / f"export-{fmt}.csv"
    return {"course": course, "out": out, "subs": subs, "first": first, "again": again, "exports": exports,
            "report_before": report_before, "report": (out / "grading" / "report.md").read_text()}


def _grades(graded) -> dict[str, dict]:
    with open(graded["out"] / "grading" / "grades.csv") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_regrading_one_student_rewrites_the_reports_of_the_whole_class(graded):
    assert "graded 1 submission(s)" in graded["again"].stdout, graded["again"].stdout
    report = graded["report"]
    assert "The class gradebook: 9 submission(s) of 9 student(s), 10 student(s) in all." in report
    assert "This run graded 1 submission(s) of 1 student(s)" in report
    table = report.split("## Students", 1)[1].split("\n## ", 1)[0]
    assert table.count("| 00_toy |") == 10, "every student of the gradebook in the Students table"
    grades = _grades(graded)
    assert float(grades["fay"]["score"]) == 6, "fay's re-submission is graded"
    assert float(grades["ann"]["score"]) == 6 and grades["hal"]["status"] == "not_submitted"
    assert "mean autograded score" in report and "9 submission(s); mean autograded score" in report


@pytest.mark.slow
def test_report_shows_late_blank_and_similar_work(graded):
    report, grades = graded["report"], _grades(graded)
    assert grades["cy"]["status"] == "not_attempted" and "not_attempted" in report
    assert "1 submission(s) were not attempted" in report
    assert (grades["bob"]["late_penalty"], grades["bob"]["final_score"]) == ("3", "3"), "25% per started day"
    assert grades["smithgus"]["late_penalty"] == "1.5", "Canvas's _LATE: one started day"
    assert "handed in 1 day 1 h after the due date" in grades["bob"]["late"]
    assert grades["ann"]["late"] == "" and grades["ann"]["late_penalty"] == "0"
    late = report.split("## Late hand-ins", 1)[1].split("\n## ", 1)[0]
    assert "25% of the score per started day late" in late and "| bob |" in late and "| smithgus |" in late
    assert "| ann |" not in late
    similar = report.split("## Similar work", 1)[1].split("\n## ", 1)[0]
    assert "| 1 | 00_toy | dan, eve | code |" in similar and "fay" not in similar and "ida" not in similar
    assert "| 2 |" not in similar, "independent and instructor-like solutions are no pair"
    steps = report.split("## Next steps", 1)[1].split("\n## ", 1)[0]
    assert f"`course formgrader --out {graded['out']}`" in steps and "similarity.html" in steps


@pytest.mark.slow
def test_similarity_page_shows_the_copied_pair_side_by_side_escaped(graded):
    page = (graded["out"] / "grading" / "similarity.html").read_text()
    assert page.count("<h2 id='pair-") == 1 and "dan and eve" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "This changes no grade" in page
    assert any("acc = acc + v" in s for s in re.findall(r"<span class='shared'>(.*?)</span>", page))


@pytest.mark.slow
def test_feedback_says_late_and_wraps_long_lines(graded):
    bob = (graded["out"] / "feedback" / "bob" / A / "toy.html").read_text()
    text = re.sub(r"<[^>]+>", "", bob)
    assert "Late: handed in 1 day 1 h after the due date (2027-01-15 12:00 UTC)" in text
    assert "Late penalty on this notebook: 3 point(s)" in text and "Late submission penalty (Score: -3.0)" in text
    assert "white-space: pre-wrap" in bob
    assert "Late:" not in re.sub(r"<[^>]+>", "", (graded["out"] / "feedback" / "ann" / A / "toy.html").read_text())


@pytest.mark.slow
def test_canvas_export_has_canvas_import_layout(graded):
    rows = read_csv(graded["exports"]["canvas"])
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A, "Final Points"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "8"
    by_sis = {r[2]: r for r in rows[2:]}
    assert by_sis["smithgus"][:2] == ["Smith, Gus", "4242"], "matched on the Canvas user id of the bulk download"
    assert by_sis["bob"][5] == "3" and by_sis["ann"][5] == "6" and by_sis["hal"][5] == "0"
    assert by_sis["bob"][0].startswith("'=HYPERLINK"), "a formula in a name is text"
    assert "'@SUM11" in by_sis, "an id that looks like a formula is text"


@pytest.mark.slow
def test_moodle_and_blackboard_exports_have_their_import_layouts(graded):
    moodle = read_csv(graded["exports"]["moodle"])
    assert moodle[0] == ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
                         f"Assignment: {A} (Real)", "Course total (Real)"]
    ann = next(r for r in moodle if r[2] == "ann")
    assert ann[5] == "ann@example.edu" and ann[6] == ann[7] == "6"
    raw = graded["exports"]["blackboard"].read_text()
    assert raw.startswith('"Last Name","First Name","Username","Student ID","Last Access","Availability",'), raw[:200]
    assert all(line.startswith('"') and line.endswith('"') for line in raw.splitlines()), "every field quoted"
    board = read_csv(graded["exports"]["blackboard"])
    assert board[0][6:] == [f"{A} [Total Pts: 8 Score]", "Total [Total Pts: up to 8]"]
    assert next(r for r in board if r[3] == "cy")[6] == "0" and next(r for r in board if r[3] == "bob")[6] == "3"
    plain = read_csv(graded["exports"]["csv"])
    status = {r[0]: r[plain[0].index(f"{A} status")] for r in plain[1:]}
    assert (status["cy"], status["bob"], status["hal"], status["ann"]) == ("not_attempted", "late", "not_submitted",
                                                                           "ok")


@pytest.mark.slow
def test_formgrader_starts_with_the_command_the_report_prints(graded):
    steps = graded["report"].split("## Next steps", 1)[1]
    command = re.search(r"`(course formgrader[^`]*)`", steps).group(1)
    with formgrader(command, cwd=graded["course"]) as url:
        with urllib.request.urlopen(url, timeout=30) as page:
            body = page.read().decode()
        assert page.status == 200 and "formgrader" in body.lower()
        base, token = url.split("/formgrader?token=")
        req = urllib.request.Request(f"{base}/formgrader/api/submissions/{A}",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            students = {s["student"] for s in __import__("json").loads(r.read())}
        assert {"ann", "bob", "smithgus"} <= students, "formgrader reads the --out folder's gradebook"


class formgrader:  # noqa: N801 - a context manager named after the command
    """``course formgrader ...`` started as typed, its printed URL, and the server stopped (SIGTERM) at the end."""

    def __init__(self, command: str, cwd: Path, timeout: float = 120):
        self.command, self.cwd, self.timeout = command, cwd, timeout

    def __enter__(self) -> str:
        argv = shlex.split(self.command)
        argv[0] = shutil.which(argv[0]) or argv[0]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        deadline, seen = time.monotonic() + self.timeout, []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            seen.append(line)
            if line.startswith("formgrader: "):
                self.url = line.split(" ", 1)[1].strip()
                assert self.url.startswith("http://127.0.0.1:"), "on the loopback interface only"
                return self.url
        self.__exit__()
        pytest.fail("course formgrader printed no URL:\n" + "".join(seen)[-3000:])

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        assert self.proc.returncode == 0, self.proc.returncode
        if hasattr(self, "url"):
            with pytest.raises(OSError):
                urllib.request.urlopen(self.url.split("/formgrader")[0] + "/api/status", timeout=5)


def test_not_attempted_means_no_answer_cell_of_the_release_changed():
    from autograder.answers import Answer, attempted

    released = [Answer("toy", "add", "code", "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
                Answer("toy", "explain", "markdown", "YOUR ANSWER HERE")]
    same = [Answer("toy", "add", "code", "def add(a, b):  \n\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"),
            Answer("toy", "explain", "markdown", "YOUR ANSWER HERE\n"),
            Answer("toy", "not_an_answer_cell", "code", "print('hello')")]
    assert not attempted(same, released), "blank lines, trailing spaces and cells that are no answer cell"
    assert attempted([Answer("toy", "explain", "markdown", "Because the sum is 0.")], released)


def test_scores_png_draws_written_answers_that_wait_for_a_person():
    from matplotlib.figure import Figure

    from autograder.report import cell_stats, draw_cell_shares

    def row(explain):
        return {"cells": {"test_add": {"score": 2.0, "max_score": 2.0, "auto": True, "pending": False},
                          "explain": explain}}

    rows = [row({"score": 0.0, "max_score": 2.0, "auto": False, "pending": True}) for _ in range(3)]
    rows.append(row({"score": 1.5, "max_score": 2.0, "auto": False, "pending": False}))
    ax = Figure().subplots()
    draw_cell_shares(ax, A, cell_stats(rows))
    hatched = [b for b in ax.patches if b.get_hatch() == "//"]
    assert len(hatched) == 1 and hatched[0].get_width() == pytest.approx(0.75), "3 of 4 hand-ins wait"
    assert [t.get_text() for t in ax.texts] == ["3 pending"]
    assert [b.get_width() for b in ax.patches if not b.get_hatch()] == [1.0, 0.75], "graded share of the rest"


def test_written_answers_are_compared_as_words_not_as_the_stored_html():
    """Stored notebooks hold sanitized Markdown (autograder/sanitize.py), which may come back as HTML."""
    from autograder.answers import plain_text

    assert plain_text("<p>YOUR ANSWER HERE</p>") == "YOUR ANSWER HERE"
    assert plain_text("<p>a &lt; b &amp; c</p>") == "a < b & c"
