"""The private parts of other libraries the kit still relies on, each pinned to the release it was written
against, with the reason no public hook does it. When `course lock --upgrade` moves one of these libraries, this
test fails first and names what to re-check (tests/test_sources.py, test_metrics.py and test_runner.py then show
whether the behaviour survived); moving the pin here is the record that someone did."""

from __future__ import annotations

import inspect
from importlib import import_module, metadata

import pytest

# (distribution, the major.minor written against, the private name, why no public hook serves)
PINNED = [
    ("datasets", "5.2", "datasets.load.dataset_module_factory",
     "course/sources.py: students type load_dataset('glue', 'mrpc') and the kit answers from the offline mirror; "
     "datasets offers no public resolver hook (HF_DATASETS_OFFLINE only refuses the Hub)"),
    ("evaluate", "0.4", "evaluate.loading.evaluation_module_factory",
     "course/metrics: evaluate.load('glue', 'mrpc') resolves to the course's metric modules offline; evaluate has no "
     "public hook for a local module registry"),
    ("jupyter-client", "8.10", "jupyter_client.manager.KernelManager._async_pre_start_kernel",
     "course_tools/kernels.py: the ipc sockets' private folder must exist before the connection file is written; "
     "the public pre_start_kernel is a sync wrapper of this coroutine (the sandbox itself uses the public "
     "provisioner hook)"),
    ("jupyter-client", "8.10", "jupyter_client.manager.KernelManager._async_cleanup_resources",
     "course_tools/kernels.py: the ipc folder is removed with the kernel's other resources"),
]


def _resolve(dotted: str):
    """A module's function or a class's method by its dotted name."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("dist, written_for, name, why", PINNED, ids=[p[2] for p in PINNED])
def test_private_hook_is_at_the_release_it_was_written_for(dist, written_for, name, why):
    installed = metadata.version(dist)
    assert installed.split(".")[:2] == written_for.split("."), (
        f"{dist} {installed}, but {name} was written against {written_for}.x: {why}. Re-check it against the new "
        f"release, then move the pin in tests/test_library_internals.py")
    assert callable(_resolve(name)) and inspect.iscoroutinefunction(_resolve(name)) == ("_async_" in name), name
