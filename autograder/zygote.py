"""Warm sandboxed kernels: a *zygote* that has imported the course's heavy libraries forks each grading kernel.

A cold grading kernel pays for a Python start and for importing torch, transformers, datasets, evaluate,
IPython and the course again (several seconds per submission) before any student code runs. The zygote pays
them once per ``course grade`` run; every kernel is a fresh ``fork()`` of it, placed into the namespaces of its
own bubblewrap sandbox. The sandbox is the same one a cold kernel gets, and bubblewrap still builds it:

1. the kernel manager (:class:`autograder.sandbox.AsyncSandboxedKernelManager` with ``zygote_socket`` set)
   starts bwrap exactly as for a cold kernel, with ``sleep infinity`` (run as the kernel's dedicated uid) in
   place of the kernel command: that builds the job's private PID, network, IPC, UTS, cgroup and mount
   namespaces, its read-only system view, its writable notebook folder and its private ``/tmp``;
2. it asks the zygote (a unix socket in the grading run's private scratch folder, which no sandbox can see)
   for a kernel in the namespaces of that ``sleep``;
3. the zygote forks a *keeper*, which forks a *watcher* (that stays outside), joins those namespaces
   (``setns``) and forks, inside the job's PID namespace, a short-lived process that forks the *kernel* and
   exits, so the kernel is adopted by the sandbox's init, exactly as a cold kernel is its child. The kernel
   closes every inherited file descriptor, applies the same resource limits, drops to the same dedicated uid
   (no capabilities, ``no_new_privs``), clears its environment to the sandbox's, re-seeds its random
   generators and starts ipykernel with the job's connection file;
4. when the kernel ends, the watcher (holding pidfds of the kernel and of bwrap) kills bwrap, so the manager
   notices a dead kernel at once; when the manager kills bwrap, the PID namespace ends and the kernel with it.

No state passes between submissions: the zygote never runs student code, so every kernel starts from the
same clean, freshly imported state (a fork is a copy; nothing a kernel changes reaches the zygote or another
kernel), and files, processes and sockets are per sandbox as before. The zygote keeps nothing secret (it has
imported libraries only, with the sandbox's environment), so a kernel that reads its own memory learns nothing.
It needs root, as the sandbox's dedicated uids do (``setns`` into namespaces that root created); otherwise
kernels start cold. ``course grade --cold-kernels`` also starts them cold.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import random
import resource
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import processes

# What a grading kernel imports anyway; imported once, in the zygote. Missing ones are skipped.
WARM_IMPORTS = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython", "IPython.core.interactiveshell",
    "matplotlib_inline.backend_inline", "numpy", "pandas", "pyarrow", "torch", "torch.utils.data",
    "transformers", "datasets", "evaluate", "sklearn.metrics", "accelerate", "tqdm.auto", "ipywidgets",
    "matplotlib.pyplot", "safetensors.torch", "course", "course.grading", "course.widgets", "course.training",
)  # fmt: skip
# What a grading worker (trusted: nbgrader, the judges) imports anyway; imported once, in the worker zygote.
WORKER_IMPORTS = (
    "nbformat", "nbclient", "nbgrader.api", "nbgrader.converters", "nbgrader.preprocessors", "jupyter_client",
    "autograder.worker", "autograder.judge", "autograder.execute", "autograder.sandbox", "autograder.repair",
    "autograder.review", "autograder.zygote", "numpy", "torch", "transformers", "datasets", "evaluate",
    "sklearn.metrics", "safetensors.torch", "course", "course.grading", "course.data", "course.checks",
)  # fmt: skip
# transformers resolves these lazily on first use: resolve them here.
WARM_ATTRIBUTES = {
    "transformers": (
        "AutoTokenizer", "AutoModelForSequenceClassification", "AutoConfig", "DataCollatorWithPadding",
        "Trainer", "TrainingArguments", "get_scheduler", "get_linear_schedule_with_warmup",
        "BertForSequenceClassification", "BertTokenizerFast",
    ),
}  # fmt: skip

_NS = {"user": 0x10000000, "cgroup": 0x02000000, "ipc": 0x08000000, "uts": 0x04000000, "net": 0x40000000,
       "pid": 0x20000000, "mnt": 0x00020000}  # fmt: skip
_PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER = 38, 36
HOLDER_ARGV = ["sleep", "infinity"]  # what bwrap runs while a zygote kernel lives in its namespaces
# What a zygote process runs, per mode. A worker zygote serves autograder.worker.run_spec, with the optional
# rfc3987_syntax blocked before anything imports nbgrader (see autograder.jobs.WORKER_COMMAND).
ZYGOTE_MAIN = {
    "kernel": "import sys; from autograder.zygote import serve; serve(sys.argv[1])",
    "worker": "import sys; sys.modules['rfc3987_syntax'] = None; from autograder.worker import serve_zygote; "
              "serve_zygote(sys.argv[1])",
}


ORPHAN_CHECK_SECONDS = 2.0  # how often an idle zygote checks that the process that started it still runs


class ZygoteError(RuntimeError):
    """The zygote could not be started or did not answer."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def available() -> bool:
    """Warm kernels need root (see the module docstring) and Linux namespaces."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and os.path.exists("/proc/self/ns/mnt")


# ---------------------------------------------------------------------------------------------- the zygote
def warm_up(log=None, imports=WARM_IMPORTS) -> float:
    """Import ``imports`` (and resolve :data:`WARM_ATTRIBUTES`); returns the seconds it took."""
    start = time.perf_counter()
    for name in imports:
        try:
            module = importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - an optional library: the kernel imports it itself if it can
            if log:
                log(f"zygote: not preloaded {name}: {type(e).__name__}: {e}")
            continue
        for attr in WARM_ATTRIBUTES.get(name, ()):
            with contextlib.suppress(Exception):
                getattr(module, attr)
    if "matplotlib.pyplot" in sys.modules:  # builds matplotlib's font list once (otherwise ~1 s per kernel)
        with contextlib.suppress(Exception):
            import matplotlib.font_manager  # noqa: F401
    return time.perf_counter() - start


def serve(socket_path: str, mode: str = "kernel", run_job=None) -> None:
    """The zygote's loop: one JSON request per connection, answered with the forked process's pid (or an error).

    ``mode`` "kernel": forks sandboxed kernels (:func:`_keeper`); "worker": forks grading workers
    (:func:`_worker`) that call ``run_job(job)`` (``autograder.worker.run_spec``), trusted code that runs outside
    any sandbox, in the host's view of the files."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    # kernel zygote: grading workers (each a uid of its own) connect; only their sandboxes see the socket (its folder
    # is the run's private scratch), and each may only have kernels forked into sandboxes of its own uid
    os.chmod(socket_path, 0o666 if mode == "kernel" else 0o600)
    server.listen(64)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if mode == "kernel":
        seconds = warm_up(log=log)
    else:
        seconds = warm_up(log=log, imports=WORKER_IMPORTS) + _warm_judges(log, os.path.dirname(socket_path))
    threads = len(os.listdir("/proc/self/task"))
    print(json.dumps({"ready": True, "seconds": round(seconds, 2), "threads": threads}), flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers (and their watchers, adopted) are reaped at once
    _check(_libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(CHILD_SUBREAPER)")
    parent = os.getppid()
    server.settimeout(ORPHAN_CHECK_SECONDS)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # whoever started it is gone (killed, or an engine's worker that ended)
                return
            continue
        with conn:
            try:
                request = json.loads(_read_line(conn))
                peer = _peer_uid(conn)
                request = _validated(request, peer) if mode == "kernel" else _validated_job(request, peer)
                pid = os.fork()
                if pid == 0:  # the keeper, or the worker
                    server.close()
                    conn.close()
                    _keeper(request) if mode == "kernel" else _worker(request, run_job)  # never return
                reply = {"ok": True, "keeper": pid}
            except Exception as e:  # noqa: BLE001 - a bad request fails alone
                reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")


def _peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of ``conn`` (``SO_PEERCRED``)."""
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def _owner(pid: int) -> int:
    """The real uid of process ``pid``."""
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line for line in fh if line.startswith("Uid:")).split()[1])


def _validated(request, peer: int) -> dict:
    """The request, if it is well formed: a kernel never runs as root or without its limits, and a grading worker
    (any peer but root) only gets kernels in sandboxes of its own uid, as that uid."""

    def ok(cond, what):
        if not cond:
            raise ValueError(f"bad request: {what}")

    ok(isinstance(request, dict), "not an object")
    for key in ("bwrap_pid", "holder_pid", "uid"):
        ok(type(request.get(key)) is int and request[key] > 1, f"{key} must be an integer > 1 (never root)")
    if peer != 0:
        ok(request["uid"] == peer, "a kernel runs as the uid that asks for it")
        for key in ("bwrap_pid", "holder_pid"):
            ok(_owner(request[key]) == peer, f"{key} is not a process of the uid that asks")
    ok(isinstance(request.get("cwd"), str) and os.path.isabs(request["cwd"]), "cwd must be an absolute path")
    env, args, limits = request.get("env"), request.get("kernel_args"), request.get("limits")
    ok(isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()), "env")
    ok(isinstance(args, list) and all(isinstance(a, str) for a in args), "kernel_args")
    ok(isinstance(limits, dict) and type(limits.get("memory_bytes")) is int, "limits.memory_bytes")
    return request


def _validated_job(request, peer: int) -> dict:
    ok = (
        peer == 0
        and isinstance(request, dict)
        and isinstance(request.get("job"), dict)
        and all(isinstance(request.get(k), str) and os.path.isabs(request[k]) for k in ("cwd", "log"))
        and isinstance(request.get("env"), dict)
        and all(type(request.get(k)) is int and request[k] > 1 for k in ("bwrap_pid", "holder_pid", "uid"))
        and isinstance(request.get("limits"), dict)
    )
    if not ok:
        raise ValueError("bad request: a worker needs job, env, absolute cwd and log, its sandbox and uid")
    return request


def _warm_judges(log, scratch: str) -> float:
    """Load what judges load in every submission (the reference tokenizer, the course's data sets), so that each
    forked worker has them already (``course.grading`` caches them per process). Writes only in ``scratch``, the
    run's folder (removed with it)."""
    start = time.perf_counter()
    try:  # imported here, inside the try: when this fails, a judge loads what it needs itself
        import course
        from course import grading

        run = course.start(quiet=True, output_dir=tempfile.mkdtemp(prefix="zygote-run-", dir=scratch))
        grading.reference_tokenizer(run.checkpoint)
        for path, config in ((run.dataset("nyu-mll/glue"), "mrpc"), (run.dataset("nyu-mll/glue"), "sst2")):
            grading.reference_dataset(path, config)
    except Exception as e:  # noqa: BLE001 - a judge loads what it needs itself
        log(f"zygote: judges not pre-warmed: {type(e).__name__}: {e}")
    return time.perf_counter() - start


def _worker(request: dict, run_job) -> None:
    """A grading worker, ``run_job(request["job"])``, in its own session, inside the job's worker sandbox (whose
    namespaces bwrap made around a placeholder) as the job's uid. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        bwrap = os.pidfd_open(int(request["bwrap_pid"]))
        me = os.pidfd_open(os.getpid())
        if os.fork() == 0:  # the watcher: when the worker ends, its sandbox ends too
            try:
                select.select([me, bwrap], [], [])
            finally:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(bwrap, signal.SIGKILL)
                os._exit(0)
        os.close(me)
        os.close(bwrap)
        _join(int(request["holder_pid"]), ("net", "ipc", "uts", "cgroup"))
        os.closerange(3, 65536)
        _drop_to(int(request["uid"]), request["limits"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        _reseed()
        code = run_job(request["job"])
    except BaseException:  # noqa: BLE001 - the parent sees no result and says so
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _join(holder: int, names: tuple[str, ...]) -> None:
    """Join the namespaces ``names`` of process ``holder``, then its mount namespace (last: after it, /proc/<holder>
    may be out of sight), then its user namespace if it has one of its own (a sandbox made without root)."""
    libc = _libc()
    fds = {name: os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY) for name in (*names, "mnt", "user")}
    own_user = os.stat("/proc/self/ns/user").st_ino != os.fstat(fds["user"]).st_ino
    try:
        for name in names:
            _check(libc.setns(fds[name], _NS[name]), f"setns({name})")
        _check(libc.setns(fds["mnt"], _NS["mnt"]), "setns(mnt)")
        if own_user:
            os.setgroups([])  # not allowed any more inside the user namespace
            _check(libc.setns(fds["user"], _NS["user"]), "setns(user)")
    finally:
        for fd in fds.values():
            os.close(fd)


def _drop_to(uid: int, limits: dict) -> None:
    """Resource limits, then from root to ``uid`` (every capability gone, no new privileges)."""
    for name, value in (
        ("RLIMIT_AS", limits.get("memory_bytes")),
        ("RLIMIT_FSIZE", limits.get("max_file_bytes")),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", limits.get("max_processes")),
    ):
        if value is not None:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))
    with contextlib.suppress(PermissionError):  # inside a user namespace: already done before joining it
        os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def _read_line(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return data


def _keeper(request: dict) -> None:
    """Fork the kernel into the sandbox's namespaces and leave it there. Never returns.

    The kernel must look exactly like a cold one, a child of the sandbox's init (PID 1): it is forked by an
    *intermediate* process inside the sandbox's PID namespace that exits at once, so the sandbox's init adopts
    it. Before that, the intermediate hands a pidfd of the kernel to a *watcher* (forked first, so it stays
    outside the sandbox), which ends the sandbox when the kernel ends: the manager notices a dead kernel at once.
    """
    try:
        bwrap = os.pidfd_open(int(request["bwrap_pid"]))
        holder = int(request["holder_pid"])
        watcher_end, inside_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.fork() == 0:  # the watcher
            inside_end.close()
            _watch(bwrap, watcher_end)  # never returns
        watcher_end.close()
        _join(holder, ("cgroup", "ipc", "uts", "net", "pid"))
        intermediate = os.fork()  # the first process of ours inside the sandbox's PID namespace
        if intermediate == 0:
            try:
                kernel = os.fork()
                if kernel == 0:
                    os.close(bwrap)
                    inside_end.close()
                    _become_kernel(request)  # never returns
                pidfd = os.pidfd_open(kernel)  # our child: it cannot be reaped, so this is the kernel
                socket.send_fds(inside_end, [b"k"], [pidfd])
                inside_end.recv(1)  # the watcher holds it: the kernel may now be adopted by the sandbox's init
            finally:
                os._exit(0)
        os.waitpid(intermediate, 0)
    finally:
        os._exit(0)


def _watch(bwrap: int, channel: socket.socket) -> None:
    """Outside the sandbox: wait for the kernel (or the sandbox) to end, then end the sandbox. Never returns."""
    try:
        _, fds, _, _ = socket.recv_fds(channel, 1, 1)
        channel.sendall(b"k")
        select.select([fds[0], bwrap] if fds else [bwrap], [], [])
    except BaseException:  # noqa: BLE001 - whatever happened, the sandbox must not outlive its kernel
        pass
    finally:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(bwrap, signal.SIGKILL)
        os._exit(0)


def _become_kernel(request: dict) -> None:
    """In the job's PID namespace: limits, uid, environment, then ipykernel. Never returns."""
    try:
        deadline = time.monotonic() + 10
        while os.getppid() != 1 and time.monotonic() < deadline:  # adopted by the sandbox's init, as a cold kernel
            time.sleep(0.001)
        os.setsid()
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)  # nothing of the zygote's (its socket, pipes, files) stays open
        os.chdir(request["cwd"])
        _drop_to(int(request["uid"]), request["limits"])  # from root to a plain uid: every capability is gone
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(0o022)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        _reseed()
        sys.argv = ["ipykernel_launcher", *request["kernel_args"]]
        sys.path[0:0] = [""] if sys.path and sys.path[0] != "" else []
        from ipykernel import kernelapp  # preloaded by the kernel zygote; not for the grader's processes

        kernelapp.launch_new_instance(argv=list(request["kernel_args"]))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - a kernel that cannot start simply ends (the manager sees it die)
        code = 1
    os._exit(code)


def _reseed() -> None:
    """Random state is copied by fork: give this kernel its own, as a fresh interpreter would have."""
    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        with contextlib.suppress(Exception):
            np.random.seed()


# ---------------------------------------------------------------------------------------------- the client
class ForkedProcess:
    """A process forked by a zygote (not our child), with what :mod:`autograder.jobs` uses of ``Popen``."""

    def __init__(self, pid: int):
        self.pid = pid
        self._pidfd = os.pidfd_open(pid)
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            os.close(self._pidfd)
            self.returncode = 0  # the zygote reaps it: its exit status is not known here (its result file is)
        return self.returncode

    def communicate(self, input=None, timeout: float | None = None):  # noqa: A002 - Popen's signature
        self.wait(timeout)
        return None, None

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)


class Zygote:
    """The grading run's zygote process (started by :func:`autograder.jobs.start_zygote`); a context manager.

    ``policy``: the sandbox the zygote itself runs in (a kernel zygote: :func:`autograder.policy.zygote_policy`,
    the course view at neutral paths), started with ``python`` (the interpreter's path in that view)."""

    def __init__(self, scratch: Path, env: dict[str, str], mode: str = "kernel", policy=None,
                 python: str | None = None):
        self.socket_path = str(scratch / f"zygote-{mode}.sock")
        self.env = env
        self.mode = mode
        self.policy = policy
        self.python = python or sys.executable
        self.proc: subprocess.Popen | None = None
        self.ready: dict | None = None

    @classmethod
    def for_kernels(cls, scratch: Path, env: dict[str, str]) -> Zygote:
        """A kernel zygote in the course view of :mod:`autograder.policy` (neutral paths), with ``env`` filtered as
        a sandbox's: exactly the view and environment a sandboxed kernel gets (libraries read them when imported)."""
        from .policy import CourseView, package_dir, sandbox_env, zygote_policy

        view = CourseView.here()
        policy = zygote_policy(view, str(scratch), grader_dir=package_dir("autograder"),
                               env=sandbox_env(env, extra=view.env))
        return cls(scratch, policy.environment, policy=policy, python=view.python)

    @classmethod
    def for_workers(cls, scratch: Path, env: dict[str, str], readonly: list[str]) -> Zygote:
        """A worker zygote in the view of :func:`autograder.policy.worker_zygote_policy`, with the environment its
        workers get (``env``), so that the caches libraries note at import time are those of a worker's sandbox."""
        from .policy import CourseView, worker_zygote_policy

        policy = worker_zygote_policy(CourseView.here(), str(scratch), readonly=readonly, env=env)
        return cls(scratch, policy.environment, mode="worker", policy=policy)

    def start(self) -> Zygote:
        argv = [self.python, "-c", ZYGOTE_MAIN[self.mode], self.socket_path]
        env = self.env
        if self.policy is not None:
            from .policy import bwrap_argv

            argv = bwrap_argv(self.policy, argv)
            env = {"PATH": os.environ.get("PATH") or os.defpath, "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True, cwd="/",
        )  # fmt: skip
        return self

    def wait_ready(self, timeout: float = 300) -> dict:
        """Block until the zygote has imported everything; returns its ready message."""
        if self.ready is None:
            assert self.proc is not None and self.proc.stdout is not None
            with selectors.DefaultSelector() as sel:
                sel.register(self.proc.stdout, selectors.EVENT_READ)
                if not sel.select(timeout):
                    raise ZygoteError(f"the kernel zygote was not ready within {timeout} s")
            line = self.proc.stdout.readline()
            if not line:
                raise ZygoteError(f"the kernel zygote ended before it was ready (exit code {self.proc.wait()})")
            self.ready = json.loads(line)
        return self.ready

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)

    def __enter__(self) -> Zygote:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def request_fork(socket_path: str, request: dict, timeout: float = 30) -> int:
    """Ask the zygote at ``socket_path`` for a kernel (see :func:`_keeper`) or a worker (:func:`_worker`); returns
    the pid of the process it forked."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(socket_path)
            conn.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(_read_line(conn) or b"{}")
        except (OSError, ValueError) as e:
            raise ZygoteError(f"the kernel zygote did not answer: {e}") from e
    if not reply.get("ok"):
        raise ZygoteError(f"the kernel zygote refused: {reply.get('error', 'no answer')}")
    return int(reply["keeper"])


def find_holder(bwrap_pid: int, timeout: float = 30) -> int:
    """The pid of ``sleep`` (:data:`HOLDER_ARGV`) inside bwrap's sandbox, once bwrap has finished building it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = processes.find_descendant(bwrap_pid, HOLDER_ARGV[0])
        if holder is not None:
            return holder
        if not processes.is_running(bwrap_pid):
            break
        time.sleep(0.005)
    raise ZygoteError("the sandbox did not come up (no holder process)")
