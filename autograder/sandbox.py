"""Run untrusted code (a student's grading kernel) inside a bubblewrap sandbox.

What the sandboxed process gets, and how (see :func:`bwrap_argv`):

* **Processes**: its own PID namespace (``--unshare-pid``): it sees only its own processes in ``/proc``
  and cannot signal anything outside.  bwrap's init is PID 1; when the sandboxed command ends, or bwrap
  is killed (``--die-with-parent``: also when the process that started bwrap dies), the namespace is
  torn down and every process in it (daemons, ``setsid`` double forks included) is killed.
* **Network**: its own network namespace (``--unshare-net``) with only a loopback of its own, so no
  TCP/UDP to the host or anywhere.  A kernel talks to its client over ZMQ *ipc* (unix sockets) in a
  private directory bound into the sandbox.
* **Files**: a fresh root with read-only binds of the system (``/usr`` and the merged-usr links,
  selected ``/etc`` files), the Python installation (``sys.base_prefix`` and ``sys.prefix``) and the
  ``readonly`` paths; read-write binds of the working directory and the ``writable`` paths; private,
  size-limited tmpfs on ``/tmp`` (holding ``HOME``) and ``/dev/shm``; the rest of its root is read-only.
  Nothing else of the host: no repository root, no ``source/``, no ``/root`` or ``/home``, no other
  temporary folders.  Binds are ``nosuid``/``nodev``.
* **User**: as root, bwrap sets up the mounts and then ``setpriv`` switches to a dedicated uid (no
  capabilities, no new privileges), so ``RLIMIT_NPROC`` bounds fork bombs and files the kernel creates
  belong to that uid.  Not as root, bwrap runs unprivileged (user namespace) as the current user.
* **Limits** (``prlimit``): address space (``RLIMIT_AS``), file size (``RLIMIT_FSIZE``), no core dumps,
  processes (``RLIMIT_NPROC``, only with a dedicated uid: otherwise it would count the user's own processes).
* **Environment**: cleared; only allow-listed variables pass (:data:`DEFAULT_ENV_PASSTHROUGH`), never one
  that looks like a secret; ``HOME``, ``TMPDIR`` and the caches point into the private ``/tmp``.

Root mode runs bwrap itself as root, because a dedicated uid could not reach a Python installed under
``/root`` (mode 0700) to bind it.  It uses no user namespace (``--unshare-all`` would map the sandbox to
host root, and the dedicated uid could then not be entered), so it unshares pid, net, ipc, uts and cgroup
explicitly; the sandboxed code could still create user namespaces of its own (unprivileged, as its own
uid).  Interrupts go as messages (a signal would reach bwrap only).  GPUs are not passed in (``--dev``
gives a minimal ``/dev``).  Needs bubblewrap 0.8+ (``--size``) and util-linux (``prlimit``, ``setpriv``).

Public API: :func:`sandbox_problem`, :class:`SandboxUnavailable`, :func:`bwrap_argv`, :func:`sandbox_env`,
:func:`run_sandboxed` and :class:`SandboxedKernelManager` (a ``kernel_manager_class`` for nbclient/nbgrader).
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from huggingface_hub import constants as hf_constants
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Dict, Integer, List, Unicode, default

import course
from course import sources
from course.kernels import IpcKernelManager

from . import zygote

GiB = 1024**3
DEFAULT_MEMORY_BYTES = 8 * GiB  # torch + transformers training a small BERT needs ~3-4 GiB of address space
DEFAULT_MAX_PROCESSES = 256
DEFAULT_MAX_FILE_BYTES = 200 * 1000**2
DEFAULT_TMP_BYTES = 2 * GiB

SANDBOX_HOME = "/tmp/home"  # inside the private /tmp

# Seconds bwrap took to build each warm kernel's sandbox in this process (bwrap started to its namespaces,
# mounts and uid ready), read by the grading worker for the benchmarks: the sandbox's own cost per kernel.
SETUP_SECONDS: list[float] = []

# Variables that may pass from the host environment into the sandbox (fnmatch patterns, case-sensitive).
DEFAULT_ENV_PASSTHROUGH = (
    "PATH", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM",
    "NBGRADER_EXECUTION", "COURSE_*",
    "HF_*", "HUGGINGFACE_*", "TRANSFORMERS_*", "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_*", "TORCH_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_*",
    "MPLBACKEND", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
    "PYDEVD_DISABLE_FILE_VALIDATION", "JPY_SESSION_NAME",
    "WANDB_MODE", "WANDB_DISABLED", "DISABLE_TQDM", "TQDM_*", "DO_NOT_TRACK",
)  # fmt: skip
# Never passed, whatever the patterns say (TOKENIZERS_PARALLELISM is not a token).
SECRET_ENV = re.compile(r"TOKEN(?!IZERS?_)|SECRET|PASSW|KEY|AUTH|CREDENTIAL|COOKIE", re.IGNORECASE)

# What the sandbox sees of /etc: enough for libc, locales, time zones, TLS, MIME types, alternatives.
ETC_FILES = (
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
    "localtime", "timezone", "mime.types", "ssl", "ca-certificates", "ca-certificates.conf", "alternatives",
    "os-release", "fonts", "locale.alias", "locale.conf", "default/locale",
)  # fmt: skip
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# Dedicated uids (as root): one per kernel manager, distinct across worker processes.
UID_BASE = 1_000_000
_uid_counter = itertools.count()


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here (see :func:`sandbox_problem`)."""


