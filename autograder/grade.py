"""Grading a class: ``grade(submissions_dir, out_dir, jobs=N)``.

Design (see README.md, "Parallel grading"):

1. the submissions are found (:mod:`autograder.collect`) and turned into one job per (student,
   assignment);
2. each assignment is built once with ``generate_assignment`` into a template gradebook, kept in
   memory;
3. every job runs in its own process (:data:`WORKER_COMMAND`, a new session) in its own
   temporary course directory with its own copy of the template gradebook: jobs share no file, so they
   can run ``jobs`` at a time, and a crash, a hang (wall-clock ``job_timeout``, whole process tree
   killed) or a hostile notebook only affects its own job;
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

import base64
import html
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .collect import Job, Problem, discover
from .config import (
    autograder_setting,
    discover_assignments,
    find_course_root,
    helper_files,
    load_course_config,
    notebooks_of,
    skipped_dir,
)
from .config import (
    course_id as get_course_id,
)

SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH", re.IGNORECASE)
NOT_GRADED = ("invalid", "missing", "error", "timeout", "tampered")
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


@dataclass
class Template:
    assignment: str
    notebooks: list[str]
    release_dir: Path
    db_bytes: bytes
    definition: dict
    helpers: dict[str, str]


@dataclass
class GradingRun:
    out_dir: Path
    outcomes: list[dict]
    problems: list[Problem]
    seconds: float
    jobs: int
    files: dict[str, Path] = field(default_factory=dict)
    sandboxed: bool = True
    kernels: str = "cold"  # "warm": forked by the run's zygote (autograder.zygote); "cold": a fresh Python each
    template_seconds: float = 0.0  # of ``seconds``: making the assignments' templates (none when cached)
    engine: str = "threads"  # or "dask", or a Dask scheduler's address (grade's ``engine``)

    @property
    def gradebook(self) -> Path:
        return self.out_dir / "gradebook.db"

    def outcome(self, student: str, assignment: str) -> dict:
        for o in self.outcomes:
            if o["student"] == student and o["assignment"] == assignment:
                return o
        raise KeyError((student, assignment))


# ----------------------------------------------------------------------------------------------- templates
TEMPLATE_CACHE = ".grading-cache/templates"  # under the course root, beside source/ (gitignored)


def template_key(course_root: Path, assignment: str) -> str:
    """What a template is made of: the assignment's source files, nbgrader_config.py, nbgrader's version and
    the autograder's own code. Any change makes a new template."""
    import hashlib

    import nbgrader

    h = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    src = course_root / "source" / assignment
    files = [(f"source/{p.relative_to(src).as_posix()}", p) for p in _walk_files(src)]
    files += [(f"autograder/{p.name}", p) for p in sorted(Path(__file__).parent.glob("*.py"))]
    config = course_root / "nbgrader_config.py"
    if config.is_file():
        files.append(("nbgrader_config.py", config))
    for rel, path in files:
        data = path.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:20]


def _walk_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(Path(dirpath) / d))
        out += [Path(dirpath) / n for n in sorted(filenames) if not n.endswith(".pyc")]
    return out


def build_templates(
    course_root: Path, assignments, cfg, scratch: Path, cache: Path | None = None
) -> dict[str, Template]:
    """Every assignment's template (release notebooks and gradebook definition, hidden tests included), made
    by nbgrader's generate_assignment (about 3 s each) or taken from ``cache`` (default: the course root's
    :data:`TEMPLATE_CACHE`; ``scratch`` when the course root is read-only), keyed by :func:`template_key`."""
    from .gradebook import read_definition
    from .release import build_assignment

    if cache is None:
        cache = course_root / TEMPLATE_CACHE
        try:
            cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            cache = scratch / "templates"
    templates = {}
    for a in sorted(assignments):
        folder = cache / f"{a}-{template_key(course_root, a)}"
        if not (folder / "gradebook.db").is_file():
            work = Path(tempfile.mkdtemp(prefix=f"tpl-{a}-", dir=scratch))
            build_assignment(course_root, a, work, cfg)
            shutil.rmtree(work / "source", ignore_errors=True)
            folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                work.rename(folder)  # atomic: a run beside this one never sees half a template
            except OSError:  # made by a run beside this one meanwhile, or another file system
                if not (folder / "gradebook.db").is_file():
                    shutil.copytree(work, folder, dirs_exist_ok=True)
                shutil.rmtree(work, ignore_errors=True)
        db = folder / "gradebook.db"
        src = course_root / "source" / a
        templates[a] = Template(
            assignment=a,
            notebooks=notebooks_of(course_root, a),
            release_dir=folder / "release" / a,
            db_bytes=db.read_bytes(),
            definition=read_definition(db, a, get_course_id(cfg)),
            helpers={p.relative_to(src).as_posix(): str(p) for p in helper_files(course_root, a)},
        )
    return templates


