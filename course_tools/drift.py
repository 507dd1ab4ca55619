"""``course drift``: does the course still work with the newest releases of its libraries?

It builds a throw-away virtual environment with the newest releases of the libraries the notebooks teach
(:data:`WATCHED`), runs the quick tests and every notebook in the smoke profile there, and writes a report
(``benchmarks/drift.md``): the versions against ``requirements.lock``, what broke (the failing test or notebook
cell and its error), and what the lock would move to.  The scheduled workflow ``.github/workflows/drift.yml``
runs it every week; a maintainer fixes what broke, then moves the lock (``course lock --upgrade``).

torch: the newest CPU build comes from the PyTorch CPU index (``--torch-index-url``).  PyPI's Linux wheels of torch
are CUDA builds that pull several GB of CUDA packages, so where that index cannot be reached the run keeps the
lock's torch and says so in the report.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from .lock import LOCK, REPO_ROOT, read_lock

# the libraries whose newest releases are tried (torch apart: see the module's docstring)
WATCHED = ["transformers", "datasets", "evaluate", "accelerate", "nbgrader", "papermill", "jupyterlab",
           "huggingface-hub"]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REPORT = REPO_ROOT / "benchmarks" / "drift.md"


@dataclass
class Failure:
    """One thing that broke: a test (``where`` is its id) or a notebook cell (``where``: notebook and cell)."""

    kind: str  # "test", "notebook", "flaky" (passed when run again alone), "lock" (fails with the lock too)
    where: str
    error: str
    code: str = ""  # the failing cell's first lines


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class DriftReport:
    date: str
    python: str
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (lock, drift environment)
    torch_note: str = ""
    steps: list[Step] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    moves: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (lock, newest); "" = absent
    notebooks: list[dict] = field(default_factory=list)  # course run's summary rows

    @property
    def broke(self) -> bool:
        """Something failed with the newest releases only: flaky tests and tests that fail with the lock's versions
        as well are reported, but are not drift."""
        hard = [f for f in self.failures if f.kind not in ("flaky", "lock")]
        flaky_only = bool(self.failures) and not hard
        steps_ok = all(s.ok or (s.name == "quick tests" and flaky_only) for s in self.steps)
        return bool(hard) or not steps_ok


# --------------------------------------------------------------------------------------------- reading
def freeze(python: Path) -> dict[str, str]:
    """``{canonical name: version}`` installed in the environment of ``python`` (editable installs left out)."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(p["name"]): p["version"].split("+", 1)[0] for p in json.loads(out)
            if canonicalize_name(p["name"]) != "course"}  # the course itself (editable)


def lock_moves(lock: dict[str, str], installed: dict[str, str]) -> dict[str, tuple[str, str]]:
    """What the lock would move to: ``{name: (locked, newest)}`` for every package that changed, appeared
    (locked ``""``) or went away (newest ``""``)."""
    names = sorted(set(lock) | set(installed))
    return {n: (lock.get(n, ""), installed.get(n, "")) for n in names if lock.get(n) != installed.get(n)}


def junit_failures(path: Path) -> list[Failure]:
    """The failed and erroring tests of a pytest ``--junitxml`` report."""
    if not path.is_file():
        return []
    found = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for bad in [*case.findall("failure"), *case.findall("error")]:
            where = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            found.append(Failure("test", where, message[0][:300] if message else bad.tag))
    return found