def _is_root() -> bool:
    return os.geteuid() == 0


def allocate_uid() -> int:
    """A uid for one sandbox: distinct per process (pid) and per call within it (10 in turn)."""
    return UID_BASE + (os.getpid() % 100_000) * 10 + next(_uid_counter) % 10


def sandbox_env(
    source: Mapping[str, str] | None = None,
    *,
    passthrough: Iterable[str] = DEFAULT_ENV_PASSTHROUGH,
    extra: Mapping[str, str] | None = None,
    home: str = SANDBOX_HOME,
) -> dict[str, str]:
    """The environment inside the sandbox: allow-listed variables of ``source`` (default ``os.environ``),
    then a private HOME and caches, then ``extra``; anything that looks like a secret is dropped."""
    source = os.environ if source is None else source
    patterns = list(passthrough)
    env = {k: v for k, v in source.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}
    env = {k: v for k, v in env.items() if not SECRET_ENV.search(k)}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=home,
        USER="sandbox",
        LOGNAME="sandbox",
        TMPDIR="/tmp",
        XDG_CACHE_HOME=f"{home}/.cache",
        XDG_CONFIG_HOME=f"{home}/.config",
        XDG_DATA_HOME=f"{home}/.local/share",
        IPYTHONDIR=f"{home}/.ipython",
        JUPYTER_CONFIG_DIR=f"{home}/.jupyter",
        JUPYTER_DATA_DIR=f"{home}/.local/share/jupyter",
        JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime",
        MPLCONFIGDIR=f"{home}/.config/matplotlib",
        HF_HOME=f"{home}/.cache/huggingface",
        HF_DATASETS_CACHE=f"{home}/.cache/huggingface/datasets",
        TORCH_HOME=f"{home}/.cache/torch",
        # ipykernel: PID 1 (bwrap's init) is its parent, so no parent polling and no Ctrl-C banner on stdout.
        JPY_PARENT_PID="1",
    )
    # Explicit values win (e.g. a read-only hub cache), secrets excepted.
    env.update({k: v for k, v in (extra or {}).items() if not SECRET_ENV.search(k)})
    return env


def sandbox_readonly_paths() -> list[str]:
    """What a sandboxed kernel may read besides the system and the Python installation: the ``course``
    package, the data mirror, the checkpoint folder and the Hugging Face hub cache (never the course root)."""
    paths = [str(Path(course.__file__).resolve().parent)]
    mirror = sources.data_dir()
    if mirror is not None:
        paths.append(str(Path(mirror).resolve()))
    checkpoint = os.environ.get(sources.CHECKPOINT_ENV)
    if checkpoint and Path(checkpoint).is_dir():
        paths.append(str(Path(checkpoint).resolve()))
    if hub_cache():
        paths.append(hub_cache())
    return paths


def kernel_extra_env() -> dict[str, str]:
    """Variables set explicitly in every sandboxed kernel: checkpoints downloaded before grading stay usable
    (read-only) through the hub cache."""
    hub = hub_cache()
    return {"HF_HUB_CACHE": hub} if hub else {}


def hub_cache() -> str | None:
    """The Hugging Face hub cache folder, resolved (None when there is none)."""
    path = Path(hf_constants.HF_HUB_CACHE).resolve()
    return str(path) if path.is_dir() else None


