"""Course data, as taught in notebook 1 and reused by the later notebooks (like d2l's ``#@save``).

Notebook 1 teaches each call; the later notebooks call :func:`prepare_mrpc` so they can start from
tokenized MRPC without repeating it.
"""

from __future__ import annotations


def take(dataset, n: int | None, seed: int | None = None):
    """The first ``n`` rows of ``dataset`` (shuffled with ``seed`` first when given); all of it when ``n`` is None."""
    if n is None or n >= len(dataset):
        return dataset
    if seed is not None:
        dataset = dataset.shuffle(seed=seed)
    return dataset.select(range(n))


def sized(raw_datasets, train_size: int | None, eval_size: int | None, eval_split: str = "validation"):
    """The train and evaluation splits of a ``DatasetDict`` cut to the profile's sizes (other splits kept)."""
    out = type(raw_datasets)(dict(raw_datasets))
    out["train"] = take(raw_datasets["train"], train_size)
    out[eval_split] = take(raw_datasets[eval_split], eval_size)
    return out


def load_mrpc(run):
    """GLUE MRPC from the run's source (Hub or mirror), cut to the profile's sizes."""
    from datasets import load_dataset

    raw = load_dataset(run.dataset("nyu-mll/glue"), "mrpc")
    return sized(raw, run.train_size("mrpc"), run.eval_size("mrpc"))


def prepare_mrpc(run, tokenizer):
    """``(raw_datasets, tokenized_datasets)`` for MRPC: pairs tokenized with truncation, no padding."""
    raw_datasets = load_mrpc(run)

    def tokenize_function(example):
        return tokenizer(example["sentence1"], example["sentence2"], truncation=True)

    return raw_datasets, raw_datasets.map(tokenize_function, batched=True)
