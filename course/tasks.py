"""The course's tasks: one entry per data set a notebook trains on (like d2l's ``DATA_HUB``), read by the
profiles, the sources, the mirror, ``course doctor``, ``course.data``, ``course run``'s estimate and the tests.

Adding a notebook on an existing task needs no entry here; a notebook on a new task needs one more
:class:`Task` (and a mirror of its data for offline use).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """A data set, where its copies live, what it holds, and how much of it each profile uses."""

    name: str  # the short name notebooks use: run.train_size("sst2")
    hub_id: str  # load_dataset(hub_id, config) online
    config: str | None
    # folders of the mirror ($COURSE_DATA_DIR) that stand in for hub_id, first found wins; a sample may stand in
    mirror_folders: tuple[str, ...]
    text_columns: tuple[str, ...]  # one sentence, or a pair
    num_labels: int
    eval_split: str  # the split a run evaluates on
    full_size: tuple[int, int]  # (train, eval) examples of the whole data set, as the mirror holds it
    tokens_per_example: int  # average with the uncased BERT vocabulary (measured on the mirror), for estimates
    # `course data mirror` writes this many examples per label of the train split (None: every split, whole)
    mirror_sample_per_label: int | None = None
    # profile (course.profiles.PROFILES) -> (train examples, eval examples); None: the whole split
    sizes: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    # profile -> validation accuracy a trained model must reach; a profile not named: beat the majority class
    target_accuracy: dict[str, float] = field(default_factory=dict)

    @property
    def mirror_folder(self) -> str:
        """The folder ``course data mirror`` writes (the last that stands in for the Hub id)."""
        return self.mirror_folders[-1]

    def train_size(self, profile: str) -> int | None:
        return self.sizes[profile][0]

    def eval_size(self, profile: str) -> int | None:
        return self.sizes[profile][1]


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="mrpc", hub_id="nyu-mll/glue", config="mrpc", mirror_folders=("nyu-mll/glue",),
            text_columns=("sentence1", "sentence2"), num_labels=2, eval_split="validation",
            full_size=(3668, 408), tokens_per_example=53,
            sizes={"grading": (32, 48), "smoke": (128, 48), "cpu": (None, None), "gpu": (None, None)},
        ),
        Task(
            name="sst2", hub_id="nyu-mll/glue", config="sst2", mirror_folders=("nyu-mll/glue",),
            text_columns=("sentence",), num_labels=2, eval_split="validation",
            full_size=(67349, 872), tokens_per_example=13,
            sizes={"grading": (192, 96), "smoke": (192, 96), "cpu": (4000, None), "gpu": (None, None)},
            target_accuracy={"cpu": 0.80, "gpu": 0.90},
        ),
        Task(
            # the mirror holds a 1,000-review sample of the train split; notebook 6 holds out a fifth of it
            name="yelp", hub_id="Yelp/yelp_review_full", config=None,
            mirror_folders=("Yelp/yelp_review_full", "Yelp/yelp_review_full_sample"),
            text_columns=("text",), num_labels=5, eval_split="test",
            full_size=(800, 200), tokens_per_example=139, mirror_sample_per_label=200,
            sizes={"grading": (32, 32), "smoke": (128, 200), "cpu": (1000, 1000), "gpu": (1000, 1000)},
        ),
    )
}


def task(name: str) -> Task:
    """The task called ``name``, or a ValueError that names the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}: the course has {', '.join(TASKS)} (course/tasks.py).") from None


def mirrored_datasets() -> dict[str, tuple[str, ...]]:
    """Every Hub data set of the course and the mirror folders that stand in for it (a folder stands for itself)."""
    found: dict[str, tuple[str, ...]] = {}
    for t in TASKS.values():
        found.setdefault(t.hub_id, t.mirror_folders)
        for folder in t.mirror_folders:
            found.setdefault(folder, (folder,))
    return found


def hub_configs() -> dict[str, list[str | None]]:
    """The configs of each Hub data set the course uses: ``{"nyu-mll/glue": ["mrpc", "sst2"], ...}``."""
    configs: dict[str, list[str | None]] = {}
    for t in TASKS.values():
        configs.setdefault(t.hub_id, []).append(t.config)
    return configs