def failing_cells(notebook: Path) -> list[Failure]:
    """The cell where an executed notebook stopped: its index, id, first lines and the error it raised."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                code = "\n".join(cell.source.splitlines()[:3])
                where = f"{notebook.parent.name}/{notebook.name} cell {index} ({cell.get('id', '?')})"
                found.append(Failure("notebook", where, f"{out.get('ename')}: {out.get('evalue', '')}"[:300], code))
    return found


# --------------------------------------------------------------------------------------------- running
def _run(step: str, cmd: list[str], log: Path, env: dict | None = None, timeout: int | None = None,
         cwd: Path = REPO_ROOT) -> Step:
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        try:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env, timeout=timeout)
            ok, detail = done.returncode == 0, f"exit {done.returncode}"
        except subprocess.TimeoutExpired:
            ok, detail = False, f"timed out after {timeout} s"
    return Step(step, ok, round(time.perf_counter() - start, 1), detail)


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def rerun_failures(python: Path, failures: list[Failure], xml: Path, log: Path, env: dict | None = None,
                   cwd: Path = REPO_ROOT) -> list[Failure]:
    """Run the failed tests again, by themselves: those that pass now come back as ``flaky`` (they do not make
    the run "broke"), the others as they failed the second time."""
    _run("rerun of the failed tests", [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                       f"--junitxml={xml}", *(f.where for f in failures)], log, env, 1800, cwd)
    again = {f.where: f for f in junit_failures(xml)} if xml.is_file() else {f.where: f for f in failures}
    return [again.get(f.where) or Failure("flaky", f.where, f"passed when run again alone; first: {f.error}")
            for f in failures]


def with_the_lock(failures: list[Failure], xml: Path, log: Path, cwd: Path = REPO_ROOT) -> list[Failure]:
    """Run the tests that failed with the newest releases in the environment ``course drift`` runs in (the
    lock's): those that fail there too are not drift (kind ``lock``)."""
    tests = [f for f in failures if f.kind == "test"]
    if not tests:
        return failures
    _run("the failed tests with the lock", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                            f"--junitxml={xml}", *(f.where for f in tests)], log, None, 1800, cwd)
    also = {f.where for f in junit_failures(xml)}
    return [Failure("lock", f.where, f"fails with the lock's versions too: {f.error}") if f.where in also else f
            for f in failures]


def install_torch(pip: list[str], log: Path, spec: str | None, index_url: str | None, pin: str) -> tuple[Step, str]:
    """Install torch into the drift environment: ``spec`` if given, else the newest CPU build from ``index_url``,
    else (that index unreachable) the lock's ``pin``. Returns the step and the sentence the report prints."""
    if spec:
        return _run("torch", [*pip, "install", spec], log), f"torch as asked: `{spec}`."
    if index_url:
        # that index alone: no pip configuration (its extra indexes or wheel folders would offer other builds).
        # pip takes an index it cannot reach for one without newer releases, so ask it for its newest first.
        only = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
        newest = newest_on_pypi(pip, "torch", index_url, only)
        if newest:
            step = _run("torch", [*pip, "install", "--index-url", index_url, f"torch=={newest}"], log, only)
            if step.ok:
                return step, f"torch {newest}: the newest CPU build from {index_url}."
    step = _run("torch", [*pip, "install", f"torch=={pin}"], log)
    return step, (f"torch kept at the lock's {pin}: the PyTorch CPU index ({index_url}) could not be reached from "
                  "here, and PyPI's Linux wheels of newer releases are CUDA builds of several GB. The scheduled "
                  "workflow reaches that index and tries the newest CPU build.")


def newest_on_pypi(pip: list[str], name: str, index_url: str | None = None, env: dict | None = None) -> str:
    """The newest release of ``name`` that pip's indexes (or ``index_url`` alone) list ("" when they cannot be
    asked)."""
    where = ["--index-url", index_url, "--timeout", "20", "--retries", "1"] if index_url else []
    done = subprocess.run([*pip, "index", "versions", name, *where], capture_output=True, text=True, env=env)
    found = re.search(r"\(([^)]+)\)", done.stdout)
    return found.group(1) if found else ""


