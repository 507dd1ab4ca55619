"""A student's session in a real browser: JupyterLab, a released notebook, Run All, nbgrader's Validate.

The test copies the student version of ``01_preprocessing`` (``release/`` when it exists, else generated
from ``source/`` the way ``course release`` does) into a temporary course folder, writes the solutions of
``source/`` into its answer cells (what a student who solved everything hands in), starts JupyterLab on
127.0.0.1 with a token, and drives Debian's Chromium with Playwright:

* Run > Run All Cells, then wait until every code cell has an execution count and the kernel is idle;
* no cell may show an error, and the cells' outputs must be there (the data set, the labels, the batch);
* the **Validate** button of nbgrader's labextension must answer "Success! Your notebook passes all the
  tests." and add that hidden tests and quiz answers are graded later -- and, as a control, must report the
  failing cells of the same notebook left unanswered, with a number where a quiz asks for a letter;
* the notebook the browser saved must hold the outputs and no error output;
* the Lab of ``release/jupyter_config`` shows no error banner and no news question, lists no configuration file,
  has no Assignment List (no exchange), opens notebooks unmodified, and running a notebook leaves nothing in its
  folder; ``course.start`` with the README's relative ``COURSE_DATA_DIR`` stops with one line.

Screenshots go to ``build/test-artifacts/``.  Every wait has a hard timeout and the server (with its
kernels) is stopped in a ``finally``.  Chromium comes from Debian (``apt-get install -y chromium``), never
from ``playwright install`` (which downloads browsers and cannot work offline).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from traitlets.config import Config

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install Debian's Chromium with:  apt-get update && apt-get install -y chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
ASSIGNMENT, NOTEBOOK = "01_preprocessing", "preprocessing.ipynb"
UNANSWERED = "preprocessing_unanswered.ipynb"   # the control: the released notebook, nothing filled in
DATA_DIR_CHECK = "data_dir_check.ipynb"  # course.start with a COURSE_DATA_DIR that does not exist
ARTIFACTS = ROOT / "build" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "jupyterlab-student-notebook.png"

# Hard limits (seconds).  A grading-size run of this notebook takes ~10 s on 2 cores; nbgrader's validation runs
# it once more in a kernel of its own.
SERVER_START_S = 90
PAGE_S = 60          # page load, kernel start, any single click
RUN_ALL_S = 180      # all cells executed
VALIDATE_S = 180     # save + nbgrader validate (executes the notebook again)
SHUTDOWN_S = 20

SOLUTION_DELIMITER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


# ---------------------------------------------------------------------------------------------- helpers
def student_notebook(tmp: Path) -> nbformat.NotebookNode:
    """The released student notebook: release/ if committed, else generated from source/ now."""
    released = ROOT / "release" / ASSIGNMENT / NOTEBOOK
    if released.is_file():
        return nbformat.read(released, as_version=4)
    out = tmp / "generated-release"
    try:
        from autograder.release import release_all
    except ImportError:  # the autograder package is not there: plain nbgrader in a copy of the course
        course = tmp / "generated-course"
        shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                       cwd=course, check=True, timeout=300, capture_output=True)
        out = course / "release"
    else:
        release_all(ROOT, out, [ASSIGNMENT])
    return nbformat.read(out / ASSIGNMENT / NOTEBOOK, as_version=4)


def fill_in_solutions(student: nbformat.NotebookNode, source: nbformat.NotebookNode) -> int:
    """Put the instructor's solution (without the BEGIN/END SOLUTION lines) into every answer cell."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    filled = 0
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        src = solutions[meta["grade_id"]].source
        cell.source = "\n".join(line for line in src.splitlines() if not SOLUTION_DELIMITER.match(line))
        filled += 1
    return filled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, token: str, path: str, method: str = "GET", timeout: float = 10):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"},
                                 data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def write_lab_settings(settings_dir: Path) -> None:
    """Every cell in the DOM (no windowing) so it can be checked. (No news setting here: the students'
    configuration must keep the news question away by itself.)"""
    path = settings_dir / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"windowingMode": "none"}))


