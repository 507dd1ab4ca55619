"""``course run``: execute the course notebooks with papermill and summarise what they report."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .report import read_records

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class NotebookResult:
    notebook: str
    status: str  # "ok" or "failed"
    seconds: float
    output: str
    records: dict = field(default_factory=dict)
    error: str = ""


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


def execute(notebook: Path, out_dir: Path, profile: str | None, timeout: int | None = None) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir``; never raises for a failing notebook."""
    import papermill as pm

    target_dir = out_dir / notebook.parent.name
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / notebook.name
    params = {"output_dir": str((target_dir / "outputs").resolve())}
    if profile:
        params["profile"] = profile
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        pm.execute_notebook(
            str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
            progress_bar=False, log_output=False, execution_timeout=timeout, kernel_name="python3",
        )
    except Exception as exc:  # papermill's execution error, a dead kernel, a timeout...
        last_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        status, error = "failed", f"{type(exc).__name__}: {last_line}"
    seconds = time.perf_counter() - start
    records = read_records(output) if output.exists() else {}
    return NotebookResult(f"{notebook.parent.name}/{notebook.name}", status, round(seconds, 1),
                          str(output), records, error)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def markdown_table(results: list[NotebookResult], profile: str) -> str:
    lines = [f"Profile: `{profile}`", "", "| notebook | status | seconds | reported |", "|---|---|---:|---|"]
    for r in results:
        shown = ", ".join(f"{k} {_short(v)}" for k, v in r.records.items()) or "-"
        status = r.status if not r.error else f"{r.status}: {r.error}"
        lines.append(f"| {r.notebook} | {status} | {r.seconds:.1f} | {shown} |")
    total = sum(r.seconds for r in results)
    lines += ["", f"Total: {total:.1f} s for {len(results)} notebooks."]
    return "\n".join(lines) + "\n"


def run(notebooks: list[str] | None = None, profile: str | None = None, source_dir: Path | None = None,
        out_dir: Path | None = None, timeout: int | None = None) -> int:
    """Execute the notebooks, write ``summary.json`` and ``summary.md`` in ``out_dir``; 0 when all pass."""
    from tqdm.auto import tqdm

    source_dir = Path(source_dir or REPO_ROOT / "source")
    out_dir = Path(out_dir or Path.cwd() / "build")
    found = find_notebooks(source_dir, notebooks)
    if not found:
        print(f"course run: no notebooks in {source_dir} yet (expected source/<assignment>/<name>.ipynb). "
              "Nothing to execute.")
        return 0
    label = profile or os.environ.get("COURSE_PROFILE") or "auto"
    results = []
    bar = tqdm(found, desc=f"course run ({label})", unit="notebook")
    for nb in bar:
        bar.set_postfix_str(nb.parent.name)
        result = execute(nb, out_dir, profile, timeout)
        results.append(result)
        tqdm.write(f"{result.status:>6}  {result.seconds:7.1f} s  {result.notebook}  {result.error}")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"profile": label, "results": [asdict(r) for r in results]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = markdown_table(results, label)
    (out_dir / "summary.md").write_text(table)
    print(table)
    failed = [r.notebook for r in results if r.status != "ok"]
    if failed:
        print(f"course run: {len(failed)} notebook(s) failed: {', '.join(failed)}. "
              f"Open the executed copies in {out_dir} to see the error.")
    return 1 if failed else 0
