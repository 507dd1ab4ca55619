"""The classroom end to end, in a real browser: an instructor and two students on a local hub (``course classroom``).

As root (CI runs as root), with throw-away local users (tests/test_classroom.py's ``Room``) and Debian's Chromium
driven by Playwright: each user logs in through the hub's login page (PAM, the password ``course classroom
--passwords`` wrote) and gets a server in its own cgroup; the instructor releases the toy assignment (``course
release --exchange``, run as the instructor in their server's sandbox) and sees it in formgrader; each student opens
the Assignment List (a student has no formgrader), clicks **Fetch**, answers (Ann the instructor's solution, saved
through her Lab; Bob nothing) and clicks **Submit**; then Bob puts a hand-in named after Ann into ``inbound/`` by
hand; the instructor collects (Ann's own hand-in, byte for byte, and not the forged one), grades (the late policy
reads the exchange's timestamps) and releases feedback (``course collect``, ``course grade submitted``, ``course
feedback --release``); each student clicks **Fetch Feedback** and opens their page, with their own score; Ann's
attempt to open Bob's Lab is refused by the hub; and Ann reads nothing of Bob's or the instructor's files
(``check_isolation``). Screenshots of each step go to ``build/test-artifacts/classroom-*.png`` (the ones in
autograder/README.md are these). About 3.5 minutes on 2 busy cores.
"""

from __future__ import annotations

import hashlib
import json
import pwd
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from test_browser import CHROMIUM_ARGS, chromium  # noqa: F401 (fixture)
from test_classroom import (
    ASSIGNMENT,
    NOTEBOOK,
    Room,
    _ok,
    check_isolation,
    needs_root,
    passwords,
    running_hub,
)

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "build" / "test-artifacts"
PAGE_S = 90  # a page, a click's answer (a busy 2-core machine starts a Lab in 10-30 s)


@pytest.fixture
def classroom_room():
    import os

    if os.geteuid() != 0 or not shutil.which("bwrap") or not shutil.which("useradd"):
        pytest.skip("makes local users and bubblewrap sandboxes: run as root (CI does)")
    base = Path(tempfile.mkdtemp(prefix="classroom-", dir="/tmp"))
    os.chmod(base, 0o755)
    r = Room(base)
    try:
        _ok(r.course_cmd(*r.classroom_args(), "--no-start"))
        yield r
    finally:
        r.remove()


def _login(browser, base: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1100, "height": 640})
    page = context.new_page()
    page.set_default_timeout(PAGE_S * 1000)
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/user/{user}/lab.*"), timeout=3 * PAGE_S * 1000)  # the server starts first
    page.locator(".jp-DirListing-content").wait_for()
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"classroom-{name}.png"))


