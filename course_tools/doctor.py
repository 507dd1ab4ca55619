"""``course doctor``: what this machine has, which sources resolve and why, and what to fix."""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass

from course import sources
from course.profiles import PROFILES, choose_profile_name
from course.tasks import hub_configs

REQUIRED = ["torch", "transformers", "datasets", "evaluate", "accelerate", "nbgrader", "papermill",
            "jupyterlab", "ipywidgets", "sklearn", "matplotlib"]
PIP_NAMES = {"sklearn": "scikit-learn"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    advice: str = ""


def _version(module: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install
        pip = PIP_NAMES.get(module, module)
        return Check(module, False, f"missing ({type(exc).__name__})", f"pip install {pip}  (or: pip install -e .)")
    return Check(module, True, getattr(mod, "__version__", "installed"))


def checks() -> list[Check]:
    found = [Check("python", True, platform.python_version())]
    found += [_version(m) for m in REQUIRED]
    try:
        from course.runtime import pick_device

        found.append(Check("device", True, str(pick_device())))
    except Exception as exc:
        found.append(Check("device", False, str(exc), "install torch: pip install torch==2.13.0"))
    try:
        name, why = choose_profile_name()
        found.append(Check("profile", True, f"{name} ({why})"))
    except ValueError as exc:
        found.append(Check("profile", False, str(exc), f"unset COURSE_PROFILE or name one of {', '.join(PROFILES)}"))
    reason = sources.offline_reason()
    found.append(Check("hub", True, "online" if reason is None else f"offline: {reason}"))
    found.append(Check("data mirror", True, str(sources.data_dir() or f"{sources.DATA_DIR_ENV} not set")))
    for hub_id in hub_configs():
        try:
            found.append(Check(f"data {hub_id}", True, str(sources.dataset_source(hub_id))))
        except sources.SourceError as exc:
            found.append(Check(f"data {hub_id}", False, "not available", str(exc)))
    for profile in PROFILES.values():
        label = f"checkpoint ({profile.name} profile)"
        try:
            found.append(Check(label, True, str(sources.checkpoint_source(profile.checkpoint))))
        except sources.SourceError as exc:
            found.append(Check(label, False, "not available", str(exc)))
    try:
        from course.metrics import metric_source

        found.append(Check("metrics", True, f"glue from {metric_source('glue')}"))
    except Exception as exc:
        found.append(Check("metrics", False, str(exc), "reinstall the course package: pip install -e ."))
    return found


def main() -> int:
    results = checks()
    width = max(len(c.name) for c in results)
    for c in results:
        print(f"{'ok ' if c.ok else 'BAD'} {c.name:<{width}}  {c.detail}")
    bad = [c for c in results if not c.ok]
    if bad:
        print("\nWhat to do:")
        for c in bad:
            print(f"- {c.name}: {c.advice}")
        return 1
    print("\nEverything the course needs is here.")
    return 0
