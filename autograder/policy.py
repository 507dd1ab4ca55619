"""One sandbox policy for the rooms a submission crosses (see autograder/README.md, *Threat model*).

A job runs in two sandboxes, both made by bubblewrap from a :class:`SandboxPolicy`:

* the **grading worker** (:func:`worker_policy`, made by the parent): nbgrader and the judges, as a uid of their
  own (never root), seeing their job folder, the read-only course data and packages, and nothing of the class
  (no class gradebook, no ``--out``, no ``source/``, no other job);
* the student's **kernel** (:func:`kernel_policy`, made by the worker inside its own sandbox): the system and the
  Python installation read-only, the course's files under a neutral path (:data:`NEUTRAL`, so the course root's
  path is nowhere in its view), and a size-limited, empty working folder of its own that vanishes with it.

A policy is plain data (frozen dataclasses): what is bound where, which folders are size-limited tmpfs, which
files are masked, the complete environment, the limits and the uid. :func:`bwrap_argv` turns one into a
command line; nothing else decides what a sandbox sees. Host paths are resolved before they are bound, so a
mirror reached through a symbolic link is bound (and named in the environment) by the path it really has.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

GiB = 1024**3

# Where a kernel sees the course's own files (never at the course root's path).
NEUTRAL = "/opt/course-kit"
NEUTRAL_VENV = f"{NEUTRAL}/venv"  # the virtual environment (sys.prefix), when Python runs from one
NEUTRAL_DATA = f"{NEUTRAL}/data"  # COURSE_DATA_DIR
NEUTRAL_CHECKPOINT = f"{NEUTRAL}/checkpoint"  # COURSE_CHECKPOINT, when it names a folder
NEUTRAL_HUB = f"{NEUTRAL}/hf-hub"  # HF_HUB_CACHE: checkpoints downloaded before grading
NEUTRAL_GRADER = "/opt/course-grader"  # the autograder package, for the warm-kernel zygote only
STUDENT_HOME = "/home/student"  # a kernel's working folder is STUDENT_HOME/<assignment>
JUDGE_EXCHANGE = "/tmp/judge"  # where a kernel writes the tensors a judge asks for
SANDBOX_HOME = "/tmp/home"  # HOME, inside the private /tmp
DEDICATED_UIDS = 1_000_000  # uids from here on are the grader's own (a kernel's, a job's worker's), no account's

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# What a sandbox sees of /etc: enough for libc, locales, time zones, TLS, MIME types, alternatives.
ETC_FILES = (
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
    "localtime", "timezone", "mime.types", "ssl", "ca-certificates", "ca-certificates.conf", "alternatives",
    "os-release", "fonts", "locale.alias", "locale.conf", "default/locale",
)  # fmt: skip

# The one environment allow-list: variables that may pass from the grader's environment into a sandbox (fnmatch
# patterns, case-sensitive); never one that looks like a secret (:data:`SECRET_ENV`).
ENV_PASSTHROUGH = (
    "PATH", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM",
    "NBGRADER_EXECUTION", "COURSE_*",
    "HF_*", "HUGGINGFACE_*", "TRANSFORMERS_*", "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_*", "TORCH_NUM_THREADS",
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
    "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_*",
    "MPLBACKEND", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS",
    "PYDEVD_DISABLE_FILE_VALIDATION", "JPY_SESSION_NAME",
    "WANDB_MODE", "WANDB_DISABLED", "DISABLE_TQDM", "TQDM_*", "DO_NOT_TRACK",
)  # fmt: skip
# Never passed, whatever the patterns say (TOKENIZERS_PARALLELISM is not a token).
SECRET_ENV = re.compile(r"TOKEN(?!IZERS?_)|SECRET|PASSW|KEY|AUTH|CREDENTIAL|COOKIE|PRIVATE", re.IGNORECASE)


@dataclass(frozen=True)
class Bind:
    """``source`` (a resolved host path) seen at ``dest``; read-only unless ``writable``."""

    source: str
    dest: str
    writable: bool = False


@dataclass(frozen=True)
class Tmpfs:
    """A private, size-limited folder at ``dest`` (its files live in memory and end with the sandbox)."""

    dest: str
    size: int
    mode: str = "1777"


@dataclass(frozen=True)
class Limits:
    """Resource limits of everything in a sandbox (``prlimit``); ``max_processes`` counts the uid's processes."""

    memory_bytes: int = 8 * GiB  # RLIMIT_AS: torch + transformers training a small BERT needs ~3-4 GiB
    max_processes: int | None = 256  # RLIMIT_NPROC (None: not set)
    max_file_bytes: int = 200 * 1000**2  # RLIMIT_FSIZE: the largest file it may write


