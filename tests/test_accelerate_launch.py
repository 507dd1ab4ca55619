"""Training scales with existing engines: the notebooks' code runs unchanged on two CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT
from nbconvert import PythonExporter

# accelerate starts the processes with torchrun (--multi_gpu); ACCELERATE_USE_CPU makes them CPU processes on gloo
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
          "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]


def _env(mirror_dir):
    env = dict(os.environ, COURSE_PROFILE="grading", COURSE_DATA_DIR=str(mirror_dir), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1", COURSE_WIDGETS="text", ACCELERATE_USE_CPU="1")
    env.pop("NBGRADER_EXECUTION", None)
    return env


@pytest.mark.slow
def test_accelerate_script_of_notebook_4_runs_on_two_processes(tmp_path, mirror_dir):
    nb = nbformat.read(ROOT / "source/04_training_loop/training_loop.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%writefile"))
    script = tmp_path / "train_accelerate.py"
    script.write_text(cell.source.split("\n", 1)[1])  # the cell's body is the script, unchanged
    result = subprocess.run(LAUNCH + [str(script)], capture_output=True, text=True, cwd=tmp_path,
                            env=_env(mirror_dir), timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((tmp_path / "accelerate_result.json").read_text())
    assert metrics["num_processes"] == 2
    assert 0 <= metrics["accuracy"] <= 1 and 0 <= metrics["f1"] <= 1


@pytest.mark.slow
def test_trainer_notebook_runs_unchanged_on_two_processes(tmp_path, mirror_dir):
    """Notebook 2 (solutions, tests included) as a script under `accelerate launch`: DDP over gloo."""
    nb = nbformat.read(ROOT / "source/02_trainer/trainer.ipynb", as_version=4)
    code, _ = PythonExporter().from_notebook_node(nb)
    code += ("\nimport torch.distributed as dist, json, os\n"
             "if int(os.environ.get('RANK', 0)) == 0:\n"
             "    json.dump({'world_size': dist.get_world_size() if dist.is_initialized() else 1,\n"
             "               'shape': list(predictions.predictions.shape),\n"
             "               'n': len(tokenized_datasets['validation'])}, open('result.json', 'w'))\n")
    script = tmp_path / "trainer_notebook.py"
    script.write_text(code)
    result = subprocess.run(LAUNCH + [str(script)], capture_output=True, text=True, cwd=tmp_path,
                            env=_env(mirror_dir), timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads((tmp_path / "result.json").read_text())
    assert out["world_size"] == 2
    # predictions are gathered from both processes: one row per validation example, as on one process
    assert out["shape"] == [out["n"], 2]
