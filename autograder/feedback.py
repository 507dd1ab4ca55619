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
import tempfile
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.preprocessors import GetGrades
from tqdm.auto import tqdm
from traitlets import Bool

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
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") in pending and meta.get("solution"):
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
    Returns {"student/assignment": problem} for the submissions whose feedback could not be made."""
    out = Path(out_dir).resolve()
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    cfg = load_course_config(course_root)
    cfg.GenerateFeedback.preprocessors = feedback_preprocessors()
    cfg.HideHiddenTests.enabled = bool(hide_hidden_tests)
    cfg.HTMLExporter.sanitize_html = True  # Markdown (written answers) rendered without active HTML
    problems = {}
    graded = out / "autograded"
    pairs = sorted((s.name, a.name) for s in graded.iterdir() if _real_dir(s) for a in s.iterdir() if _real_dir(a)) \
        if graded.is_dir() else []
    if only is not None:
        pairs = [p for p in pairs if p in only]
    with tempfile.TemporaryDirectory(prefix="ag-feedback-") as tmp:
        work = Path(tmp)
        for student, assignment in tqdm(pairs, desc="feedback", unit="submission", disable=not progress):
            # one submission at a time, so that one broken notebook costs only its own feedback
            src = safe_dir(work, "autograded", student, assignment)
            for nb in sorted((graded / student / assignment).glob("*.ipynb")):  # regular files only, never a link
                try:
                    write_file(src, nb.name, read_regular(nb, MAX_NOTEBOOK_BYTES))
                except UnsafeFile as e:
                    problems[f"{student}/{assignment}"] = str(e)
            run_cfg = course_config(cfg, work, autograded_directory="autograded", feedback_directory="feedback")
            run_cfg.CourseDirectory.db_url = f"sqlite:///{out / 'gradebook.db'}"
            run_cfg.CourseDirectory.student_id = student
            run_cfg.CourseDirectory.assignment_id = assignment
            try:
                run_converter(GenerateFeedback, run_cfg, force=True)
            except NbgraderFailed as e:
                problems[f"{student}/{assignment}"] = str(e)
                continue
            finally:
                remove_tree(work / "autograded" / student)
            made = work / "feedback" / student / assignment
            remove_tree(out / "feedback" / student / assignment)
            target = safe_dir(out, "feedback", student, assignment)
            for page in sorted(made.glob("*.html")):
                write_file(target, page.name, read_regular(page, MAX_FEEDBACK_BYTES))
            remove_tree(made)
    return problems


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
