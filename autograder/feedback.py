"""Feedback for students: nbgrader's HTML, with the hidden tests removed and the manual grades included.

Two routes give the same HTML, because both run nbgrader's ``GenerateFeedback`` with the preprocessors of
nbgrader_config.py (``c.GenerateFeedback.preprocessors``):

* ``course grade`` (after every kernel is gone) and ``course feedback`` (after grading by hand in formgrader)
  call :func:`refresh_feedback`: it reads the class gradebook (manual scores and comments included) and the
  autograded notebooks, and executes nothing;
* nbgrader's own Generate Feedback (the formgrader button, ``nbgrader generate_feedback``) in the course folder.

:class:`HideHiddenTests` shows each test cell's visible part only and blanks every output line that quotes a
hidden line; :class:`MarkPendingAnswers` says "pending" on a written answer that no person has graded yet
(nbgrader would show it as 0 points).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

from .cells import grade_id, is_solution
from .config import course_id, find_course_root, load_course_config
from .files import UnsafeFile, read_regular, remove_tree, safe_dir, write_file
from .judge import is_test_cell, split_hidden
from .late import apply_late_policy
from .nbgrader_run import NbgraderFailed, course_config, run_converter
from .outcome import GradingRun, Outcome
from .repair import redact_hidden, redaction_lines
from .report import write_reports
from .sanitize import SanitizeOutputs

MAX_NOTEBOOK_BYTES = 100_000_000  # an autograded notebook (outputs are capped while grading)
MAX_FEEDBACK_BYTES = 200_000_000
MAX_GRADEBOOK_BYTES = 2_000_000_000
RENDER_SECONDS = 60  # rendering one submission's feedback takes well under a second; more means it hangs
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
PENDING_NOTE = "*Pending: a person grades this answer; its points are not counted yet.*"


class HideHiddenTests(Preprocessor):
    """Test cells keep their visible part only; output lines that quote a hidden test line are blanked."""

    enabled = Bool(True, help="False shows the hidden tests in feedback (never for students).").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        visible = copy.deepcopy(nb)
        for cell in visible.cells:
            if is_test_cell(cell):
                cell.source = split_hidden(cell.source)[0]
        redact_hidden(nb, redaction_lines(nb), visible)
        return nb, resources


class MarkPendingAnswers(Preprocessor):
    """A written answer that still needs a person's grade says so, instead of showing as 0 points."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        if not info.get("db_url"):
            return nb, resources
        with Gradebook(info["db_url"]) as gb:
            try:
                snb = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            pending = {g.cell.name for g in snb.grades if g.needs_manual_grade and g.manual_score is None}
        for cell in nb.cells:
            if grade_id(cell) in pending and is_solution(cell):
                cell.source = cell.source.rstrip() + "\n\n" + PENDING_NOTE
        return nb, resources


WRAP_CSS = """
div.output_subarea pre, div.output_area pre, div.input_area pre {
    white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal;
}
"""


class WrapLongLines(Preprocessor):
    """Long lines wrap (a failed test's explanation, a long traceback line), instead of being cut at the page's
    edge: CSS after nbconvert's (put it after CSSHTMLHeaderPreprocessor)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(WRAP_CSS)
        return nb, resources


def feedback_preprocessors() -> list:
    """nbgrader's defaults with the course's own in the middle (for ``c.GenerateFeedback.preprocessors``): what a
    student reads has no hidden test, says "pending" for answers a person has not graded and when a hand-in was
    late, runs no script, and wraps long lines."""
    from .latenotice import LateNotice

    return [GetGrades, MarkPendingAnswers, LateNotice, HideHiddenTests, SanitizeOutputs, CSSHTMLHeaderPreprocessor,
            WrapLongLines]


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def refresh_feedback(
    out_dir, course_root=None, only: set[tuple[str, str]] | None = None, hide_hidden_tests: bool = True,
    progress: bool = False,
) -> dict[str, str]:
    """Rebuild ``<out>/feedback/<student>/<assignment>/`` from ``<out>/gradebook.db`` and
    ``<out>/autograded/`` (only the (student, assignment) pairs in ``only``, if given).  Executes nothing.
    Returns {"student/assignment": problem} for the submissions whose feedback could not be made.

    Rendering reads what students wrote (Markdown, code, outputs): it runs in a process of its own (sandboxed as a
    uid of its own where bubblewrap can, :func:`render_isolated`) on copies of the notebooks and the gradebook,
    within a time limit, and only the HTML pages it makes come back. A notebook that makes rendering hang or crash
    costs its own feedback, never the class's."""
    out = Path(out_dir).resolve()
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    graded = out / "autograded"
    pairs = sorted((s.name, a.name) for s in graded.iterdir() if _real_dir(s) for a in s.iterdir() if _real_dir(a)) \
        if _real_dir(graded) else []
    if only is not None:
        pairs = [p for p in pairs if p in only]
    problems: dict[str, str] = {}
    if not pairs:
        return problems
    with tempfile.TemporaryDirectory(prefix="ag-feedback-") as tmp:
        work = Path(tmp)
        write_file(work, "gradebook.db", read_regular(out / "gradebook.db", MAX_GRADEBOOK_BYTES))
        for student, assignment in pairs:  # copies of the notebooks: regular files only, never through a link
            src = safe_dir(work, "autograded", student, assignment)
            for nb in sorted((graded / student / assignment).glob("*.ipynb")):
                try:
                    write_file(src, nb.name, read_regular(nb, MAX_NOTEBOOK_BYTES))
                except UnsafeFile as e:
                    problems[f"{student}/{assignment}"] = str(e)
        if progress:
            print(f"feedback: {len(pairs)} submission(s)...", flush=True)
        problems.update(render_isolated(work, course_root, pairs, hide_hidden_tests))
        for student, assignment in pairs:
            made = work / "feedback" / student / assignment
            if f"{student}/{assignment}" in problems or not _real_dir(made):
                continue
            remove_tree(out / "feedback" / student / assignment)
            target = safe_dir(out, "feedback", student, assignment)
            for page in sorted(made.glob("*.html")):
                try:
                    write_file(target, page.name, read_regular(page, MAX_FEEDBACK_BYTES))
                except UnsafeFile as e:
                    problems[f"{student}/{assignment}"] = str(e)
    return problems


