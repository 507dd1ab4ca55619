"""Running one job (a student's submission of one assignment) in a grading process of its own.

:func:`run_job` starts the worker (:mod:`autograder.worker`, a new session) in a fresh work directory,
hands it the job on stdin, kills its whole process tree when it takes longer than ``job_timeout``, and reads
its outcome from a file outside the work directory, accepted only with the random token the worker was
given (the kernel never sees it). :class:`Engine` runs jobs on threads of this process or on a Dask cluster.
"""

from __future__ import annotations

import atexit
import base64
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import processes
from .collect import Job
from .outcome import Outcome, Status
from .sandbox import kernel_extra_env, sandbox_env
from .templates import Template
from .zygote import ForkedProcess, Zygote, ZygoteError, available, request_fork

SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH", re.IGNORECASE)
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)

# How a grading worker starts: ``autograder.worker.main()`` with the optional ``rfc3987_syntax`` blocked.
# jsonschema imports it when it is installed (jupyter-events asks for it) and it builds a grammar at import
# time: 0.9 of the 1.9 s it takes to import nbgrader here. Nothing the worker validates uses IRI formats.
WORKER_COMMAND = [
    sys.executable,
    "-c",
    "import sys; sys.modules['rfc3987_syntax'] = None; from autograder.worker import main; sys.exit(main())",
]


def worker_env(workdir: Path, threads: int | None = None) -> dict:
    """The grading process's environment: the grader's, without secrets, with ``threads`` per kernel."""
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


def start_zygote(scratch: Path, settings: dict, mode: str = "kernel") -> Zygote | None:
    """The run's kernel (or worker) zygote, importing in the background (None where it cannot be had)."""
    if mode == "worker":  # trusted code, as the grader's user: the environment of a worker process
        return Zygote(scratch, worker_env(scratch, settings.get("threads")), mode="worker").start()
    if not available():
        return None
    # exactly the environment a sandboxed kernel gets: libraries read it when they are imported
    env = sandbox_env(worker_env(scratch, settings.get("threads")), extra=kernel_extra_env())
    env["PYTHONPATH"] = PACKAGE_PARENT
    return Zygote(scratch, env).start()


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


