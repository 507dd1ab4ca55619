"""Run profiles: how big a run is (checkpoint, data sizes, steps, batch size, precision, seed).

* ``smoke``: small slices of the real data, for CI and a quick look: under a minute per notebook on 2 cores,
  and the models learn (above the majority class, not collapsed to one class);
* ``grading``: tiny slices and a few steps, in which nbgrader and ``course grade`` re-run a submission (seconds
  per training: every submission pays it; the models barely learn, and no test asks them to);
* ``cpu``: the offline MiniLM, full MRPC, budgeted subsets where a full data set would take hours;
* ``gpu``: the course's setup: bert-base-uncased, full data, mixed precision.

A notebook's ``profile`` parameter wins, then ``$COURSE_PROFILE``; otherwise ``grading`` when nbgrader is
executing the notebook (``NBGRADER_EXECUTION`` is set), ``gpu`` when CUDA is present, else ``cpu``.

A profile decides the training hyperparameters; each task's data sizes per profile live with the task
(:mod:`course.tasks`), read by the notebooks through ``run.train_size(task)``. The hyperparameters are the
notebooks' papermill parameters, named as ``TrainingArguments`` names them (:func:`notebook_parameters`): a
notebook's parameters cell holds the ``cpu`` values, which a student can edit; ``course run`` injects the chosen
profile's values and the grader puts the grading profile's values into the released parameters cell
(:func:`parameterize`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from . import tasks

PROFILE_ENV = "COURSE_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How a run trains: its checkpoint, hyperparameters, precision and seed (data sizes: ``train_size``)."""

    name: str
    checkpoint: str | None  # None: the online/offline default (see course.sources)
    epochs: float = 3.0
    batch_size: int = 8
    eval_batch_size: int = 32
    learning_rate: float = 5e-5
    precision: str = "fp32"  # "fp32", "bf16" or "fp16"
    seed: int = 42
    max_length: int = 128  # for padding="max_length" in the Yelp guide (the guide uses 512 on GPU)
    logging_steps: int = 50  # the Trainer's default, 500, logs the training loss once or never on these runs
    timing_batches: int = 3  # batches a notebook times when it measures speed (notebook 6's padding comparison)
    timing_repeats: int = 4  # interleaved rounds timing every variant, after a warm-up; the fastest round counts

    def train_size(self, task: str) -> int | None:
        """Training examples of ``task`` in this profile (None: the whole split)."""
        return tasks.task(task).train_size(self.name)

    def eval_size(self, task: str) -> int | None:
        """Evaluation examples of ``task`` in this profile (None: the whole split)."""
        return tasks.task(task).eval_size(self.name)

    def target_accuracy(self, task: str) -> float | None:
        """The validation accuracy a trained model of ``task`` must reach here (None: beat the majority class)."""
        return tasks.task(task).target_accuracy.get(self.name)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        checkpoint=None,
        epochs=3,
        batch_size=4,
        eval_batch_size=32,
        # many small steps: MRPC learns from 128 pairs in 96 steps, Yelp from 128 reviews (benchmarks.smoke_sizes,
        # README), where the grading profile's 4 large steps leave MRPC answering "equivalent" for every pair
        learning_rate=1e-4,
        max_length=96,
        logging_steps=8,  # MRPC: 96 steps in all
        timing_batches=1,
        timing_repeats=1,
    ),
    "grading": Profile(
        name="grading",
        checkpoint=None,
        epochs=2,
        batch_size=16,
        eval_batch_size=32,
        learning_rate=3e-4,  # few steps: MiniLM needs a high rate to move (measured on SST-2)
        # Yelp reviews: 16 x 256 tokens cost ~4 s forward+backward on 2 cores. Deliberately not a round
        # number: a tokenize_dynamic that hard-codes 128, 256 or 512 instead of run.profile.max_length fails.
        max_length=96,
        logging_steps=1,  # MRPC: 4 steps in all
        timing_batches=1,  # grading and CI only check that the measurement runs
        timing_repeats=1,
    ),
    "cpu": Profile(
        name="cpu",
        checkpoint="sentence-transformers/all-MiniLM-L6-v2",
        epochs=3,
        batch_size=16,
        eval_batch_size=64,
        learning_rate=5e-5,
        max_length=256,
        logging_steps=25,  # MRPC: 230 steps per epoch
    ),
    "gpu": Profile(
        name="gpu",
        checkpoint="bert-base-uncased",
        epochs=3,
        batch_size=8,
        eval_batch_size=64,
        learning_rate=5e-5,
        precision="bf16",
        max_length=512,
    ),
}


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def choose_profile_name(requested: str | None = None) -> tuple[str, str]:
    """The profile to use and why: parameter, ``$COURSE_PROFILE``, nbgrader, CUDA, else cpu."""
    for value, why in ((requested, "notebook parameter"), (os.environ.get(PROFILE_ENV), PROFILE_ENV)):
        value = (value or "").strip().lower()
        if value:
            if value not in PROFILES:
                raise ValueError(
                    f"Unknown profile {value!r} (from the {why}). Choose one of: {', '.join(PROFILES)}."
                )
            return value, why
    if os.environ.get("NBGRADER_EXECUTION"):
        return "grading", "nbgrader is executing the notebook"
    if _cuda_available():
        return "gpu", "CUDA is available"
    return "cpu", "no CUDA device"


