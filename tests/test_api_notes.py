"""Each "where today's API differs from the printed course" note of the notebooks is still true.

Every claim below names the notebooks that state it (checked: the note is there) and proves it
against the installed libraries: the old call really fails, the new one really works. When a library release
changes one of them, this fails and the note must be rewritten. (The Hub's move of ``glue`` to
``nyu-mll/glue`` cannot be checked without the Hub; the mirror is laid out under the new id.)
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT


def _markdown(notebook: str) -> str:
    path = next((ROOT / "source" / notebook).glob("*.ipynb"))
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def evaluation_strategy_is_eval_strategy(tmp_path):
    from transformers import TrainingArguments

    with pytest.raises(TypeError, match="evaluation_strategy"):
        TrainingArguments(str(tmp_path), evaluation_strategy="epoch")
    assert TrainingArguments(str(tmp_path), eval_strategy="epoch").eval_strategy == "epoch"


def tokenizer_is_processing_class(tmp_path):
    from transformers import Trainer, TrainingArguments

    from course.checks import tiny_model

    args = TrainingArguments(str(tmp_path), report_to="none")
    with pytest.raises(TypeError, match="tokenizer"):
        Trainer(tiny_model(), args, tokenizer=object())
    marker = object()
    assert Trainer(tiny_model(), args, processing_class=marker).processing_class is marker


def report_to_defaults_to_none(tmp_path):
    from transformers import TrainingArguments

    assert TrainingArguments(str(tmp_path)).report_to in ([], "none", ["none"])


def group_by_length_is_a_sampling_strategy(tmp_path):
    from transformers import TrainingArguments

    with pytest.raises(TypeError, match="group_by_length"):
        TrainingArguments(str(tmp_path), group_by_length=True)
    args = TrainingArguments(str(tmp_path), train_sampling_strategy="group_by_length")
    assert args.train_sampling_strategy == "group_by_length"


def transformers_adamw_is_gone(tmp_path):
    import torch
    import transformers

    assert not hasattr(transformers, "AdamW")
    with pytest.raises(ImportError):
        exec("from transformers import AdamW", {})  # noqa: S102
    assert torch.optim.AdamW


def warmup_ratio_is_a_fraction_of_warmup_steps(tmp_path):
    from transformers import TrainingArguments

    with pytest.raises(TypeError, match="warmup_ratio"):
        TrainingArguments(str(tmp_path), warmup_ratio=0.1)
    assert TrainingArguments(str(tmp_path), warmup_steps=0.1).get_warmup_steps(100) == 10


def tensorflow_is_gone(tmp_path):
    for name in ("TFAutoModelForSequenceClassification", "TFTrainer"):
        with pytest.raises(ImportError):
            exec(f"from transformers import {name}", {})  # noqa: S102


def a_column_is_not_a_list(tmp_path, mirror_dir):
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from course.sources import checkpoint_source

    train = load_dataset(str(mirror_dir / "nyu-mll" / "glue"), "mrpc", split="train[:4]")
    column = train["sentence1"]
    assert not isinstance(column, list)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_source().path)
    with pytest.raises((ValueError, TypeError)):
        tokenizer(column)
    assert len(tokenizer(list(column))["input_ids"]) == 4


# claim -> (the notebooks that state it, words their introduction uses for it)
CLAIMS = {
    evaluation_strategy_is_eval_strategy: (["02_trainer", "03_compute_metrics", "06_yelp", "07_learning_curves"],
                                           "evaluation_strategy"),
    warmup_ratio_is_a_fraction_of_warmup_steps: (["07_learning_curves"], "`warmup_ratio` is gone"),
    tokenizer_is_processing_class: (["02_trainer", "03_compute_metrics", "06_yelp"], "processing_class"),
    report_to_defaults_to_none: (["02_trainer"], "`report_to` now defaults to"),
    group_by_length_is_a_sampling_strategy: (["06_yelp"], "group_by_length"),
    transformers_adamw_is_gone: (["04_training_loop"], "`transformers.AdamW` is gone"),
    tensorflow_is_gone: (["01_preprocessing", "06_yelp"], "TensorFlow"),
    a_column_is_not_a_list: (["01_preprocessing"], "list(ds[\"col\"])"),
}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda f: f.__name__)
def test_note_is_stated_and_still_true(claim, tmp_path, request):
    notebooks, words = CLAIMS[claim]
    for notebook in notebooks:
        assert words in _markdown(notebook), f"{notebook} no longer states {words!r}: drop the claim or restore it"
    kwargs = {"mirror_dir": request.getfixturevalue("mirror_dir")} if "mirror_dir" in claim.__code__.co_varnames \
        else {}
    claim(tmp_path, **kwargs)