@dataclass(frozen=True)
class SandboxPolicy:
    """Everything that makes one sandbox. ``uid``: as root, bwrap builds the sandbox and ``setpriv`` runs the
    command as this uid (no capabilities, ``no_new_privs``); ``None``: unprivileged bwrap (a user namespace, as
    the calling user); ``0``: root with its capabilities (the warm-kernel zygote only). ``host_pid``: shares the
    host's PID namespace and ``/proc`` (the worker needs both to start and watch its kernel's sandbox); otherwise
    its own. ``nested``: may create user namespaces (the worker's kernel sandbox is one)."""

    name: str
    cwd: str
    binds: tuple[Bind, ...] = ()
    tmpfs: tuple[Tmpfs, ...] = ()
    masks: tuple[str, ...] = ()  # files inside a bind that the sandbox sees as empty (read-only /dev/null)
    env: tuple[tuple[str, str], ...] = ()
    limits: Limits = field(default_factory=Limits)
    uid: int | None = None
    host_pid: bool = False
    nested: bool = False

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)

    def with_env(self, **extra: str) -> SandboxPolicy:
        return replace(self, env=tuple(sorted({**self.environment, **_no_secrets(extra)}.items())))


def _no_secrets(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not SECRET_ENV.search(k)}


def sandbox_env(source: Mapping[str, str] | None = None, *, passthrough: Iterable[str] = ENV_PASSTHROUGH,
                extra: Mapping[str, str] | None = None, home: str = SANDBOX_HOME) -> dict[str, str]:
    """The environment inside a sandbox: allow-listed variables of ``source`` (default ``os.environ``), then a
    private HOME and caches, then ``extra``; anything that looks like a secret is dropped."""
    source = os.environ if source is None else source
    patterns = list(passthrough)
    env = _no_secrets({k: v for k, v in source.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)})
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=home, USER="sandbox", LOGNAME="sandbox", TMPDIR="/tmp",
        XDG_CACHE_HOME=f"{home}/.cache", XDG_CONFIG_HOME=f"{home}/.config", XDG_DATA_HOME=f"{home}/.local/share",
        IPYTHONDIR=f"{home}/.ipython", JUPYTER_CONFIG_DIR=f"{home}/.jupyter",
        JUPYTER_DATA_DIR=f"{home}/.local/share/jupyter", JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime",
        MPLCONFIGDIR=f"{home}/.config/matplotlib", HF_HOME=f"{home}/.cache/huggingface",
        HF_DATASETS_CACHE=f"{home}/.cache/huggingface/datasets", TORCH_HOME=f"{home}/.cache/torch",
        # ipykernel: PID 1 (bwrap's init) is its parent, so no parent polling and no Ctrl-C banner on stdout.
        JPY_PARENT_PID="1",
    )  # fmt: skip
    env.update(_no_secrets(extra or {}))  # explicit values win (a read-only hub cache), secrets excepted
    return env


# ------------------------------------------------------------------------------------ the course's files
def _real(path) -> str | None:
    """``path`` resolved (links followed), or None when it does not exist."""
    if path is None or str(path).strip() == "":
        return None
    real = os.path.realpath(os.path.expanduser(str(path)))
    return real if os.path.exists(real) else None


GRADER_PACKAGES = ("course", "course_tools", "autograder")  # what a grading worker imports (read-only in its sandbox)
JUDGES_FOLDER = "judges"  # the course's hidden tests' code: read-only in the worker's sandbox, never in a kernel's


def grader_package_dirs() -> list[str]:
    """The folders of :data:`GRADER_PACKAGES`, resolved (those importable)."""
    return [d for d in map(package_dir, GRADER_PACKAGES) if d]


