"""``course classroom`` (autograder/classroom.py): the generated configuration, and the throw-away classroom the
end-to-end test (tests/test_classroom_browser.py) runs in.

Here, anywhere: the config a hub loads (loopback only, the roster's users, the spawner and its limits, the hub's
private folder, the students' Lab with the Assignment List and without formgrader, each kind of user's nbgrader
settings), that the instructor's changes are kept, and the one-line messages (not root, no students, a roster id
that is no Linux user name). For the end-to-end test, as root: :class:`Room` (an instructor and two students as
local users, removed afterwards, for a copy of the toy course in a world-traversable folder), :func:`running_hub`
(``course classroom`` on a free port, stopped with every server), and :func:`check_isolation` (what a student
tries to read of others and of the instructor, in her server's sandbox and on the plain file system).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from autograder.classroom import (
    CLASSROOM,
    Classroom,
    ClassroomError,
    _cgroup_dirs,
    check_user_names,
    run_classroom,
    user_sandbox_argv,
    write_classroom,
)

TOY = ROOT / "tests" / "fixtures" / "toy_course"
ASSIGNMENT, NOTEBOOK = "00_toy", "toy.ipynb"
HUB_START_S = 60
SERVER_START_S = 120


def _copy_toy(dest: Path) -> Path:
    shutil.copytree(TOY, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


# ---------------------------------------------------------------------------------------------- anywhere
def test_generated_config_is_readable_and_loopback_only(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    course = _copy_toy(tmp_path / "course")
    room = Classroom(course, "toy-course", "teacher", ("ann", "bob"), tmp_path / "exchange", port=8123)
    config = write_classroom(room)
    cfg = PyFileConfigLoader(config.name, path=str(config.parent)).load_config()
    assert cfg.JupyterHub.ip == "127.0.0.1" and cfg.JupyterHub.hub_ip == "127.0.0.1" and cfg.JupyterHub.port == 8123
    assert cfg.Authenticator.allowed_users == {"teacher", "ann", "bob"}
    assert cfg.Authenticator.admin_users == {"teacher"}
    assert cfg.JupyterHub.spawner_class == "autograder.classroom.ClassroomSpawner"
    assert cfg.JupyterHub.db_url.endswith(f"{CLASSROOM}/hub/jupyterhub.sqlite")
    assert (cfg.Spawner.mem_limit, cfg.Spawner.cpu_limit) == ("3G", 1.0)
    assert cfg.ClassroomSpawner.exchange_root == str(tmp_path / "exchange")
    assert oct((course / CLASSROOM / "hub").stat().st_mode & 0o777) == "0o700"
    # the students' Lab: the kit's, with the Assignment List (an exchange exists) and without the instructor tools
    student = course / CLASSROOM / "student"
    page = json.loads((student / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert "@jupyter/nbgrader:formgrader" in page and "@jupyter/nbgrader:assignment-list" not in page
    exts = json.loads((student / "jupyter_server_config.d" / "course-student.json").read_text())
    exts = exts["ServerApp"]["jpserver_extensions"]
    assert exts["nbgrader.server_extensions.formgrader"] is False and exts["course.lab"] is True
    assert "nbgrader.server_extensions.assignment_list" not in exts
    for kind in ("student", "instructor"):
        ex = PyFileConfigLoader("nbgrader_config.py", path=str(course / CLASSROOM / kind)).load_config()
        assert ex.Exchange.root == str(tmp_path / "exchange") and ex.CourseDirectory.course_id == "toy-course"
        # the instructor's formgrader: the course's own configuration (its root, timeouts), wherever it starts
        assert (ex.CourseDirectory.root == str(course)) == (kind == "instructor")
    # the instructor's changes are kept; --new-config writes it afresh and keeps theirs
    config.write_text(config.read_text() + "\n# mine\n")
    write_classroom(room)
    assert config.read_text().endswith("# mine\n")
    write_classroom(room, new_config=True)
    assert "# mine" not in config.read_text() and (config.parent / "jupyterhub_config.py.bak").is_file()


def test_user_names_must_be_linux_users():
    check_user_names(["ann", "bob_2", "s-3"])
    with pytest.raises(ClassroomError, match="not a Linux user name: 'Ann'"):
        check_user_names(["Ann", "bob"])


def test_not_root_says_how_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    room = Classroom(_copy_toy(tmp_path / "course"), "toy-course", "teacher", ("ann",), tmp_path / "ex")
    assert run_classroom(room) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run it as root" in err, err
    assert not (tmp_path / "ex").exists()  # nothing made but the config


def test_no_students_says_what_to_do(tmp_path):
    from autograder.cli import main

    course = _copy_toy(tmp_path / "course")
    proc = subprocess.run([sys.executable, "-m", "course_tools.cli", "classroom", "--instructor", "teacher",
                           "--course-root", str(course), "--no-start"], capture_output=True, text=True)
    assert proc.returncode == 1 and "course roster students.csv" in proc.stderr, proc.stderr
    assert main  # the autograder's CLI registers the command


# ---------------------------------------------------------------------------------------------- as root
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap") or not shutil.which("useradd"),
                                reason="makes local users and bubblewrap sandboxes: run as root (CI does)")


def _env(user: pwd.struct_passwd, config: Path) -> dict[str, str]:
    keep = ("PATH", "PYTHONPATH", "LANG", "COURSE_DATA_DIR", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "HOME": user.pw_dir, "USER": user.pw_name,
            "LOGNAME": user.pw_name, "JUPYTER_CONFIG_PATH": str(config)}


def _kill_processes_of(uid: int) -> None:
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                os.kill(int(proc.name), signal.SIGKILL)


class Room:
    """A classroom of throw-away users for a copy of the toy course."""

    def __init__(self, base: Path):
        tag = secrets.token_hex(3)
        self.base = base
        self.instructor, self.ann, self.bob = f"ct{tag}i", f"ct{tag}a", f"ct{tag}b"
        self.course = _copy_toy(base / "course")
        with open(self.course / "nbgrader_config.py", "a") as f:  # a due date long past: every hand-in is late
            f.write(f'\nc.Autograder.due_dates = {{"{ASSIGNMENT}": "2020-01-01 00:00:00"}}\n')
        self.exchange = base / "exchange"
        self.passwords = base / "passwords.csv"
        (base / "roster.csv").write_text(f"id,first_name,last_name,email\n{self.ann},Ann,A,a@example.org\n"
                                         f"{self.bob},Bob,B,b@example.org\n")

    def course_cmd(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "course_tools.cli", *args], cwd=self.course, capture_output=True,
                              text=True, timeout=600, **kw)

    def classroom_args(self) -> list[str]:
        return ["classroom", "--roster", str(self.base / "roster.csv"), "--instructor", self.instructor,
                "--passwords", str(self.passwords), "--exchange-root", str(self.exchange)]

    def sandboxed(self, name: str, script: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """``script`` (bash) as ``name`` in the sandbox its server runs in."""
        room = self.course / CLASSROOM
        argv = user_sandbox_argv(name, instructor=self.instructor, course_root=str(self.course),
                                 exchange_root=str(self.exchange), student_config=str(room / "student"),
                                 instructor_config=str(room / "instructor"))
        user = pwd.getpwnam(name)
        kind = "instructor" if name == self.instructor else "student"
        return subprocess.run([*argv, "bash", "-c", script], env={**_env(user, room / kind), **(env or {})},
                              capture_output=True, text=True, timeout=300)

    def plain(self, name: str, script: str) -> subprocess.CompletedProcess:
        """``script`` as ``name`` on the machine's own file system (no sandbox)."""
        user = pwd.getpwnam(name)
        return subprocess.run(["runuser", "-u", name, "--", "bash", "-c", script], cwd=user.pw_dir,
                              env=_env(user, self.course / CLASSROOM / "student"), capture_output=True, text=True,
                              timeout=120)

    def remove(self) -> None:
        for name in (self.instructor, self.ann, self.bob):
            try:
                uid = pwd.getpwnam(name).pw_uid
            except KeyError:
                continue
            _kill_processes_of(uid)  # this test's users only
            subprocess.run(["userdel", "--remove", name], capture_output=True)
            for d in _cgroup_dirs(name).values():
                with contextlib.suppress(OSError):
                    d.rmdir()
        shutil.rmtree(self.base, ignore_errors=True)


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------- the hub
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_hub(room: Room):
    """``course classroom`` on a free port; stopped (with every user's server) when the block ends."""
    import requests

    port = _free_port()
    log = open(room.base / "hub.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "course_tools.cli", *room.classroom_args(), "--port", str(port)],
                            cwd=room.course, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HUB_START_S
        while True:
            assert proc.poll() is None, (room.base / "hub.log").read_text()[-3000:]
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/hub/login", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the hub did not start: " + (room.base / "hub.log").read_text()[-3000:]
            time.sleep(1)
        yield {"base": base, "port": port, "proc": proc, "log": room.base / "hub.log"}
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # the hub stops the users' servers as it ends
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def passwords(room: Room) -> dict[str, str]:
    return dict(line.split(",", 1) for line in room.passwords.read_text().split())


def check_isolation(r: Room) -> None:
    """A student reads nothing of another student's home or hand-ins, of source/, the gradebook, the collected
    work or the hub's secrets, neither in her server's sandbox nor on the plain file system (after the loop)."""
    bob_home = pwd.getpwnam(r.bob).pw_dir
    secret_paths = [
        f"{bob_home}/{ASSIGNMENT}/{NOTEBOOK}",  # another's home
        f"{r.course}/source/{ASSIGNMENT}/{NOTEBOOK}",  # the instructor's solutions and hidden tests
        f"{r.course}/gradebook.db",
        f"{r.course}/submitted/{r.bob}/{ASSIGNMENT}/{NOTEBOOK}",  # collected hand-ins
        f"{r.course}/feedback/{r.bob}/{ASSIGNMENT}/toy.html",
        f"{r.course}/autograded/{r.bob}/{ASSIGNMENT}/{NOTEBOOK}",
        f"{r.course}/{CLASSROOM}/hub/jupyterhub_cookie_secret",
        f"{r.passwords}",
    ]
    secret_dirs = [bob_home, f"{r.course}", f"{r.course}/source", f"{r.exchange}/toy-course/inbound",
                   f"{r.exchange}/toy-course/feedback", f"{r.course}/submitted"]
    for p in secret_paths:  # they are there (root sees them)...
        assert Path(p).exists() or "cookie_secret" in p, p
    probe = "; ".join([f"cat {p!r} >/dev/null 2>&1 && echo READ {p}" for p in secret_paths]
                      + [f"ls {d!r} >/dev/null 2>&1 && echo LISTED {d}" for d in secret_dirs]
                      + [f"touch {r.exchange}/toy-course/outbound/{ASSIGNMENT}/x 2>/dev/null && echo WROTE outbound",
                         f"cat {r.course}/release/{ASSIGNMENT}/{NOTEBOOK} >/dev/null && echo RELEASE-OK"])
    for how in (r.sandboxed, r.plain):  # ...but neither in her server's sandbox nor on the file system
        result = how(r.ann, probe)
        leaks = [line for line in result.stdout.splitlines() if not line.endswith("RELEASE-OK")]
        assert leaks == [], (how.__name__, leaks)
        assert "RELEASE-OK" in result.stdout, (how.__name__, result.stdout, result.stderr)  # the control
    # in her sandbox other homes and the course's private folders are not even there
    seen = r.sandboxed(r.ann, f"ls /home; for p in source gradebook.db submitted {CLASSROOM}/hub; do "
                               f"test -e {r.course}/$p && echo THERE $p; done")
    assert r.bob not in seen.stdout and "THERE" not in seen.stdout and r.ann in seen.stdout, seen.stdout


def test_seal_closes_the_private_entries_and_skips_others(tmp_path, monkeypatch):
    from autograder.classroom import seal

    course = _copy_toy(tmp_path / "course")
    (course / "gradebook.db").write_bytes(b"")
    (course / "submitted").mkdir()
    seal(course)
    modes = {p.name: p.stat().st_mode & 0o777 for p in course.iterdir()}
    assert modes["source"] & 0o077 == 0 and modes["submitted"] & 0o077 == 0 and modes["gradebook.db"] & 0o077 == 0
    assert modes["release"] & 0o005 == 0o005 and modes["nbgrader_config.py"] & 0o004  # public; the graders read it
    # the instructor (not root) sealing after a root-made entry: theirs closed, root's left alone, no error
    os.chmod(course / "submitted", 0o755)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(course).st_uid + 1)
    seal(course)
    assert (course / "submitted").stat().st_mode & 0o777 == 0o755


