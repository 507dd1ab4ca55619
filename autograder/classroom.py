"""``course classroom``: a JupyterHub for the course on this machine (see autograder/README.md, *Classroom server*).

It writes ``<course>/classroom/``: ``jupyterhub_config.py`` (from ``jupyterhub_config.py.tmpl``, kept when it
exists: the instructor's to change), ``students.txt`` (the roster's ids, the hub's allowed users), and the Jupyter
configuration folders of the two kinds of users: ``student/`` (the kit's student Lab of release/jupyter_config with
nbgrader's Assignment List on, and nbgrader's exchange) and ``instructor/`` (the exchange). As root it also

* creates every student (and the instructor) as a local user with a private home (``useradd``), and with
  ``--passwords FILE`` gives each new user a random password, written to FILE (mode 0600) for the instructor;
* makes nbgrader's exchange (mode 1777: nbgrader's guide says ugo+rw; the sticky bit added):
  ``<exchange>/<course id>`` belongs to the instructor, and nbgrader's own release makes ``outbound/`` (0755),
  ``inbound/`` (0733: students write, nobody but the instructor lists) and ``feedback/`` (0711: a student opens
  only the feedback whose name, a hash of their own hand-in's secret, they know);
* closes the course folder to the students: it becomes the instructor's, mode 0711, and everything in it but
  :data:`PUBLIC` (the Python environment, the ``course`` package the student Lab imports, ``release/``) is the
  instructor's alone (``source/``, the gradebook, ``submitted/``, ``autograded/``, ``feedback/``, ``.git`` ...);
  ``classroom/`` stays root's (the hub, run as root, executes its config; the instructor changes it with sudo),
  its ``hub/`` (the hub's database and cookie secret) root's alone;

and then starts ``jupyterhub``. Each server runs as its user (JupyterHub's LocalProcessSpawner) in the bubblewrap
sandbox of :class:`ClassroomSpawner` (no other home; a student sees only :data:`PUBLIC` of the course folder), with
the kit's sandbox :class:`~autograder.policy.Limits` as rlimits and, where cgroups can be written, the whole
server's memory (``Spawner.mem_limit``) and CPU (``Spawner.cpu_limit``).

Why nbgrader's own file exchange and not ngshare: it needs no further service, its security is the file system's
(each hand-in is owned by the uid that made it, and :class:`OwnerCheckedCollect` refuses one that names another
student), and formgrader and the Assignment List use it as they are. Its limit: all users share one file system
(one machine, or one network file system) -- a course across many machines (Zero to JupyterHub) uses ngshare.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import List, Unicode

from .policy import Limits

CLASSROOM = "classroom"  # under the course folder
TEMPLATE = Path(__file__).with_name("jupyterhub_config.py.tmpl")
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"  # nbgrader's default Exchange.root
# What the students may read of the course folder (the rest is the instructor's alone).
PUBLIC = (".venv", "course", "release", CLASSROOM)
# ... and what the grader's own sandboxed workers read (dedicated uids): the course's nbgrader configuration
READABLE = ("nbgrader_config.py",)
LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # what useradd accepts everywhere
CGROUP = "course-classroom"  # the cgroup (v1: in the memory and cpu hierarchies) holding one cgroup per server
SERVER_LIMITS = Limits(memory_bytes=16 * 1024**3, max_processes=512)  # per process: JupyterLab + torch kernels
SERVER_TMP_BYTES = 1024**3  # each of a server's private /tmp, /home and /root (in memory)


class ClassroomError(Exception):
    """A one-line message that says what to do."""


@dataclass(frozen=True)
class Classroom:
    course_root: Path
    course_id: str
    instructor: str
    students: tuple[str, ...]
    exchange: Path = Path(DEFAULT_EXCHANGE)
    ip: str = "127.0.0.1"
    port: int = 8000
    mem_limit: str = "3G"
    cpu_limit: float = 1.0

    @property
    def folder(self) -> Path:
        return self.course_root / CLASSROOM


def check_user_names(names) -> None:
    bad = [n for n in names if not LINUX_USER.match(n)]
    if bad:
        raise ClassroomError(f"not a Linux user name: {', '.join(map(repr, bad[:5]))}; classroom accounts are the "
                             "student ids, so use lower-case letters, digits, '_' and '-' (at most 32) in the roster")


def students_of(course_root: Path, course_id: str, roster: str | None) -> list[str]:
    """The student ids of a roster CSV (``course roster``'s format), else of the course's gradebook."""
    if roster:
        from .roster import read_roster

        try:
            return [e.id for e in read_roster(roster)]
        except ValueError as e:
            raise ClassroomError(str(e)) from None
    db = course_root / "gradebook.db"
    if not db.is_file():
        raise ClassroomError(f"no students: give a roster CSV (course classroom --roster students.csv) or import one "
                             f"into {db} with `course roster students.csv`")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", course_id) as gb:
        ids = sorted(s.id for s in gb.students)
    if not ids:
        raise ClassroomError(f"{db} has no students: course roster students.csv")
    return ids


# ------------------------------------------------------------------------------------------------ files
def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def nbgrader_exchange_config(room: Classroom, load: Path) -> str:
    """nbgrader's settings of one kind of user: ``load`` (the course's config, or the release's that gives Validate
    the course's cell time limits), then the exchange."""
    return ("# nbgrader's settings in the classroom (written by `course classroom`)\n"
            "import os\n\n"
            "c = get_config()  # noqa: F821\n"
            f"if os.path.isfile({str(load)!r}):\n"
            f"    load_subconfig({str(load)!r})  # noqa: F821\n"
            f"c.Exchange.root = {str(room.exchange)!r}\n"
            f"c.CourseDirectory.course_id = {room.course_id!r}\n")


def write_classroom(room: Classroom, new_config: bool = False) -> Path:
    """Write ``<course>/classroom/`` (the config kept unless missing or ``new_config``); its path."""
    from .release import student_jupyter_config

    check_user_names([room.instructor, *room.students])
    folder = room.folder
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o755)
    (folder / "hub").mkdir(exist_ok=True)  # the hub's database and cookie secret
    os.chmod(folder / "hub", 0o700)
    config = folder / "jupyterhub_config.py"
    if new_config and config.exists():
        shutil.copy2(config, folder / "jupyterhub_config.py.bak")
    if new_config or not config.exists():
        text = TEMPLATE.read_text().format(singleuser=str(Path(sys.executable).with_name("jupyterhub-singleuser")),
            course_root=str(room.course_root), classroom=str(folder), instructor=room.instructor, ip=room.ip,
            port=room.port, mem_limit=room.mem_limit, cpu_limit=room.cpu_limit, exchange=str(room.exchange))
        _write(config, text, 0o644)
    _write(folder / "students.txt", "# the classroom's students (written by `course classroom`)\n"
           + "".join(f"{s}\n" for s in room.students), 0o644)
    for rel, text in student_jupyter_config({"Exchange": {"root": str(room.exchange)}}).items():
        _write(folder / "student" / rel, text)
    _write(folder / "student" / "nbgrader_config.py",
           nbgrader_exchange_config(room, room.course_root / "release" / "nbgrader_config.py"))
    # the instructor's formgrader reads the course's configuration wherever their server starts
    _write(folder / "instructor" / "nbgrader_config.py",
           nbgrader_exchange_config(room, room.course_root / "nbgrader_config.py"))
    for sub in ("student", "instructor"):
        for d in [folder / sub, *(p for p in (folder / sub).rglob("*") if p.is_dir())]:
            os.chmod(d, 0o755)
    return config


