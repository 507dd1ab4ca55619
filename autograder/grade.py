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

import json
import os
import tempfile
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy import exc as sa_exc
from tqdm.auto import tqdm

from course.text import first_line

from .classbook import after_grading
from .collect import Job, discover, keep_known_identities
from .config import course_id as get_course_id
from .config import discover_assignments, find_course_root, load_course_config, notebooks_of
from .escape import html_text
from .feedback import refresh_feedback
from .files import UnsafeFile, read_regular, remove_tree, safe_dir, write_file
from .gradebook import DefinitionMismatch, ensure_assignment, merge_result
from .jobs import (
    LIVE_WORKERS,
    OUTPUT_STEPS,
    Engine,
    RunSettings,
    job_outcome,
    make_engine,
    run_job,
    start_zygote,
    zygote_socket,
)
from .outcome import GradingRun, Outcome, Status
from .protect import Protector, default_protected
from .report import write_reports
from .sandbox import SandboxUnavailable, sandbox_problem
from .sanitize import sanitize_notebook
from .settings import autograder_settings
from .shards import shard_of
from .templates import Template, build_templates


# ----------------------------------------------------------------------------------------------- outputs
def _simple_feedback(out_dir: Path, outcome: Outcome, notebook: str) -> None:
    """The feedback page of a submission that could not be graded: why."""
    folder = safe_dir(out_dir, "feedback", outcome.student, outcome.assignment)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html_text(outcome.assignment)} &mdash; {html_text(outcome.student)}</h1>"
        "<p><strong>Your submission could not be graded automatically "
        f"({html_text(outcome.status)}).</strong></p>"
        f"<p>{html_text(outcome.reason)}</p><p>Please contact the teaching team.</p></body></html>"
    )
    write_file(folder, f"{notebook}.html", page.encode())


def read_notebook(data: bytes):
    """A notebook a job handed back, parsed as hostile data (depth-limited JSON, nbformat's schema) and with its
    outputs sanitized; raises ValueError when it is not one."""
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except Exception as e:  # noqa: BLE001 - anything nbformat rejects
        raise ValueError(f"not a notebook ({type(e).__name__})") from None
    return sanitize_notebook(nb)


def store_outputs(outcome: Outcome, files: dict[str, bytes], out_dir: Path, tpl: Template,
                  input_submitted: Path | None, timestamp: str | None) -> None:
    """Write what a job handed back (:func:`autograder.jobs.take_files`) into ``out_dir``: each notebook parsed
    and sanitized, written as a new file into a folder made for it (whatever was there is removed without
    following links); a step the job handed nothing back for keeps what it had (the previous grades' notebooks)."""
    s, a = outcome.student, outcome.assignment
    for step in OUTPUT_STEPS:
        taken = {rel.split("/", 1)[1]: data for rel, data in files.items() if rel.split("/", 1)[0] == step}
        if not taken:
            continue
        if step == "submitted" and input_submitted is not None and \
                (out_dir / step / s / a).resolve() == (input_submitted / s / a).resolve():
            continue  # grading the course folder's own submitted/ in place: the hand-ins stay as they are
        remove_tree(out_dir / step / s / a)
        folder = safe_dir(out_dir, step, s, a)
        for name, data in sorted(taken.items()):
            try:
                nb = read_notebook(data)
            except ValueError as e:
                outcome.notes.append(f"{step}/{name} not kept: {e}")
                continue
            write_file(folder, name, nbformat.writes(nb).encode())
        if step == "submitted" and timestamp:
            write_file(folder, "timestamp.txt", timestamp.encode())