def job_spec(job: Job, tpl: Template, settings: dict, workdir: Path, result_path: Path, token: str) -> dict:
    """What the worker is told (on stdin): the job, its notebooks copied into ``workdir/incoming``, where to
    write its result and with which token."""
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
    return {
        "student": job.student,
        "assignment": job.assignment,
        "workdir": str(workdir),
        "result_path": str(result_path),
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


def start_worker(spec: dict, settings: dict, workdir: Path, log_path: Path, log):
    """The grading process of ``spec``, its output to ``log`` (open on ``log_path``): forked by the run's worker
    zygote (imports already done), or started."""
    env = worker_env(workdir, settings.get("threads"))
    if settings.get("worker_socket"):
        request = {"job": spec, "cwd": str(workdir), "log": str(log_path), "env": env}
        pid = request_fork(settings["worker_socket"], request)
        return LIVE_WORKERS.add(ForkedProcess(pid))
    return LIVE_WORKERS.add(subprocess.Popen(
        WORKER_COMMAND, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env,
        start_new_session=True,
    ))


def read_result(path: Path, token: str) -> Outcome | None:
    """The worker's outcome from ``path``; None when there is none, or it lacks the job's token (forged)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    given = data.pop("token", None) if isinstance(data, dict) else None
    if not isinstance(given, str) or not secrets.compare_digest(given.encode(), token.encode()):
        return None
    try:
        return Outcome.from_json(data)
    except (ValueError, TypeError):
        return None


def run_job(job: Job, tpl: Template, settings: dict, scratch: Path) -> tuple[Outcome, Path]:
    """Grade one job in a fresh work directory; returns (outcome, workdir)."""
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ag-job-"))
    private = Path(tempfile.mkdtemp(prefix="res-", dir=scratch))  # not reachable from workdir
    token = secrets.token_hex(16)
    spec = job_spec(job, tpl, settings, workdir, private / "result.json", token)
    log_path = private / "worker.log"
    try:
        with open(log_path, "wb") as log:
            proc = start_worker(spec, settings, workdir, log_path, log)
            root = processes.handle(proc.pid)
            try:
                proc.communicate(None if settings.get("worker_socket") else json.dumps(spec).encode(),
                                 timeout=settings["job_timeout"])
            except subprocess.TimeoutExpired:
                LIVE_WORKERS.discard(proc)
                processes.kill_tree(proc, root)
                outcome = job_outcome(job, Status.TIMEOUT, f"grading took longer than {settings['job_timeout']} s; "
                                      "killed")
                outcome.seconds = round(time.monotonic() - t0, 2)
                return outcome, workdir
            finally:
                LIVE_WORKERS.discard(proc)
                processes.kill(processes.descendants(root))  # a kernel or daemon left behind
        outcome = read_result(private / "result.json", token)
        if outcome is None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            ended = "" if settings.get("worker_socket") else f" (exit code {proc.returncode})"
            outcome = job_outcome(job, Status.ERROR, f"grader process ended without a result{ended}", log=tail)
        # the result belongs to the job that was launched, whatever it says
        outcome.student, outcome.assignment = job.student, job.assignment
        outcome.seconds = round(time.monotonic() - t0, 2)
        return outcome, workdir
    finally:
        shutil.rmtree(private, ignore_errors=True)


_ENGINE_ZYGOTES: dict[tuple, dict[str, str]] = {}  # in an engine's worker process: its zygotes' sockets
_ENGINE_ZYGOTES_LOCK = threading.Lock()


def engine_zygotes(settings: dict) -> dict[str, str]:
    """The sockets of this process's own kernel and worker zygotes (warm kernels on an engine's worker), started
    by the first job that runs here and kept for the next ones; they end when this process does. ``{}`` (cold)
    without a sandbox or where a zygote cannot be had."""
    if not settings.get("sandbox") or not settings.get("warm_kernels"):
        return {}
    key = (settings.get("threads"), os.getpid())
    with _ENGINE_ZYGOTES_LOCK:
        if key not in _ENGINE_ZYGOTES:
            scratch = Path(tempfile.mkdtemp(prefix="ag-engine-zygotes-"))
            kernel, worker = start_zygote(scratch, settings), start_zygote(scratch, settings, mode="worker")
            _ENGINE_ZYGOTES[key] = {"zygote_socket": zygote_socket(kernel, False) if kernel else "",
                                    "worker_socket": zygote_socket(worker, False)}
            atexit.register(lambda: [z.stop() for z in (kernel, worker) if z is not None])
        return _ENGINE_ZYGOTES[key]


def run_job_packed(job: Job, tpl: Template, settings: dict) -> tuple[Outcome, bytes]:
    """:func:`run_job` on an engine's worker (another process, perhaps another machine): a scratch folder of its
    own, warm kernels from the worker process's own zygotes (:func:`engine_zygotes`), and the job's outputs sent
    back packed (a gzipped tar), so that no work directory has to be shared. The parent unpacks them
    (:func:`unpack_outputs`) and stays the only writer of the gradebook."""
    settings = {**settings, "zygote_socket": "", "worker_socket": "", **engine_zygotes(settings)}
    scratch = Path(tempfile.mkdtemp(prefix="ag-engine-"))
    try:
        outcome, workdir = run_job(job, tpl, settings, scratch)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for step in ("autograded", "feedback", "submitted"):
                src = workdir / step / job.student / job.assignment
                if src.is_dir():
                    tar.add(src, arcname=f"{step}/{job.student}/{job.assignment}")
        remove_tree(workdir)
        return outcome, buffer.getvalue()
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


def remove_tree(path: Path) -> None:
    """Remove a job's folder, whatever permissions its kernel left on it."""
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
        try:  # optional, and slow to import: only for an engine
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

    def outcome(self, future) -> tuple[Outcome, Path]:
        if self.client is None:
            return future.result()
        outcome, packed = future.result()
        return outcome, unpack_outputs(packed)

    def close(self) -> None:
        if self.client is None:
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=False)  # cancels what has not finished (Ctrl-C)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