def package_dir(name: str) -> str | None:
    """The folder of an importable package, resolved."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return _real(next(iter(spec.submodule_search_locations)))


def hub_cache() -> str | None:
    """The Hugging Face hub cache folder, resolved (None when there is none)."""
    from huggingface_hub import constants as hf_constants

    return _real(hf_constants.HF_HUB_CACHE)


def _editable_hooks(site_dir: str) -> list[str]:
    """Files of editable installs in a site-packages folder (they name the course root): masked in a kernel."""
    return sorted(glob.glob(os.path.join(site_dir, "__editable__*")))


@dataclass(frozen=True)
class CourseView:
    """The course's files as a kernel (and the warm-kernel zygote) sees them: read-only binds at neutral paths,
    the editable-install hooks masked, and the variables that point there."""

    binds: tuple[Bind, ...]
    masks: tuple[str, ...]
    env: dict[str, str]
    python: str  # the interpreter to run inside, by its neutral path

    @classmethod
    def here(cls) -> CourseView:
        """The view of this process's course: its Python, its ``course`` package, data mirror, checkpoint and hub
        cache (each resolved; missing ones left out)."""
        from course import sources

        binds, masks, env = [], [], {}
        prefix, base = _real(sys.prefix), _real(sys.base_prefix)
        python = sys.executable
        if base:
            binds.append(Bind(base, base))
        if prefix and prefix != base:  # a virtual environment: seen at a neutral path, its editable hooks masked
            binds.append(Bind(prefix, NEUTRAL_VENV))
            exe = os.path.abspath(sys.executable)
            if exe.startswith(os.path.abspath(sys.prefix) + os.sep):
                python = NEUTRAL_VENV + exe[len(os.path.abspath(sys.prefix)):]
            for site_dir in glob.glob(os.path.join(prefix, "lib", "python*", "site-packages")):
                masks += [NEUTRAL_VENV + p[len(prefix):] for p in _editable_hooks(site_dir)]
        elif base:
            for site_dir in glob.glob(os.path.join(base, "lib", "python*", "site-packages")):
                masks += _editable_hooks(site_dir)
        # PATH names only what the view holds: its Python's bin folders, then the system's
        env["PATH"] = ":".join([*([f"{NEUTRAL_VENV}/bin"] if prefix and prefix != base else []),
                                *([f"{base}/bin"] if base else []), *SYSTEM_PATH])
        course_pkg = package_dir("course")
        if course_pkg:
            binds.append(Bind(course_pkg, f"{NEUTRAL}/course"))
            env["PYTHONPATH"] = NEUTRAL
        data = _real(sources.data_dir())
        if data:
            binds.append(Bind(data, NEUTRAL_DATA))
            env[sources.DATA_DIR_ENV] = NEUTRAL_DATA
        checkpoint = os.environ.get(sources.CHECKPOINT_ENV, "").strip()
        if checkpoint and os.path.isdir(os.path.expanduser(checkpoint)):
            binds.append(Bind(_real(checkpoint), NEUTRAL_CHECKPOINT))
            env[sources.CHECKPOINT_ENV] = NEUTRAL_CHECKPOINT
        hub = hub_cache()
        if hub:
            binds.append(Bind(hub, NEUTRAL_HUB))
            env["HF_HUB_CACHE"] = NEUTRAL_HUB
        return cls(tuple(binds), tuple(masks), env, python)

    def translate(self, argv: Sequence[str]) -> list[str]:
        """A command line of this process's Python (``sys.executable ...``) as the sandbox must run it."""
        argv = list(argv)
        if argv and os.path.abspath(argv[0]) == os.path.abspath(sys.executable):
            argv[0] = self.python
        return argv


# ------------------------------------------------------------------------------------ the two policies
def kernel_policy(
    cwd: str,
    *,
    assignment: str = "work",
    helpers: Iterable[str] = (),
    shared: Iterable[str] = (),
    exchange: str | None = None,
    view: CourseView | None = None,
    env: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    work_bytes: int = 2 * GiB,
    tmp_bytes: int = 2 * GiB,
    uid: int | None = None,
) -> SandboxPolicy:
    """The student's kernel: an empty, size-limited working folder ``STUDENT_HOME/<assignment>`` holding the
    ``helpers`` (regular files, read-only), the course view, ``shared`` folders bound read-write at their own
    path (the kernel's connection sockets), and the judge's ``exchange`` folder at :data:`JUDGE_EXCHANGE`.
    ``cwd`` (the folder nbgrader would run the notebook in) is not bound: nothing the kernel writes lands there."""
    view = view or CourseView.here()
    home = f"{STUDENT_HOME}/{_plain(assignment)}"
    binds = list(view.binds)
    for helper in helpers:
        binds.append(Bind(helper, f"{home}/{os.path.relpath(helper, cwd)}"))
    binds += [Bind(p, p, writable=True) for p in shared]
    if exchange:
        binds.append(Bind(exchange, JUDGE_EXCHANGE, writable=True))
    environment = sandbox_env(env, extra={**view.env})
    return SandboxPolicy(
        name="kernel", cwd=home, binds=tuple(binds), masks=view.masks,
        tmpfs=(Tmpfs("/tmp", tmp_bytes), Tmpfs("/dev/shm", tmp_bytes), Tmpfs(home, work_bytes, "0777")),
        env=tuple(sorted(environment.items())), limits=limits or Limits(), uid=uid,
    )  # fmt: skip