def get_profile(requested: str | None = None, **overrides) -> Profile:
    """The chosen profile, with any non-None overrides applied (e.g. ``seed=0``)."""
    name, _ = choose_profile_name(requested)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return replace(PROFILES[name], **changes)


# The notebooks' hyperparameter parameters, named as TrainingArguments names them, and how much they measure.
HYPERPARAMETERS = ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "logging_steps", "bf16")
MEASUREMENT_PARAMETERS = ("timing_batches", "timing_repeats")


def grading_profile_name() -> str:
    """The profile that grading runs notebooks in: ``$COURSE_PROFILE`` when set, else ``grading``."""
    return choose_profile_name(os.environ.get(PROFILE_ENV) or "grading")[0]


def notebook_parameters(profile: Profile) -> dict:
    """``profile``'s hyperparameters under their ``TrainingArguments`` names (bf16 only where CUDA has it) and its
    :data:`MEASUREMENT_PARAMETERS`: what a notebook's parameters cell may assign (papermill and the grader set it)."""
    bf16 = profile.precision == "bf16"
    if bf16:
        import torch

        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    epochs = int(profile.epochs) if float(profile.epochs).is_integer() else profile.epochs
    return {"learning_rate": profile.learning_rate, "num_train_epochs": epochs,
            "per_device_train_batch_size": profile.batch_size, "logging_steps": profile.logging_steps,
            "bf16": bool(bf16), "timing_batches": profile.timing_batches, "timing_repeats": profile.timing_repeats}


PROFILE_NOTE = re.compile(r"These are the \w+ profile's values")  # the parameters cell says whose values it holds


PARAMETERS_TAG = "parameters"  # papermill's tag for the cell it injects values after


def is_parameters_cell(cell) -> bool:
    """The notebook's parameters cell: a code cell tagged ``parameters`` (papermill's tag)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    tags = meta.get("tags") if isinstance(meta, dict) else None
    return cell.get("cell_type") == "code" and isinstance(tags, list) and PARAMETERS_TAG in tags


def parameterize_notebook(nb, values: dict, profile: str | None = None) -> int:
    """Set ``values`` in every parameters cell of ``nb`` (in place, with :func:`parameterize`); how many."""
    cells = [c for c in nb.cells if is_parameters_cell(c)]
    for cell in cells:
        cell.source = parameterize(cell.source, values, profile=profile)
    return len(cells)


def parameterize(source: str, values: dict, profile: str | None = None) -> str:
    """``source`` (a parameters cell) with each top-level ``name = ...`` line of ``values`` set to its value
    (the line's comment kept); names the cell does not assign are ignored. With ``profile`` (whose values these
    are), the cell's "These are the cpu profile's values" names that profile instead."""
    for name, value in values.items():
        pattern = re.compile(rf"^{re.escape(name)}[ \t]*=[ \t]*[^#\n]*?([ \t]*#[^\n]*)?$", re.MULTILINE)
        source = pattern.sub(lambda m, v=value, n=name: f"{n} = {v!r}{m.group(1) or ''}", source)
    if profile:
        source = PROFILE_NOTE.sub(f"These are the {profile} profile's values", source)
    return source