def test_collect_takes_only_regular_files_and_never_follows_a_link(tmp_path, caplog):
    """collect runs as root: a hand-in's link to the solutions (or a classmate's hand-in, or /dev/zero), a FIFO
    and a hand-in that is itself a link never reach submitted/; the student's own notebook does."""
    import logging
    from types import SimpleNamespace

    from autograder.exchange import OwnerCheckedCollect

    secret = tmp_path / "source.ipynb"
    secret.write_text("SOLUTIONS")
    hand_in = tmp_path / "inbound" / "ann+a1+2026-12-06 10:00:00.000000 UTC"
    (hand_in / "sub").mkdir(parents=True)
    (hand_in / "toy.ipynb").write_text("{}")
    (hand_in / "timestamp.txt").write_text("2026-12-06 10:00:00.000000 UTC")
    (hand_in / "stolen.ipynb").symlink_to(secret)
    (hand_in / "zero.ipynb").symlink_to("/dev/zero")
    os.mkfifo(hand_in / "pipe.ipynb")
    (hand_in / "linked_dir").symlink_to(tmp_path)
    app = SimpleNamespace(log=logging.getLogger("collect-test"), coursedir=SimpleNamespace(max_file_size=100))
    dest = tmp_path / "submitted" / "ann" / "a1"
    with caplog.at_level(logging.ERROR, logger="collect-test"):
        OwnerCheckedCollect.do_copy(app, str(hand_in), str(dest))
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["timestamp.txt", "toy.ipynb"]
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    assert "stolen.ipynb" in caplog.text and "pipe.ipynb" in caplog.text
    linked = tmp_path / "inbound" / "bob+a1+2026-12-06 10:00:00.000000 UTC"
    linked.symlink_to(hand_in)
    OwnerCheckedCollect.do_copy(app, str(linked), str(tmp_path / "submitted" / "bob" / "a1"))
    assert not (tmp_path / "submitted" / "bob").exists()
