"""The start of every notebook: choose the profile, resolve the sources, seed everything, pick a device."""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import sources
from .profiles import Profile, choose_profile_name, get_profile


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a run can be repeated."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def pick_device():
    """The best device here: CUDA, then Apple's MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class SetupError(RuntimeError):
    """A notebook cannot start as set up (a data mirror that is not there): the message says what to do. In a
    notebook it shows as that one line, not as a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of the traceback
        return [f"{type(self).__name__}: {self}"]


def check_data_dir(raw: str | None = None) -> None:
    """Refuse a ``$COURSE_DATA_DIR`` (or ``data_dir`` parameter) that names no folder, before anything is
    downloaded or opened: one line that says what to do."""
    mirror = sources.data_dir()
    if mirror is None or mirror.is_dir():
        return
    given = raw or os.environ.get(sources.DATA_DIR_ENV, "")
    relative = "" if Path(given).expanduser().is_absolute() else (
        f" ({given!r} is relative: a notebook's kernel runs in the notebook's folder, {Path.cwd()})")
    raise SetupError(
        f"{sources.DATA_DIR_ENV} is {mirror}, which does not exist{relative}. Set it to the absolute path of the "
        f"data mirror (the folder holding nyu-mll/glue) before you start JupyterLab, e.g. export "
        f"{sources.DATA_DIR_ENV}=/path/to/shared/data, or unset it to use the Hugging Face Hub; then restart the "
        "kernel.")


@dataclass(frozen=True)
class Run:
    """What one notebook run uses: its profile, checkpoint, device, output folder."""

    profile: Profile
    profile_reason: str
    checkpoint: str
    checkpoint_source: sources.Source
    device: object
    output_dir: Path
    data_dir: str | None

    def dataset(self, hub_id: str) -> str:
        """What to pass to ``load_dataset`` for ``hub_id`` (the Hub id, or the mirror folder)."""
        return sources.dataset_source(hub_id, mirror=self.data_dir or None).path

    def train_size(self, task: str) -> int | None:
        """Training examples of ``task`` ("mrpc", "sst2", "yelp") in this run (None: the whole split)."""
        return self.profile.train_size(task)

    def eval_size(self, task: str) -> int | None:
        """Evaluation examples of ``task`` in this run (None: the whole split)."""
        return self.profile.eval_size(task)

    def target_accuracy(self, task: str) -> float | None:
        """The validation accuracy a model of ``task`` must reach in this run (None: beat the majority class)."""
        return self.profile.target_accuracy(task)


def start(profile: str | None = None, checkpoint: str | None = None, data_dir: str | None = None,
          seed: int | None = None, output_dir: str | None = None, quiet: bool = False) -> Run:
    """Set up a notebook run from its parameters and print what it uses.

    Empty strings and None mean "not given". ``data_dir`` overrides ``$COURSE_DATA_DIR`` (a folder that does not
    exist is refused: :func:`check_data_dir`); ``checkpoint`` overrides ``$COURSE_CHECKPOINT`` and the profile;
    without ``output_dir`` the run's files go to a new temporary folder.
    """
    if data_dir:
        os.environ[sources.DATA_DIR_ENV] = str(Path(data_dir).expanduser().resolve())
    check_data_dir(data_dir or None)
    name, why = choose_profile_name(profile or None)
    chosen = get_profile(name, seed=seed)
    if checkpoint:
        os.environ[sources.CHECKPOINT_ENV] = checkpoint
    ckpt = sources.checkpoint_source(chosen.checkpoint)
    seed_everything(chosen.seed)
    quiet_library_warnings()
    sources.resolve_hub_ids_in_datasets()
    from .metrics import resolve_metric_names_in_evaluate

    resolve_metric_names_in_evaluate()
    # empty: a temporary folder, so that running a notebook leaves nothing in the assignment's folder
    out = Path(output_dir).expanduser() if output_dir else Path(tempfile.mkdtemp(prefix="course-outputs-"))
    out.mkdir(parents=True, exist_ok=True)
    run = Run(chosen, why, ckpt.path, ckpt, pick_device(), out, data_dir or os.environ.get(sources.DATA_DIR_ENV))
    if not quiet:
        print(f"profile    : {chosen.name} ({why})")
        print(f"checkpoint : {ckpt}")
        print(f"data       : {describe_data_source()}")
        print(f"device     : {run.device}, seed {chosen.seed}, outputs in {out}")
    return run


# Warnings raised inside a library about its own calls to another one: nothing in a notebook can act on them.
LIBRARY_WARNINGS = [
    # datasets' Dataset.sort passes pyarrow a SortOptions argument that pyarrow 25 deprecates
    (FutureWarning, r"Specifying null_placement in SortOptions is deprecated"),
    # the Trainer's default dataloader_pin_memory=True, on a machine without an accelerator: torch says it
    # ignores it; pinning only matters for copies to a GPU, where it is used
    (UserWarning, r"'pin_memory' argument is set as true but no accelerator is found"),
]


def quiet_library_warnings() -> None:
    """Silence :data:`LIBRARY_WARNINGS` (and only those) for this process."""
    import warnings

    for category, message in LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def describe_data_source() -> str:
    """One line saying where the course data sets come from."""
    mirror = sources.data_dir()
    if mirror is not None:
        return f"mirror {mirror} ({sources.DATA_DIR_ENV})"
    reason = sources.offline_reason()
    return "the Hugging Face Hub" if reason is None else f"none: offline ({reason}) and no mirror"