def processes_using(marker: str) -> list[int]:
    """PIDs whose command line mentions ``marker`` (our private runtime dir: the kernels we started)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def stop_server(proc: subprocess.Popen, base: str, token: str, runtime_dir: Path) -> None:
    """Shut the server down (kernels first), then make sure: SIGTERM, SIGKILL, stray kernels by PID."""
    from autograder.formgrader import stop_server as shut_down

    shut_down(proc, base, token, wait_s=SHUTDOWN_S)
    for pid in processes_using(str(runtime_dir)):  # kernels run in sessions of their own
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for_server(proc: subprocess.Popen, base: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            api(base, token, "/api/status", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def wait_kernels_idle(base: str, token: str, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    kernels: list[dict] = []
    while time.monotonic() < deadline:
        try:
            kernels = api(base, token, "/api/kernels")
        except urllib.error.HTTPError as e:  # a 500 while the previous notebook's kernel is shutting down
            if e.code < 500:
                raise
            kernels = [{"execution_state": f"HTTP {e.code} from /api/kernels"}]
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return kernels
        time.sleep(0.5)
    pytest.fail(f"the kernel did not become idle within {timeout} s: {kernels}")


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[dev]' (never `playwright install`: "
                    f"the test uses the system Chromium; {INSTALL_HINT})", pytrace=False)
    return CHROMIUM


@pytest.fixture
def lab(tmp_path, mirror_dir):
    """JupyterLab serving a temporary student course: the filled-in notebook and the unanswered control."""
    course = tmp_path / "course"
    # the release folder as students get it (its nbgrader_config.py gives Validate the course's cell limit)
    shutil.copytree(ROOT / "release", course)
    def limits(path):
        return runpy.run_path(str(path / "nbgrader_config.py"), init_globals={"get_config": Config})["c"].Execute

    student, teacher = limits(course), limits(ROOT)
    assert (student.timeout, student.startup_timeout) == (teacher.timeout, teacher.startup_timeout)
    released = student_notebook(tmp_path)
    assert any("raise NotImplementedError()" in c.source for c in released.cells), "not a student version"
    unanswered = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in unanswered.cells:  # a number where the quiz asks for a letter: Validate must say so
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "quiz":
            cell.source = cell.source.replace('quiz_1 = ""', "quiz_1 = 2", 1)
    assert any("quiz_1 = 2" in c.source for c in unanswered.cells)
    nbformat.write(unanswered, course / ASSIGNMENT / UNANSWERED)
    # the README's first step, `export COURSE_DATA_DIR=../shared/data`, as a kernel in a notebook's folder sees it
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import os\nos.environ["COURSE_DATA_DIR"] = "../shared/data"'),
        nbformat.v4.new_code_cell("import course\nrun = course.start()"),
    ], metadata=released.metadata), course / ASSIGNMENT / DATA_DIR_CHECK)
    answered = nbformat.from_dict(json.loads(json.dumps(released)))
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert fill_in_solutions(answered, source) >= 4
    stubs = ("NotImplementedError", "YOUR ANSWER HERE")
    assert not any(s in c.source for c in answered.cells for s in stubs)
    nbformat.write(answered, course / ASSIGNMENT / NOTEBOOK)

    # the students' JupyterLab: started with the release's Jupyter configuration (no instructor tools)
    with jupyterlab(course, tmp_path, mirror_dir, config_path=course / "jupyter_config") as server:
        yield {**server, "course": course, "tmp": tmp_path}


@contextlib.contextmanager
def jupyterlab(root: Path, tmp_path: Path, mirror_dir: Path, config_path: Path | None = None):
    """JupyterLab serving ``root`` (its working directory too, so nbgrader reads ``root``'s config), on
    127.0.0.1 with a token, offline, grading profile, with ``config_path`` as JUPYTER_CONFIG_PATH; stopped with
    its kernels when the block ends."""
    runtime, settings, home = tmp_path / "runtime", tmp_path / "lab-settings", tmp_path / "jupyter-config"
    write_lab_settings(settings)
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_CHECKPOINT", "NBGRADER_EXECUTION", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    env.update(COURSE_PROFILE="grading", COURSE_DATA_DIR=str(mirror_dir), HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(home),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               PYTHONUNBUFFERED="1")
    if config_path is not None:
        env["JUPYTER_CONFIG_PATH"] = str(config_path)
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:  # CI and containers run as root
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_server(proc, base, token, log)
        yield {"base": base, "token": token, "log": log}
    finally:
        stop_server(proc, base, token, runtime)


# ------------------------------------------------------------------------------------------------ tests
def _open_notebook(page, lab, name: str):
    """Open ``name`` as the only tab (``?reset``), wait for an idle kernel; return its notebook panel."""
    page.goto(f"{lab['base']}/lab/tree/{ASSIGNMENT}/{name}?reset&token={lab['token']}",
              wait_until="domcontentloaded", timeout=PAGE_S * 1000)
    current_tab = page.locator(".jp-mod-current.lm-TabBar-tab .lm-TabBar-tabLabel")
    current_tab.filter(has_text=re.compile(f"^{re.escape(name)}$")).wait_for(timeout=PAGE_S * 1000)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(state="visible", timeout=PAGE_S * 1000)
    panel.locator(".validate-button").wait_for(state="visible", timeout=PAGE_S * 1000)
    assert page.locator(".jp-NotebookPanel").count() == 1, "only the notebook under test is open"
    wait_kernels_idle(lab["base"], lab["token"], PAGE_S)
    time.sleep(2)  # the kernel's info reaches the notebook's metadata after it is idle
    assert page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0, \
        f"{name} is marked modified although nobody changed it"
    return panel


NEWS_SETTINGS = "/lab/api/settings/@jupyterlab/apputils-extension:notification"
ERROR_BANNERS = ("Error fetching courses", "exchange directory does not exist")


def _check_no_banner(page) -> None:
    """No dialog, toast or notification over the notebook, and no error text anywhere on the page."""
    toasts = page.locator(".Toastify__toast").all_inner_texts()
    assert not toasts, f"a toast covers the notebook: {toasts}"
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").all_inner_texts()
    body = page.locator("body").inner_text()
    for bad in ERROR_BANNERS:
        assert bad not in body, bad


def _validate(page, panel, lab, name: str) -> tuple[str, str]:
    """Click nbgrader's Validate button; return (class list, text) of the result message."""
    panel.locator(".validate-button").click(timeout=PAGE_S * 1000)
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(state="visible", timeout=VALIDATE_S * 1000)
    validated = re.findall(r"Validating '([^']+)'", lab["log"].read_text(errors="replace"))
    assert validated and Path(validated[-1]) == lab["course"] / ASSIGNMENT / name, validated
    return message.get_attribute("class") or "", message.inner_text()


def test_student_runs_and_validates_notebook_in_jupyterlab(chromium, lab):
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    code_cells = [c for c in nbformat.read(lab["course"] / ASSIGNMENT / NOTEBOOK, as_version=4).cells
                  if c.cell_type == "code"]
    console: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab["tmp"] / "chromium-profile"), executable_path=str(chromium), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1440, "height": 1000}, timeout=PAGE_S * 1000)
        try:
            context.set_default_timeout(PAGE_S * 1000)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
            panel = _open_notebook(page, lab, NOTEBOOK)

            # No instructor tools in the students' JupyterLab, and no Assignment List without an exchange (it
            # would show "Error fetching courses!"): no Nbgrader menu, no formgrader or assignment list on the
            # server; Validate stays (its button was waited for).
            menus = page.locator(".lm-MenuBar-item").all_inner_texts()
            assert "Nbgrader" not in menus and "File" in menus, menus
            assert http_status(f"{lab['base']}/formgrader?token={lab['token']}") == 404
            assert http_status(f"{lab['base']}/assignments?token={lab['token']}") == 404
            # no news question (the release's default setting, not this test's), no banner, no error
            news = api(lab["base"], lab["token"], NEWS_SETTINGS)
            defaults = {k: v["default"] for k, v in news["schema"]["properties"].items()}
            assert (defaults["fetchNews"], defaults["checkForUpdates"], news["settings"]) == ("false", False, {}), news
            time.sleep(5)
            _check_no_banner(page)
            # the students' configuration files are not in their file browser
            listed = {item["name"] for item in api(lab["base"], lab["token"], "/api/contents/")["content"]}
            assert ASSIGNMENT in listed and not listed & {"jupyter_config", "nbgrader_config.py"}, listed
            page.locator(".jp-BreadCrumbs-home").first.click()
            page.locator(".jp-DirListing-item", has_text=ASSIGNMENT).first.wait_for()
            shown = page.locator(".jp-DirListing-itemText").all_inner_texts()
            assert not {"jupyter_config", "nbgrader_config.py"} & set(shown), shown

            # Run > Run All Cells, as a student would.
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
            page.wait_for_function(
                """n => {
                    const sel = '.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt';
                    const prompts = [...document.querySelectorAll(sel)];
                    return prompts.length === n
                        && prompts.every(p => /^\\[\\d+\\]:$/.test(p.innerText.trim()));
                }""", arg=len(code_cells), timeout=RUN_ALL_S * 1000)
            wait_kernels_idle(lab["base"], lab["token"], RUN_ALL_S)

            outputs = panel.locator(".jp-OutputArea-output")
            texts = "\n".join(outputs.all_inner_texts())
            assert outputs.count() >= 10, f"too few outputs: {outputs.count()}"
            for expected in ("DatasetDict", "num_rows: 3668", "token_type_ids", "input_ids"):
                assert expected in texts, f"{expected!r} is missing from the outputs"
            for bad in ("Traceback (most recent call last)", "NotImplementedError"):
                assert bad not in texts, f"an error is shown in the notebook:\n{texts[-3000:]}"
            # running the notebook left nothing in its folder (Jupyter's own checkpoints aside): no outputs/
            folder = {p.name for p in (lab["course"] / ASSIGNMENT).iterdir()} - {".ipynb_checkpoints"}
            assert folder == {NOTEBOOK, UNANSWERED, DATA_DIR_CHECK}, folder

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            panel.locator(".jp-Cell", has_text="Exercise 1 (Try it out)").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT))

            # nbgrader's Validate button (saves first, then runs nbgrader validate on the server).
            css, text = _validate(page, panel, lab, NOTEBOOK)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-validate-success.png"))
            assert "validation-success" in css, text
            assert "Success! Your notebook passes all the tests." in text, text
            note = page.evaluate("() => getComputedStyle(document.querySelector("
                                 "'#validation-message.validation-success p'), '::after').content")
            assert "the hidden tests and your quiz answers are graded after you hand in" in note, note
            page.locator(".jp-Dialog .jp-mod-accept").click()

            # Control: the unanswered release fails validation, with the students' NotImplementedError, and a
            # number where the quiz asks for a letter fails too.
            panel = _open_notebook(page, lab, UNANSWERED)
            css, text = _validate(page, panel, lab, UNANSWERED)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-validate-unanswered.png"))
            assert "validation-failed" in css and "NotImplementedError" in text, text
            assert "quiz_1: one letter, a to d" in text, text
            page.locator(".jp-Dialog .jp-mod-accept").click()

            # The README's relative COURSE_DATA_DIR, seen from a notebook's folder: one line that says what to do.
            panel = _open_notebook(page, lab, DATA_DIR_CHECK)
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
            error = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            error.first.wait_for(timeout=PAGE_S * 1000)
            message = error.first.inner_text().strip()
            assert message.startswith("SetupError: COURSE_DATA_DIR is ") and "does not exist" in message, message
            assert "\n" not in message and "Traceback" not in message, message
            _check_no_banner(page)
        finally:
            context.close()

    # What the browser saved: every code cell executed, with outputs, and not one error output.
    saved = nbformat.read(lab["course"] / ASSIGNMENT / NOTEBOOK, as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), [c.id for c in code if not c.execution_count]
    assert sum(len(c.outputs) for c in code) >= 10
    errors = [(c.id, o.get("ename")) for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert not console, console
    print(f"browser test took {time.monotonic() - started:.1f} s (server start excluded)")


# ------------------------------------------------------------------------------- the instructor's side
FORMGRADER_SCREENSHOT = ARTIFACTS / "formgrader-manual-grading.png"  # shown in autograder/README.md
TOY = ROOT / "tests" / "fixtures" / "toy_course"
COMMENT = "Right: the sum is zero. Say what normalize should return then."


def test_instructor_grades_a_written_answer_in_formgrader(chromium, tmp_path, mirror_dir):
    """autograder/README.md's manual grading, step by step, as an instructor does it: `course grade`, then
    `course formgrader` as the README writes it (type the points and a comment), then `course feedback`: the points
    and the comment reach the student's feedback and grades.csv, and no hidden test appears in it."""
    import csv

    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright
    from test_course_gradebook import formgrader

    from autograder.catalogue import solution_notebook
    from autograder.cli import main as autograder_main
    from autograder.config import course_id, load_course_config
    from autograder.grade import grade
    from autograder.repair import redaction_lines

    course = tmp_path / "course"
    shutil.copytree(TOY, course, ignore=shutil.ignore_patterns("__pycache__"))
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(solution_notebook(course, "00_toy", "toy"), subs / "mia_toy.ipynb")
    grade(subs, course, jobs=1, course_root=course, progress=False, protect=[])  # step 1
    cid = course_id(load_course_config(course))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", cid) as gb:
        submission = gb.find_submission_notebook("toy", "00_toy", "mia").id
        assert gb.find_grade("explain", "toy", "00_toy", "mia").needs_manual_grade

    # step 2, with the command autograder/README.md gives, in the course folder
    step = (ROOT / "autograder" / "README.md").read_text().split("### Manual grading, step by step", 1)[1]
    command = re.search(r"^2\. `(course formgrader)`", step, re.MULTILINE).group(1)
    with formgrader(command, cwd=course) as url, sync_playwright() as pw:
        base, token = url.split("/formgrader?token=")
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            # formgrader's own requests need the login too (a token in the URL logs in only that page)
            page = browser.new_page(viewport={"width": 1280, "height": 900},
                                    extra_http_headers={"Authorization": f"token {token}"})
            page.set_default_timeout(PAGE_S * 1000)
            page.goto(f"{base}/formgrader/submissions/{submission}/?index=0", wait_until="domcontentloaded")
            # formgrader binds its save handlers only after it has fetched the grades and comments; a field
            # typed into before that is never saved (seen under load)
            page.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                                   " && formgrader.comments && formgrader.comments.loaded")
            def saved(kind):  # formgrader saves a field when it changes: a PUT to its REST API
                return page.expect_response(lambda r: f"/formgrader/api/{kind}/" in r.url
                                            and r.request.method == "PUT" and r.ok)

            score = page.locator("input.score#explain")
            with saved("grade"):
                score.fill("1.5")
                score.press("Tab")
            comment = page.locator("textarea#explain-comment")
            with saved("comment"):
                comment.fill(COMMENT)
                comment.press("Tab")
            comment.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(FORMGRADER_SCREENSHOT))
        finally:
            browser.close()

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", cid) as gb:
        row = gb.find_grade("explain", "toy", "00_toy", "mia")
        assert (row.manual_score, row.needs_manual_grade) == (1.5, False)
        assert gb.find_comment("explain", "toy", "00_toy", "mia").manual_comment == COMMENT

    assert autograder_main(["feedback", "--out", str(course), "--course-root", str(course)]) == 0  # step 3
    html = (course / "feedback" / "mia" / "00_toy" / "toy.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")
    assert COMMENT in text and "Pending: a person grades this answer" not in text
    hidden = [h for h in redaction_lines(nbformat.read(course / "source" / "00_toy" / "toy.ipynb", 4)) if len(h) > 12]
    assert not [h for h in hidden if h in html]
    with open(course / "grading" / "grades.csv") as fh:
        mia = next(r for r in csv.DictReader(fh) if r["student"] == "mia")
    assert (mia["needs_manual_grade"], mia["pending_manual_points"]) == ("0", "0")


