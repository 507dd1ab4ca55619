"""Profile choice: parameter, then COURSE_PROFILE, then nbgrader, then CUDA, else cpu."""

from __future__ import annotations

import pytest

from course import profiles
from course.profiles import PROFILES, choose_profile_name, get_profile
from course.tasks import TASKS


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


def test_nbgrader_execution_means_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert choose_profile_name()[0] == "grading"


def test_cuda_means_gpu_else_cpu(monkeypatch):
    assert choose_profile_name()[0] == "cpu"
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert choose_profile_name()[0] == "gpu"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="smoke, grading, cpu, gpu"):
        choose_profile_name("huge")


def test_every_profile_fixes_the_run():
    for p in PROFILES.values():
        assert p.batch_size > 0 and p.learning_rate > 0 and p.precision in {"fp32", "bf16", "fp16"}
    assert PROFILES["gpu"].checkpoint == "bert-base-uncased" and PROFILES["gpu"].precision != "fp32"
    assert PROFILES["cpu"].train_size("mrpc") is None  # full MRPC
    for small in ("smoke", "grading"):
        assert all(PROFILES[small].train_size(t) is not None and PROFILES[small].train_size(t) <= 256 for t in TASKS)


def test_grading_trains_no_more_than_smoke():
    """Every submission pays the grading profile's trainings: never more examples or passes than a smoke run."""
    grading, smoke = PROFILES["grading"], PROFILES["smoke"]
    for t in TASKS:
        assert grading.train_size(t) * grading.epochs <= smoke.train_size(t) * smoke.epochs, t
        assert grading.eval_size(t) <= smoke.eval_size(t), t
    assert grading.max_length <= smoke.max_length


def test_every_task_has_a_size_for_every_profile_and_no_other():
    for t in TASKS.values():
        assert set(t.sizes) == set(PROFILES), t.name
        assert set(t.target_accuracy) <= set(PROFILES), t.name
        assert all(n is None or n > 0 for sizes in t.sizes.values() for n in sizes), t.name
        assert t.num_labels >= 2 and t.text_columns and t.mirror_folders


def test_an_unknown_task_names_the_known_ones():
    with pytest.raises(ValueError, match="mrpc, sst2, yelp"):
        PROFILES["smoke"].train_size("imdb")


def test_targets_come_from_the_task():
    assert PROFILES["smoke"].target_accuracy("sst2") is None  # beat the majority class
    assert PROFILES["cpu"].target_accuracy("sst2") == TASKS["sst2"].target_accuracy["cpu"]


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


def test_parameterize_sets_assigned_names_and_keeps_comments():
    source = 'profile = ""  # which\nlearning_rate = 5e-05\nnum_train_epochs = 3   # epochs\nlearning_rate_note = 1\n'
    out = profiles.parameterize(source, {"learning_rate": 0.0003, "num_train_epochs": 2, "bf16": True})
    assert out == ('profile = ""  # which\nlearning_rate = 0.0003\nnum_train_epochs = 2   # epochs\n'
                   'learning_rate_note = 1\n')


def test_parameterize_names_the_profile_whose_values_the_cell_holds():
    source = ("# Training hyperparameters. These are the cpu profile's values;\n# grading replaces them.\n"
              "learning_rate = 5e-05\n")
    out = profiles.parameterize(source, {"learning_rate": 0.0003}, profile="grading")
    assert out == ("# Training hyperparameters. These are the grading profile's values;\n# grading replaces them.\n"
                   "learning_rate = 0.0003\n")
    assert profiles.parameterize(source, {"learning_rate": 0.0003}).startswith(source.split("\n")[0])


def test_notebook_parameters_are_the_profiles_hyperparameters(monkeypatch):
    for prof in PROFILES.values():
        params = profiles.notebook_parameters(prof)
        assert set(params) == set(profiles.HYPERPARAMETERS + profiles.MEASUREMENT_PARAMETERS)
        assert (params["learning_rate"], params["num_train_epochs"], params["per_device_train_batch_size"],
                params["logging_steps"]) == (prof.learning_rate, prof.epochs, prof.batch_size, prof.logging_steps)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert profiles.notebook_parameters(PROFILES["gpu"])["bf16"] is False, "no bf16 without a GPU that has it"


def test_grading_profile_is_grading_unless_the_environment_names_one(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert profiles.grading_profile_name() == "grading"
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert profiles.grading_profile_name() == "cpu"
