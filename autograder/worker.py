"""Grades ONE (student, assignment) in its own throw-away course directory.

Run by :func:`autograder.jobs.run_job` (``autograder.jobs.WORKER_COMMAND``, or forked by the run's worker
zygote) with the job description as JSON on stdin (not in a file: the student's kernel runs inside the work
directory), in a new session so that the parent can kill it and everything it started.  Writes its
:class:`~autograder.outcome.Outcome`, with the job's token, to the job's ``result_path`` (outside the work
directory).

Layout of the work directory W while the student's kernel runs (its cwd is W/autograded/<s>/<a>)::

    W/gradebook.db                  copy of the assignment's gradebook, test source blanked before
                                    the kernel starts (ScrubBeforeExecute)
    W/source/<a>/                   helper files only -- no notebooks, so no hidden tests
    W/submitted/<s>/<a>/<nb>.ipynb  the repaired submission
    W/autograded/<s>/<a>/           helper files copied by nbgrader; the notebook is written back only
                                    after execution
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.utils import parse_utc

from course.text import first_line

from . import zygote
from .causes import root_causes
from .cells import grade_id, is_grade
from .config import load_course_config
from .execute import GONE_ENAME
from .jobs import JobSpec
from .judge import TIMINGS, autograde_preprocessors
from .nbgrader_run import NbgraderFailed, course_config, run_converter
from .outcome import Outcome, Status
from .policy import JUDGES_FOLDER
from .repair import InvalidNotebook, parse, repair
from .sandbox import SETUP_SECONDS


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _first_error(cell) -> str | None:
    """The reason a test cell failed, in the test's own words: its error (the assertion message) first;
    output on stderr (which nbgrader also scores as a failure) only when the cell raised nothing, so a
    library warning never hides what the test said."""
    outputs = cell.get("outputs", [])
    for out in outputs:
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), (out.get("evalue") or "").strip()
            first = first_line(evalue, 200)
            return f"{ename}: {first}" if first else ename
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "output on stderr (nbgrader scores it as a failure): " + first_line(out.get("text") or "", 200)
    return None


def read_submission(job: JobSpec, sub_dir: Path, outcome: Outcome) -> tuple[list[str], dict[str, str], list[str]]:
    """Parse and repair each notebook of the job into ``sub_dir`` (notes and suspicious code into ``outcome``);
    returns the notebooks (valid, invalid -> why, missing)."""
    W, release_dir = Path(job.workdir), Path(job.release_dir)
    invalid, missing, valid = {}, [], []
    for nb_name in job.notebooks:
        release_nb = nbformat.read(release_dir / f"{nb_name}.ipynb", as_version=4)
        if nb_name in job.invalid:
            invalid[nb_name] = job.invalid[nb_name]
            continue
        incoming = job.incoming.get(nb_name)
        if not incoming:
            missing.append(nb_name)
            continue
        try:
            nb = parse((W / incoming).read_bytes(), max_cells=len(release_nb.cells) + job.max_extra_cells)
            nb, notes, suspicious = repair(nb, release_nb)
        except InvalidNotebook as e:
            invalid[nb_name] = str(e)
            continue
        outcome.notes.extend(f"{nb_name}: {n}" for n in notes)
        outcome.suspicious.extend(f"{nb_name}: {n}" for n in suspicious)
        nbformat.write(nb, sub_dir / f"{nb_name}.ipynb")
        valid.append(nb_name)
    for rel in job.incoming.values():
        if rel:
            (W / rel).unlink(missing_ok=True)
    if job.timestamp:
        try:
            parse_utc(job.timestamp)
            (sub_dir / "timestamp.txt").write_text(job.timestamp)
        except (ValueError, OverflowError):
            outcome.notes.append(f"ignored invalid timestamp {job.timestamp!r}")
    return valid, invalid, missing


def course_directory(job: JobSpec) -> tuple[object, dict[str, str]]:
    """The throw-away course directory (the template's gradebook, the helper files) and nbgrader's config for
    it; returns (config, helper file -> its sha256)."""
    W, a = Path(job.workdir), job.assignment
    (W / "gradebook.db").write_bytes(base64.b64decode(job.template_db_b64))
    src_dir = W / "source" / a
    src_dir.mkdir(parents=True, exist_ok=True)
    helper_hashes = {}
    for rel, path in job.helpers.items():
        dest = src_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        helper_hashes[rel] = _sha(dest)

    base = load_course_config(job.course_root)
    cfg = course_config(base, W, assignment_id=a, student_id=job.student)
    cfg.Autograde.autograde_preprocessors = autograde_preprocessors(scrub=True)
    cfg.ScrubBeforeExecute.enabled = True
    cfg.JudgedExecute.helper_dir = str(src_dir)  # judges import helpers from here, never from the kernel's folder
    judges = Path(job.course_root) / JUDGES_FOLDER
    if (judges / "__init__.py").is_file():  # bound read-only into the worker's sandbox, never the kernel's
        cfg.JudgedExecute.judges_dir = str(judges)
    cfg.JudgedExecute.kernel_dir = str(W / "kernel" / a)  # the kernel never works in nbgrader's folders
    cfg.JudgedExecute.exchange_dir = job.exchange_dir
    if job.sandbox:
        cfg.JudgedExecute.sandbox = True
        cfg.SandboxedKernelManager.zygote_socket = job.zygote_socket
        cfg.SandboxedKernelManager.exchange_dir = job.exchange_dir
    cfg.OverwriteCells.add_missing_cells = False  # done by repair(), which handles every layout
    for dotted, value in job.overrides.items():
        section, trait = dotted.rsplit(".", 1)
        setattr(getattr(cfg, section), trait, value)
    return cfg, helper_hashes


def read_grades(cfg, valid: list[str], outcome: Outcome) -> None:
    """The job's gradebook's grades and comments, per notebook, into ``outcome.notebooks``."""
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        sub = gb.find_submission(outcome.assignment, outcome.student)
        for snb in sub.notebooks:
            grades = {}
            for g in snb.grades:
                grades[g.cell.name] = {
                    "auto_score": g.auto_score,
                    "max_score": g.max_score,
                    "needs_manual_grade": bool(g.needs_manual_grade),
                    "cell_type": g.cell.cell_type,
                    "kind": "manual" if g.auto_score is None else ("test" if g.cell.cell_type == "code" else "auto"),
                }
            comments = {c.cell.name: c.auto_comment for c in snb.comments}
            outcome.notebooks[snb.name] = {
                "submitted": snb.name in valid,
                "grades": grades,
                "comments": comments,
                "late_submission_penalty": snb.late_submission_penalty,
                "flagged": bool(snb.flagged),
            }


def read_failures(graded_dir: Path, valid: list[str], outcome: Outcome) -> list[str]:
    """Why each test failed (``outcome.failed_tests``; a NameError says which earlier cell failed, in the
    feedback too) and the cells that hit a time limit (notes); returns why the kernel went away, if it did."""
    gone = []
    for nb_name in valid:
        path = graded_dir / f"{nb_name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        timeouts, earlier, changed = [], None, False  # earlier: the last cell (not a test) that failed, and why
        failed: dict = {}  # test -> (reason, its error output)
        for i, cell in enumerate(nb.cells):
            gid = grade_id(cell)
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            timeouts += [o.get("evalue") or f"cell {gid or i} hit its time limit"
                         for o in errs if o.get("ename") == "CellTimeoutError"]
            g = [o for o in errs if o.get("ename") == GONE_ENAME and not o.get("evalue", "").startswith("not executed")]
            if g:
                gone.append(g[0]["evalue"])
            if cell.cell_type != "code":
                continue
            if is_grade(cell):
                err = _first_error(cell)
                if err and earlier and "NameError" in err and earlier not in err:  # a name the failed cell defines
                    err += f" (earlier, {earlier})"
                    for out in errs[:1]:  # the student's feedback says it too
                        out["evalue"] = f"{out.get('evalue', '')} (earlier, {earlier})"
                        out["traceback"] = [*out.get("traceback", [])[:-1], f"{out['ename']}: {out['evalue']}"]
                        changed = True
                if err:
                    failed[gid] = (err, errs[:1])
            elif errs:
                e = errs[0]
                cause = e.get("evalue") if e.get("ename") == "CellTimeoutError" else (
                    f"cell {gid or cell.get('id') or i} raised {_first_error(cell)}")
                earlier = cause
        causes = root_causes(nb.cells, {t: r for t, (r, _) in failed.items()})
        for test, (err, outs) in failed.items():
            if test in causes:  # an earlier exercise this one uses is wrong: say so first
                first = f"{causes[test]} failed first (fix that exercise first): "
                err = first + err
                for out in outs:
                    out["evalue"] = first + str(out.get("evalue", ""))
                    out["traceback"] = [*out.get("traceback", [])[:-1], f"{out['ename']}: {out['evalue']}"]
                    changed = True
            outcome.failed_tests[test] = err
        if changed:  # nbgrader left it read-only (0444); the worker is its owner, not root
            os.chmod(path, 0o644)
            nbformat.write(nb, path)
        if timeouts:
            outcome.notes += [f"{nb_name}: {t}" for t in timeouts]
    return gone


def run(job: JobSpec) -> Outcome:
    """Grade the job: read and repair, autograde with nbgrader, read the grades back, decide the status."""
    t0 = time.monotonic()
    W = Path(job.workdir)
    s, a = job.student, job.assignment
    outcome = Outcome(s, a, notes=list(job.notes))
    last = [t0]

    def phase(name):  # seconds per step: where a submission's grading time goes
        now = time.monotonic()
        outcome.phases[name] = round(now - last[0], 2)
        last[0] = now

    sub_dir = W / "submitted" / s / a
    sub_dir.mkdir(parents=True, exist_ok=True)
    valid, invalid, missing = read_submission(job, sub_dir, outcome)
    write_result(job, outcome, partial=True)  # what is known before any student code runs (repairs, review)
    reasons = [f"{n}.ipynb: {r}" for n, r in invalid.items()] + [f"{n}.ipynb: not submitted" for n in missing]
    if not valid:
        outcome.status = Status.INVALID if invalid else Status.MISSING
        outcome.reason = "; ".join(reasons)
        return outcome

    cfg, helper_hashes = course_directory(job)
    phase("prepare")

    try:
        outcome.log += run_converter(Autograde, cfg, force=True, create_student=True)
    except NbgraderFailed as e:
        outcome.log += e.log
        errors = [l for l in e.log.splitlines() if l.startswith("[ERROR]") and "Traceback" not in l]
        detail = next((l for l in reversed(e.log.splitlines()) if l.strip() and not l.startswith("[")), "")
        outcome.status = Status.ERROR
        outcome.reason = "nbgrader could not grade the notebook: " + (detail or (errors[0] if errors else str(e)))
        return outcome
    phase("autograde")
    outcome.autograde_parts = {k: round(v, 2) for k, v in TIMINGS.items()}  # within "autograde"
    if SETUP_SECONDS:  # warm kernels: bwrap building the sandbox, within "autograde"
        outcome.autograde_parts["sandbox_setup"] = round(sum(SETUP_SECONDS), 3)
    graded_dir = W / "autograded" / s / a
    tampered = [
        rel for rel, h in helper_hashes.items() if not (graded_dir / rel).is_file() or _sha(graded_dir / rel) != h
    ]

    read_grades(cfg, valid, outcome)
    gone = read_failures(graded_dir, valid, outcome)
    outcome.graded = True
    phase("read_grades")

    # the status (the feedback is the parent's)
    if tampered:
        outcome.status = Status.TAMPERED
        outcome.reason = "grading helper file(s) modified during grading: " + ", ".join(tampered)
        outcome.graded = False
    elif gone:
        outcome.status = Status.KERNEL_DIED if "died" in gone[0] else Status.KERNEL_UNRESPONSIVE
        outcome.reason = gone[0] + "; cells after it scored 0"
    elif invalid:
        outcome.status = Status.INVALID
        outcome.reason = "; ".join(reasons)
    elif missing:
        outcome.status = Status.MISSING
        outcome.reason = "; ".join(reasons)
    outcome.seconds = round(time.monotonic() - t0, 2)
    return outcome


def main() -> int:
    return run_spec(json.loads(sys.stdin.read()))


def run_spec(data: dict) -> int:
    """Grade the job and write its result (how ``main`` runs, and a worker forked by the worker zygote)."""
    job = JobSpec.from_json(data)
    os.chdir(Path(job.workdir))
    try:
        outcome = run(job)
    except BaseException as e:  # noqa: BLE001 - report anything, including SystemExit from nbgrader
        outcome = Outcome(job.student, job.assignment, Status.ERROR,
                          f"internal grader error: {type(e).__name__}: {e}", log=traceback.format_exc())
    write_result(job, outcome)
    return 0


def write_result(job: JobSpec, outcome: Outcome, partial: bool = False) -> None:
    """The outcome, outside the work directory, with a token the kernel never saw; ``partial``: before the kernel
    runs, so that a job stopped later still reports its repairs and suspicious code."""
    out = Path(job.result_path)
    if partial:
        out = out.with_name(out.name + ".partial")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(outcome.to_json() | {"token": job.token}, indent=1, default=str))
    tmp.replace(out)


def serve_zygote(socket_path: str) -> None:
    """The worker zygote's process (:data:`autograder.zygote.ZYGOTE_MAIN`): forks a worker per job."""
    zygote.serve(socket_path, "worker", run_job=run_spec)


if __name__ == "__main__":
    sys.exit(main())