class ClassGradebook:
    """The single writer: merges each finished job into ``<out>/gradebook.db`` and stores its files. One
    submission's failure at any step here is that submission's outcome; the class goes on."""

    def __init__(self, out_dir: Path, course_id: str, templates: dict[str, Template], input_submitted: Path | None,
                 feedback: bool):
        self.out_dir, self.course_id, self.templates = out_dir, course_id, templates
        self.url = f"sqlite:///{out_dir / 'gradebook.db'}"
        self.input_submitted, self.feedback = input_submitted, feedback
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

    def accept(self, job: Job, outcome: Outcome, files: dict[str, bytes]) -> None:
        tpl = self.templates[job.assignment]
        try:
            with Gradebook(self.url, self.course_id) as gb, warnings.catch_warnings():
                # nbgrader's add_submission triggers harmless SQLAlchemy autoflush warnings
                warnings.simplefilter("ignore", category=sa_exc.SAWarning)
                try:
                    outcome.merge = merge_result(gb, tpl.definition, outcome, job.timestamp)
                except Exception as e:  # noqa: BLE001 - never lose the rest of the class
                    outcome.merge = f"not merged: {type(e).__name__}: {e}"
                    outcome.status, outcome.reason = Status.ERROR, outcome.merge
            store_outputs(outcome, files, self.out_dir, tpl, self.input_submitted, job.timestamp)
            if self.feedback and not outcome.graded:  # graded ones: refresh_feedback, from the class gradebook
                for nb in tpl.notebooks:
                    _simple_feedback(self.out_dir, outcome, nb)
        except Exception as e:  # noqa: BLE001 - one submission never stops the class
            outcome.status = Status.ERROR
            outcome.reason = f"the grader failed on this submission ({type(e).__name__}: {first_line(e)})"
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
REFERENCE_SECONDS = "benchmarks/grading_seconds.json"  # under the course root: the solutions' measured grading time


def job_budgets(course_root: Path, options, assignments) -> dict[str, tuple[float, str]]:
    """Per assignment, (seconds, why) a submission may take: ``Autograder.budget_factor`` times the solution's
    measured grading time (:data:`REFERENCE_SECONDS`, written by ``python -m benchmarks --only reference``), at least
    ``Autograder.budget_floor``. Assignments without a measurement get ``Autograder.job_timeout``."""
    path = course_root / REFERENCE_SECONDS
    try:
        measured = json.loads(path.read_text())["assignments"] if path.is_file() else {}
    except (ValueError, KeyError, TypeError):
        warnings.warn(f"{path} is not readable: every job gets Autograder.job_timeout", stacklevel=2)
        measured = {}
    budgets = {}
    for a in assignments:
        seconds = measured.get(a)
        if options.budget_factor > 0 and isinstance(seconds, (int, float)) and seconds > 0:
            budget = max(float(options.budget_floor), options.budget_factor * seconds)
            budgets[a] = (budget, f"{options.budget_factor:g} times the solution's measured grading time "
                                  f"({seconds:.0f} s; Autograder.budget_factor, {REFERENCE_SECONDS})")
    return budgets


NAMES_FILE = "grading/names.json"  # under --out: student id -> the names its hand-ins came under


def find_jobs(submissions_dir, course_root: Path, assignment: str | None, shard, out_dir: Path,
              course_id: str, only_students: list[str] | None = None) -> tuple[list[Job], list]:
    """The jobs of ``submissions_dir`` (this shard's share of them; only ``only_students``' when given) that may be
    graded, and the files that matched nothing or would take a known student's identity
    (:func:`autograder.collect.keep_known_identities`)."""
    known = {a: notebooks_of(course_root, a) for a in discover_assignments(course_root)}
    if assignment is not None and assignment not in known:
        raise ValueError(f"unknown assignment {assignment!r}; source/ has {sorted(known)}")
    job_list, problems = discover(submissions_dir, known, assignment)
    if shard is not None:  # grade only this machine's share of the class (see autograder/shards.py)
        job_list = [j for j in job_list if shard_of(j.student, shard[1]) == shard[0]]
    if only_students:  # re-grade just these students; the reports still describe the whole class
        missing = sorted(set(only_students) - {j.student for j in job_list})
        if missing:
            raise ValueError(f"no hand-in of {', '.join(missing)} in {submissions_dir} (found: "
                             f"{', '.join(sorted({j.student for j in job_list})) or 'none'}); check the id")
        job_list = [j for j in job_list if j.student in set(only_students)]
    students = set()
    if (out_dir / "gradebook.db").is_file():
        with Gradebook(f"sqlite:///{out_dir / 'gradebook.db'}", course_id) as gb:
            students = {st.id for st in gb.students}
    job_list, refused = keep_known_identities(job_list, students, read_names(out_dir))
    return job_list, problems + refused


