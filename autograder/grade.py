"""Grading a class: ``grade(submissions_dir, out_dir, jobs=N)``.

Design (see README.md, "Parallel grading"):

1. the submissions are found (:mod:`autograder.collect`) and turned into one job per (student,
   assignment);
2. each assignment is built once with ``generate_assignment`` into a template gradebook, kept in
   memory (:mod:`autograder.templates`);
3. every job runs in its own process (:mod:`autograder.jobs`, a new session) in its own temporary course
   directory with its own copy of the template gradebook: jobs share no file, so they can run ``jobs`` at a
   time, and a crash, a hang (wall-clock ``job_timeout``, whole process tree killed) or a hostile notebook
   only affects its own job;
4. the parent is the **only writer** of the class gradebook ``<out>/gradebook.db``: it merges each
   job's grades as the job finishes (:mod:`autograder.gradebook`), copies the autograded notebook and
   the feedback into ``<out>/autograded`` and ``<out>/feedback`` (nbgrader's layout, so formgrader
   works on ``<out>``), and checks the protected files (:mod:`autograder.protect`);
5. at the end it writes ``<out>/grading/grades.csv``, ``outcomes.json``, ``report.md`` and
   ``scores.png`` (:mod:`autograder.report`).

The order in which jobs finish does not matter: every merge touches one (student, assignment) only,
so a parallel run leaves the same gradebook as a sequential one.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy import exc as sa_exc
from tqdm.auto import tqdm

from .collect import Job, discover
from .config import autograder_setting, discover_assignments, find_course_root, load_course_config, notebooks_of
from .config import course_id as get_course_id
from .feedback import refresh_feedback
from .gradebook import DefinitionMismatch, ensure_assignment, merge_result
from .jobs import LIVE_WORKERS, Engine, job_outcome, remove_tree, run_job, start_zygote, zygote_socket
from .outcome import GradingRun, Outcome, Status
from .protect import Protector, default_protected
from .report import write_reports
from .sandbox import SandboxUnavailable, sandbox_problem
from .shards import shard_of
from .templates import Template, build_templates


# ----------------------------------------------------------------------------------------------- outputs
def _replace_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        for p in dest.rglob("*"):
            if p.is_file():
                os.chmod(p, 0o644)
        shutil.rmtree(dest)
    if src.is_dir():
        shutil.copytree(src, dest)


def _simple_feedback(path: Path, outcome: Outcome) -> None:
    """The feedback page of a submission that could not be graded: why."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(outcome.assignment)} &mdash; {html.escape(outcome.student)}</h1>"
        "<p><strong>Your submission could not be graded automatically "
        f"({html.escape(outcome.status)}).</strong></p>"
        f"<p>{html.escape(outcome.reason)}</p><p>Please contact the teaching team.</p></body></html>",
        encoding="utf-8",
    )


def collect_outputs(
    outcome: Outcome, workdir: Path, out_dir: Path, tpl: Template, input_submitted: Path | None, feedback: bool = True
) -> None:
    """Copy a job's autograded notebooks, feedback and repaired submission into ``out_dir``."""
    s, a = outcome.student, outcome.assignment
    for step in ("autograded", "feedback"):
        src = workdir / step / s / a
        dest = out_dir / step / s / a
        if src.is_dir():
            _replace_tree(src, dest)
    sub_src, sub_dest = workdir / "submitted" / s / a, out_dir / "submitted" / s / a
    if sub_src.is_dir() and (input_submitted is None or sub_dest.resolve() != (input_submitted / s / a).resolve()):
        _replace_tree(sub_src, sub_dest)
    if feedback and not outcome.graded:  # graded ones: refresh_feedback, from the class gradebook
        for nb in tpl.notebooks:
            _simple_feedback(out_dir / "feedback" / s / a / f"{nb}.html", outcome)


class ClassGradebook:
    """The single writer: merges each finished job into ``<out>/gradebook.db`` and copies its files."""

    def __init__(self, out_dir: Path, course_id: str, templates: dict[str, Template], input_submitted: Path | None,
                 feedback: bool, keep_workdirs: bool):
        self.out_dir, self.course_id, self.templates = out_dir, course_id, templates
        self.url = f"sqlite:///{out_dir / 'gradebook.db'}"
        self.input_submitted, self.feedback, self.keep_workdirs = input_submitted, feedback, keep_workdirs
        self.outcomes: list[Outcome] = []

    def refused(self) -> dict[str, str]:
        """Assignments whose definition conflicts with the gradebook (-> why), before anything is graded."""
        refused = {}
        with Gradebook(self.url, self.course_id) as gb:
            for a, tpl in self.templates.items():
                try:
                    ensure_assignment(gb, tpl.definition)
                except DefinitionMismatch as e:
                    refused[a] = str(e)
        return refused

    def accept(self, job: Job, outcome: Outcome, workdir: Path) -> None:
        tpl = self.templates[job.assignment]
        with Gradebook(self.url, self.course_id) as gb, warnings.catch_warnings():
            # nbgrader's add_submission triggers harmless SQLAlchemy autoflush warnings
            warnings.simplefilter("ignore", category=sa_exc.SAWarning)
            try:
                outcome.merge = merge_result(gb, tpl.definition, outcome, job.timestamp)
            except Exception as e:  # noqa: BLE001 - never lose the rest of the class
                outcome.merge = f"not merged: {type(e).__name__}: {e}"
                outcome.status, outcome.reason = Status.ERROR, outcome.merge
        collect_outputs(outcome, workdir, self.out_dir, tpl, self.input_submitted, self.feedback)
        if not self.keep_workdirs:
            remove_tree(workdir)
        else:
            outcome.workdir = str(workdir)
        outcome.log = ""
        self.outcomes.append(outcome)


