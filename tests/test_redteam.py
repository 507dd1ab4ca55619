"""Red-team test of the sandboxed autograder: one class of honest and hostile toy submissions, graded once.

The attacks live in tests/redteam_attacks.py (one id and a one-line description each).  The class is graded
with ``grade(..., jobs=2)`` and the sandbox on; every test below only reads the result.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html as html_mod
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from redteam_attacks import ADD, ATTACKS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy_course"
A = "00_toy"
MARK = f"redteam-{uuid.uuid4().hex[:12]}"
DATA = os.environ.get("COURSE_DATA_DIR", "/tmp")
HONEST = ["honest_right", "honest_blank", "honest_partial"]
ATTACK_IDS = [a.id for a in ATTACKS]


def _sid(attack_id: str) -> str:
    return "rt_" + attack_id.replace("-", "_")


def _fill(text: str, port: int) -> str:
    return text.replace("@MARK@", MARK).replace("@PORT@", str(port)).replace("@DATA@", DATA)


def _answer(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _hidden_lines() -> list[str]:
    """Lines (12+ characters) of the hidden tests that appear nowhere in the visible parts of the notebook."""
    src = nbformat.read(TOY / "source" / A / "toy.ipynb", as_version=4)
    hidden, public = set(), set()
    for c in src.cells:
        inside = False
        for line in c.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            else:
                (hidden if inside else public).add(line.strip())
    lines = sorted(h for h in hidden - public if len(h) >= 12)
    assert lines
    return lines


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and int(pid) != os.getpid():
            found.append(f"{pid}: {cmd[:200]}")
    return found


class _Server:
    """A TCP server on host 127.0.0.1 that records every connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.connections.append(addr)
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def redteam(tmp_path_factory):
    from autograder.catalogue import read_release, solution_notebook
    from autograder.config import course_id, load_course_config
    from autograder.grade import grade
    from autograder.gradebook import scores, snapshot

    base = tmp_path_factory.mktemp("redteam")
    subs = base / "submissions"
    subs.mkdir()
    server = _Server()
    release = read_release(TOY, A, "toy")
    nbformat.write(solution_notebook(TOY, A, "toy"), subs / "honest_right_toy.ipynb")
    nbformat.write(release, subs / "honest_blank_toy.ipynb")
    partial = copy.deepcopy(release)
    _answer(partial, "add").source = ADD
    nbformat.write(partial, subs / "honest_partial_toy.ipynb")
    for attack in ATTACKS:
        nb = copy.deepcopy(release)
        for gid, code in attack.cells.items():
            _answer(nb, gid).source = _fill(code, server.port)
        if attack.mutate:
            attack.mutate(nb)
        nbformat.write(nb, subs / f"{_sid(attack.id)}_toy.ipynb")

    t0 = time.monotonic()
    try:
        run = grade(subs, base / "out", jobs=2, course_root=TOY, timeout=30, job_timeout=120, progress=False)
    finally:
        time.sleep(1)
        server.close()
    seconds = time.monotonic() - t0
    rows = {r["student"]: r for r in scores(run.gradebook, course_id(load_course_config(TOY)))}
    return {
        "run": run,
        "rows": rows,
        "snap": snapshot(run.gradebook),
        "server": server,
        "seconds": seconds,
        "procs": _processes_with(MARK),
    }


def _auto(rt, student) -> float:
    row = rt["rows"].get(student)
    return row["auto_score"] if row and row["submitted"] else 0.0


def _outcome(rt, student):
    return rt["run"].outcome(student, A)


# ------------------------------------------------------------------------------------------- the honest ones
def test_class_is_large_enough():
    assert len(ATTACKS) >= 25
    assert len(set(ATTACK_IDS)) == len(ATTACK_IDS)


def test_every_student_has_an_outcome(redteam):
    print(f"red-team class graded in {redteam['seconds']:.0f} s (--jobs 2, sandboxed)")  # shown with -s / -rP
    students = {o.student for o in redteam["run"].outcomes}
    assert students == set(HONEST) | {_sid(i) for i in ATTACK_IDS}