def read_names(out_dir: Path) -> dict[str, list[str]]:
    """``grading/names.json``: student id -> the names its hand-ins came under (written by the parent only)."""
    try:
        data = json.loads(read_regular(out_dir / NAMES_FILE, 10_000_000))
    except (UnsafeFile, ValueError):
        return {}
    return {k: [n for n in v if isinstance(n, str)] for k, v in data.items() if isinstance(v, list)} \
        if isinstance(data, dict) else {}


def record_names(out_dir: Path, jobs: list[Job]) -> None:
    names = read_names(out_dir)
    for job in jobs:
        if job.name and job.name not in names.setdefault(job.student, []):
            names[job.student].append(job.name)
    write_file(safe_dir(out_dir, "grading"), "names.json", json.dumps(names, indent=1, sort_keys=True).encode())


class Zygotes:
    """The run's kernel and worker zygotes (warm kernels and workers; root, sandbox, local engine only)."""

    def __init__(self, scratch: Path, threads: int, warm: bool):
        self.kernel = start_zygote(scratch, threads) if warm else None
        self.worker = start_zygote(scratch, threads, mode="worker") if warm else None

    def sockets(self, progress: bool) -> dict[str, str]:
        """Once they have imported (while the templates were built): their sockets ("" for none)."""
        return {"zygote_socket": zygote_socket(self.kernel, progress) if self.kernel else "",
                "worker_socket": zygote_socket(self.worker, progress) if self.worker else ""}

    def stop(self) -> None:
        for z in (self.kernel, self.worker):
            if z is not None:
                z.stop()


@dataclass(frozen=True)
class GradeOptions:
    """How :func:`grade` (``course grade``) grades, besides what and where; every option with its default.

    ``timeout`` overrides the per-cell ``Execute.timeout`` and ``job_timeout`` the per-submission wall-clock backstop
    of nbgrader_config.py. ``feedback=False`` skips the feedback HTML (validating catalogues needs only the grades).
    ``protect`` lists files/folders whose modification during grading is detected, undone and blamed (default:
    ``source/``, nbgrader_config.py and the ``course``/``autograder`` packages; ``[]`` disables the check).
    ``students`` re-grades only these students' hand-ins (the reports describe the whole class gradebook in any
    case). ``engine``: None (threads), "dask" or a Dask scheduler's address; ``shard``: (K, N)."""

    jobs: int = 1
    course_root: str | os.PathLike | None = None
    assignment: str | None = None
    hide_hidden_tests: bool = True
    timeout: int | None = None
    job_timeout: int | None = None
    protect: list | None = None
    progress: bool = True
    report: bool = True
    keep_workdirs: bool = False
    shard: tuple[int, int] | None = None
    feedback: bool = True
    sandbox: bool = True
    warm_kernels: bool = True
    engine: str | None = None
    students: list[str] | None = None