class TamperWatch:
    """Which jobs may have changed a protected file: every job that ran since the last clean check."""

    def __init__(self, protector: Protector | None):
        self.protector = protector
        self.since_clean: list[Job] = []
        self.suspects: set[str] = set()

    def check(self, finished: Job, running: list[Job]) -> list[str]:
        """After ``finished`` ended: the protected files changed since the last check ([] when none)."""
        self.since_clean.append(finished)
        changes = self.protector.check() if self.protector else []
        if changes:
            self.suspects |= {j.key for j in self.since_clean + running}
        else:
            self.since_clean = []
        return changes


# ----------------------------------------------------------------------------------------------- grade
def grade(
    submissions_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    *,
    course_root: str | os.PathLike | None = None,
    assignment: str | None = None,
    hide_hidden_tests: bool = True,
    timeout: int | None = None,
    job_timeout: int | None = None,
    protect: list | None = None,
    progress: bool = True,
    report: bool = True,
    keep_workdirs: bool = False,
    shard: tuple[int, int] | None = None,
    feedback: bool = True,
    sandbox: bool = True,
    warm_kernels: bool = True,
    engine: str | None = None,
) -> GradingRun:
    """Autograde every submission found in ``submissions_dir`` (see :mod:`autograder.collect` for the
    accepted layouts) into ``out_dir`` (default: the course root), ``jobs`` at a time.

    ``timeout`` overrides the per-cell ``Execute.timeout`` and ``job_timeout`` the per-submission
    wall-clock limit of nbgrader_config.py.  ``feedback=False`` skips the feedback HTML (validating
    catalogues needs only the grades).  ``protect`` lists files/folders whose modification during
    grading is detected, undone and blamed (default: ``source/``, nbgrader_config.py and the
    ``course``/``autograder`` packages); ``protect=[]`` disables the check.
    """
    t_start = time.monotonic()
    if sandbox:
        problem = sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem + " To grade without a sandbox anyway: course grade --no-sandbox.")
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    out_dir = Path(out_dir).resolve() if out_dir else course_root
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_course_config(course_root)
    cid = get_course_id(cfg)
    known = {a: notebooks_of(course_root, a) for a in discover_assignments(course_root)}
    if assignment is not None and assignment not in known:
        raise ValueError(f"unknown assignment {assignment!r}; source/ has {sorted(known)}")
    job_list, problems = discover(submissions_dir, known, assignment)
    if shard is not None:  # grade only this machine's share of the class (see autograder/shards.py)
        job_list = [j for j in job_list if shard_of(j.student, shard[1]) == shard[0]]
    sub_root = Path(submissions_dir)
    input_submitted = (sub_root / "submitted") if (sub_root / "submitted").is_dir() else sub_root

    overrides = {}
    if timeout is not None:
        overrides["Execute.timeout"] = int(timeout)
    settings = {
        "course_root": course_root,
        "overrides": overrides,
        "job_timeout": int(job_timeout or autograder_setting(cfg, "job_timeout")),
        "max_notebook_bytes": int(autograder_setting(cfg, "max_notebook_bytes")),
        "threads": max(1, (os.cpu_count() or 1) // max(1, int(jobs))),
        "sandbox": bool(sandbox),
        "warm_kernels": bool(warm_kernels),  # an engine's workers start zygotes of their own (jobs.engine_zygotes)
    }
    if progress:  # building the templates takes a while: say what is happening from the first second
        print(f"course grade: {len(job_list)} submission(s) of {len({j.student for j in job_list})} student(s) "
              f"found, {len(problems)} file(s) not matched; preparing {len({j.assignment for j in job_list})} "
              f"assignment(s)...", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="ag-grading-"))
    warm = sandbox and warm_kernels and job_list and engine is None  # an engine's workers have zygotes of their own
    zygote = start_zygote(scratch, settings) if warm else None
    # only with the sandbox: an unsandboxed kernel could reach the socket and ask for workers of its own
    worker_zygote = start_zygote(scratch, settings, mode="worker") if warm else None
    try:
        # without a sandbox a submission could write the course root: no template kept from one run to the next
        t_templates = time.monotonic()
        templates = build_templates(course_root, {j.assignment for j in job_list}, cfg, scratch,
                                    cache=None if sandbox else scratch / "templates")
        template_seconds = time.monotonic() - t_templates
        if zygote is not None:  # they imported while the templates were built
            settings["zygote_socket"] = zygote_socket(zygote, progress)
        if worker_zygote is not None:
            settings["worker_socket"] = zygote_socket(worker_zygote, progress)
        gradebook = ClassGradebook(out_dir, cid, templates, input_submitted, feedback, keep_workdirs)
        refused = gradebook.refused()
        runnable = [job for job in job_list if job.assignment not in refused]
        gradebook.outcomes += [job_outcome(job, Status.ERROR, refused[job.assignment], merge="not merged")
                               for job in job_list if job.assignment in refused]
        if protect is None:
            protect = default_protected(course_root)
        protector = Protector(protect) if protect else None
        watch = TamperWatch(protector)
        pool = Engine(engine, max(1, int(jobs))) if runnable else Engine(None, 1)
        results = _grade_jobs(pool, runnable, templates, settings, scratch, gradebook, watch, progress)

        # re-grade the suspects one at a time: the one that changes protected files again is the culprit
        for job in [j for j in runnable if j.key in watch.suspects]:
            old, old_workdir = results[job.key]
            remove_tree(old_workdir)
            if len(watch.suspects) == 1:
                outcome, workdir = old, Path(tempfile.mkdtemp(prefix="ag-job-"))
                changes = old.protected_changes
            else:
                outcome, workdir = run_job(job, templates[job.assignment], settings, scratch)
                changes = protector.check() if protector else []
            outcome.notes.append("re-graded alone: a protected file changed while it was running")
            if changes:
                outcome = job_outcome(job, Status.TAMPERED, "modified files outside its grading directory: "
                                      + "; ".join(changes[:5]), suspicious=changes)
            gradebook.accept(job, outcome, workdir)
    finally:
        for z in (zygote, worker_zygote):
            if z is not None:
                z.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    outcomes = gradebook.outcomes
    if feedback:  # every kernel is gone: feedback from the class gradebook (manual grades included)
        graded = {(o.student, o.assignment) for o in outcomes if o.graded}
        failed = refresh_feedback(out_dir, course_root, only=graded, hide_hidden_tests=hide_hidden_tests,
                                  progress=progress)
        for o in outcomes:
            problem = failed.get(o.key)
            if problem:
                o.notes.append(f"feedback could not be generated: {problem}")
    warm_kernels_used = bool(settings.get("zygote_socket")) or bool(engine and sandbox and warm_kernels)
    run = GradingRun(out_dir, outcomes, problems, time.monotonic() - t_start, int(jobs), sandboxed=bool(sandbox),
                     engine=engine or "threads", kernels="warm" if warm_kernels_used else "cold",
                     template_seconds=template_seconds)
    if report:
        run.files = write_reports(run, cid)
    return run