def test_honest_scores(redteam):
    assert _auto(redteam, "honest_right") == 6.0, _outcome(redteam, "honest_right")
    assert _auto(redteam, "honest_partial") == 2.0, _outcome(redteam, "honest_partial")
    assert _auto(redteam, "honest_blank") <= 2.0, _outcome(redteam, "honest_blank")
    for s in HONEST:
        o = _outcome(redteam, s)
        assert o.status == "ok", o
        assert not o.suspicious, o


# ------------------------------------------------------------------------------------------- per attack
@pytest.mark.parametrize("attack", ATTACKS, ids=ATTACK_IDS)
def test_attack_scores_nothing_unearned(redteam, attack):
    got = _auto(redteam, _sid(attack.id))
    o = _outcome(redteam, _sid(attack.id))
    detail = {k: getattr(o, k) for k in ("status", "reason", "notes", "suspicious", "failed_tests")}
    if attack.add_ok:
        assert got == 2.0, (attack.description, got, detail)
    else:
        assert got <= _auto(redteam, "honest_blank"), (attack.description, got, detail)


@pytest.mark.parametrize("attack", ATTACKS, ids=ATTACK_IDS)
def test_attack_gets_no_manual_points(redteam, attack):
    sid = _sid(attack.id)
    for key, value in redteam["snap"].items():
        if key[0] == "grade" and key[1] == sid and key[4] == "explain":
            auto, manual, extra = value[0], value[1], value[2]
            assert not auto and not manual and not extra, (key, value)


@pytest.mark.parametrize("attack", ATTACKS, ids=ATTACK_IDS)
def test_attack_is_visible_to_the_instructor(redteam, attack):
    o = _outcome(redteam, _sid(attack.id))
    assert o.status != "ok" or o.notes or o.suspicious or o.failed_tests, o
    if attack.flag:
        assert o.suspicious, (attack.description, {k: getattr(o, k) for k in ("status", "reason", "notes")})


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.host_files], ids=[a.id for a in ATTACKS if a.host_files])
def test_attack_left_no_file_on_the_host(redteam, attack):
    for p in attack.host_files:
        path = Path(_fill(p, 0))
        assert not path.exists(), path


# ------------------------------------------------------------------------------------------- global containment
def test_no_process_left(redteam):
    assert not redteam["procs"], redteam["procs"]
    assert not _processes_with(MARK)


def test_no_marker_written_on_the_host(redteam):
    import site

    assert not list(Path("/tmp").glob(f"redteam-*{MARK}*"))
    assert not list(Path(DATA).glob(f"*{MARK}*"))
    for sp in [*site.getsitepackages(), site.getusersitepackages()]:
        assert not list(Path(sp).glob(f"*{MARK}*")), sp
    bashrc = Path("~/.bashrc").expanduser()
    assert not bashrc.exists() or MARK not in bashrc.read_text(errors="replace")


def test_network_server_saw_nothing(redteam):
    assert redteam["server"].connections == []


def test_results_untouched_by_sleepers(redteam):
    out = redteam["run"].out_dir
    for p in out.rglob("*"):
        if p.is_file() and p.suffix in (".csv", ".json", ".db", ".md"):
            assert b"pwned" not in p.read_bytes(), p


def test_feedback_hides_hidden_tests(redteam):
    hidden = _hidden_lines()
    encoded = {h: base64.b64encode(h.encode()).decode()[:-4] for h in hidden}
    files = list((redteam["run"].out_dir / "feedback").rglob("*.html"))
    assert len(files) >= len(ATTACKS)
    leaks = []
    for f in files:
        text = f.read_text(errors="replace")
        plain = html_mod.unescape(re.sub(r"<[^>]+>", "", text))
        decoded = []
        for run in re.findall(r"[A-Za-z0-9+/]{40,}={0,2}", plain):
            for shift in range(4):
                chunk = run[shift:]
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                try:
                    decoded.append(base64.b64decode(chunk).decode(errors="replace"))
                except (binascii.Error, ValueError):
                    pass
        for h in hidden:
            if h in plain or encoded[h][:16] in plain and encoded[h] in plain or any(h in d for d in decoded):
                leaks.append(f"{f.relative_to(redteam['run'].out_dir)}: {h}")
    assert not leaks, "\n".join(leaks)
