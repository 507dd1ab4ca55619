"""The course's shared helpers: data and model sources, profiles, metrics, reporting.

Every notebook starts with ``run = course.start(...)`` and then uses the real transformers, datasets and
evaluate calls; ``course`` only says what to load and how big the run is.
"""

from .profiles import PROFILES, Profile, get_profile
from .report import record
from .runtime import Run, pick_device, seed_everything, start
from .sources import SourceError, checkpoint_source, dataset_source, is_offline

__version__ = "0.1.0"
__all__ = ["PROFILES", "Profile", "Run", "SourceError", "checkpoint_source", "dataset_source", "get_profile",
           "is_offline", "pick_device", "record", "seed_everything", "start"]


def __getattr__(name):
    """Load the heavier submodules (data, training, widgets, checks, metrics) on first use."""
    import importlib

    if name in {"data", "training", "widgets", "checks", "metrics", "sources", "profiles", "report"}:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