# ------------------------------------------------------------------------------------------------ the system
def ensure_user(name: str, password: bool) -> str | None:
    """Create the local user ``name`` (a private home of its own) unless it exists; its new password or None."""
    try:
        pwd.getpwnam(name)
        return None
    except KeyError:
        pass
    subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], check=True,
                   capture_output=True)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    if not password:
        return None
    secret = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{name}:{secret}\n", text=True, check=True, capture_output=True)
    return secret


def close_course_folder(room: Classroom) -> None:
    """The course folder becomes the instructor's (``classroom/`` stays root's), mode 0711; then :func:`seal`."""
    user = pwd.getpwnam(room.instructor)
    root = room.course_root
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != CLASSROOM]  # root's: the hub runs its config as root
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid)
    os.chown(root, user.pw_uid, user.pw_gid)
    os.chmod(root, 0o711)
    seal(root)


def seal(root: Path) -> None:
    """Everything in the course folder but :data:`PUBLIC` and :data:`READABLE` becomes its owner's alone (as root:
    also what root made in it since, such as ``submitted/`` after a collect)."""
    owner = root.stat()
    for entry in root.iterdir():
        if entry.name in PUBLIC or entry.name in READABLE or entry.is_symlink():
            continue
        if os.geteuid() == 0 and entry.lstat().st_uid != owner.st_uid:
            for dirpath, _, filenames in os.walk(entry):
                for name in ["", *filenames]:
                    os.lchown(os.path.join(dirpath, name), owner.st_uid, owner.st_gid)
        if os.geteuid() == 0 or entry.lstat().st_uid == os.geteuid():  # (the instructor: their own entries)
            os.chmod(entry, stat.S_IMODE(entry.lstat().st_mode) & 0o700)


