"""How long ``course run`` will take on this machine as it is now: a range, from a calibration measured now.

The calibration times a few training steps of the profile's checkpoint and a few matrix multiplies *now*, on
a machine that may be running other work: the fastest and the slowest of them bound the range, and the load
average says why it is wide. Two kinds of numbers go into an estimate, and the sentence printed says which:

* measured now: seconds per trained token (the training steps) and this machine's matrix-multiply speed;
* stored (:data:`STORED`): what a notebook costs besides training (kernel start, imports, data), and the whole
  ``smoke`` and ``grading`` runs, measured once on 2 idle cores with the matrix-multiply speed of that day,
  then scaled to this machine now by the matrix multiplies just timed.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

SUGGEST_SMOKE_OVER_S = 600  # over 10 minutes: say that the smoke profile checks everything in a few


@dataclass(frozen=True)
class StoredRun:
    """Measured once and kept (``python -m benchmarks``, ``benchmarks/results.json``)."""

    date: str
    flops_per_s: float  # the matrix-multiply speed of that machine that day (1024 x 1024, float32, 2 threads)
    notebook_overhead_s: float  # a notebook's cost besides what it trains (smoke run: kernel, imports, data)
    seconds: dict[str, dict[str, float]]  # profile -> notebook folder -> seconds of the whole notebook


# benchmarks/results.json of 2026-12-05 (2 idle cores): course run --profile smoke per notebook; the grading
# profile's 127 s for all seven (autograder benchmark), shared out like the smoke run's.
_SMOKE = {"01_preprocessing": 7.8, "02_trainer": 28.0, "03_compute_metrics": 27.7, "04_training_loop": 45.8,
          "05_sst2": 27.8, "06_yelp": 51.7, "07_learning_curves": 27.0}
STORED = StoredRun(
    date="2026-12-05", flops_per_s=2.99e11, notebook_overhead_s=14.0,
    seconds={"smoke": _SMOKE,
             "grading": {k: round(v * 127 / sum(_SMOKE.values()), 1) for k, v in _SMOKE.items()}},
)


@dataclass
class Calibration:
    """What was timed just now."""

    step_seconds: list[float] = field(default_factory=list)  # training steps (after a warm-up), if any
    tokens_per_step: int = 0
    flops_per_s: list[float] = field(default_factory=list)  # matrix multiplies
    load: float = 0.0  # 1-minute load average when it ran
    cores: int = 1
    checkpoint: str = ""

    @property
    def slowdown(self) -> tuple[float, float]:
        """(best, worst) factor of this machine now against :data:`STORED`'s (1: as fast; 2: half as fast)."""
        return STORED.flops_per_s / max(self.flops_per_s), STORED.flops_per_s / min(self.flops_per_s)

    @property
    def per_token(self) -> tuple[float, float]:
        """(fastest, slowest) training seconds per token."""
        return min(self.step_seconds) / self.tokens_per_step, max(self.step_seconds) / self.tokens_per_step

    def machine(self) -> str:
        busy = self.load >= 0.5 * self.cores
        return (f"{self.cores} cores, load average {self.load:.1f}"
                + (": other work is using this machine, and the estimate counts it" if busy else ": idle"))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def calibrate(checkpoint: str | None, steps: int = 5, batch: int = 16, length: int = 64,
              multiplies: int = 12) -> Calibration:
    """Time ``steps`` forward+backward steps of ``checkpoint`` (none: skip) and ``multiplies`` 1024 x 1024 matrix
    multiplies, spread over a second or two so that what else runs on the machine shows in the spread."""
    import torch

    cal = Calibration(load=os.getloadavg()[0], cores=_cores(), checkpoint=checkpoint or "")
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b  # warm-up
    pause = 0.1
    for _ in range(multiplies):
        start = time.perf_counter()
        a @ b
        cal.flops_per_s.append(2 * 1024**3 / (time.perf_counter() - start))
        time.sleep(pause)
    if checkpoint:
        from transformers import AutoModelForSequenceClassification, logging

        logging.set_verbosity_error()
        bars = logging.is_progress_bar_enabled()
        logging.disable_progress_bar()  # no "Loading weights" bar in the middle of the estimate
        try:
            model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
        finally:
            if bars:
                logging.enable_progress_bar()
        ids = torch.randint(1000, 2000, (batch, length))
        labels = torch.zeros(batch, dtype=torch.long)
        cal.tokens_per_step = batch * length
        for i in range(steps + 1):
            start = time.perf_counter()
            model(input_ids=ids, labels=labels).loss.backward()
            if i:  # the first step warms up
                cal.step_seconds.append(time.perf_counter() - start)
            time.sleep(pause)
    return cal


