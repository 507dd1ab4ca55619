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


def profile_parameters(notebook: Path, profile: str | None) -> dict:
    """The hyperparameters of ``profile`` (or the automatic choice) that ``notebook``'s parameters cell
    assigns, to inject with papermill."""
    import nbformat

    from .profiles import PROFILES, choose_profile_name, notebook_parameters

    cells = [c for c in nbformat.read(str(notebook), as_version=4).cells
             if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assigned = {line.split("=", 1)[0].strip() for c in cells for line in c.source.splitlines() if "=" in line}
    values = notebook_parameters(PROFILES[choose_profile_name(profile)[0]])
    return {name: value for name, value in values.items() if name in assigned}


def execute(notebook: Path, out_dir: Path, profile: str | None, timeout: int | None = None,
            progress: bool = False) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir``, in its own folder there (what it writes, such as a
    Trainer's output folder, goes there and never beside the source notebook); ``progress``: a bar of its cells.
    Never raises for a failing notebook."""
    import papermill as pm

    target_dir = out_dir / notebook.parent.name
    target_dir.mkdir(parents=True, exist_ok=True)
    output = target_dir / notebook.name
    params = {"output_dir": str((target_dir / "outputs").resolve())}
    if profile:
        params["profile"] = profile
    params.update(profile_parameters(notebook, profile))
    start = time.perf_counter()
    status, error = "ok", ""
    from .kernels import AsyncIpcKernelManager

    cells = {"desc": f"  {notebook.parent.name}", "leave": False, "unit": "cell"} if progress else False
    try:
        pm.execute_notebook(
            str(notebook), str(output), parameters=params, cwd=str(target_dir),
            progress_bar=cells, log_output=False, execution_timeout=timeout, kernel_name="python3",
            kernel_manager_class=AsyncIpcKernelManager,
        )
    except Exception as exc:  # papermill's execution error, a dead kernel, a timeout...
        last_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        status, error = "failed", f"{type(exc).__name__}: {last_line}"
    seconds = time.perf_counter() - start
    records = read_records(output) if output.exists() else {}
    return NotebookResult(f"{notebook.parent.name}/{notebook.name}", status, round(seconds, 1),
                          str(output), records, error)


# What a run costs, for the estimate printed before it starts. Each notebook says what it trains in its own
# metadata, ``{"course": {"trains": [[task, trainings, evaluation passes per training], ...]}}`` (a notebook
# that trains nothing says nothing); token counts and full sizes come from course.tasks. Dynamic padding adds
# about a third to the real tokens (padding share 0.27 on MRPC).
NOTEBOOK_OVERHEAD_S = 14  # kernel start, imports, loading data and model: measured 5-19 s per smoke notebook
# the small profiles are measured rather than estimated: all seven notebooks, 2 idle cores (benchmarks/results.md)
MEASURED_S = {"smoke": 218, "grading": 127}


def trainings(notebook: Path) -> list[tuple[str, int, int]]:
    """``(task, trainings, evaluation passes per training)`` that ``notebook``'s metadata declares."""
    meta = json.loads(notebook.read_text()).get("metadata", {}).get("course", {})
    return [(str(task), int(n), int(evals)) for task, n, evals in meta.get("trains", [])]


def training_tokens(notebook: Path, prof) -> tuple[float, float]:
    """(padded tokens trained on, tokens evaluated) of one notebook in profile ``prof``."""
    from .tasks import task as find_task

    trained = evaluated = 0.0
    for name, count, evals in trainings(notebook):
        task = find_task(name)
        n_train = prof.train_size(name) or task.full_size[0]
        n_eval = prof.eval_size(name) or task.full_size[1]
        per_example = task.tokens_per_example / 0.75
        trained += count * n_train * prof.epochs * per_example
        evaluated += count * evals * n_eval * per_example
    return trained, evaluated


def seconds_per_token(checkpoint: str, batch: int = 16, length: int = 64, steps: int = 3) -> float:
    """Training seconds per token of ``checkpoint`` on this machine: a few forward+backward steps."""
    import torch
    from transformers import AutoModelForSequenceClassification, logging

    logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    ids = torch.randint(1000, 2000, (batch, length))
    labels = torch.zeros(batch, dtype=torch.long)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        model(input_ids=ids, labels=labels).loss.backward()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2] / (batch * length)


def estimate_seconds(notebooks: list[Path], profile_name: str) -> tuple[float, str]:
    """(estimated seconds, how it was estimated) for running ``notebooks`` in a profile, on this machine."""
    from .profiles import PROFILES
    from .sources import checkpoint_source

    if profile_name in MEASURED_S:
        return MEASURED_S[profile_name] * len(notebooks) / 7, "measured on 2 cores"
    prof = PROFILES[profile_name]
    checkpoint = checkpoint_source(prof.checkpoint).path
    per_token = seconds_per_token(checkpoint)
    total = 0.0
    for nb in notebooks:
        train, evaluate = training_tokens(nb, prof)
        total += NOTEBOOK_OVERHEAD_S + per_token * (train + evaluate / 3)  # evaluation: forward only
    return total, f"3 training steps of {prof.checkpoint or 'the default checkpoint'} timed here"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


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
        out_dir: Path | None = None, timeout: int | None = None, estimate: bool = True,
        progress: bool = True) -> int:
    """Execute the notebooks, write ``summary.json`` and ``summary.md`` in ``out_dir``; 0 when all pass.
    ``estimate``: print how long it will take first; ``progress``: a bar of cells inside each notebook."""
    from tqdm.auto import tqdm

    source_dir = Path(source_dir or REPO_ROOT / "source")
    out_dir = Path(out_dir or Path.cwd() / "build")
    found = find_notebooks(source_dir, notebooks)
    if not found:
        print(f"course run: no notebooks in {source_dir} yet (expected source/<assignment>/<name>.ipynb). "
              "Nothing to execute.")
        return 0
    label = profile or os.environ.get("COURSE_PROFILE") or "auto"
    if estimate:
        from .profiles import choose_profile_name

        name = profile or choose_profile_name()[0]
        print(f"course run: {len(found)} notebook(s) in the {name} profile; estimating the time...", flush=True)
        try:
            seconds, how = estimate_seconds(found, name)
            print(f"course run: about {_duration(seconds)} on this machine ({how}); the executed notebooks go "
                  f"to {out_dir}.", flush=True)
        except Exception as exc:  # noqa: BLE001 - an estimate must never stop the run
            print(f"course run: no estimate ({type(exc).__name__}: {exc})", flush=True)
    results = []
    bar = tqdm(found, desc=f"course run ({label})", unit="notebook")
    for nb in bar:
        bar.set_postfix_str(nb.parent.name)
        result = execute(nb, out_dir, profile, timeout, progress=progress)
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