def worker_policy(
    job_dir: str,
    *,
    readonly: Iterable[str],
    writable: Iterable[str] = (),
    exchange: str | None = None,
    env: Mapping[str, str],
    uid: int | None,
    limits: Limits | None = None,
    exchange_bytes: int = GiB,
    tmp_bytes: int = 4 * GiB,
) -> SandboxPolicy:
    """The grading worker: its job folder read-write, ``readonly`` paths (Python, the course and autograder
    packages, the release, data, config) and ``writable`` ones (its result folder) at their own paths, a
    size-limited ``exchange`` tmpfs (shared with its kernel), host PIDs (to start and watch the kernel's sandbox),
    and user namespaces allowed (the kernel's sandbox is one)."""
    binds = [Bind(_real(p), _real(p)) for p in {sys.base_prefix, sys.prefix, *readonly} if _real(p)]
    binds += [Bind(_real(p), _real(p), writable=True) for p in [job_dir, *writable] if _real(p)]
    tmpfs = [Tmpfs("/tmp", tmp_bytes), Tmpfs("/dev/shm", GiB)]
    if exchange:
        tmpfs.append(Tmpfs(exchange, exchange_bytes, "0777"))
    return SandboxPolicy(
        name="worker", cwd=_real(job_dir) or job_dir, binds=tuple(binds), tmpfs=tuple(tmpfs),
        env=tuple(sorted(_no_secrets(env).items())), uid=uid, host_pid=True, nested=True,
        limits=limits or Limits(max_processes=2048, max_file_bytes=2 * GiB),
    )  # fmt: skip