def make_exchange(room: Classroom) -> None:
    """``<exchange>`` (root's; 1777: nbgrader's students refuse an exchange they cannot write, and the sticky bit
    keeps them from renaming or removing what is not theirs) and ``<exchange>/<course id>`` (the instructor's,
    0755)."""
    user = pwd.getpwnam(room.instructor)
    room.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(room.exchange, 0o1777)
    course = room.exchange / room.course_id
    course.mkdir(exist_ok=True)
    os.chown(course, user.pw_uid, user.pw_gid)
    os.chmod(course, 0o755)


def prepare_system(room: Classroom, passwords: Path | None) -> list[str]:
    """As root: users, exchange, course folder (see the module's doc); what it did, one line each."""
    done, new = [], {}
    for name in (room.instructor, *room.students):
        existed = _exists(name)
        secret = ensure_user(name, passwords is not None)
        if not existed:
            done.append(f"created user {name}")
        if secret:
            new[name] = secret
    if passwords is not None and new:
        fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.writelines(f"{n},{s}\n" for n, s in new.items())
        done.append(f"passwords of the {len(new)} new user(s): {passwords}")
    make_exchange(room)
    done.append(f"nbgrader exchange: {room.exchange / room.course_id}")
    close_course_folder(room)
    done.append(f"{room.course_root} belongs to {room.instructor}; students read only {', '.join(PUBLIC)} in it")
    return done


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# ------------------------------------------------------------------------------------------------ the spawner
def _cgroup_dirs(name: str) -> dict[str, Path]:
    """The server's cgroup folders that this machine lets root make: {'memory': ..., 'cpu': ...} (v1), or
    {'unified': ...} (v2); {} where there are none."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():  # v2
        return {"unified": base / CGROUP / name}
    return {kind: base / kind / CGROUP / name for kind in ("memory", "cpu") if (base / kind).is_dir()}


def _size(text) -> int:
    if isinstance(text, int):
        return text
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = str(text).strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def make_cgroups(name: str, memory: int | None, cpus: float | None) -> list[Path]:
    """Make the server's cgroups with the limits; the ``cgroup.procs`` files its first process joins ([] when
    cgroups cannot be written here: the rlimits still hold)."""
    procs = []
    period = 100_000
    for kind, d in _cgroup_dirs(name).items():
        try:
            if kind == "unified":
                d.parent.mkdir(exist_ok=True)
                (d.parent.parent / "cgroup.subtree_control").write_text("+memory +cpu")
                (d.parent / "cgroup.subtree_control").write_text("+memory +cpu")
                d.mkdir(exist_ok=True)
                if memory:
                    (d / "memory.max").write_text(str(memory))
                if cpus:
                    (d / "cpu.max").write_text(f"{int(cpus * period)} {period}")
            else:
                d.mkdir(parents=True, exist_ok=True)
                if kind == "memory" and memory:
                    (d / "memory.limit_in_bytes").write_text(str(memory))
                if kind == "cpu" and cpus:
                    (d / "cpu.cfs_period_us").write_text(str(period))
                    (d / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
        except OSError:
            continue
        procs.append(d / "cgroup.procs")
    return procs


def _dirs_to(dest: str, tmpfs: set[str], made: set[str]) -> list[str]:
    """``--dir`` arguments for the missing parents of ``dest`` inside one of the ``tmpfs`` folders (mode 0711:
    bwrap would make them root's alone; nobody lists them)."""
    parents, parent = [], os.path.dirname(dest)
    while parent not in made and parent != "/" and any(parent.startswith(t + "/") for t in tmpfs):
        parents.append(parent)
        parent = os.path.dirname(parent)
    out = []
    for p in reversed(parents):
        out += ["--perms", "0711", "--dir", p]
        made.add(p)
    return out


def server_sandbox_argv(user: pwd.struct_passwd, writable: list[str], readonly: list[str],
                        cwd: str | None = None) -> list[str]:
    """The bubblewrap command (run as root) that runs a user's server as that user: the machine read-only, a private
    /tmp, /home holding only the user's home, /root empty (but the Python installation when it lives there), the
    ``writable`` folders (home, exchange; the instructor's course folder) and ``readonly`` ones; then ``setpriv``
    becomes the user without capabilities or new privileges. Unlike the grading sandboxes (:func:`policy.bwrap_argv`)
    it keeps the machine's network: the server talks to the hub and proxy on 127.0.0.1."""
    tmpfs = ["/tmp", "/home", "/root"]
    cmd = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL"]
    for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE"):  # for setpriv, and --chdir into the home
        cmd += ["--cap-add", cap]
    cmd += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for t in tmpfs:
        cmd += ["--perms", "1777" if t == "/tmp" else "0755", "--size", str(SERVER_TMP_BYTES), "--tmpfs", t]
    made = set(tmpfs)
    python = os.path.realpath(sys.base_prefix)  # a Python under /root (pyenv) stays reachable
    binds = [(p, False) for p in [python, *readonly]] + [(p, True) for p in writable]
    for path, rw in sorted({(os.path.realpath(p), rw) for p, rw in binds if os.path.exists(p)},
                           key=lambda b: b[0].count("/")):
        cmd += _dirs_to(path, set(tmpfs), made) + ["--bind" if rw else "--ro-bind", path, path]
        made.add(path)
    cmd += ["--chdir", cwd or user.pw_dir, "--", "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
            "--init-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return cmd


def user_sandbox_argv(name: str, *, instructor: str, course_root: str, exchange_root: str, student_config: str,
                      instructor_config: str, readonly=()) -> list[str]:
    """:func:`server_sandbox_argv` for the user ``name``: home and exchange writable; the instructor also writes the
    course folder; a student reads only :data:`PUBLIC` of it (and their Jupyter configuration)."""
    user = pwd.getpwnam(name)
    writable, readonly = [user.pw_dir, exchange_root], list(readonly)
    if name == instructor:
        writable.append(course_root)
        readonly.append(instructor_config)
    else:
        readonly += [os.path.join(course_root, p) for p in PUBLIC if p != CLASSROOM]
        readonly.append(student_config)
    return server_sandbox_argv(user, writable, readonly, cwd=course_root if name == instructor else None)


class ClassroomSpawner(LocalProcessSpawner):
    """JupyterHub's LocalProcessSpawner with the kit's limits: each server runs as its user in a bubblewrap
    sandbox (:func:`server_sandbox_argv`: other homes, /root and, for a student, the course folder but its public
    part are not there at all), with the rlimits of :data:`SERVER_LIMITS` (address space per process, processes of
    the user, file size) and, where cgroups can be written, ``mem_limit`` and ``cpu_limit`` for the whole server.
    The instructor's server opens the course folder (formgrader); everyone's reads the Jupyter configuration of
    their kind of user."""

    instructor = Unicode("", config=True, help="the instructor's user name (formgrader, the course folder)")
    course_root = Unicode("", config=True, help="the course folder: the instructor's server starts there")
    student_config = Unicode("", config=True, help="JUPYTER_CONFIG_PATH of the students' servers")
    instructor_config = Unicode("", config=True, help="JUPYTER_CONFIG_PATH of the instructor's server")
    exchange_root = Unicode(DEFAULT_EXCHANGE, config=True, help="nbgrader's exchange folder (Exchange.root)")
    readonly_paths = List(Unicode(), config=True,
                          help="further folders every server sees read-only where /tmp, /home or /root hide them")

    @property
    def is_instructor(self) -> bool:
        return self.user.name == self.instructor

    def get_env(self):
        env = super().get_env()
        bin_dir = os.path.dirname(sys.executable)  # the course's environment first (also under sudo's PATH)
        env["PATH"] = os.pathsep.join([bin_dir, *(p for p in env.get("PATH", os.defpath).split(os.pathsep)
                                                  if p != bin_dir)])
        env["JUPYTER_CONFIG_PATH"] = self.instructor_config if self.is_instructor else self.student_config
        return env

    def sandbox_argv(self) -> list[str]:
        return user_sandbox_argv(self.user.name, instructor=self.instructor, course_root=self.course_root,
                                 exchange_root=self.exchange_root, student_config=self.student_config,
                                 instructor_config=self.instructor_config, readonly=self.readonly_paths)

    async def start(self):
        if self.is_instructor and self.course_root:
            self.notebook_dir = self.course_root
        if not getattr(self, "_server_cmd", None):
            self._server_cmd = list(self.cmd)
        self.cmd = [*self.sandbox_argv(), *self._server_cmd]
        self._cgroup_procs = make_cgroups(self.user.name, _size(self.mem_limit) if self.mem_limit else None,
                                          self.cpu_limit)
        if not self._cgroup_procs:
            self.log.warning("no cgroups here: %s's server is limited by rlimits only", self.user.name)
        return await super().start()

    def make_preexec_fn(self, name):
        procs = list(getattr(self, "_cgroup_procs", []))

        def preexec():  # in the child, as root: bwrap makes the sandbox, setpriv then becomes the user
            import resource

            for path in procs:
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
            resource.setrlimit(resource.RLIMIT_AS, (SERVER_LIMITS.memory_bytes,) * 2)
            if SERVER_LIMITS.max_processes:
                resource.setrlimit(resource.RLIMIT_NPROC, (SERVER_LIMITS.max_processes,) * 2)
            resource.setrlimit(resource.RLIMIT_FSIZE, (SERVER_LIMITS.max_file_bytes,) * 2)

        return preexec


# ------------------------------------------------------------------------------------------------ command
def hub_command(config: Path, overrides: list[str] = ()) -> list[str]:
    return [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(config), *overrides]


def check_proxy() -> None:
    if shutil.which("configurable-http-proxy") is None:
        raise ClassroomError("configurable-http-proxy is not installed: as root, npm install -g "
                             "configurable-http-proxy@4.6.3 (bash bootstrap.sh does it; apt-get install nodejs npm)")


def run_classroom(room: Classroom, passwords: Path | None = None, new_config: bool = False,
                  start: bool = True, overrides: list[str] = ()) -> int:
    """Write the classroom, prepare the machine (root) and run the hub with ``overrides`` (jupyterhub's
    ``--Class.trait=value`` options, which win over the config file); the hub's exit status."""
    config = write_classroom(room, new_config)
    print(f"classroom config: {config}")
    if os.geteuid() != 0:
        print(f"course classroom creates local users and runs each server as its user: run it as root "
              f"(sudo -E env PATH=$PATH course classroom ...), or start the hub as root with: jupyterhub -f {config}",
              file=sys.stderr)
        return 2
    for line in prepare_system(room, passwords):
        print(line)
    if not start:
        return 0
    check_proxy()
    print(f"starting JupyterHub on http://{room.ip}:{room.port}/ (Ctrl-C stops it)")
    return subprocess.call(hub_command(config, overrides), cwd=room.folder)
