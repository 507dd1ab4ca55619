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
import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence

import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Integer, List, Unicode, default

from course_tools.kernels import IpcKernelManager

from . import zygote
from .files import is_regular
from .policy import (
    DEDICATED_UIDS,
    ENV_PASSTHROUGH,
    Bind,
    CourseView,
    GiB,
    Limits,
    SandboxPolicy,
    Tmpfs,
    bwrap_argv,
    kernel_policy,
    sandbox_env,
)

DEFAULT_ENV_PASSTHROUGH = ENV_PASSTHROUGH
DEFAULT_MEMORY_BYTES = Limits().memory_bytes
DEFAULT_MAX_PROCESSES = Limits().max_processes
DEFAULT_MAX_FILE_BYTES = Limits().max_file_bytes
DEFAULT_TMP_BYTES = 2 * GiB
PROVISIONER = "course-sandbox"  # registered in pyproject.toml (jupyter_client.kernel_provisioners)
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1000**2  # the largest message read from a kernel (an answer, an output)

# Seconds bwrap took to build each warm kernel's sandbox in this process (bwrap started to its namespaces,
# mounts and uid ready), read by the grading worker for the benchmarks: the sandbox's own cost per kernel.
SETUP_SECONDS: list[float] = []

# Dedicated uids (as root): kernels started by root get one each (distinct per process and call); a job's
# grading worker gets a random one of a range no account uses.
UID_BASE = DEDICATED_UIDS
WORKER_UID_RANGE = (1_000_000_000, 2_000_000_000)
_uid_counter = __import__("itertools").count()


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here (see :func:`sandbox_problem`)."""


def _is_root() -> bool:
    return os.geteuid() == 0


def allocate_uid() -> int:
    """A uid for one kernel sandbox made by root: distinct per process (pid) and per call within it (10 in turn)."""
    return UID_BASE + (os.getpid() % 100_000) * 10 + next(_uid_counter) % 10


def worker_uid() -> int:
    """A uid for one job's grading worker (and its kernel): random in :data:`WORKER_UID_RANGE`, so that no two jobs
    of any run on this machine share one."""
    low, high = WORKER_UID_RANGE
    return low + secrets.randbelow(high - low)


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


def generic_policy(cwd: str, *, readonly: Iterable[str] = (), writable: Iterable[str] = (),
                   env: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None,
                   uid: int | None = None, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                   max_processes: int | None = DEFAULT_MAX_PROCESSES, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                   tmp_bytes: int = DEFAULT_TMP_BYTES) -> SandboxPolicy:
    """A sandbox for an arbitrary untrusted command: ``cwd`` read-write, ``readonly`` and ``writable`` paths at
    their own path, the Python installation read-only, a private ``/tmp`` (see :func:`run_sandboxed`)."""
    real = os.path.realpath
    binds = [Bind(real(p), real(p)) for p in [sys.base_prefix, sys.prefix, *readonly] if os.path.exists(p)]
    binds += [Bind(real(p), real(p), True) for p in [*writable, cwd] if os.path.exists(p)]
    return SandboxPolicy(
        name="command", cwd=real(cwd), binds=tuple(binds),
        tmpfs=(Tmpfs("/tmp", tmp_bytes), Tmpfs("/dev/shm", tmp_bytes)),
        env=tuple(sorted(sandbox_env(env, extra=extra_env).items())), uid=uid,
        limits=Limits(memory_bytes, max_processes, max_file_bytes),
    )  # fmt: skip


def _run(argv, *, cwd, uid=None, timeout=60, **policy_args):
    if uid is None and _is_root():
        uid = allocate_uid()
    elif uid is not None and not _is_root():
        raise SandboxUnavailable("A sandbox uid can only be given when running as root.")
    make_writable_for(cwd, uid)
    for path in policy_args.get("writable", ()):
        make_writable_for(path, uid)
    cmd = bwrap_argv(generic_policy(cwd, uid=uid, **policy_args), argv)
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
    return _run(argv, cwd=cwd, readonly=list(readonly), writable=list(writable), env=env, extra_env=extra_env,
                uid=uid, timeout=timeout, **limits)


class SandboxedKernelManager(IpcKernelManager):
    """A KernelManager whose kernel runs in a bwrap sandbox (:func:`autograder.policy.kernel_policy`), reached over
    ipc sockets in a private folder.

    The kernel never works in the folder it is started in (``start_kernel(cwd=...)``, nbgrader's notebook folder):
    it gets an empty, size-limited folder of its own (``/home/student/<folder name>``) holding that folder's
    regular files read-only (an assignment's helper files), and everything it writes ends with its sandbox. The
    course's files are seen at neutral paths. Use as nbclient's / nbgrader's ``kernel_manager_class``; configure
    through traitlets.
    """

    readonly_paths = List(Unicode(), help="More host paths bound read-only at the same path (missing ones "
                          "skipped).").tag(config=True)
    writable_paths = List(Unicode(), help="Host paths bound read-write at the same path.").tag(config=True)
    exchange_dir = Unicode("", help="A folder the kernel sees read-write at autograder.policy.JUDGE_EXCHANGE, "
                           "where it writes what a judge asks for as a file (tensors).").tag(config=True)
    memory_bytes = Integer(DEFAULT_MEMORY_BYTES, help="RLIMIT_AS of the kernel.").tag(config=True)
    max_processes = Integer(512, help="RLIMIT_NPROC: processes of the kernel's uid (with a dedicated uid, or inside "
                            "a grading worker's sandbox, whose uid the kernel shares).").tag(config=True)
    max_file_bytes = Integer(DEFAULT_MAX_FILE_BYTES, help="RLIMIT_FSIZE: largest file it may write.").tag(config=True)
    tmp_bytes = Integer(DEFAULT_TMP_BYTES, help="Size of the private /tmp (holding HOME) and of /dev/shm.").tag(
        config=True
    )
    work_bytes = Integer(2 * GiB, help="Size of the kernel's working folder (a tmpfs: what the student's code "
                         "writes there stays in memory and ends with the sandbox).").tag(config=True)
    max_message_bytes = Integer(DEFAULT_MAX_MESSAGE_BYTES, help="The largest message read from the kernel: a larger "
                                "one (an answer, an output) is dropped by ZeroMQ before it is read.").tag(config=True)
    sandbox_uid = Integer(
        None, allow_none=True, help="uid the kernel runs as (root only); default: a fresh one as root, else None "
        "(an unprivileged sandbox as the current user)."
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

    policy: SandboxPolicy | None = None

    @default("sandbox_uid")
    def _default_sandbox_uid(self) -> int | None:
        return allocate_uid() if _is_root() else None

    @default("context")
    def _default_context(self):
        """A context of this manager's own whose sockets drop any message over ``max_message_bytes``."""
        self._created_context = True
        context = zmq.asyncio.Context() if isinstance(self, AsyncKernelManager) else zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, int(self.max_message_bytes))
        return context

    def kernel_policy(self, cwd: str, env: Mapping[str, str] | None) -> SandboxPolicy:
        """The sandbox of a kernel started in ``cwd`` (see the class docstring)."""
        helpers = [os.path.join(top, name) for top, _, names in os.walk(cwd) for name in sorted(names)
                   if not name.endswith(".ipynb") and is_regular(os.path.join(top, name))]
        limits = Limits(self.memory_bytes, self.max_processes, self.max_file_bytes)
        policy = kernel_policy(
            cwd, assignment=os.path.basename(cwd.rstrip("/")), helpers=helpers,
            shared=[self._ipc_dir, *self.writable_paths], exchange=self.exchange_dir or None,
            env=_passthrough(env, self.env_passthrough), limits=limits, work_bytes=self.work_bytes,
            tmp_bytes=self.tmp_bytes, uid=self.sandbox_uid,
        )  # fmt: skip
        extra = [Bind(os.path.realpath(p), os.path.realpath(p)) for p in self.readonly_paths if os.path.exists(p)]
        return SandboxPolicy(**{**policy.__dict__, "binds": policy.binds + tuple(extra)}).with_env(**self.extra_env)

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self):
        return SandboxKernelSpecManager(parent=self)

    def sandbox_request(self, policy: SandboxPolicy, kernel_cmd: list[str]) -> dict | None:
        """What the zygote needs to fork a warm kernel into ``policy``'s sandbox (None: a cold kernel)."""
        if not self.zygote_socket:
            return None
        args = kernel_cmd[kernel_cmd.index("-f"):] if "-f" in kernel_cmd else []
        limits = {"memory_bytes": policy.limits.memory_bytes, "max_file_bytes": policy.limits.max_file_bytes,
                  "max_processes": policy.limits.max_processes}
        return {"cwd": policy.cwd, "uid": self.sandbox_uid or os.geteuid(), "env": policy.environment,
                "limits": limits, "kernel_args": args}