# ----------------------------------------------------------------------------------------------- processes
def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(proc: subprocess.Popen) -> None:
    victims = _descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


class _Live:
    """Worker processes currently running (to kill them on Ctrl-C: they run in their own session)."""

    def __init__(self):
        self.procs: set[subprocess.Popen] = set()
        self.lock = threading.Lock()

    def add_popen(self, *args, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(*args, **kwargs)
        with self.lock:
            self.procs.add(proc)
        return proc

    def add_forked(self, socket_path: str, request: dict):
        """A worker forked by the worker zygote (:mod:`autograder.zygote`)."""
        from .zygote import ForkedProcess, request_fork

        proc = ForkedProcess(request_fork(socket_path, request))
        with self.lock:
            self.procs.add(proc)
        return proc

    def discard(self, proc) -> None:
        with self.lock:
            self.procs.discard(proc)

    def kill_all(self) -> None:
        with self.lock:
            procs = list(self.procs)
        for proc in procs:
            kill_tree(proc)


_LIVE_WORKERS = _Live()


# How a grading worker starts: ``autograder.worker.main()`` with the optional ``rfc3987_syntax`` blocked.
# jsonschema imports it when it is installed (jupyter-events asks for it) and it builds a grammar at import
# time: 0.9 of the 1.9 s it takes to import nbgrader here. Nothing the worker validates uses IRI formats.
WORKER_COMMAND = [
    sys.executable,
    "-c",
    "import sys; sys.modules['rfc3987_syntax'] = None; from autograder.worker import main; sys.exit(main())",
]


def worker_env(workdir: Path, threads: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not SECRET_ENV.search(k)}
    env.pop("OLDPWD", None)
    env["PWD"] = str(workdir)
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env.setdefault("MPLBACKEND", "Agg")
    # OpenMP threads that wait by spinning burn CPU while the machine is busy: the CPU time a cell is billed
    # (autograder.execute counts it against the cell's limit) must be its work, whatever the load
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads:  # N kernels at once must not each start one thread per core
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
            env.setdefault(var, "false" if var == "TOKENIZERS_PARALLELISM" else str(threads))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _fail(job: Job, status: str, reason: str, **extra) -> dict:
    return {
        "student": job.student,
        "assignment": job.assignment,
        "status": status,
        "reason": reason,
        "notes": list(job.notes),
        "suspicious": [],
        "graded": False,
        "notebooks": {},
        "failed_tests": {},
        **extra,
    }


def run_job(job: Job, tpl: Template, settings: dict, scratch: Path) -> tuple[dict, Path]:
    """Grade one job in a fresh work directory; returns (result, workdir)."""
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ag-job-"))
    private = Path(tempfile.mkdtemp(prefix="res-", dir=scratch))  # not reachable from workdir
    incoming, invalid = {}, {}
    (workdir / "incoming").mkdir()
    for k, (nb, src) in enumerate(sorted(job.notebooks.items())):
        try:
            data = src.read(settings["max_notebook_bytes"])
        except (ValueError, OSError, EOFError) as e:
            invalid[nb] = f"{src.origin}: {e}"
            continue
        rel = f"incoming/{k}.ipynb"
        (workdir / rel).write_bytes(data)
        incoming[nb] = rel
    token = secrets.token_hex(16)
    spec = {
        "student": job.student,
        "assignment": job.assignment,
        "workdir": str(workdir),
        "result_path": str(private / "result.json"),
        "token": token,
        "notebooks": tpl.notebooks,
        "incoming": incoming,
        "invalid": invalid,
        "timestamp": job.timestamp,
        "notes": job.notes,
        "template_db_b64": base64.b64encode(tpl.db_bytes).decode(),
        "release_dir": str(tpl.release_dir),
        "helpers": tpl.helpers,
        "course_root": str(settings["course_root"]),
        "overrides": settings["overrides"],
        "sandbox": settings.get("sandbox", False),
        "zygote_socket": settings.get("zygote_socket", ""),
    }
    log_path = private / "worker.log"
    with open(log_path, "wb") as log:
        if settings.get("worker_socket"):  # forked by the run's worker zygote: imports already done
            proc = _LIVE_WORKERS.add_forked(settings["worker_socket"], {
                "job": spec, "cwd": str(workdir), "log": str(log_path),
                "env": worker_env(workdir, settings.get("threads"))})
        else:
            proc = _LIVE_WORKERS.add_popen(
                WORKER_COMMAND,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=worker_env(workdir, settings.get("threads")),
                start_new_session=True,
            )
        try:
            proc.communicate(None if settings.get("worker_socket") else json.dumps(spec).encode(),
                             timeout=settings["job_timeout"])
        except subprocess.TimeoutExpired:
            _LIVE_WORKERS.discard(proc)
            kill_tree(proc)
            result = _fail(job, "timeout", f"grading took longer than {settings['job_timeout']} s; killed")
            result["seconds"] = round(time.monotonic() - t0, 2)
            shutil.rmtree(private, ignore_errors=True)
            return result, workdir
        finally:
            _LIVE_WORKERS.discard(proc)
            for pid in _descendants(proc.pid):  # a kernel or daemon left behind
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
    result = None
    res_file = private / "result.json"
    if res_file.is_file():
        try:
            result = json.loads(res_file.read_text())
        except json.JSONDecodeError:
            result = None
    if result is None or result.get("token") != token:
        tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
        ended = "" if settings.get("worker_socket") else f" (exit code {proc.returncode})"
        result = _fail(job, "error", f"grader process ended without a result{ended}", log=tail)
    result.pop("token", None)
    # the result belongs to the job that was launched, whatever it says
    result["student"], result["assignment"] = job.student, job.assignment
    result["seconds"] = round(time.monotonic() - t0, 2)
    shutil.rmtree(private, ignore_errors=True)
    return result, workdir


def run_job_packed(job: Job, tpl: Template, settings: dict) -> tuple[dict, bytes]:
    """:func:`run_job` on an engine's worker (another process, perhaps another machine): a scratch folder of its
    own, cold kernels, and the job's outputs sent back packed (a gzipped tar), so that no work directory has to
    be shared. The parent unpacks them (:func:`unpack_outputs`) and stays the only writer of the gradebook."""
    settings = {**settings, "zygote_socket": "", "worker_socket": ""}
    scratch = Path(tempfile.mkdtemp(prefix="ag-engine-"))
    try:
        result, workdir = run_job(job, tpl, settings, scratch)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for step in ("autograded", "feedback", "submitted"):
                src = workdir / step / job.student / job.assignment
                if src.is_dir():
                    tar.add(src, arcname=f"{step}/{job.student}/{job.assignment}")
        _rmtree(workdir)
        return result, buffer.getvalue()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unpack_outputs(packed: bytes) -> Path:
    """A local work directory holding what :func:`run_job_packed` sent back."""
    workdir = Path(tempfile.mkdtemp(prefix="ag-job-"))

    def inside(member, path):  # a link or path out of workdir (the kernel wrote that folder) is left out
        try:
            return tarfile.data_filter(member, path)
        except tarfile.FilterError:
            return None

    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        tar.extractall(workdir, filter=inside)
    return workdir


class Engine:
    """Where the jobs run: threads of this process, each driving one grading process (the default), or a Dask
    cluster (``engine="dask"``: a local cluster of ``jobs`` workers; ``engine="tcp://host:8786"``: the
    scheduler of a running cluster, whose workers must see the course, the submissions and the output folder
    at the same paths, as on a cluster with a shared file system)."""

    def __init__(self, engine: str | None, jobs: int):
        self.client, self.cluster = None, None
        if engine is None:
            self.executor, self.slots = ThreadPoolExecutor(max_workers=jobs), jobs
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ValueError(f"--engine {engine} needs Dask: pip install distributed") from None
        if engine == "dask":
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None, memory_limit=0)
            self.client = Client(self.cluster)
        elif "://" in engine:
            self.client = Client(engine, timeout=30)
        else:
            raise ValueError(f"--engine must be 'dask' or a Dask scheduler address (tcp://host:8786), not {engine!r}")
        self.executor = self.client.get_executor(pure=False)
        self.slots = jobs if self.cluster else max(jobs, sum(self.client.nthreads().values()))

    def submit(self, job: Job, tpl: Template, settings: dict, scratch: Path):
        if self.client is None:
            return self.executor.submit(run_job, job, tpl, settings, scratch)
        return self.executor.submit(run_job_packed, job, tpl, settings)

    def outcome(self, future) -> tuple[dict, Path]:
        if self.client is None:
            return future.result()
        result, packed = future.result()
        return result, unpack_outputs(packed)

    def close(self) -> None:
        if self.client is None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=False)  # cancels what has not finished (Ctrl-C)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ----------------------------------------------------------------------------------------------- outputs