# --------------------------------------------------------------------------------------------- the model
def trainings(notebook: Path) -> list[tuple[str, int, int]]:
    """``(task, trainings, evaluation passes per training)`` that ``notebook``'s metadata declares
    (``{"course": {"trains": [[task, trainings, evaluations], ...]}}``; a notebook that trains nothing: [])."""
    meta = json.loads(notebook.read_text()).get("metadata", {}).get("course", {})
    return [(str(task), int(n), int(evals)) for task, n, evals in meta.get("trains", [])]


def training_tokens(notebook: Path, prof) -> tuple[float, float]:
    """(padded tokens trained on, tokens evaluated) of one notebook in profile ``prof``. Dynamic padding adds
    about a third to the real tokens (padding share 0.27 on MRPC)."""
    from course.tasks import task as find_task

    trained = evaluated = 0.0
    for name, count, evals in trainings(notebook):
        task = find_task(name)
        n_train = prof.train_size(name) or task.full_size[0]
        n_eval = prof.eval_size(name) or task.full_size[1]
        per_example = task.tokens_per_example / 0.75
        trained += count * n_train * prof.epochs * per_example
        evaluated += count * evals * n_eval * per_example
    return trained, evaluated


@dataclass
class Estimate:
    """A range of seconds for each notebook and in all, and the sentence that says where it comes from."""

    per_notebook: dict[str, tuple[float, float]]  # notebook folder -> (low, high) seconds
    how: str
    machine: str

    @property
    def low(self) -> float:
        return sum(lo for lo, _ in self.per_notebook.values())

    @property
    def high(self) -> float:
        return sum(hi for _, hi in self.per_notebook.values())

    def remaining(self, done: list[str], current: str | None = None, current_s: float = 0.0) -> tuple[float, float]:
        """(low, high) seconds left with the notebooks ``done`` finished and ``current_s`` spent in ``current``:
        the same numbers as the estimate, so at the start it *is* the estimate."""
        low = high = 0.0
        for name, (lo, hi) in self.per_notebook.items():
            if name in done:
                continue
            spent = current_s if name == current else 0.0
            low, high = low + max(0.0, lo - spent), high + max(0.0, hi - spent)
        return low, high


def estimate(notebooks: list[Path], profile_name: str, calibration: Calibration | None = None) -> Estimate:
    """The estimate for running ``notebooks`` in ``profile_name`` here, calibrated now (or with ``calibration``)."""
    from course.profiles import PROFILES
    from course.sources import checkpoint_source

    prof = PROFILES[profile_name]
    stored = STORED.seconds.get(profile_name)
    checkpoint = None if stored else checkpoint_source(prof.checkpoint).path
    cal = calibration or calibrate(checkpoint)
    best, worst = cal.slowdown
    per_notebook = {}
    if stored:
        measured = {nb.parent.name: stored.get(nb.parent.name, statistics.mean(stored.values())) for nb in notebooks}
        per_notebook = {name: (seconds * best, seconds * worst) for name, seconds in measured.items()}
        how = (f"stored: {sum(measured.values()):.0f} s measured on 2 idle "
               f"cores on {STORED.date}, scaled to this machine now by {len(cal.flops_per_s)} matrix multiplies "
               f"timed just now ({min(cal.flops_per_s) / 1e9:.0f}-{max(cal.flops_per_s) / 1e9:.0f} GFLOP/s against "
               f"{STORED.flops_per_s / 1e9:.0f} then)")
    else:
        fast, slow = cal.per_token
        for nb in notebooks:
            train, evaluate = training_tokens(nb, prof)
            work = train + evaluate / 3  # evaluation: forward only
            per_notebook[nb.parent.name] = (STORED.notebook_overhead_s * best + fast * work,
                                            STORED.notebook_overhead_s * worst + slow * work)
        how = (f"{len(cal.step_seconds)} training steps of {prof.checkpoint or 'the checkpoint'} timed just now: "
               f"{min(cal.step_seconds):.2f}-{max(cal.step_seconds):.2f} s each; plus a stored "
               f"{STORED.notebook_overhead_s:.0f} s per notebook for start-up and data ({STORED.date}, 2 idle cores), "
               f"scaled to this machine now")
    return Estimate(per_notebook, how, cal.machine())


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def span(low: float, high: float) -> str:
    """``"3-5 min"``, ``"40-75 s"``, ``"about 4 min"`` when both ends read the same."""
    a, b = duration(low), duration(high)
    if a == b:
        return a
    if a.split()[1] == b.split()[1]:
        return f"{a.split()[0]}-{b}"
    return f"{a}-{b}"