XSS_MARK = "xss-" + secrets.token_hex(6)
# What a hostile answer shows the person grading: every way to run script or load something from a page.
XSS = (f"window.__xss = (window.__xss || 0) + 1; document.title = '{XSS_MARK}'; "
       f"fetch('/api/contents/{XSS_MARK}.txt', {{method: 'PUT', headers: {{'Content-Type': 'application/json'}}, "
       f"body: JSON.stringify({{type: 'file', format: 'text', content: 'x'}})}})")
XSS_ANSWER = f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
P = {XSS!r}
display(HTML('<img src=x onerror="' + P + '"><script>' + P + '</script><iframe src="javascript:' + P + '"></iframe>'))
display(Javascript(P))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="' + P + '"><script>' + P + '</script></svg>'))
display(Markdown('<img src=x onerror="' + P + '">'))
display({{"text/html": '<img src="http://192.0.2.1/{XSS_MARK}.png">'}}, raw=True)
def add(a, b):
    return a + b
"""
XSS_WRITTEN = f'<script>{XSS}</script> <img src=x onerror="{XSS}"> The sum is zero.'


def _hostile_submission(course: Path):
    from autograder.catalogue import read_release

    nb = read_release(course, "00_toy", "toy")
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "add":
            cell.source = XSS_ANSWER
        elif gid == "explain":
            cell.source = XSS_WRITTEN
    return nb


def _raw_control(course: Path, student: str) -> None:
    """The same answer's outputs as a kernel produced them, unsanitized, stored as if graded: the control that
    proves the page check below does see a script that runs."""
    from nbclient import NotebookClient
    from nbgrader.api import Gradebook

    from autograder.config import course_id, load_course_config
    from course_tools.kernels import AsyncIpcKernelManager as IpcKernelManager

    nb = _hostile_submission(course)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in ("add", "explain")]
    nb.cells = cells
    NotebookClient(nb, timeout=60, allow_errors=True, kernel_manager_class=IpcKernelManager).execute()
    folder = course / "autograded" / student / "00_toy"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "toy.ipynb")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(load_course_config(course))) as gb:
        gb.update_or_create_student(student)
        gb.add_submission("00_toy", student)


def test_no_student_output_runs_in_formgrader_or_the_feedback(chromium, tmp_path, mirror_dir):
    """A submission whose outputs and written answer carry scripts, event handlers, iframes, SVG, Markdown and a
    remote image is graded; formgrader (logged in as the instructor, every request authorized) and the feedback
    page show it, and nothing of it runs or loads. The same outputs stored unsanitized (the control) do run."""
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    from autograder.config import course_id, load_course_config
    from autograder.grade import grade

    course = tmp_path / "course"
    shutil.copytree(TOY, course, ignore=shutil.ignore_patterns("__pycache__"))
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(_hostile_submission(course), subs / "eve_toy.ipynb")
    run = grade(subs, course, jobs=1, course_root=course, progress=False, protect=[])
    assert run.outcome("eve", "00_toy").status == "ok"
    _raw_control(course, "ctl")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id(load_course_config(course))) as gb:
        ids = {s: gb.find_submission_notebook("toy", "00_toy", s).id for s in ("eve", "ctl")}

    def visit(page, url: str) -> dict:
        remote = []
        page.on("request", lambda r: remote.append(r.url) if "192.0.2.1" in r.url else None)
        page.goto(url, wait_until="load")
        if "/formgrader/" in url:
            page.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded")
        page.wait_for_timeout(1500)  # a handler or a fetch has had its chance
        return {"ran": page.evaluate("() => window.__xss || 0"), "title": page.title(), "remote": remote}

    with jupyterlab(course, tmp_path, mirror_dir) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            def new_page():
                page = browser.new_page(extra_http_headers={"Authorization": f"token {lab['token']}"})
                page.set_default_timeout(PAGE_S * 1000)
                page.on("dialog", lambda d: d.dismiss())
                return page

            graded = visit(new_page(), f"{lab['base']}/formgrader/submissions/{ids['eve']}/?index=0")
            feedback = visit(new_page(), (course / "feedback" / "eve" / "00_toy" / "toy.html").as_uri())
            written = list(course.rglob(f"{XSS_MARK}*"))  # before the control, whose script does write it
            control = visit(new_page(), f"{lab['base']}/formgrader/submissions/{ids['ctl']}/?index=0")
        finally:
            browser.close()
    for seen in (graded, feedback):
        assert seen["ran"] == 0 and seen["title"] != XSS_MARK and not seen["remote"], seen
    assert not written, "the student's script wrote a file as the instructor"
    assert control["ran"] > 0, f"the control's script did not run: the check cannot see one ({control})"
    text = (course / "feedback" / "eve" / "00_toy" / "toy.html").read_text()
    assert "The sum is zero." in text, "the written answer is still readable"
