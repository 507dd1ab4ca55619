"""Course data, as taught in notebook 1 and reused by the later notebooks (like d2l's ``#@save``).

:func:`prepare_mrpc` is notebook 1's code (``source/01_preprocessing/preprocessing.ipynb``, the cells named in
:data:`SAVED_FROM`): ``load_dataset("nyu-mll/glue", "mrpc")``, ``tokenize_function`` on sentence pairs with
truncation and no padding, and ``raw_datasets.map(tokenize_function, batched=True)``. The later notebooks call it
so they can start from tokenized MRPC without repeating it; ``tests/test_data.py`` runs those cells and fails
when the two no longer give the same data.
"""

from __future__ import annotations

from .tasks import task

# (notebook, cell ids) of the code saved here
SAVED_FROM = ("01_preprocessing", ("load_mrpc", "tokenize_function", "map_tokenize_function"))


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


def load_task(run, name: str):
    """The data set of task ``name`` (course.tasks) from the run's source (Hub or mirror), cut to the run's sizes."""
    from datasets import load_dataset

    t = task(name)
    raw = load_dataset(run.dataset(t.hub_id), t.config)
    return sized(raw, run.train_size(name), run.eval_size(name), t.eval_split)


def load_mrpc(run):
    """GLUE MRPC, cut to the run's sizes."""
    return load_task(run, "mrpc")


def prepare_mrpc(run, tokenizer):
    """``(raw_datasets, tokenized_datasets)`` for MRPC: pairs tokenized with truncation, no padding."""
    raw_datasets = load_mrpc(run)

    def tokenize_function(example):
        return tokenizer(example["sentence1"], example["sentence2"], truncation=True)

    return raw_datasets, raw_datasets.map(tokenize_function, batched=True)
