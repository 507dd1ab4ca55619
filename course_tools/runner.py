"""``course run``: execute the course notebooks with papermill and summarise what they report."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course.report import read_records

from .estimate import Estimate
from .progress import ENGINE, RunInterrupted, Watcher, clock

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class NotebookResult:
    notebook: str
    status: str  # "ok", "failed", "interrupted" (Ctrl-C) or "not run" (after an interruption)
    seconds: float
    output: str
    records: dict = field(default_factory=dict)
    error: str = ""
    stopped_at: str = ""  # where an interrupted notebook stopped: "cell 15/27 (train_result = trainer.train())"


def find_notebooks(source_dir: Path, selected: list[str] | None = None) -> list[Path]:
    """The notebooks of ``source_dir`` in course order, or those named in ``selected`` (paths or stems)."""
    every = sorted(p for p in source_dir.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not selected:
        return every
    chosen = []
    for name in selected:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path.resolve())
            continue
        matches = [p for p in every
                   if name in (p.stem, p.parent.name, f"{p.parent.name}/{p.name}", p.parent.name.split("_")[0])]
        if not matches:
            known = ", ".join(p.parent.name for p in every) or "none"
            raise SystemExit(f"course run: no notebook called {name!r} in {source_dir} (known: {known}).")
        chosen.extend(matches)
    return chosen


def profile_parameters(notebook: Path, profile: str | None) -> dict:
    """The hyperparameters of ``profile`` (or the automatic choice) that ``notebook``'s parameters cell
    assigns, to inject with papermill."""
    import papermill

    from course.profiles import PROFILES, choose_profile_name, notebook_parameters

    assigned = papermill.inspect_notebook(str(notebook))  # the names its parameters cell assigns
    values = notebook_parameters(PROFILES[choose_profile_name(profile)[0]])
    return {name: value for name, value in values.items() if name in assigned}


def execute(notebook: Path, out_dir: Path, profile: str | None, timeout: int | None = None,
            watcher: Watcher | None = None) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir``, in its own folder there (what it writes, such as a
    Trainer's output folder, goes there and never beside the source notebook); ``watcher`` follows it (the
    moving line, Ctrl-C). Never raises for a failing or interrupted notebook."""
    import papermill as pm

    target_dir = out_dir / notebook.parent.name
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / notebook.name
    params = {"output_dir": str((target_dir / "outputs").resolve())}
    if profile:
        params["profile"] = profile
    params.update(profile_parameters(notebook, profile))
    start = time.perf_counter()
    status, error, stopped_at = "ok", "", ""
    from .kernels import AsyncIpcKernelManager

    try:
        pm.execute_notebook(
            str(notebook), str(output), parameters=params, cwd=str(target_dir), engine_name=ENGINE, watcher=watcher,
            progress_bar=False, log_output=False, execution_timeout=timeout, kernel_name="python3",
            kernel_manager_class=AsyncIpcKernelManager,
        )
    except (Exception, KeyboardInterrupt) as exc:  # papermill's execution error, a dead kernel, a timeout, Ctrl-C
        if watcher is None and isinstance(exc, KeyboardInterrupt):
            raise
        if watcher is not None and (watcher.interrupted or isinstance(exc, (KeyboardInterrupt, RunInterrupted))):
            status = "interrupted"
            if isinstance(exc, KeyboardInterrupt):  # a second Ctrl-C: the kernel did not stop in time
                _kill_kernel(watcher)
            stopped_at = mark_interrupted(output, watcher)
        else:
            last_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
            status, error = "failed", f"{type(exc).__name__}: {last_line}"
    seconds = time.perf_counter() - start
    records = read_records(output) if output.exists() else {}
    return NotebookResult(f"{notebook.parent.name}/{notebook.name}", status, round(seconds, 1),
                          str(output), records, error, stopped_at)


def _kill_kernel(watcher: Watcher) -> None:
    pid = watcher.kernel_pid()
    if pid:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def mark_interrupted(output: Path, watcher: Watcher) -> str:
    """Mark the cell that Ctrl-C stopped in the partial notebook (papermill status ``interrupted``, a line in
    its output) and the cells after it as never run (``pending``); returns where it stopped, in words."""
    import nbformat

    if watcher.cell_id is None or not output.is_file():
        return "before its first cell"
    nb = nbformat.read(str(output), as_version=4)
    in_cell = 0.0 if watcher.before_cell else (watcher.interrupted or time.monotonic()) - watcher.cell_start
    where = f"cell {watcher.cell_index + 1}/{watcher.cells} ({watcher.cell_code[:60]})"
    if watcher.before_cell:
        where = "before " + where
    after = False
    for cell in nb.cells:
        meta = cell.metadata.get("papermill")
        if cell.get("id") == watcher.cell_id:
            after = True
            if meta is not None:
                meta.update(status="interrupted", exception=True)
            if cell.cell_type == "code":
                text = ("Not run: Ctrl-C in course run stopped the notebook before this cell.\n" if watcher.before_cell
                        else f"Interrupted (Ctrl-C in course run) after {clock(in_cell)} in this cell.\n")
                cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=text))
        elif after and meta is not None:
            meta["status"] = "pending"  # never ran (papermill calls every unrun cell completed)
    nb.metadata.setdefault("course", {})["interrupted"] = {"cell_id": watcher.cell_id, "cell": watcher.cell_index,
                                                          "seconds_in_cell": round(in_cell, 1)}
    nb.metadata.get("papermill", {})["exception"] = True
    nbformat.write(nb, str(output))
    return where if watcher.before_cell else where + f" after {clock(in_cell)} in the cell"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def markdown_table(results: list[NotebookResult], profile: str, interrupted: bool = False) -> str:
    lines = [f"Profile: `{profile}`", ""]
    stopped = [r for r in results if r.status == "interrupted"]
    if stopped:
        r = stopped[0]
        lines += [f"**Interrupted** (Ctrl-C) in {r.notebook}, {r.stopped_at}: the partial notebook is `{r.output}`;"
                  " the notebooks after it did not run.", ""]
    elif interrupted:
        lines += ["**Interrupted** (Ctrl-C) between two notebooks: the notebooks after it did not run.", ""]
    lines += ["| notebook | status | seconds | reported |", "|---|---|---:|---|"]
    for r in results:
        shown = ", ".join(f"{k} {_short(v)}" for k, v in r.records.items()) or "-"
        status = r.status if not r.error else f"{r.status}: {r.error}"
        lines.append(f"| {r.notebook} | {status} | {r.seconds:.1f} | {shown} |")
    total = sum(r.seconds for r in results)
    lines += ["", f"Total: {total:.1f} s for {len(results)} notebooks."]
    return "\n".join(lines) + "\n"


