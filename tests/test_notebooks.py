"""The source notebooks: clean, parametrised, valid nbgrader notebooks that run and report real numbers."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT

from course.profiles import PROFILES

NOTEBOOKS = sorted((ROOT / "source").glob("*/*.ipynb"))
SMOKE = PROFILES["smoke"]


def test_there_are_six_notebooks():
    assert [p.parent.name for p in NOTEBOOKS] == ["01_preprocessing", "02_trainer", "03_compute_metrics",
                                                 "04_training_loop", "05_sst2", "06_yelp"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_source_notebook_is_clean_and_gradable(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.id for c in code if c.outputs or c.execution_count], "source notebooks are committed without outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "profile" in params[0].source and "output_dir" in params[0].source
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert graded and answers
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    for c in answers:
        if c.cell_type == "code":
            assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
    autograded_tests = [c for c in graded if c.cell_type == "code"]
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in autograded_tests), "every test cell has hidden tests"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "today" in text.lower(), "each notebook says where today's API differs from the printed course"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, mirror_dir):
    """`course run --profile smoke` over every notebook, as the README's main job."""
    out = tmp_path_factory.mktemp("build")
    env_cmd = [sys.executable, "-m", "course.cli", "run", "--profile", "smoke", "--out", str(out)]
    result = subprocess.run(env_cmd, capture_output=True, text=True, timeout=1500, cwd=ROOT)
    summary = json.loads((out / "summary.json").read_text())
    return result, {r["notebook"].split("/")[0]: r for r in summary["results"]}, out


@pytest.mark.slow
def test_smoke_run_executes_every_notebook(smoke_run):
    result, by_name, out = smoke_run
    failed = {k: v["error"] for k, v in by_name.items() if v["status"] != "ok"}
    assert result.returncode == 0 and not failed, f"{failed}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert len(by_name) == 6
    assert "| 02_trainer/trainer.ipynb | ok |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_smoke_run_reports_shapes_and_metrics(smoke_run):
    _, by_name, _ = smoke_run
    rec = {k: v["records"] for k, v in by_name.items()}
    n_eval = SMOKE.eval_size["mrpc"]
    # 1: full MRPC is tokenized; the batch is 8 examples padded to the longest of them
    assert rec["01_preprocessing"]["train_examples"] == 3668 and rec["01_preprocessing"]["validation_examples"] == 408
    assert rec["01_preprocessing"]["batch_shape"][0] == 8 and 0 < rec["01_preprocessing"]["padding_share"] < 1
    # 2: predictions on the evaluated split, its real length
    assert rec["02_trainer"]["predictions_shape"] == [n_eval, 2]
    assert rec["02_trainer"]["label_ids_shape"] == [n_eval]
    # 3: one evaluation per epoch, with accuracy and F1
    assert rec["03_compute_metrics"]["epochs"] == SMOKE.epochs == len(rec["03_compute_metrics"]["per_epoch"])
    assert 0 <= rec["03_compute_metrics"]["accuracy"] <= 1 and 0 <= rec["03_compute_metrics"]["f1"] <= 1
    # 4: the loop trained (loss went down) and both loops evaluated
    loop = rec["04_training_loop"]
    assert loop["training_steps"] == SMOKE.epochs * math.ceil(SMOKE.train_size["mrpc"] / SMOKE.batch_size)
    assert loop["last_loss"] < loop["first_loss"]
    assert 0 <= loop["loop_accuracy"] <= 1 and 0 <= loop["accelerate_accuracy"] <= 1
    # 5: SST-2 beats the majority class
    assert rec["05_sst2"]["validation_examples"] == SMOKE.eval_size["sst2"]
    assert rec["05_sst2"]["validation_accuracy"] > rec["05_sst2"]["majority_share"]
    # 6: max_length pads at least as much as dynamic padding, and grouping by length pads less
    yelp = rec["06_yelp"]
    assert yelp["max_length_padding_share"] >= yelp["dynamic_padding_share"] > yelp["grouped_padding_share"]
    assert yelp["train_examples"] == SMOKE.train_size["yelp"] and 0 <= yelp["accuracy"] <= 1


# What `nbgrader validate` would prove here is proved by nbgrader itself elsewhere, so CI does not execute the
# notebooks again for it: the solutions get full marks and the untouched student notebooks zero under
# `nbgrader autograde` (the solution and release baselines of every catalogue, tests/test_autograder.py),
# and the browser test clicks Validate in JupyterLab on a solved and on an unanswered student notebook.