def _replace_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        for p in dest.rglob("*"):
            if p.is_file():
                os.chmod(p, 0o644)
        shutil.rmtree(dest)
    if src.is_dir():
        shutil.copytree(src, dest)


def _simple_feedback(path: Path, student: str, assignment: str, status: str, reason: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(assignment)} &mdash; {html.escape(student)}</h1>"
        f"<p><strong>Your submission could not be graded automatically ({html.escape(status)}).</strong></p>"
        f"<p>{html.escape(reason)}</p><p>Please contact the teaching team.</p></body></html>",
        encoding="utf-8",
    )


def collect_outputs(
    result: dict, workdir: Path, out_dir: Path, tpl: Template, input_submitted: Path | None, feedback: bool = True
) -> None:
    s, a = result["student"], result["assignment"]
    for step in ("autograded", "feedback"):
        src = workdir / step / s / a
        dest = out_dir / step / s / a
        if src.is_dir():
            _replace_tree(src, dest)
    sub_src, sub_dest = workdir / "submitted" / s / a, out_dir / "submitted" / s / a
    if sub_src.is_dir() and (input_submitted is None or sub_dest.resolve() != (input_submitted / s / a).resolve()):
        _replace_tree(sub_src, sub_dest)
    if feedback and not result.get("graded"):  # graded ones: refresh_feedback, from the class gradebook
        for nb in tpl.notebooks:
            _simple_feedback(out_dir / "feedback" / s / a / f"{nb}.html", s, a, result["status"], result["reason"])


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
    from nbgrader.api import Gradebook
    from sqlalchemy import exc as sa_exc
    from tqdm.auto import tqdm

    from .gradebook import DefinitionMismatch, merge_result
    from .protect import Protector, default_protected

    t_start = time.monotonic()
    if sandbox:
        from .sandbox import SandboxUnavailable, sandbox_problem

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
        from .shards import shard_of

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
    }
    if progress:  # building the templates takes a while: say what is happening from the first second
        print(f"course grade: {len(job_list)} submission(s) of {len({j.student for j in job_list})} student(s) "
              f"found, {len(problems)} file(s) not matched; preparing {len({j.assignment for j in job_list})} "
              f"assignment(s)...", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="ag-grading-"))
    outcomes: list[dict] = []
    warm = sandbox and warm_kernels and job_list and engine is None  # an engine's workers start cold kernels
    zygote = _start_zygote(scratch, settings) if warm else None
    # only with the sandbox: an unsandboxed kernel could reach the socket and ask for workers of its own
    worker_zygote = _start_zygote(scratch, settings, mode="worker") if warm else None
    try:
        # without a sandbox a submission could write the course root: no template kept from one run to the next
        t_templates = time.monotonic()
        templates = build_templates(course_root, {j.assignment for j in job_list}, cfg, scratch,
                                    cache=None if sandbox else scratch / "templates")
        template_seconds = time.monotonic() - t_templates
        if zygote is not None:  # they imported while the templates were built
            settings["zygote_socket"] = _zygote_ready(zygote, progress)
        if worker_zygote is not None:
            settings["worker_socket"] = _zygote_ready(worker_zygote, progress)
        db_url = f"sqlite:///{out_dir / 'gradebook.db'}"
        # refuse assignments whose definition conflicts with the gradebook before grading anything
        blocked = {}
        with Gradebook(db_url, cid) as gb:
            from .gradebook import ensure_assignment

            for a, tpl in templates.items():
                try:
                    ensure_assignment(gb, tpl.definition)
                except DefinitionMismatch as e:
                    blocked[a] = str(e)
        runnable = []
        for job in job_list:
            if job.assignment in blocked:
                outcomes.append(_fail(job, "error", blocked[job.assignment]) | {"merge": "not merged"})
            else:
                runnable.append(job)

        protector = None
        if protect is None:
            protect = default_protected(course_root)
        if protect:
            protector = Protector(protect)

        running: dict = {}  # future -> (job, start)
        finished_since_clean: list[tuple[Job, float, float]] = []
        suspects: set[str] = set()
        results: dict[str, tuple[dict, Path]] = {}

        def accept(job: Job, result: dict, workdir: Path) -> None:
            tpl = templates[job.assignment]
            with Gradebook(db_url, cid) as gb, warnings.catch_warnings():
                # nbgrader's add_submission triggers harmless SQLAlchemy autoflush warnings
                warnings.simplefilter("ignore", category=sa_exc.SAWarning)
                try:
                    result["merge"] = merge_result(gb, tpl.definition, result, job.timestamp)
                except Exception as e:  # noqa: BLE001 - never lose the rest of the class
                    result["merge"] = f"not merged: {type(e).__name__}: {e}"
                    result["status"], result["reason"] = "error", result["merge"]
            collect_outputs(result, workdir, out_dir, tpl, input_submitted, feedback)
            if not keep_workdirs:
                _rmtree(workdir)
            else:
                result["workdir"] = str(workdir)
            result.pop("log", None)
            outcomes.append(result)

        bar = tqdm(total=len(runnable), desc="grading", unit="submission", disable=not progress)
        pool = Engine(engine, max(1, int(jobs))) if runnable else Engine(None, 1)
        try:
            pending = list(runnable)
            while pending or running:
                while pending and len(running) < pool.slots:  # a slow job holds its own slot only
                    job = pending.pop(0)
                    fut = pool.submit(job, templates[job.assignment], settings, scratch)
                    running[fut] = (job, time.monotonic())
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    job, started = running.pop(fut)
                    try:
                        result, workdir = pool.outcome(fut)
                    except Exception as e:  # noqa: BLE001
                        result, workdir = (
                            _fail(job, "error", f"internal error: {type(e).__name__}: {e}"),
                            Path(tempfile.mkdtemp(prefix="ag-job-")),
                        )
                    now = time.monotonic()
                    finished_since_clean.append((job, started, now))
                    changes = protector.check() if protector else []
                    if changes:
                        # everything that ran since the last clean check is a suspect
                        for j, _s0, _e0 in finished_since_clean:
                            suspects.add(j.key)
                        for j, _s0 in running.values():
                            suspects.add(j.key)
                        result.setdefault("protected_changes", changes)
                    else:
                        finished_since_clean = []
                    results[job.key] = (result, workdir)
                    if job.key not in suspects:
                        accept(job, result, workdir)
                    bar.update(1)
                # suspects whose result is held back are accepted after the re-check below
        except BaseException:
            # Ctrl-C or a bug: the workers run in their own sessions and would carry on; stop them.
            # Everything merged so far stays in the gradebook.
            _LIVE_WORKERS.kill_all()
            raise
        finally:
            pool.close()
            bar.close()

        # re-grade the suspects one at a time: the one that changes protected files again is the culprit
        for job in [j for j in runnable if j.key in suspects]:
            old_result, old_workdir = results[job.key]
            _rmtree(old_workdir)
            if len(suspects) == 1:
                result, workdir = old_result, Path(tempfile.mkdtemp(prefix="ag-job-"))
                changes = old_result.get("protected_changes", [])
            else:
                result, workdir = run_job(job, templates[job.assignment], settings, scratch)
                changes = protector.check() if protector else []
            result.setdefault("notes", []).append("re-graded alone: a protected file changed while it was running")
            if changes:
                result = _fail(
                    job, "tampered", "modified files outside its grading directory: " + "; ".join(changes[:5])
                )
                result["suspicious"] = changes
            accept(job, result, workdir)
    finally:
        for z in (zygote, worker_zygote):
            if z is not None:
                z.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    if feedback:  # every kernel is gone: feedback from the class gradebook (manual grades included)
        from .feedback import refresh_feedback

        graded = {(o["student"], o["assignment"]) for o in outcomes if o.get("graded")}
        failed = refresh_feedback(out_dir, course_root, only=graded, hide_hidden_tests=hide_hidden_tests,
                                  progress=progress)
        for o in outcomes:
            problem = failed.get(f"{o['student']}/{o['assignment']}")
            if problem:
                o.setdefault("notes", []).append(f"feedback could not be generated: {problem}")
    run = GradingRun(out_dir, outcomes, problems, time.monotonic() - t_start, int(jobs), sandboxed=bool(sandbox),
                     engine=engine or "threads",
                     kernels="warm" if settings.get("zygote_socket") else "cold",
                     template_seconds=locals().get("template_seconds", 0.0))
    if report:
        from .report import write_reports

        run.files = write_reports(run, cid)
    return run