def _plain(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "work"
    return name[:100]


# ------------------------------------------------------------------------------------ the command line
def _within(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_argv(policy: SandboxPolicy, argv: Sequence[str]) -> list[str]:
    """The command line that runs ``argv`` in the sandbox ``policy`` describes. Builds the list only."""
    limits = ["prlimit", f"--as={policy.limits.memory_bytes}", f"--fsize={policy.limits.max_file_bytes}", "--core=0"]
    # RLIMIT_NPROC counts every process of the real uid: only for a uid of the grader's own (a dedicated one, or the
    # job's worker uid that an unprivileged kernel sandbox inside the worker's shares), never a person's or root's
    own_uid = policy.uid if policy.uid is not None else os.geteuid()
    if policy.limits.max_processes is not None and own_uid >= DEDICATED_UIDS:
        limits.append(f"--nproc={policy.limits.max_processes}")
    cmd = [*limits, "--", "bwrap"]
    if policy.uid is None:
        cmd += ["--unshare-user"] + ([] if policy.nested else ["--disable-userns"])
    elif policy.uid == 0:  # the zygote: root, with its capabilities
        pass
    else:  # no user namespace: the mounts are made as root, then setpriv drops to the uid
        cmd += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE"):  # DAC_OVERRIDE: --chdir into the uid's cwd
            cmd += ["--cap-add", cap]
    cmd += ([] if policy.host_pid else ["--unshare-pid"]) + ["--unshare-net", "--unshare-ipc", "--unshare-uts",
                                                             "--unshare-cgroup-try"]
    cmd += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]

    for path in SYSTEM_DIRS:  # the system, read-only; merged-usr links (/bin -> usr/bin) stay links
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    # a worker shares the host's /proc (bound writable: a nested bwrap writes its uid map there)
    cmd += ["--bind", "/proc", "/proc"] if policy.host_pid else ["--proc", "/proc"]
    cmd += ["--dev", "/dev"]

    # Mounts by depth, a tmpfs before the binds inside it; missing parents made world-readable (bwrap would make
    # them 0700 and root's), also inside a tmpfs, never inside a bind (that would create them on the host).
    mounts = [(t.dest, 0, t) for t in policy.tmpfs] + [(b.dest, 1, b) for b in policy.binds
                                                       if os.path.exists(b.source)]
    made, bound = {"/", "/etc", "/proc", "/dev"}, []
    for dest, _, mount in sorted(mounts, key=lambda m: (m[0].count("/"), m[1], m[0])):
        parent, parents = os.path.dirname(dest), []
        while parent not in made and not _within(parent, bound):
            parents.append(parent)
            parent = os.path.dirname(parent)
        for p in reversed(parents):
            cmd += ["--perms", "0755", "--dir", p]
            made.add(p)
        if isinstance(mount, Tmpfs):
            cmd += ["--perms", mount.mode, "--size", str(mount.size), "--tmpfs", dest]
            if dest == "/tmp":  # HOME and the caches live there, writable whatever the uid
                cmd += ["--perms", "0777", "--dir", SANDBOX_HOME]
                made.add(SANDBOX_HOME)
        else:
            cmd += ["--bind" if mount.writable else "--ro-bind", mount.source, dest]
            bound.append(dest)
        made.add(dest)
    for mask in policy.masks:
        cmd += ["--ro-bind", "/dev/null", mask]
    cmd += ["--remount-ro", "/"]  # the sandbox's own root (an unbounded tmpfs) stays read-only

    cmd.append("--clearenv")
    for key, value in sorted(policy.env):
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", policy.cwd, "--"]
    if policy.uid:
        cmd += ["setpriv", f"--reuid={policy.uid}", f"--regid={policy.uid}", "--clear-groups", "--no-new-privs",
                "--inh-caps=-all", "--"]
    return cmd + list(argv)


def zygote_policy(view: CourseView, socket_dir: str, *, grader_dir: str, env: Mapping[str, str],
                  tmp_bytes: int = 2 * GiB) -> SandboxPolicy:
    """The warm-kernel zygote's view (:mod:`autograder.zygote`): root with its capabilities (it joins every kernel
    sandbox's namespaces through the host's ``/proc``), the course view at its neutral paths, the autograder package
    at :data:`NEUTRAL_GRADER`, its socket folder and a private ``/tmp``. What it imports therefore names only
    neutral paths: a kernel forked from it finds nothing of the course root in its memory."""
    binds = [*view.binds, Bind(grader_dir, f"{NEUTRAL_GRADER}/autograder"), Bind(socket_dir, socket_dir, True)]
    pythonpath = ":".join(p for p in (view.env.get("PYTHONPATH"), NEUTRAL_GRADER) if p)
    return SandboxPolicy(
        name="zygote", cwd="/", binds=tuple(binds), masks=view.masks,
        tmpfs=(Tmpfs("/tmp", tmp_bytes), Tmpfs("/dev/shm", GiB)),
        env=tuple(sorted({**_no_secrets(env), **view.env, "PYTHONPATH": pythonpath}.items())),
        uid=0, host_pid=True, nested=True, limits=Limits(max_processes=None),
    )  # fmt: skip


def worker_zygote_policy(view: CourseView, socket_dir: str, *, readonly: Iterable[str], env: Mapping[str, str],
                         tmp_bytes: int = 4 * GiB) -> SandboxPolicy:
    """The warm-worker zygote's view (:mod:`autograder.zygote`, mode "worker"): root with its capabilities (it joins
    every worker sandbox's namespaces), the course's files at their own paths (a worker is trusted code), its socket
    folder, and the same private ``/tmp`` (HOME, caches) every worker has, so that what libraries note at import time
    (cache folders) holds in the workers forked from it."""
    binds = [Bind(b.source, b.source) for b in view.binds]
    binds += [Bind(_real(p), _real(p)) for p in readonly if _real(p)]
    binds.append(Bind(socket_dir, socket_dir, True))
    return SandboxPolicy(
        name="worker-zygote", cwd="/", binds=tuple(binds), tmpfs=(Tmpfs("/tmp", tmp_bytes), Tmpfs("/dev/shm", GiB)),
        env=tuple(sorted(_no_secrets(env).items())), uid=0, host_pid=True, nested=True,
        limits=Limits(max_processes=None, max_file_bytes=2 * GiB),
    )  # fmt: skip
