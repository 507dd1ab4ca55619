"""The benchmark suite runs at tiny sizes and writes valid results (no timing is asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path, mirror_dir):
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--only", "matmul", "training", "--out", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["matmul"]["flops_per_s"] > 0
    variants = {"trainer", "loop", "loop_foreach", "accelerate", "loop_max_length", "loop_max_length_model",
                "loop_bf16", "trainer_group_by_length"}
    assert set(data["training"]) == variants
    for r in data["training"].values():
        for key in ("examples_per_s", "tokens_per_s", "padding_share", "peak_rss_mb", "flops_per_s"):
            assert math.isfinite(r[key]) and r[key] >= 0, key
    # the same examples padded to max_length carry more padding than dynamically padded batches
    assert data["training"]["loop_max_length"]["padding_share"] > data["training"]["loop"]["padding_share"]
    assert (data["training"]["loop_max_length_model"]["padding_share"]
            > data["training"]["loop_max_length"]["padding_share"])
    # the Trainer, the pure loop and Accelerate see the very same batches (same order, same padding)
    t = data["training"]
    assert t["trainer"]["padding_share"] == pytest.approx(t["loop"]["padding_share"])
    assert t["accelerate"]["padding_share"] == pytest.approx(t["loop"]["padding_share"])
    assert "| loop |" in (tmp_path / "results.md").read_text()


def test_smoke_sizes_measures_learning_beside_the_majority_class(tmp_path, mirror_dir, capsys):
    """The measurement behind the README's smoke-size paragraph: accuracies beside majority shares, no timing."""
    from benchmarks.smoke_sizes import main

    assert main(["8:1:1e-4:8:0", "--output-dir", str(tmp_path)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (row["task"], row["train_examples"], row["epochs"], row["batch_size"], row["seed"]) == ("mrpc", 8, 1.0, 8, 0)
    assert row["train_seconds"] >= 0
    assert row["grading_eval"]["examples"] == row["smoke_eval"]["examples"] == 48
    assert row["validation"]["examples"] == 408
    assert row["validation"]["majority"] == pytest.approx(279 / 408, abs=1e-3)
    for part in ("grading_eval", "smoke_eval", "validation"):
        assert 0 <= row[part]["accuracy"] <= 1 and 0.5 <= row[part]["top_class_share"] <= 1
    # five classes, and the offline sample's held-out fifth (balanced: 40 reviews per star rating)
    assert main(["--task", "yelp", "8:1:1e-4:8:0", "--output-dir", str(tmp_path)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["task"] == "yelp" and row["test"]["examples"] == 200 and row["test"]["majority"] == 0.2
    assert row["smoke_eval"]["examples"] == 200 and row["grading_eval"]["examples"] == 32
    assert 0.2 <= row["test"]["top_class_share"] <= 1
    with pytest.raises(SystemExit):
        main(["256:3:5e-5"])
    assert "N:EPOCHS:LR:BATCH:SEED" in capsys.readouterr().err


def test_long_cells_come_from_papermills_durations_and_the_notes_from_them(tmp_path):
    """`python -m benchmarks.long_cells`: the cells over 30 s of executed notebooks (papermill's per-cell
    durations), and the notes in source/ are exactly what the committed measurement writes."""
    import nbformat

    from benchmarks.long_cells import long_cells, write_notes

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("quick()"), nbformat.v4.new_code_cell("trainer.train()"),
                nbformat.v4.new_markdown_cell("text")]
    for cell, seconds in zip(nb.cells, (2.0, 361.96, None)):
        cell.id = f"c{seconds}".replace(".", "-")
        if seconds is not None:
            cell.metadata["papermill"] = {"duration": seconds}
    (tmp_path / "02_trainer").mkdir()
    nbformat.write(nb, tmp_path / "02_trainer" / "trainer.ipynb")
    assert long_cells(tmp_path) == {"02_trainer": {"c361-96": 362.0}}
    data = json.loads((ROOT / "benchmarks" / "cpu_long_cells.json").read_text())
    assert write_notes(data, check=True) == [], "python -m benchmarks.long_cells notes"