def _start_zygote(scratch: Path, settings: dict, mode: str = "kernel"):
    """The run's kernel (or worker) zygote, importing in the background (None where it cannot be had)."""
    from . import zygote
    from .sandbox import sandbox_env
    from .worker import kernel_extra_env

    if mode == "worker":  # trusted code, as the grader's user: the environment of a worker process
        return zygote.Zygote(scratch, worker_env(scratch, settings.get("threads")), mode="worker").start()
    if not zygote.available():
        return None
    # exactly the environment a sandboxed kernel gets: libraries read it when they are imported
    env = sandbox_env(worker_env(scratch, settings.get("threads")), extra=kernel_extra_env())
    env["PYTHONPATH"] = PACKAGE_PARENT
    return zygote.Zygote(scratch, env).start()


def _zygote_ready(zygote, progress: bool) -> str:
    """The zygote's socket once it is ready; "" (cold kernels) when it failed, with a warning."""
    from .zygote import ZygoteError

    try:
        ready = zygote.wait_ready()
    except ZygoteError as e:
        warnings.warn(f"warm kernels unavailable, starting every kernel cold: {e}", stacklevel=3)
        zygote.stop()
        return ""
    if progress:
        what = "kernels" if zygote.mode == "kernel" else "grading workers"
        print(f"course grade: warm {what} ready (libraries imported once, in {ready['seconds']:.1f} s)", flush=True)
    return zygote.socket_path


def _rmtree(path: Path) -> None:
    if not path.exists():
        return
    for p in path.rglob("*"):
        try:
            if p.is_dir():
                os.chmod(p, 0o755)
            else:
                os.chmod(p, 0o644)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)
