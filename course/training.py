"""Small training helpers shared by the notebooks: the metrics table, padding statistics, throughput."""

from __future__ import annotations

import time
from contextlib import contextmanager


def metrics_per_epoch(log_history: list[dict]) -> list[dict]:
    """One row per evaluation in ``trainer.state.log_history``: epoch, training loss, eval metrics."""
    rows, last_loss = [], None
    for entry in log_history:
        if "loss" in entry:
            last_loss = entry["loss"]
        if any(k.startswith("eval_") for k in entry) and "eval_runtime" in entry:
            row = {"epoch": round(entry.get("epoch", 0.0), 2), "training_loss": last_loss}
            row.update({k[5:]: v for k, v in entry.items()
                        if k.startswith("eval_") and not k.endswith(("_runtime", "per_second"))})
            rows.append(row)
    return rows


def padding_share(attention_mask) -> float:
    """The share of positions in a padded batch that are padding (attention mask 0)."""
    import torch

    mask = torch.as_tensor(attention_mask)
    return float((mask == 0).sum()) / max(mask.numel(), 1)


def wait_for_gpu() -> None:
    """Wait until the GPU has finished the work queued so far (CUDA runs kernels asynchronously: without this a
    timer measures how long launching took). Does nothing where CUDA is not in use."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


@contextmanager
def stopwatch():
    """``with stopwatch() as t: ...`` then ``t()`` is the elapsed seconds (on a GPU: until its work is done)."""
    wait_for_gpu()
    start = time.perf_counter()
    end = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        wait_for_gpu()
        end = time.perf_counter()
