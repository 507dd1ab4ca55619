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
import stat
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from redteam_attacks import ADD, ATTACKS, IMPOSTORS, write_impostors

from autograder.config import HIDDEN_BEGIN, HIDDEN_END

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


PLACES: dict[str, str] = {}  # @COURSE@, @OUT@, @SUBS@, @SECRET@, @SECRETDIR@ (set by the fixture)


def _fill(text: str, port: int) -> str:
    text = text.replace("@MARK@", MARK).replace("@PORT@", str(port)).replace("@DATA@", DATA)
    for key, value in PLACES.items():
        text = text.replace(key, value)
    return text


def _answer(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _hidden_lines() -> list[str]:
    """Lines (12+ characters) of the hidden tests that appear nowhere in the visible parts of the notebook."""
    src = nbformat.read(TOY / "source" / A / "toy.ipynb", as_version=4)
    hidden, public = set(), set()
    for c in src.cells:
        inside = False
        for line in c.source.splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
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
    secret, secret_dir = base / "secret.txt", base / "secret-dir"
    secret.write_text(f"root only {MARK}")
    secret.chmod(0o600)
    secret_dir.mkdir(mode=0o700)
    (secret_dir / "inside.txt").write_text(f"root only {MARK}")
    PLACES.update({"@COURSE@": str(TOY), "@OUT@": str(base / "out"), "@SUBS@": str(subs),
                   "@SECRETDIR@": str(secret_dir), "@SECRET@": str(secret)})
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
        for cell in nb.cells:
            cell.source = _fill(cell.source, server.port)
        path = subs / f"{_sid(attack.id)}_toy.ipynb"
        attack.raw(nb, path) if attack.raw else nbformat.write(nb, path)
    write_impostors(subs, release)

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
        "secret": (secret, secret_dir),
        "subs": subs,
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
    assert students == set(HONEST) | {_sid(i) for i in ATTACK_IDS}, "an impostor was graded as a student"


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


# ------------------------------------------------------------------------------------------- what leaves the sandbox
EXPECTED_FILES = {"autograded": {"toy.ipynb"}, "submitted": {"toy.ipynb", "timestamp.txt"}, "feedback": {"toy.html"}}


def test_only_plain_expected_files_leave_a_job(redteam):
    """--out holds, per submission, the notebook, its feedback page and nothing else: no link, FIFO, device, extra
    file or folder the kernel made, and no big file."""
    out = redteam["run"].out_dir
    for step, names in EXPECTED_FILES.items():
        for path in (out / step).rglob("*"):
            st = os.lstat(path)
            rel = path.relative_to(out / step)
            if len(rel.parts) < 3:
                assert path.is_dir() and not path.is_symlink(), path
                continue
            assert len(rel.parts) == 3 and rel.name in names, f"unexpected {path}"
            assert stat.S_ISREG(st.st_mode), f"not a regular file: {path}"
            assert st.st_size < 30_000_000, f"{path}: {st.st_size} bytes"
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    assert total < 200_000_000, f"--out holds {total / 1e6:.0f} MB"


def test_nothing_outside_a_job_was_read_or_changed(redteam):
    secret, secret_dir = redteam["secret"]
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.read_text() == f"root only {MARK}"
    assert stat.S_IMODE(secret_dir.stat().st_mode) == 0o700
    out = redteam["run"].out_dir
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix in (".ipynb", ".html", ".md", ".csv", ".json"):
            data = path.read_bytes()
            assert f"root only {MARK}".encode() not in data, f"the root-only file leaked into {path}"
    subs = redteam["subs"]
    assert (subs / "honest_right_toy.ipynb").is_file() and not (subs / "honest_right_toy.ipynb").is_symlink()
    source = (TOY / "source" / A / "toy.ipynb").read_bytes()
    assert b"BEGIN HIDDEN TESTS" in source, "the source notebook is intact"


def test_no_hidden_test_reaches_any_file_an_attacker_gets(redteam):
    hidden = _hidden_lines()
    out = redteam["run"].out_dir
    leaks = []
    for step in ("feedback", "submitted"):
        for path in (out / step).rglob("*"):
            if path.is_file():
                text = html_mod.unescape(path.read_text(errors="replace"))
                leaks += [f"{path}: {h}" for h in hidden if h in text]
    assert not leaks, "\n".join(leaks)


def test_impostors_never_take_an_identity(redteam):
    run = redteam["run"]
    assert _auto(redteam, "honest_partial") == 2.0 and _auto(redteam, "honest_right") == 6.0
    origins = {p.origin: p.reason for p in run.problems}
    for name in IMPOSTORS:
        match = [r for o, r in origins.items() if o.startswith(name.split("/")[0].removesuffix(".zip"))]
        assert match and all("cleans to" in r for r in match), (name, origins)
    for student in ("honest_right", "honest_partial", "honest_blank"):
        assert any("not graded as this student" in n for n in run.outcome(student, A).notes)


def _active_html(text: str) -> list[str]:
    """Script contents, event-handler attributes, javascript: URLs and remote loads of an HTML page."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            for name, value in attrs:
                value = value or ""
                if name.startswith("on") or value.strip().lower().startswith("javascript:"):
                    found.append(f"<{tag} {name}={value[:80]}>")
                if tag in ("img", "iframe", "script", "embed", "object") and name == "src" and "192.0.2.1" in value:
                    found.append(f"<{tag} src={value[:80]}>")

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script and MARK in data:
                found.append(f"<script>{data[:80]}")

    Parser().feed(text)
    return found


def test_no_student_output_is_active_for_the_instructor(redteam):
    """The autograded notebooks formgrader renders carry no script, handler, iframe, SVG or Markdown output of the
    student's, and the feedback pages run none of it (the student's text stays readable, escaped)."""
    out = redteam["run"].out_dir
    nb = nbformat.read(out / "autograded" / _sid("script-outputs") / A / "toy.ipynb", as_version=4)
    mimes = {m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert mimes <= {"text/plain", "text/html", "image/png", "image/jpeg", "image/gif", "application/json"}, mimes
    html_outputs = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
                    if "text/html" in o.get("data", {})]
    assert html_outputs and not any(_active_html(h) for h in html_outputs), html_outputs
    assert "widgets" not in nb.metadata
    for page in (out / "feedback").rglob("*.html"):
        assert not _active_html(page.read_text(errors="replace")), page


def test_report_and_spreadsheet_hold_no_injected_markup(redteam):
    from nbconvert.filters.markdown import markdown2html

    files = redteam["run"].files
    rendered = markdown2html(files["report_md"].read_text())  # what a Markdown viewer shows the instructor
    assert len(re.findall(r"<h2[^>]*>Next steps", rendered)) == 1, "a second 'Next steps' section was injected"
    assert re.findall(r"<img[^>]*>", rendered) == ['<img src="scores.png" alt="scores" />'], "an injected image"
    assert not re.search(r"<(script|iframe)\b|href=\"?javascript:", rendered), "injected active HTML"
    import csv

    with open(files["grades_csv"], newline="") as fh:
        for row in csv.reader(fh):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
                assert not cell.startswith("-") or cell.lstrip("-").replace(".", "", 1).isdigit(), row


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.stalls], ids=[a.id for a in ATTACKS if a.stalls])
def test_a_stalling_submission_is_stopped_within_its_budget(redteam, attack):
    o = _outcome(redteam, _sid(attack.id))
    budget = 60  # the toy course's Autograder.budget_floor (its solution takes about 1 s)
    assert o.seconds is not None and o.seconds < budget + 30, (o.seconds, o.status, o.reason)
    assert o.status == "timeout" and "times the solution's measured grading time" in o.reason or \
        o.status == "ok" and any("did not finish" in r or "not asked" in r or "ran" in r
                                 for r in [*o.failed_tests.values(), *o.notes]), o
