"""Running one job (a student's submission of one assignment) in a grading worker of its own.

:func:`run_job` makes the job's folder, starts the worker (:mod:`autograder.worker`) in its **worker sandbox**
(:func:`autograder.policy.worker_policy`: a uid of its own, the job folder and read-only course data only), hands
it a :class:`JobSpec`, stops its whole process tree when it takes longer than its budget, and takes back exactly
two kinds of thing, as hostile data (:func:`take_files`): its :class:`~autograder.outcome.Outcome` (a size-capped
JSON file outside the job folder, accepted only with the random token the worker was given, which the kernel
never sees) and the notebooks the grader expects (regular files opened without following links, size-capped).
Nothing else of the job's folder leaves it; the folder is then removed without following links.
:class:`Engine` runs jobs on threads of this process or on a Dask cluster.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from . import processes
from .collect import Job
from .files import UnsafeFile, read_regular, remove_tree
from .outcome import Outcome, Status
from .policy import (
    JUDGES_FOLDER,
    CourseView,
    Limits,
    SandboxPolicy,
    bwrap_argv,
    grader_package_dirs,
    sandbox_env,
    worker_policy,
)
from .sandbox import make_writable_for, worker_uid
from .templates import Template
from .zygote import HOLDER_ARGV, ForkedProcess, Zygote, ZygoteError, available, find_holder, request_fork

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
OUTPUT_STEPS = ("autograded", "submitted")  # what a job hands back: these notebooks, nothing else

# How a grading worker starts: ``autograder.worker.main()`` with the optional ``rfc3987_syntax`` blocked.
# jsonschema imports it when it is installed (jupyter-events asks for it) and it builds a grammar at import
# time: 0.9 of the 1.9 s it takes to import nbgrader here. Nothing the worker validates uses IRI formats.
WORKER_COMMAND = [
    sys.executable,
    "-c",
    "import sys; sys.modules['rfc3987_syntax'] = None; from autograder.worker import main; sys.exit(main())",
]


@dataclass(frozen=True)
class RunSettings:
    """What every job of a ``course grade`` run shares (crosses to Dask workers as it is)."""

    course_root: str
    job_timeout: int
    max_notebook_bytes: int
    max_graded_notebook_bytes: int
    max_result_bytes: int
    max_extra_cells: int
    threads: int
    sandbox: bool = True
    warm_kernels: bool = True
    overrides: dict = field(default_factory=dict)  # "Section.trait" -> value, for nbgrader's config in each job
    budgets: dict = field(default_factory=dict)  # assignment -> (seconds, why): the job budget
    zygote_socket: str = ""  # the kernel zygote's (warm kernels); "" cold
    worker_socket: str = ""  # the worker zygote's (warm workers); "" cold

    def budget(self, assignment: str) -> tuple[float, str]:
        """(seconds, what they are) a job of ``assignment`` may take."""
        seconds, why = self.budgets.get(assignment, (self.job_timeout, ""))
        if seconds >= self.job_timeout:
            return float(self.job_timeout), f"the job limit (Autograder.job_timeout = {self.job_timeout} s)"
        return float(seconds), why


@dataclass(frozen=True)
class JobSpec:
    """What a grading worker is told (JSON on its stdin, or in the worker zygote's request)."""

    student: str
    assignment: str
    workdir: str
    result_path: str
    token: str
    notebooks: list
    incoming: dict  # notebook -> file (relative to workdir) the parent wrote
    invalid: dict  # notebook -> why it could not be read
    template_db_b64: str  # the assignment's template gradebook, copied into the job's folder
    release_dir: str
    helpers: dict
    course_root: str
    overrides: dict
    sandbox: bool
    max_extra_cells: int
    timestamp: str | None = None
    notes: list = field(default_factory=list)
    zygote_socket: str = ""
    exchange_dir: str = ""  # shared with the kernel: where it writes the tensors a judge asks for

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> JobSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown job spec field(s): {sorted(unknown)}")
        return cls(**data)


def worker_env(workdir: Path, threads: int | None, home: str | None = None) -> dict:
    """The grading worker's environment: the sandbox allow-list (:func:`autograder.policy.sandbox_env`), the
    packages on PYTHONPATH, real paths of the data and the hub cache, and ``threads`` per kernel."""
    from course import sources

    extra = {"PYTHONPATH": PACKAGE_PARENT, "PWD": str(workdir), "PYTHONUNBUFFERED": "1"}
    data = sources.data_dir()
    if data is not None:
        extra[sources.DATA_DIR_ENV] = os.path.realpath(data)
    env = sandbox_env(extra=extra, **({"home": home} if home else {}))
    env.setdefault("MPLBACKEND", "Agg")
    # OpenMP threads that wait by spinning burn CPU while the machine is busy: the CPU time a cell is billed
    # (autograder.execute counts it against the cell's limit) must be its work, whatever the load
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threads:  # N kernels at once must not each start one thread per core
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
            env.setdefault(var, "false" if var == "TOKENIZERS_PARALLELISM" else str(threads))
    return env


def start_zygote(scratch: Path, threads: int | None, mode: str = "kernel") -> Zygote | None:
    """The run's kernel (or worker) zygote, importing in the background (None where it cannot be had: warm
    kernels and workers need root, see :mod:`autograder.zygote`)."""
    if not available():
        return None
    if mode == "worker":  # trusted code, as root: forks each worker into its job's sandbox, as the job's uid
        return Zygote.for_workers(scratch, worker_env(scratch, threads), readonly=worker_readonly()).start()
    return Zygote.for_kernels(scratch, worker_env(scratch, threads)).start()


def zygote_socket(zygote: Zygote, progress: bool) -> str:
    """The zygote's socket once it is ready; "" (cold kernels) when it failed, with a warning."""
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


class LiveWorkers:
    """Worker processes currently running (to kill them on Ctrl-C: they run in their own session)."""

    def __init__(self):
        self.procs: set = set()
        self.lock = threading.Lock()

    def add(self, proc):
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
            processes.kill_tree(proc)


LIVE_WORKERS = LiveWorkers()


def job_outcome(job: Job, status: Status, reason: str, **extra) -> Outcome:
    """The outcome of a job that the grader ends itself (not graded, or graded again alone)."""
    return Outcome(job.student, job.assignment, status, reason, notes=list(job.notes), **extra)


def job_spec(job: Job, tpl: Template, settings: RunSettings, workdir: Path, result_path: Path,
             token: str) -> JobSpec:
    """What the worker is told: the job, its notebooks written into ``workdir/incoming`` (by this process, from
    the files handed in), where to write its result and with which token."""
    incoming, invalid = {}, {}
    (workdir / "incoming").mkdir()
    for k, (nb, src) in enumerate(sorted(job.notebooks.items())):
        try:
            data = src.read(settings.max_notebook_bytes)
        except (ValueError, OSError, EOFError) as e:
            invalid[nb] = f"{src.origin}: {e}"
            continue
        rel = f"incoming/{k}.ipynb"
        (workdir / rel).write_bytes(data)
        incoming[nb] = rel
    exchange = workdir / "exchange"
    exchange.mkdir()
    return JobSpec(
        student=job.student, assignment=job.assignment, workdir=str(workdir), result_path=str(result_path),
        token=token, notebooks=list(tpl.notebooks), incoming=incoming, invalid=invalid,
        template_db_b64=base64.b64encode(tpl.db_bytes).decode(), release_dir=str(tpl.release_dir),
        helpers=dict(tpl.helpers),
        course_root=str(settings.course_root), overrides=dict(settings.overrides), sandbox=settings.sandbox,
        max_extra_cells=settings.max_extra_cells, timestamp=job.timestamp, notes=list(job.notes),
        zygote_socket=settings.zygote_socket, exchange_dir=str(exchange),
    )  # fmt: skip


def worker_readonly(course_root: str | None = None) -> list[str]:
    """What every grading worker reads: the course and autograder packages, nbgrader_config.py (the course's and the
    kit's, which it may load), the course's judges/ (the hidden tests' code) and the course view's sources (Python,
    data, checkpoint, hub cache). The kernel's sandbox binds none of the judges (autograder.policy.kernel_policy)."""
    configs = [str(Path(PACKAGE_PARENT) / "nbgrader_config.py")]
    if course_root:
        configs.append(str(Path(course_root) / "nbgrader_config.py"))
        judges = Path(course_root) / JUDGES_FOLDER
        if (judges / "__init__.py").is_file():
            configs.append(str(judges))
    paths = [*grader_package_dirs(), *configs, *(b.source for b in CourseView.here().binds)]
    return [p for p in paths if p]


def worker_sandbox(spec: JobSpec, tpl: Template, settings: RunSettings, private: Path, uid: int | None,
                   env: dict) -> SandboxPolicy:
    """The job's worker sandbox: its folder and result folder writable; Python, the course and autograder packages,
    nbgrader_config.py, the template, the helper files and the course view's data read-only."""
    readonly = [*worker_readonly(settings.course_root), str(tpl.release_dir), *tpl.helpers.values()]
    writable = [str(private)] + ([settings.zygote_socket] if settings.zygote_socket else [])
    return worker_policy(spec.workdir, readonly=[p for p in readonly if p], writable=writable,
                         exchange=spec.exchange_dir, env=env, uid=uid)


class _Holder:
    """A worker sandbox built by bwrap around a placeholder, for a worker forked by the worker zygote."""

    def __init__(self, policy: SandboxPolicy, workdir: Path):
        self.proc = subprocess.Popen(bwrap_argv(policy, HOLDER_ARGV), cwd=workdir, env=_outer_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.holder = find_holder(self.proc.pid)

    def stop(self) -> None:
        processes.kill_tree(self.proc)


def _outer_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH") or os.defpath, "LANG": "C.UTF-8"}


def start_worker(spec: JobSpec, tpl: Template, settings: RunSettings, private: Path, log_path: Path, log):
    """The grading process of ``spec`` (output to ``log``, open on ``log_path``) in its worker sandbox: forked by
    the run's worker zygote (imports already done) into a sandbox bwrap built, or started in it. Returns
    (process, holder or None)."""
    workdir = Path(spec.workdir)
    if not settings.sandbox:  # trusted notebooks only (course grade --no-sandbox): as the grader's own user
        env = worker_env(workdir, settings.threads, home=str(workdir / ".home"))
        return LIVE_WORKERS.add(subprocess.Popen(
            WORKER_COMMAND, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env,
            start_new_session=True)), None
    uid = worker_uid() if os.geteuid() == 0 else None
    for path in (workdir, private):
        make_writable_for(str(path), uid)
    env = worker_env(workdir, settings.threads)
    policy = worker_sandbox(spec, tpl, settings, private, uid, env)
    if settings.worker_socket and uid is not None:
        holder = _Holder(policy, workdir)
        request = {"job": spec.to_json(), "cwd": spec.workdir, "log": str(log_path), "env": policy.environment,
                   "bwrap_pid": holder.proc.pid, "holder_pid": holder.holder, "uid": uid,
                   "limits": asdict(policy.limits)}
        try:
            pid = request_fork(settings.worker_socket, request)
        except ZygoteError:
            holder.stop()
            raise
        return LIVE_WORKERS.add(ForkedProcess(pid)), holder
    return LIVE_WORKERS.add(subprocess.Popen(
        bwrap_argv(policy, WORKER_COMMAND), stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
        cwd=workdir, env=_outer_env(), start_new_session=True)), None


def read_result(path: Path, token: str, limit: int) -> Outcome | None:
    """The worker's outcome from ``path``; None when there is none, it is not a plain file under ``limit`` bytes of
    valid JSON, or it lacks the job's token (forged)."""
    try:
        data = json.loads(read_regular(path, limit))
    except (UnsafeFile, ValueError, RecursionError):
        return None
    given = data.pop("token", None) if isinstance(data, dict) else None
    if not isinstance(given, str) or not secrets.compare_digest(given.encode(), token.encode()):
        return None
    try:
        return Outcome.from_json(data)
    except (ValueError, TypeError):
        return None


def take_files(job: Job, tpl: Template, workdir: Path, limit: int) -> tuple[dict[str, bytes], list[str]]:
    """The files a job hands back: ``<step>/<notebook>.ipynb`` of :data:`OUTPUT_STEPS` for the template's notebooks,
    each a regular file (never through a link) of at most ``limit`` bytes; returns (relative path -> bytes, why each
    expected file that exists was not taken)."""
    files, refused = {}, []
    for step in OUTPUT_STEPS:
        for nb in tpl.notebooks:
            path = workdir / step / job.student / job.assignment / f"{nb}.ipynb"
            if not os.path.lexists(path):
                continue
            try:
                files[f"{step}/{nb}.ipynb"] = read_regular(path, limit)
            except UnsafeFile as e:
                refused.append(f"{step}/{nb}.ipynb not taken: {str(e).split(': ', 1)[-1]}")
    return files, refused


def run_job(job: Job, tpl: Template, settings: RunSettings, scratch: Path,
            keep_workdir: bool = False) -> tuple[Outcome, dict[str, bytes]]:
    """Grade one job in a fresh folder; returns (outcome, the files it hands back: see :func:`take_files`)."""
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ag-job-"))
    private = Path(tempfile.mkdtemp(prefix="res-", dir=scratch))  # not reachable from workdir
    token = secrets.token_hex(16)
    spec = job_spec(job, tpl, settings, workdir, private / "result.json", token)
    log_path = private / "worker.log"
    budget, why = settings.budget(job.assignment)
    proc, holder, files = None, None, {}
    try:
        with open(log_path, "wb") as log:
            proc, holder = start_worker(spec, tpl, settings, private, log_path, log)
            started = round(time.monotonic() - t0, 3)  # the job's folder, the worker's sandbox and its start
            root = processes.handle(proc.pid)
            try:
                stdin = None if isinstance(proc, ForkedProcess) else json.dumps(spec.to_json()).encode()
                proc.communicate(stdin, timeout=budget)
            except subprocess.TimeoutExpired:
                LIVE_WORKERS.discard(proc)
                processes.kill_tree(proc, root)
                outcome = job_outcome(job, Status.TIMEOUT, f"stopped after {budget:.0f} s, {why}; not graded")
                outcome.seconds = round(time.monotonic() - t0, 2)
                before = read_result(private / "result.json.partial", token, settings.max_result_bytes)
                if before is not None:  # what the worker found before the kernel ran: repairs, suspicious code
                    outcome.notes += before.notes[len(job.notes):]
                    outcome.suspicious = before.suspicious
                return outcome, {}
            finally:
                LIVE_WORKERS.discard(proc)
                processes.kill(processes.descendants(root))  # a kernel or daemon left behind
                if holder is not None:
                    holder.stop()
        outcome = read_result(private / "result.json", token, settings.max_result_bytes)
        if outcome is None:
            try:
                tail = read_regular(log_path, 10**7)[-2000:].decode(errors="replace")
            except UnsafeFile:
                tail = ""
            ended = "" if isinstance(proc, ForkedProcess) else f" (exit code {proc.returncode})"
            outcome = job_outcome(job, Status.ERROR, f"grader process ended without a result{ended}", log=tail)
        else:
            files, refused = take_files(job, tpl, workdir, settings.max_graded_notebook_bytes)
            outcome.notes += refused
        # the result belongs to the job that was launched, whatever it says
        outcome.student, outcome.assignment = job.student, job.assignment
        outcome.phases["start_worker"] = started
        outcome.seconds = round(time.monotonic() - t0, 2)
        if keep_workdir:  # kept for a person to look at (course grade --keep-workdirs)
            outcome.workdir = str(workdir)
        return outcome, files
    finally:
        if not keep_workdir:
            remove_tree(workdir)
        remove_tree(private)


_ENGINE_ZYGOTES: dict[tuple, dict[str, str]] = {}  # in an engine's worker process: its zygotes' sockets
_ENGINE_ZYGOTES_LOCK = threading.Lock()


def engine_zygotes(settings: RunSettings) -> dict[str, str]:
    """The sockets of this process's own kernel and worker zygotes (warm kernels on an engine's worker), started
    by the first job that runs here and kept for the next ones; they end when this process does. ``{}`` (cold)
    without a sandbox or where a zygote cannot be had."""
    if not settings.sandbox or not settings.warm_kernels:
        return {}
    key = (settings.threads, os.getpid())
    with _ENGINE_ZYGOTES_LOCK:
        if key not in _ENGINE_ZYGOTES:
            scratch = Path(tempfile.mkdtemp(prefix="ag-engine-zygotes-"))
            kernel, worker = start_zygote(scratch, settings.threads), start_zygote(scratch, settings.threads, "worker")
            _ENGINE_ZYGOTES[key] = {"zygote_socket": zygote_socket(kernel, False) if kernel else "",
                                    "worker_socket": zygote_socket(worker, False) if worker else ""}
            atexit.register(lambda: [z.stop() for z in (kernel, worker) if z is not None])
        return _ENGINE_ZYGOTES[key]


def run_job_remote(job: Job, tpl: Template, settings: RunSettings) -> tuple[Outcome, dict[str, bytes]]:
    """:func:`run_job` on an engine's worker (another process, perhaps another machine): a scratch folder of its
    own and warm kernels from the worker process's own zygotes (:func:`engine_zygotes`). What the job hands back
    is plain bytes, so no folder has to be shared; the parent stays the only writer of the gradebook."""
    settings = replace(settings, zygote_socket="", worker_socket="")
    settings = replace(settings, **engine_zygotes(settings))
    # inside the zygotes' folder: the worker zygote sees its jobs' result and log folders there
    here = os.path.dirname(settings.worker_socket) or None
    scratch = Path(tempfile.mkdtemp(prefix="ag-engine-", dir=here))
    try:
        return run_job(job, tpl, settings, scratch)
    finally:
        remove_tree(scratch)


class Engine:
    """Where the jobs run: ``slots`` jobs at a time, each submitted with :meth:`submit` (a future of
    (outcome, files)); :func:`make_engine` picks one."""

    slots: int = 1

    def submit(self, job: Job, tpl: Template, settings: RunSettings, scratch: Path, keep_workdir: bool = False):
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ThreadEngine(Engine):
    """Threads of this process, each driving one grading process (the default)."""

    def __init__(self, jobs: int):
        self.executor, self.slots = ThreadPoolExecutor(max_workers=jobs), jobs

    def submit(self, job, tpl, settings, scratch, keep_workdir=False):
        return self.executor.submit(run_job, job, tpl, settings, scratch, keep_workdir)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class DaskEngine(Engine):
    """A Dask cluster: a local one of ``jobs`` workers (``address`` None), or the scheduler at ``address``, whose
    workers must see the course, the submissions and the output folder at the same paths (a shared file system)."""

    def __init__(self, jobs: int, address: str | None = None):
        try:  # optional, and slow to import: only for an engine
            from distributed import Client, LocalCluster
        except ImportError as e:
            raise ValueError(f"--engine dask needs Dask: pip install distributed ({e})") from None
        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None, memory_limit=0)
            self.client = Client(self.cluster)
        else:
            self.client = Client(address, timeout=30)
        self.executor = self.client.get_executor(pure=False)
        self.slots = jobs if self.cluster else max(jobs, sum(self.client.nthreads().values()))

    def submit(self, job, tpl, settings, scratch, keep_workdir=False):
        return self.executor.submit(run_job_remote, job, tpl, settings)

    def close(self) -> None:
        self.executor.shutdown(wait=False)  # cancels what has not finished (Ctrl-C)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_engine(engine: str | None, jobs: int) -> Engine:
    """``None``: threads; ``"dask"``: a local Dask cluster of ``jobs`` workers; ``"tcp://host:8786"``: a running one."""
    if engine is None:
        return ThreadEngine(jobs)
    if engine == "dask":
        return DaskEngine(jobs)
    if "://" in engine:
        return DaskEngine(jobs, engine)
    raise ValueError(f"--engine must be 'dask' or a Dask scheduler address (tcp://host:8786), not {engine!r}")


__all__ = ["Engine", "make_engine", "JobSpec", "Limits", "RunSettings", "run_job", "start_zygote", "take_files"]
