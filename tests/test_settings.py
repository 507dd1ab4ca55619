"""autograder/settings.py: c.Autograder options are typed, documented and a misspelt one is reported."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from autograder.settings import Autograder, autograder_settings


def test_defaults_and_values():
    cfg = Config()
    cfg.Autograder.job_timeout = 99
    settings = autograder_settings(cfg)
    assert settings.job_timeout == 99 and settings.budget_factor == 10.0
    assert all(trait.help for trait in Autograder.class_traits(config=True).values())


def test_a_misspelt_option_is_reported():
    cfg = Config()
    cfg.Autograder.job_timout = 99
    with pytest.warns(UserWarning, match="job_timout.*Did you mean.*job_timeout"):
        autograder_settings(cfg)


def test_a_wrong_type_is_an_error():
    cfg = Config()
    cfg.Autograder.budget_factor = "ten"
    with pytest.raises(Exception, match="budget_factor"):
        autograder_settings(cfg)