def _within(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_argv(
    argv: Sequence[str],
    *,
    cwd: str,
    readonly: Iterable[str] = (),
    writable: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    uid: int | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    max_processes: int = DEFAULT_MAX_PROCESSES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    tmp_bytes: int = DEFAULT_TMP_BYTES,
) -> list[str]:
    """The command line that runs ``argv`` in the sandbox, ``cwd`` (bound read-write) as working directory.

    ``env`` is the complete environment inside (see :func:`sandbox_env`; ``None``: ``sandbox_env()``).
    ``uid``: run as this uid via ``setpriv`` (root only; bwrap itself runs as root to set up the mounts);
    ``None``: unprivileged bwrap as the current user.  Paths that do not exist are skipped.
    Builds the list only; touches nothing.
    """
    cwd = os.path.realpath(cwd)
    env = sandbox_env() if env is None else dict(env)
    limits = ["prlimit", f"--as={memory_bytes}", f"--fsize={max_file_bytes}", "--core=0"]
    if uid is not None:
        limits.append(f"--nproc={max_processes}")
    cmd = [*limits, "--", "bwrap"]
    if uid is None:
        cmd += ["--unshare-user", "--disable-userns"]
    else:  # no user namespace: the mounts are made as root, then setpriv drops to the uid
        # bwrap's child keeps these only until setpriv switches uid (which clears all capabilities).
        cmd += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE"):  # DAC_OVERRIDE: --chdir into the uid's cwd
            cmd += ["--cap-add", cap]
    cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    cmd += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]

    # The system, read-only; merged-usr links (/bin -> usr/bin) stay links.
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    # Private tmpfs for /tmp and /dev/shm (multiprocessing locks, DataLoader workers), each of tmp_bytes.
    for path in ("/dev/shm", "/tmp"):
        cmd += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", path]
    cmd += ["--perms", "0777", "--dir", SANDBOX_HOME]

    # Binds at the same path, parents before children; a writable path inside a read-only one stays writable.
    binds: dict[str, bool] = {}  # path -> writable
    for path in [sys.base_prefix, sys.prefix, *readonly]:
        path = os.path.realpath(path)
        if os.path.exists(path) and not _within(path, ["/usr"]):
            binds.setdefault(path, False)
    for path in [*writable, cwd]:
        path = os.path.realpath(path)
        if os.path.exists(path):
            binds[path] = True
    bound: list[str] = []
    made = {"/", "/tmp", "/etc", SANDBOX_HOME}
    for path in sorted(binds, key=lambda p: (p.count("/"), p)):
        # Create missing parents world-readable (bwrap would make them 0700, root-owned).
        parent, parents = os.path.dirname(path), []
        while parent not in made and not _within(parent, bound):
            parents.append(parent)
            parent = os.path.dirname(parent)
        for parent in reversed(parents):
            cmd += ["--perms", "0755", "--dir", parent]
            made.add(parent)
        cmd += ["--bind" if binds[path] else "--ro-bind", path, path]
        bound.append(path)
    cmd += ["--remount-ro", "/"]  # the sandbox's own root (an unbounded tmpfs) stays read-only

    cmd.append("--clearenv")
    for key, value in sorted(env.items()):
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", cwd, "--"]
    if uid is not None:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--inh-caps=-all"]
        cmd.append("--")
    return cmd + list(argv)


def make_writable_for(path: str, uid: int | None) -> None:
    """Give ``path`` (and everything under it, links not followed) to ``uid``, so that the sandbox can write
    there.  Nothing to do without a dedicated uid.  The caller (root) can still read and delete it all."""
    if uid is None or not _is_root() or not os.path.exists(path):
        return
    os.chown(path, uid, uid, follow_symlinks=False)
    if os.path.isdir(path) and not os.path.islink(path):
        for top, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(top, name), uid, uid, follow_symlinks=False)


def _outer_env() -> dict[str, str]:
    """The environment of prlimit/bwrap/setpriv themselves (the sandbox gets its own, see --setenv)."""
    return {"PATH": os.environ.get("PATH") or os.defpath, "LANG": "C.UTF-8"}