def drift(venv: Path | None = None, report_path: Path = REPORT, torch_spec: str | None = None,
          torch_index_url: str | None = TORCH_CPU_INDEX, smoke: bool = True, tests: bool = True,
          test_timeout: int = 1800, smoke_timeout: int = 3600) -> DriftReport:
    """Build the drift environment in ``venv`` (a temporary folder by default), run the checks, write the report."""
    lock = read_lock(LOCK)
    work = Path(tempfile.mkdtemp(prefix="course-drift-"))
    venv = Path(venv or work / "venv")
    log = work / "drift.log"
    report = DriftReport(date=time.strftime("%Y-%m-%d"), python=sys.version.split()[0])
    print(f"course drift: building {venv} (log: {log})", flush=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip"]
    report.steps.append(_run("pip", [*pip, "install", "--quiet", "--upgrade", "pip"], log))
    step, report.torch_note = install_torch(pip, log, torch_spec, torch_index_url, lock.get("torch", ""))
    report.steps.append(step)
    newest = [f"{name}=={v}" if (v := newest_on_pypi(pip, name)) else name for name in WATCHED]
    print(f"course drift: installing {', '.join(newest)} and the course", flush=True)
    installing = _run("install", [*pip, "install", "-e", f"{REPO_ROOT}[offline,dev]", *newest], log)
    report.steps.append(installing)
    installed = freeze(python)
    for name in ["torch", *WATCHED]:
        report.versions[name] = (lock.get(name, ""), installed.get(name, ""))
    report.moves = lock_moves(lock, installed)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv))
    if tests and installing.ok:
        print("course drift: the quick tests (pytest -m 'not slow')", flush=True)
        xml = work / "tests.xml"
        step = _run("quick tests", [str(python), "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider",
                                    f"--junitxml={xml}"], log, env, test_timeout)
        report.steps.append(step)
        failures = junit_failures(xml)
        if failures:  # once more, alone: a test that fails only beside the others' load is flaky, not drift
            again = rerun_failures(python, failures, work / "rerun.xml", log, env)
            report.failures += with_the_lock(again, work / "lock.xml", log)
        if not step.ok and not failures:
            step.detail += ": " + _tail(log, 5).replace("\n", " / ")
    if smoke and installing.ok:
        print("course drift: every notebook in the smoke profile (course run --profile smoke)", flush=True)
        build = work / "build"
        step = _run("smoke run", [str(venv / "bin" / "course"), "run", "--profile", "smoke", "--out", str(build)],
                    log, env, smoke_timeout)
        report.steps.append(step)
        summary = build / "summary.json"
        if summary.is_file():
            report.notebooks = json.loads(summary.read_text())["results"]
            for row in report.notebooks:
                if row["status"] != "ok" and Path(row["output"]).is_file():
                    report.failures += failing_cells(Path(row["output"])) or [
                        Failure("notebook", row["notebook"], row.get("error", ""))]
    report_path.write_text(render(report))
    (work / "drift.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
    print(f"course drift: report in {report_path} ({'something broke' if report.broke else 'nothing broke'}); "
          f"the environment stays in {venv}, the log in {log}.", flush=True)
    return report


# --------------------------------------------------------------------------------------------- report
def held(name: str) -> str:
    """What the report says of a package the lock holds back (course_tools.lock.HOLDS)."""
    from .lock import HOLDS

    if name not in HOLDS:
        return ""
    return f" (held at {HOLDS[name]} by course_tools.lock.HOLDS: the lock installs on every Python 3.11)"


def render(report: DriftReport) -> str:
    """The report as Markdown."""
    verdict = "**Something broke** (below)." if report.broke else (
        "**Nothing broke** with the newest releases (what failed, below, is flaky or fails with the lock too): the "
        "lock can move." if report.failures else "**Nothing broke**: the lock can move.")
    lines = [f"# Drift: the course against the newest releases ({report.date})", "",
             "Written by `course drift` (a throw-away environment with the newest releases; the quick tests and "
             "`course run --profile smoke` there). Python " + report.python + ".", "", verdict, "",
             "| library | lock | newest tried |", "|---|---|---|"]
    for name, (locked, new) in report.versions.items():
        mark = "" if locked == new else " (moved)"
        lines.append(f"| {name} | {locked or '-'} | {new or 'not installed'}{mark} |")
    lines += ["", report.torch_note, "", "## Steps", "", "| step | result | seconds |", "|---|---|---:|"]
    lines += [f"| {s.name} | {'ok' if s.ok else 'FAILED'} ({s.detail}) | {s.seconds:.0f} |" for s in report.steps]
    if report.notebooks:
        lines += ["", "## Notebooks (smoke profile)", "", "| notebook | status | seconds |", "|---|---|---:|"]
        lines += [f"| {r['notebook']} | {r['status']} | {r['seconds']:.0f} |" for r in report.notebooks]
    lines += ["", "## What broke", ""]
    if not report.failures:
        lines.append("Nothing: every quick test passed and every notebook ran.")
    for f in report.failures:
        lines.append(f"* {f.kind} `{f.where}`: `{f.error}`")
        if f.code:
            lines += ["  ```python", *("  " + line for line in f.code.splitlines()), "  ```"]
    lines += ["", "## What the lock would move to", ""]
    if not report.moves:
        lines.append("Nothing: the lock already holds the newest releases.")
    else:
        lines += ["| package | lock | drift environment |", "|---|---|---|"]
        lines += [f"| {n} | {a or '(not in the lock)'} | {b or '(gone)'}{held(n)} |"
                  for n, (a, b) in report.moves.items()]
        lines += ["", "Once what broke is fixed: `course lock --upgrade`, then the tests."]
    return "\n".join(lines) + "\n"


def main(args) -> int:
    report = drift(venv=args.venv, report_path=args.report or REPORT, torch_spec=args.torch,
                   torch_index_url=args.torch_index_url or None, smoke=not args.no_smoke, tests=not args.no_tests)
    return 1 if report.broke else 0