def run(notebooks: list[str] | None = None, profile: str | None = None, source_dir: Path | None = None,
        out_dir: Path | None = None, timeout: int | None = None, estimate: bool = True,
        progress: bool = True) -> int:
    """Execute the notebooks, write ``summary.json`` and ``summary.md`` in ``out_dir``; 0 when all pass, 130 when
    Ctrl-C stopped the run. ``estimate``: say how long it will take first; ``progress``: the moving line (in a
    terminal; elsewhere a line a minute during long cells)."""
    import nbformat

    source_dir = Path(source_dir or REPO_ROOT / "source")
    out_dir = Path(out_dir or Path.cwd() / "build")
    found = find_notebooks(source_dir, notebooks)
    if not found:
        print(f"course run: no notebooks in {source_dir} yet (expected source/<assignment>/<name>.ipynb). "
              "Nothing to execute.")
        return 0
    label = profile or os.environ.get("COURSE_PROFILE") or "auto"
    watcher = Watcher(None, total=len(found), tty=None if progress else False)
    results: list[NotebookResult] = []
    previous = signal.signal(signal.SIGINT, _on_ctrl_c(watcher))
    try:
        watcher.estimate = say_estimate(found, profile, out_dir) if estimate else None
        watcher.running = True
        with watcher:
            for nb in found:
                if watcher.interrupted:
                    break
                watcher.notebook_started(nb.parent.name, len(nbformat.read(str(nb), as_version=4).cells))
                result = execute(nb, out_dir, profile, timeout, watcher=watcher)
                watcher.notebook_finished(nb.parent.name)
                results.append(result)
                watcher.write(f"{result.status:>11}  {result.seconds:7.1f} s  {result.notebook}  "
                              f"{result.stopped_at or result.error}")
    except KeyboardInterrupt:  # before any notebook started: nothing to save
        print("course run: interrupted (Ctrl-C) before the first notebook started; nothing was written.", flush=True)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    interrupted = watcher.interrupted is not None
    for nb in found[len(results):]:
        results.append(NotebookResult(f"{nb.parent.name}/{nb.name}", "not run", 0.0, ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"profile": label, "interrupted": interrupted, "results": [asdict(r) for r in results]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = markdown_table(results, label, interrupted)
    (out_dir / "summary.md").write_text(table)
    if interrupted:
        stopped = next((r for r in results if r.status == "interrupted"), None)
        where = (f"in {stopped.notebook}, {stopped.stopped_at}; the partial notebook is {stopped.output}" if stopped
                 else "between two notebooks")
        print(f"course run: interrupted (Ctrl-C) {where}; the summary is {out_dir / 'summary.md'}.", flush=True)
        return 130
    print(table)
    failed = [r.notebook for r in results if r.status != "ok"]
    if failed:
        print(f"course run: {len(failed)} notebook(s) failed: {', '.join(failed)}. "
              f"Open the executed copies in {out_dir} to see the error.")
    return 1 if failed else 0


def say_estimate(found: list[Path], profile: str | None, out_dir: Path) -> Estimate | None:
    """Print how long the run will take (a range, calibrated now, and what it rests on); the estimate or None."""
    from course.profiles import choose_profile_name

    from .estimate import SUGGEST_SMOKE_OVER_S, span
    from .estimate import estimate as estimate_run

    name = profile or choose_profile_name()[0]
    print(f"course run: {len(found)} notebook(s) in the {name} profile; calibrating (timing this machine now, "
          "whatever else it is running)...", flush=True)
    try:
        forecast = estimate_run(found, name)
    except Exception as exc:  # noqa: BLE001 - an estimate must never stop the run
        print(f"course run: no estimate ({type(exc).__name__}: {exc})", flush=True)
        return None
    print(f"course run: about {span(forecast.low, forecast.high)} on this machine as it is now "
          f"({forecast.machine}). From {forecast.how}.", flush=True)
    if forecast.high > SUGGEST_SMOKE_OVER_S and name != "smoke":
        print("course run: that is over 10 minutes; `course run --profile smoke` runs every notebook at a small "
              "size in a few minutes.", flush=True)
    print(f"course run: the executed notebooks go to {out_dir}. Ctrl-C stops the run.", flush=True)
    return forecast


def _on_ctrl_c(watcher: Watcher):
    """The SIGINT handler of a run: the first Ctrl-C interrupts the running cell's kernel (the kernel stops the
    cell, papermill saves the notebook, the run stops cleanly); a second one, or one outside a cell, raises."""

    def handler(signum, frame):
        if watcher.interrupted is None and watcher.running:
            watcher.interrupted = time.monotonic()
            pid = watcher.kernel_pid() if watcher.notebook else None
            if pid:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGINT)  # the kernel leads a session of its own (jupyter_client)
            return
        raise KeyboardInterrupt

    return handler