def _grade_jobs(pool: Engine, runnable: list[Job], templates: dict[str, Template], settings: dict, scratch: Path,
                gradebook: ClassGradebook, watch: TamperWatch, progress: bool) -> dict[str, tuple[Outcome, Path]]:
    """Run the jobs on ``pool`` as its slots free up and merge each as it finishes, except the suspects of
    ``watch`` (held back); returns {job key: (outcome, workdir)}. Closes the pool."""
    running: dict = {}  # future -> job
    results: dict[str, tuple[Outcome, Path]] = {}
    bar = tqdm(total=len(runnable), desc="grading", unit="submission", disable=not progress)
    try:
        pending = list(runnable)
        while pending or running:
            while pending and len(running) < pool.slots:  # a slow job holds its own slot only
                job = pending.pop(0)
                running[pool.submit(job, templates[job.assignment], settings, scratch)] = job
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    outcome, workdir = pool.outcome(fut)
                except Exception as e:  # noqa: BLE001
                    outcome = job_outcome(job, Status.ERROR, f"internal error: {type(e).__name__}: {e}")
                    workdir = Path(tempfile.mkdtemp(prefix="ag-job-"))
                changes = watch.check(job, list(running.values()))
                if changes:
                    outcome.protected_changes = changes
                results[job.key] = (outcome, workdir)
                if job.key not in watch.suspects:
                    gradebook.accept(job, outcome, workdir)
                bar.update(1)
    except BaseException:
        # Ctrl-C or a bug: the workers run in their own sessions and would carry on; stop them.
        # Everything merged so far stays in the gradebook.
        LIVE_WORKERS.kill_all()
        raise
    finally:
        pool.close()
        bar.close()
    return results