class SandboxKernelSpecManager(KernelSpecManager):
    """The kernels' specs as a :class:`SandboxedKernelManager` starts them: launched by the ``course-sandbox``
    provisioner (:class:`SandboxProvisioner`, jupyter_client's public hook for how a kernel is started), and
    interrupted by a message (a signal would reach bwrap only)."""

    def get_kernel_spec(self, kernel_name: str):
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata = {**spec.metadata, "kernel_provisioner": {"provisioner_name": PROVISIONER, "config": {}}}
        spec.interrupt_mode = "message"
        return spec


class SandboxProvisioner(LocalProvisioner):
    """Starts a kernel in its sandbox (registered as the ``course-sandbox`` kernel provisioner): the command of the
    kernel spec wrapped in bwrap with the policy of its :class:`SandboxedKernelManager` (``parent``), or, with warm
    kernels, a placeholder in that sandbox into which the zygote then forks the kernel."""

    warm_request: dict | None = None

    async def pre_launch(self, **kwargs):
        km = self.parent
        if not isinstance(km, SandboxedKernelManager):
            raise SandboxUnavailable("the course-sandbox provisioner starts kernels of a SandboxedKernelManager")
        problem = sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem)
        if km.sandbox_uid is not None and not _is_root():
            raise SandboxUnavailable("SandboxedKernelManager.sandbox_uid can only be set when running as root.")
        km.ensure_ipc_dir()
        if not kwargs.get("cwd"):
            kwargs["cwd"] = os.path.join(km._ipc_dir, "work")
            os.makedirs(kwargs["cwd"], exist_ok=True)
        cwd = os.path.realpath(kwargs["cwd"])
        kwargs = await super().pre_launch(**kwargs)  # the connection file
        for path in [km._ipc_dir, *km.writable_paths]:
            make_writable_for(path, km.sandbox_uid)
        km.policy = policy = km.kernel_policy(cwd, kwargs.get("env"))
        kernel_cmd = CourseView.here().translate(kwargs["cmd"])
        self.warm_request = km.sandbox_request(policy, kernel_cmd)
        if self.warm_request is not None:  # bwrap builds the sandbox around a placeholder (see autograder.zygote)
            kernel_cmd = zygote.HOLDER_ARGV
        kwargs.update(cmd=bwrap_argv(policy, kernel_cmd), env=_outer_env(), cwd=cwd)
        return kwargs

    async def launch_kernel(self, cmd, **kwargs):
        start = time.perf_counter()
        info = await super().launch_kernel(cmd, **kwargs)
        if self.warm_request is None:
            return info
        try:
            loop = asyncio.get_running_loop()
            holder = await loop.run_in_executor(None, zygote.find_holder, self.process.pid)
            SETUP_SECONDS.append(time.perf_counter() - start)
            request = {**self.warm_request, "bwrap_pid": self.process.pid, "holder_pid": holder}
            await loop.run_in_executor(None, zygote.request_fork, self.parent.zygote_socket, request)
        except zygote.ZygoteError:
            await self.kill()
            raise
        return info


def _passthrough(env: Mapping[str, str] | None, patterns: Iterable[str]) -> dict[str, str]:
    """The variables of ``env`` (default ``os.environ``) that the allow-list ``patterns`` lets into a kernel."""
    return sandbox_env(env, passthrough=patterns)


class AsyncSandboxedKernelManager(SandboxedKernelManager, AsyncKernelManager):
    """:class:`SandboxedKernelManager` with the asynchronous API that nbclient drives (nbgrader's Execute): a
    blocking client would wait forever for the messages of a kernel that died."""

    pre_start_kernel = IpcKernelManager._async_pre_start_kernel
    cleanup_resources = IpcKernelManager._async_cleanup_resources