def _assignment_list(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for()
    return panel


def _put_notebook(page, base: str, user: str, path: str, nb) -> None:
    """Save a notebook through the user's Lab (its contents API, with the page's session), as the editor saves."""
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
    resp = page.request.put(f"{base}/user/{user}/api/contents/{path}", headers={"X-XSRFToken": xsrf},
                            data=json.dumps({"type": "notebook", "format": "json", "content": nb}))
    assert resp.status == 200, resp.text()


@needs_root
def test_instructor_and_two_students_through_the_exchange(chromium, classroom_room):  # noqa: F811
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    from autograder.catalogue import solution_notebook
    from autograder.classroom import _cgroup_dirs, _size

    r = classroom_room
    started = time.monotonic()
    pw = passwords(r)
    with running_hub(r) as hub, sync_playwright() as p:
        base = hub["base"]
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            # the instructor: their Lab on the course folder, with formgrader; they release the assignment
            teacher = _login(browser, base, r.instructor, pw[r.instructor])
            _ok(r.sandboxed(r.instructor, f"cd {r.course} && course release --exchange {ASSIGNMENT}"))
            teacher.goto(f"{base}/user/{r.instructor}/formgrader/manage_assignments")
            teacher.locator("body", has_text="Manage Assignments").wait_for()
            _shot(teacher, "1-instructor-formgrader")

            # the students fetch, answer and submit in their Assignment List
            students = {}
            for name in (r.ann, r.bob):
                page = _login(browser, base, name, pw[name])
                assert page.request.get(f"{base}/user/{name}/formgrader").status == 404  # no instructor tools
                memory = _cgroup_dirs(name).get("memory")  # her server in its cgroup, with its limit
                if memory is not None and (memory / "cgroup.procs").is_file():
                    assert (memory / "cgroup.procs").read_text().split()
                    assert int((memory / "memory.limit_in_bytes").read_text()) == _size("3G")
                panel = _assignment_list(page)
                released = panel.locator("#released_assignments_list")
                released.locator("button", has_text="Fetch").click()
                fetched = panel.locator("#fetched_assignments_list")
                fetched.locator("button", has_text="Submit").wait_for()
                assert (Path(pwd.getpwnam(name).pw_dir) / ASSIGNMENT / NOTEBOOK).is_file()
                if name == r.ann:  # Ann's answers: the instructor's solution, saved through her Lab
                    _put_notebook(page, base, name, f"{ASSIGNMENT}/{NOTEBOOK}",
                                  json.loads(nbformat.writes(solution_notebook(r.course, ASSIGNMENT, "toy"))))
                    _shot(page, "2-student-fetched")
                fetched.locator("button", has_text="Submit").click()
                panel.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).first.wait_for()
                if name == r.ann:
                    _shot(page, "3-student-submitted")
                    solved = (Path(pwd.getpwnam(name).pw_dir) / ASSIGNMENT / NOTEBOOK).read_bytes()
                students[name] = page
            # Bob hands in "as Ann": a folder named after her in inbound/ (anyone may write there; nbgrader's
            # submit names a hand-in after its maker's uid, so he makes it by hand), the newest of hers
            time.sleep(1.1)
            inbound = f"{r.exchange}/toy-course/inbound/{r.ann}+{ASSIGNMENT}+"
            forged = _ok(r.sandboxed(r.bob, f'd="{inbound}$(date -u "+%Y-%m-%d %H:%M:%S.%6N") UTC+forged" && '
                                            f'mkdir "$d" && cp ~/{ASSIGNMENT}/{NOTEBOOK} "$d"/ && date -u > '
                                            '"$d/timestamp.txt" && echo forged'))
            assert "forged" in forged

            # the instructor collects, grades and releases the feedback
            collected = _ok(r.course_cmd("collect", ASSIGNMENT, "--exchange-root", str(r.exchange)))
            assert "NOT collected" in collected and f"names student {r.ann} but {r.bob} made it" in collected
            ann_copy = r.course / "submitted" / r.ann / ASSIGNMENT / NOTEBOOK
            assert hashlib.sha256(ann_copy.read_bytes()).digest() == hashlib.sha256(solved).digest()
            _ok(r.course_cmd("grade", "submitted"))
            _ok(r.course_cmd("feedback", "--release", ASSIGNMENT, "--exchange-root", str(r.exchange)))
            with Gradebook(f"sqlite:///{r.course / 'gradebook.db'}", "toy-course") as gb:
                subs = {s: gb.find_submission(ASSIGNMENT, s) for s in (r.ann, r.bob)}
                scores = {s: x.score for s, x in subs.items()}
                times = {s: (x.timestamp, x.total_seconds_late) for s, x in subs.items()}
            assert scores[r.ann] > scores[r.bob] == 0, scores
            for s, (stamp, late) in times.items():  # the late policy read the exchange's timestamps (due 2020)
                written = (r.course / "submitted" / s / ASSIGNMENT / "timestamp.txt").read_text().strip()
                assert stamp.strftime("%Y-%m-%d %H:%M:%S") == written[:19] and late > 0, (stamp, written, late)
            teacher.goto(f"{base}/user/{r.instructor}/formgrader/gradebook/{ASSIGNMENT}/toy")
            teacher.locator("a.name-shown", has_text=r.bob).wait_for(state="attached")
            teacher.locator("table tbody tr").nth(1).wait_for()
            _shot(teacher, "4-instructor-grades")

            # each student fetches their feedback and opens it
            for name, page in students.items():
                page.goto(f"{base}/user/{name}/lab")
                panel = _assignment_list(page)
                submitted = panel.locator("#submitted_assignments_list")
                submitted.locator("button", has_text="Fetch Feedback").first.click()
                submitted.get_by_text("(view feedback)").first.wait_for()
                html = next((Path(pwd.getpwnam(name).pw_dir) / ASSIGNMENT / "feedback").glob("*/toy.html"))
                rel = html.relative_to(pwd.getpwnam(name).pw_dir)
                page.goto(f"{base}/user/{name}/files/{rel}")
                score = f"{scores[name]:g}"
                page.get_by_text(re.compile(rf"Score: {re.escape(score)}")).first.wait_for()
                if name == r.ann:
                    _shot(page, "5-student-feedback")

            # Ann tries Bob's Lab: the hub refuses
            ann = students[r.ann]
            resp = ann.goto(f"{base}/user/{r.bob}/api/contents/{ASSIGNMENT}")
            assert resp.status in (403, 404) or "/hub/" in ann.url, (resp.status, ann.url)
            assert "toy.ipynb" not in ann.content()
            ann.goto(f"{base}/user/{r.bob}/lab")
            ann.wait_for_load_state()
            assert r.bob not in ann.url or ann.locator(".jp-DirListing-content").count() == 0
            assert "403" in ann.content() or "not" in ann.content().lower()
            _shot(ann, "6-other-student-refused")
        finally:
            browser.close()
        assert f"http://127.0.0.1:{hub['port']}" in hub["log"].read_text()  # loopback only
    check_isolation(r)
    print(f"classroom browser test: {time.monotonic() - started:.0f} s")
