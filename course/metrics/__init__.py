"""The course's own copies of the Hub ``accuracy``, ``f1`` and ``glue`` metrics, so ``evaluate.load`` works offline.

Notebooks keep the real evaluate call, as the course writes it::

    metric = evaluate.load("glue", "mrpc")

:func:`resolve_metric_names_in_evaluate` (called by ``course.start``) sends the names ``accuracy``, ``f1`` and
``glue`` (also as ``evaluate-metric/<name>``) to the local folders offline or when ``COURSE_METRICS_LOCAL=1``;
online they come from the Hub as usual. ``metric_source(name)`` says which one a name resolves to.
The local modules take the same inputs and give the same keys as the Hub ones, computed as the Hub's are,
with scikit-learn (and scipy for ``glue``'s ``stsb``).

What ``evaluate.load(folder)`` does (checked with evaluate 0.4.6):

* it never touches the network, with or without ``HF_HUB_OFFLINE=1``, and takes about 10 ms once evaluate
  is imported (``import evaluate`` itself takes 3 s or more);
* it copies the script to ``$HF_MODULES_CACHE/evaluate_modules/metrics/<name>/<hash of the script>/`` (default
  ``~/.cache/huggingface/modules``), which must be writable, and imports it from there; an edited script gets
  a new hash folder, so stale copies are never used;
* the copy is made under a file lock, so processes loading at the same moment are safe (tried: 4 processes
  started together on an empty ``HF_MODULES_CACHE``, 6 times); processes computing at the same moment in one
  ``HF_METRICS_CACHE`` are also safe, at worst one waits 1 s for a lock and writes a file of its own.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

LOCAL_ENV = "COURSE_METRICS_LOCAL"
METRICS = ("accuracy", "f1", "glue")

_HERE = Path(__file__).resolve().parent


def metric_dir(name: str) -> str:
    """Absolute path of the local module folder for ``name`` (``"accuracy"``, ``"f1"`` or ``"glue"``)."""
    folder = _HERE / name
    if name not in METRICS or not (folder / f"{name}.py").is_file():
        raise ValueError(f"No local metric module {name!r}; the course ships {', '.join(METRICS)}.")
    return str(folder)


def use_local() -> bool:
    """True when metrics must come from the local folders: ``COURSE_METRICS_LOCAL=1`` or offline."""
    if os.environ.get(LOCAL_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    from ..sources import is_offline

    return is_offline()


def metric_source(name: str) -> str:
    """What to pass to ``evaluate.load``: the Hub name online, the local folder offline or when forced."""
    if use_local():
        try:
            return metric_dir(name)
        except ValueError as exc:
            raise ValueError(f"{exc} Offline (or {LOCAL_ENV}=1) only these can be loaded.") from None
    return name


def resolve_metric_names_in_evaluate() -> None:
    """Make ``evaluate.load("glue", ...)`` (and ``accuracy``, ``f1``) load the course's module when
    :func:`use_local` is true; anything else goes to ``evaluate`` unchanged. Calling it again changes nothing."""
    import evaluate.loading as loading

    factory = loading.evaluation_module_factory
    if getattr(factory, "course_original", None) is not None:
        return

    @functools.wraps(factory)
    def course_evaluation_module_factory(path, *args, **kwargs):
        if isinstance(path, str) and not os.path.exists(path):
            name = path.removeprefix("evaluate-metric/")
            if name in METRICS and use_local():
                path = metric_dir(name)
        return course_evaluation_module_factory.course_original(path, *args, **kwargs)

    course_evaluation_module_factory.course_original = factory
    loading.evaluation_module_factory = course_evaluation_module_factory