@functools.cache
def sandbox_problem() -> str | None:
    """None when sandboxes can be made here (tried once, then cached), else what is wrong and how to fix it."""
    missing = [tool for tool in ("bwrap", "prlimit") + (("setpriv",) if _is_root() else ()) if not shutil.which(tool)]
    if "bwrap" in missing:
        return (
            "bubblewrap (bwrap) is not installed, and every grading kernel must run in a bwrap sandbox. "
            "Install it with `apt-get install bubblewrap` (as root; otherwise `sudo apt-get install bubblewrap`; "
            "Fedora: `dnf install bubblewrap`), then try again."
        )
    if missing:
        return f"{', '.join(missing)} not found: install util-linux (`apt-get install util-linux`)."
    with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as tmp:
        try:
            proc = _run(["true"], cwd=tmp, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = str(exc)
        else:
            if proc.returncode == 0:
                return None
            detail = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
    return (
        f"bubblewrap is installed but cannot create a sandbox here ({detail}). "
        "Usually unprivileged user namespaces are disabled: enable them with "
        "`sysctl -w kernel.unprivileged_userns_clone=1` (Debian), `sysctl -w user.max_user_namespaces=15000`, "
        "or on Ubuntu 23.10+ `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`; "
        "in a container, run it with `--security-opt seccomp=unconfined --security-opt apparmor=unconfined` "
        "(Docker/Podman), or run the grader as root. bwrap 0.8 or newer is needed (for --size)."
    )


def _run(argv, *, cwd, readonly=(), writable=(), env=None, extra_env=None, uid=None, timeout=60, **limits):
    if uid is None and _is_root():
        uid = allocate_uid()
    elif uid is not None and not _is_root():
        raise SandboxUnavailable("A sandbox uid can only be given when running as root.")
    make_writable_for(cwd, uid)
    for path in writable:
        make_writable_for(path, uid)
    cmd = bwrap_argv(
        argv,
        cwd=cwd,
        readonly=readonly,
        writable=writable,
        env=sandbox_env(env, extra=extra_env),
        uid=uid,
        **limits,
    )
    return subprocess.run(
        cmd, cwd=cwd, env=_outer_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


def run_sandboxed(
    argv: Sequence[str],
    *,
    cwd: str,
    readonly: Iterable[str] = (),
    writable: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    uid: int | None = None,
    timeout: float = 60,
    **limits: int,
) -> subprocess.CompletedProcess:
    """Run an untrusted command in the sandbox and wait for it; output captured as text.

    ``env``: the environment to filter (default ``os.environ``); ``extra_env``: set explicitly (secrets are
    still dropped).  ``uid``: as root, the dedicated uid (default: a fresh one); ``cwd`` and ``writable`` are
    given to it.  ``limits``: ``memory_bytes``, ``max_processes``, ``max_file_bytes``, ``tmp_bytes``.
    On ``timeout`` bwrap is killed, and with it everything in the sandbox (``subprocess.TimeoutExpired``).
    """
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailable(problem)
    readonly, writable = list(readonly), list(writable)
    return _run(
        argv,
        cwd=cwd,
        readonly=readonly,
        writable=writable,
        env=env,
        extra_env=extra_env,
        uid=uid,
        timeout=timeout,
        **limits,
    )


class SandboxedKernelManager(IpcKernelManager):
    """A KernelManager whose kernel runs in a bwrap sandbox, reached over ipc sockets in a private folder.

    Use as nbclient's / nbgrader's ``kernel_manager_class``; configure through traitlets, e.g.
    ``cfg.SandboxedKernelManager.readonly_paths = [data_dir, course_dir, checkpoint_dir]``.
    The notebook folder (``start_kernel(cwd=...)``) is bound read-write; without one an empty folder is used.
    """

    readonly_paths = List(Unicode(), help="Host paths bound read-only at the same path (missing ones skipped).").tag(
        config=True
    )
    writable_paths = List(Unicode(), help="Host paths bound read-write at the same path (besides the cwd).").tag(
        config=True
    )
    memory_bytes = Integer(DEFAULT_MEMORY_BYTES, help="RLIMIT_AS of the kernel.").tag(config=True)
    max_processes = Integer(DEFAULT_MAX_PROCESSES, help="RLIMIT_NPROC (with a dedicated uid only).").tag(config=True)
    max_file_bytes = Integer(DEFAULT_MAX_FILE_BYTES, help="RLIMIT_FSIZE: largest file it may write.").tag(config=True)
    tmp_bytes = Integer(DEFAULT_TMP_BYTES, help="Size of the private /tmp (holding HOME) and of /dev/shm.").tag(
        config=True
    )
    sandbox_uid = Integer(
        None, allow_none=True, help="uid the kernel runs as (root only); default: a fresh one as root, else None."
    ).tag(config=True)
    env_passthrough = List(
        Unicode(), default_value=list(DEFAULT_ENV_PASSTHROUGH), help="fnmatch patterns of variables passed in."
    ).tag(config=True)
    extra_env = Dict(
        value_trait=Unicode(), help="Variables set in the sandbox as given (secret-looking names still dropped)."
    ).tag(config=True)
    zygote_socket = Unicode(
        "", help="Socket of a kernel zygote (autograder.zygote): fork a warm kernel into the sandbox instead of "
        "starting Python in it. Empty: a cold kernel."
    ).tag(config=True)

    _warm_request: dict | None = None

    @default("sandbox_uid")
    def _default_sandbox_uid(self) -> int | None:
        return allocate_uid() if _is_root() else None

    async def _async_pre_start_kernel(self, **kw):
        problem = sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem)
        if self.sandbox_uid is not None and not _is_root():
            raise SandboxUnavailable("SandboxedKernelManager.sandbox_uid can only be set when running as root.")
        self.ensure_ipc_dir()
        if not kw.get("cwd"):
            kw["cwd"] = os.path.join(self._ipc_dir, "work")
            os.makedirs(kw["cwd"], exist_ok=True)
        cwd = os.path.realpath(kw["cwd"])
        # Signals would reach bwrap only, not the kernel: interrupt it with a message instead.
        self.kernel_spec.interrupt_mode = "message"
        kernel_cmd, kw = await IpcKernelManager._async_pre_start_kernel(self, **kw)  # the connection file

        uid = self.sandbox_uid
        for path in [self._ipc_dir, cwd, *self.writable_paths]:
            make_writable_for(path, uid)
        inner_env = sandbox_env(kw.get("env"), passthrough=self.env_passthrough, extra=self.extra_env)
        limits = {"memory_bytes": self.memory_bytes, "max_processes": self.max_processes if uid is not None else None,
                  "max_file_bytes": self.max_file_bytes}
        self._warm_request = None
        if self.zygote_socket:
            if uid is None:
                raise SandboxUnavailable("warm kernels (zygote_socket) need root and a dedicated sandbox uid")
            # bwrap builds the sandbox around a placeholder; the zygote's kernel joins it (see autograder.zygote)
            args = kernel_cmd[kernel_cmd.index("-f"):] if "-f" in kernel_cmd else []
            self._warm_request = {"cwd": cwd, "uid": uid, "env": inner_env, "limits": limits, "kernel_args": args}
            kernel_cmd = zygote.HOLDER_ARGV
        cmd = bwrap_argv(
            kernel_cmd,
            cwd=cwd,
            readonly=self.readonly_paths,
            writable=[*self.writable_paths, self._ipc_dir],
            env=inner_env,
            uid=uid,
            memory_bytes=self.memory_bytes,
            max_processes=self.max_processes,
            max_file_bytes=self.max_file_bytes,
            tmp_bytes=self.tmp_bytes,
        )
        kw["env"] = _outer_env()
        kw["cwd"] = cwd
        return cmd, kw

    pre_start_kernel = run_sync(_async_pre_start_kernel)

    async def _async_launch_kernel(self, kernel_cmd, **kw) -> None:
        start = time.perf_counter()
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self._warm_request is None:
            return
        bwrap_pid = self.provisioner.process.pid
        try:
            loop = asyncio.get_running_loop()
            holder = await loop.run_in_executor(None, zygote.find_holder, bwrap_pid)
            SETUP_SECONDS.append(time.perf_counter() - start)
            request = {**self._warm_request, "bwrap_pid": bwrap_pid, "holder_pid": holder}
            await loop.run_in_executor(None, zygote.request_fork, self.zygote_socket, request)
        except zygote.ZygoteError:
            await self.provisioner.kill()
            raise

    _launch_kernel = run_sync(_async_launch_kernel)


class AsyncSandboxedKernelManager(SandboxedKernelManager, AsyncKernelManager):
    """:class:`SandboxedKernelManager` with the asynchronous API that nbclient drives (nbgrader's Execute): a
    blocking client would wait forever for the messages of a kernel that died."""

    pre_start_kernel = SandboxedKernelManager._async_pre_start_kernel
    _launch_kernel = SandboxedKernelManager._async_launch_kernel
    cleanup_resources = IpcKernelManager._async_cleanup_resources