def grade(submissions_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, jobs: int = 1,
          **options) -> GradingRun:
    """Autograde every submission found in ``submissions_dir`` (see :mod:`autograder.collect` for the accepted
    layouts) into ``out_dir`` (default: the course root), ``jobs`` at a time; ``options``: :class:`GradeOptions`."""
    opts = GradeOptions(jobs=max(1, int(jobs)), **options)
    t_start = time.monotonic()
    if opts.sandbox and (problem := sandbox_problem()):
        raise SandboxUnavailable(problem + " To grade without a sandbox anyway: course grade --no-sandbox.")
    course_root = Path(opts.course_root).resolve() if opts.course_root else find_course_root()
    out_dir = Path(out_dir).resolve() if out_dir else course_root
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_course_config(course_root)
    cid = get_course_id(cfg)
    job_list, problems = find_jobs(submissions_dir, course_root, opts.assignment, opts.shard, out_dir, cid,
                                   opts.students)
    settings = run_settings(course_root, cfg, opts, job_list)
    if opts.progress:  # building the templates takes a while: say what is happening from the first second
        print(f"course grade: {len(job_list)} submission(s) of {len({j.student for j in job_list})} student(s) "
              f"found, {len(problems)} file(s) not matched; preparing {len({j.assignment for j in job_list})} "
              f"assignment(s)...", flush=True)
    sub_root = Path(submissions_dir)
    input_submitted = (sub_root / "submitted") if (sub_root / "submitted").is_dir() else sub_root
    gradebook = ClassGradebook(out_dir, cid, {}, input_submitted, opts.feedback)
    settings, template_seconds = _grade_class(job_list, gradebook, course_root, cfg, settings, opts)
    record_names(out_dir, job_list)
    # LMS ids, submission times, due dates and late penalties, before the feedback shows them
    after_grading(out_dir, cid, cfg, job_list, gradebook.outcomes, submissions_dir)
    if opts.feedback:  # every kernel is gone: feedback from the class gradebook (manual grades included)
        _make_feedback(gradebook.outcomes, out_dir, course_root, opts.hide_hidden_tests, opts.progress)
    warm_kernels_used = bool(settings.zygote_socket) or bool(opts.engine and opts.sandbox and opts.warm_kernels)
    run = GradingRun(out_dir, gradebook.outcomes, problems, time.monotonic() - t_start, opts.jobs,
                     sandboxed=opts.sandbox, engine=opts.engine or "threads",
                     kernels="warm" if warm_kernels_used else "cold", template_seconds=template_seconds)
    if opts.report:
        run.files = write_reports(run, cid, course_root, cfg)
    return run


