"""Profile choice: parameter, then COURSE_PROFILE, then nbgrader, then CUDA, else cpu."""

from __future__ import annotations

import pytest

from course import profiles
from course.profiles import PROFILES, choose_profile_name, get_profile


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(profiles, "_cuda_available", lambda: False)


def test_parameter_beats_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert choose_profile_name("smoke") == ("smoke", "notebook parameter")


def test_environment_beats_nbgrader(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert choose_profile_name("") == ("gpu", "COURSE_PROFILE")


def test_nbgrader_execution_means_smoke(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert choose_profile_name()[0] == "smoke"


def test_cuda_means_gpu_else_cpu(monkeypatch):
    assert choose_profile_name()[0] == "cpu"
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert choose_profile_name()[0] == "gpu"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        choose_profile_name("huge")


def test_every_profile_fixes_the_run():
    for p in PROFILES.values():
        assert p.batch_size > 0 and p.learning_rate > 0 and p.precision in {"fp32", "bf16", "fp16"}
        assert {"mrpc", "sst2", "yelp"} <= set(p.train_size) and {"mrpc", "sst2", "yelp"} <= set(p.eval_size)
    assert PROFILES["gpu"].checkpoint == "bert-base-uncased" and PROFILES["gpu"].precision != "fp32"
    assert PROFILES["cpu"].train_size["mrpc"] is None  # full MRPC
    assert all(n is not None and n <= 256 for n in PROFILES["smoke"].train_size.values())


def test_overrides_apply_only_when_given():
    assert get_profile("smoke", seed=7).seed == 7
    assert get_profile("smoke", seed=None).seed == PROFILES["smoke"].seed


def test_seed_everything_repeats_random_draws():
    import numpy as np
    import torch

    from course import seed_everything

    seed_everything(3)
    first = (np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert (np.random.rand(), torch.rand(1).item()) == first