RENDER_MAIN = "import sys; from autograder.feedback import render_main; sys.exit(render_main())"


def render_isolated(work: Path, course_root: Path, pairs: list[tuple[str, str]], hide_hidden_tests: bool,
                    seconds_per_submission: float = RENDER_SECONDS) -> dict[str, str]:
    """Render the feedback of ``pairs`` in ``work`` in a child process (sandboxed when bubblewrap can); when it
    does not finish in time or crashes, the submissions it did not finish are rendered one per process, each with
    its own time limit, so that only the one that hangs or crashes loses its feedback."""
    done = _render_child(work, course_root, pairs, hide_hidden_tests, 30 + seconds_per_submission * len(pairs))
    if done is not None:
        return done
    problems = {}
    for pair in pairs:
        if (work / "feedback" / pair[0] / pair[1] / ".done").exists():  # the first process finished this one
            continue
        one = _render_child(work, course_root, [pair], hide_hidden_tests, 30 + seconds_per_submission)
        problems.update(one if one is not None else {
            f"{pair[0]}/{pair[1]}": f"rendering took longer than {30 + seconds_per_submission:.0f} s or crashed"})
    return problems


def _render_child(work: Path, course_root: Path, pairs, hide_hidden_tests: bool, timeout: float) -> dict | None:
    """One rendering process; its problems, or None when it did not finish (killed at ``timeout``, or crashed)."""
    from .policy import bwrap_argv, grader_package_dirs
    from .sandbox import _outer_env, allocate_uid, generic_policy, make_writable_for, sandbox_problem

    request = json.dumps({"work": str(work), "course_root": str(course_root), "pairs": pairs,
                          "hide_hidden_tests": hide_hidden_tests})
    status = work / "status.json"
    status.unlink(missing_ok=True)
    argv = [sys.executable, "-c", RENDER_MAIN]
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    if sandbox_problem() is None:
        uid = allocate_uid() if os.geteuid() == 0 else None
        make_writable_for(str(work), uid)
        configs = [str(course_root / "nbgrader_config.py"), str(Path(PACKAGE_PARENT) / "nbgrader_config.py")]
        policy = generic_policy(str(work), readonly=[*grader_package_dirs(), *configs],
                                env=env, extra_env={"PYTHONPATH": PACKAGE_PARENT, "MPLBACKEND": "Agg"}, uid=uid)
        argv, env = bwrap_argv(policy, argv), _outer_env()
    try:
        proc = subprocess.run(argv, input=request, text=True, capture_output=True, timeout=timeout, cwd=work,
                              env=env, start_new_session=True)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    try:
        data = json.loads(read_regular(status, 10_000_000))
    except (UnsafeFile, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def render_main() -> int:
    """The rendering process (:func:`render_isolated`): nbgrader's GenerateFeedback for each pair, in order."""
    request = json.loads(sys.stdin.read())
    work, course_root = Path(request["work"]), Path(request["course_root"])
    cfg = load_course_config(course_root)
    cfg.GenerateFeedback.preprocessors = feedback_preprocessors()
    cfg.HideHiddenTests.enabled = bool(request["hide_hidden_tests"])
    cfg.HTMLExporter.sanitize_html = True  # Markdown (written answers) rendered without active HTML
    problems = {}
    for student, assignment in request["pairs"]:
        made = work / "feedback" / student / assignment
        if (made / ".done").exists():
            continue
        run_cfg = course_config(cfg, work, autograded_directory="autograded", feedback_directory="feedback")
        run_cfg.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
        run_cfg.CourseDirectory.student_id = student
        run_cfg.CourseDirectory.assignment_id = assignment
        try:
            run_converter(GenerateFeedback, run_cfg, force=True)
        except NbgraderFailed as e:
            problems[f"{student}/{assignment}"] = str(e)
            continue
        made.mkdir(parents=True, exist_ok=True)
        (made / ".done").write_text("")
    (work / "status.json").write_text(json.dumps(problems))
    return 0


def refresh(out_dir, course_root=None, hide_hidden_tests: bool = True):
    """``course feedback``: feedback, grades.csv, report.md and scores.png made again from the class
    gradebook (after manual grading in formgrader); executes nothing.  Returns the GradingRun it reports."""
    out = Path(out_dir).resolve()
    if not (out / "gradebook.db").is_file():
        raise FileNotFoundError(f"{out} has no gradebook.db: run `course grade SUBMISSIONS --out {out}` first")
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    cfg = load_course_config(course_root)
    apply_late_policy(f"sqlite:///{out / 'gradebook.db'}", course_id(cfg), cfg)  # penalties follow manual grades
    failed = refresh_feedback(out, course_root, hide_hidden_tests=hide_hidden_tests, progress=True)
    path = out / "grading" / "outcomes.json"
    outcomes = [Outcome.from_json(o) for o in json.loads(path.read_text()).values()] if path.is_file() else []
    for o in outcomes:
        o.notes = [n for n in o.notes if not n.startswith("feedback could not be generated")]
        if o.key in failed:
            o.notes.append(f"feedback could not be generated: {failed[o.key]}")
    run = GradingRun(out, outcomes, [], 0.0, 0)
    run.files = write_reports(run, course_id(cfg), course_root, cfg)
    return run