def run_settings(course_root: Path, cfg, opts: GradeOptions, job_list: list[Job]) -> RunSettings:
    """What every job of the run shares, from the course's ``c.Autograder`` options and ``opts``."""
    options = autograder_settings(cfg)
    return RunSettings(
        course_root=str(course_root), job_timeout=int(opts.job_timeout or options.job_timeout),
        max_notebook_bytes=options.max_notebook_bytes, max_graded_notebook_bytes=options.max_graded_notebook_bytes,
        max_result_bytes=options.max_result_bytes, max_extra_cells=options.max_extra_cells,
        threads=max(1, (os.cpu_count() or 1) // opts.jobs), sandbox=opts.sandbox, warm_kernels=opts.warm_kernels,
        overrides={"Execute.timeout": int(opts.timeout)} if opts.timeout is not None else {},
        budgets=job_budgets(course_root, options, {j.assignment for j in job_list}),
    )  # fmt: skip


def _grade_class(job_list: list[Job], gradebook: ClassGradebook, course_root: Path, cfg, settings: RunSettings,
                 opts: GradeOptions) -> tuple[RunSettings, float]:
    """Build the templates (the zygotes import meanwhile), run every job and merge it; returns the run's settings
    (with the zygotes' sockets) and the seconds the templates took."""
    scratch = Path(tempfile.mkdtemp(prefix="ag-grading-"))
    warm = opts.sandbox and opts.warm_kernels and job_list and opts.engine is None  # an engine's workers: their own
    zygotes = Zygotes(scratch, settings.threads, bool(warm))
    try:
        # without a sandbox a submission could write the course root: no template kept from one run to the next
        t_templates = time.monotonic()
        gradebook.templates = build_templates(course_root, {j.assignment for j in job_list}, cfg, scratch,
                                              cache=None if opts.sandbox else scratch / "templates")
        template_seconds = time.monotonic() - t_templates
        settings = replace(settings, **zygotes.sockets(opts.progress))
        refused = gradebook.refused()
        runnable = [job for job in job_list if job.assignment not in refused]
        gradebook.outcomes += [job_outcome(job, Status.ERROR, refused[job.assignment], merge="not merged")
                               for job in job_list if job.assignment in refused]
        protect = default_protected(course_root) if opts.protect is None else opts.protect
        watch = TamperWatch(Protector(protect) if protect else None)
        pool = make_engine(opts.engine, opts.jobs) if runnable else make_engine(None, 1)
        results = _grade_jobs(pool, runnable, gradebook.templates, settings, scratch, gradebook, watch,
                              opts.progress, opts.keep_workdirs)
        _regrade_suspects([j for j in runnable if j.key in watch.suspects], results, watch, gradebook.templates,
                          settings, scratch, gradebook)
    finally:
        zygotes.stop()
        remove_tree(scratch)
    return settings, template_seconds


def _make_feedback(outcomes: list[Outcome], out_dir: Path, course_root: Path, hide_hidden_tests: bool,
                   progress: bool) -> None:
    graded = {(o.student, o.assignment) for o in outcomes if o.graded}
    failed = refresh_feedback(out_dir, course_root, only=graded, hide_hidden_tests=hide_hidden_tests,
                              progress=progress)
    for o in outcomes:
        problem = failed.get(o.key)
        if problem:
            o.notes.append(f"feedback could not be generated: {problem}")


def _regrade_suspects(suspects: list[Job], results: dict, watch: TamperWatch, templates: dict[str, Template],
                      settings: RunSettings, scratch: Path, gradebook: ClassGradebook) -> None:
    """Re-grade the suspects one at a time: the one that changes protected files again is the culprit."""
    for job in suspects:
        old, files = results[job.key]
        if len(watch.suspects) == 1:
            outcome, changes = old, old.protected_changes
        else:
            outcome, files = run_job(job, templates[job.assignment], settings, scratch)
            changes = watch.protector.check() if watch.protector else []
        outcome.notes.append("re-graded alone: a protected file changed while it was running")
        if changes:
            outcome, files = job_outcome(job, Status.TAMPERED, "modified files outside its grading directory: "
                                         + "; ".join(changes[:5]), suspicious=changes), {}
        gradebook.accept(job, outcome, files)


def _grade_jobs(pool: Engine, runnable: list[Job], templates: dict[str, Template], settings: RunSettings,
                scratch: Path, gradebook: ClassGradebook, watch: TamperWatch, progress: bool,
                keep_workdirs: bool = False) -> dict[str, tuple[Outcome, dict[str, bytes]]]:
    """Run the jobs on ``pool`` as its slots free up and merge each as it finishes, except the suspects of
    ``watch`` (held back); returns {job key: (outcome, files)}. Closes the pool."""
    running: dict = {}  # future -> job
    results: dict[str, tuple[Outcome, dict[str, bytes]]] = {}
    bar = tqdm(total=len(runnable), desc="grading", unit="submission", disable=not progress)
    try:
        pending = list(runnable)
        while pending or running:
            while pending and len(running) < pool.slots:  # a slow job holds its own slot only
                job = pending.pop(0)
                running[pool.submit(job, templates[job.assignment], settings, scratch, keep_workdirs)] = job
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    outcome, files = fut.result()
                except Exception as e:  # noqa: BLE001
                    outcome, files = job_outcome(job, Status.ERROR, f"internal error: {type(e).__name__}: {e}"), {}
                changes = watch.check(job, list(running.values()))
                if changes:
                    outcome.protected_changes = changes
                results[job.key] = (outcome, files)
                if job.key not in watch.suspects:
                    gradebook.accept(job, outcome, files)
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
