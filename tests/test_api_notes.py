"""Each "where today's API differs from the printed course" note of the notebooks is still true.

Every claim below names the notebooks that state it (checked: the note is there) and proves it
against the installed libraries: the old call really fails, the new one really works. When a library release
changes one of them, this fails and the note must be rewritten. (The Hub's move of ``glue`` to
``nyu-mll/glue`` cannot be checked without the Hub; the mirror is laid out under the new id.)

Each note also names the release where the old call stopped working ("since transformers 4.51"), and that
release is no newer than the one ``requirements.lock`` installs nor the one installed here (``course drift``
runs these tests with the newest releases). The releases were found by reading each release's wheel from PyPI
(``training_args.py``, ``trainer.py``, ``optimization.py``, ``__init__.py``; datasets' ``arrow_dataset.py``):
the first release without the old field, keyword, class or module.
"""

from __future__ import annotations

from importlib.metadata import version

import nbformat
import pytest
from conftest import ROOT
from packaging.version import Version

from course_tools.lock import read_lock


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


# claim -> (the notebooks that state it, words their note uses for it, (library, release where the old call stopped
# working), named in the note right after those words)
CLAIMS = {
    evaluation_strategy_is_eval_strategy: (["02_trainer", "03_compute_metrics", "06_yelp", "07_learning_curves"],
                                           "evaluation_strategy", ("transformers", "4.51")),
    warmup_ratio_is_a_fraction_of_warmup_steps: (["07_learning_curves"], "`warmup_ratio` is gone",
                                                 ("transformers", "5.15")),
    tokenizer_is_processing_class: (["02_trainer", "03_compute_metrics", "06_yelp"], "processing_class",
                                    ("transformers", "5.0")),
    report_to_defaults_to_none: (["02_trainer"], "`report_to` now defaults to", ("transformers", "5.0")),
    group_by_length_is_a_sampling_strategy: (["06_yelp"], "group_by_length", ("transformers", "5.2")),
    transformers_adamw_is_gone: (["04_training_loop"], "`transformers.AdamW` is gone", ("transformers", "4.50")),
    tensorflow_is_gone: (["01_preprocessing", "06_yelp"], "TensorFlow", ("transformers", "5.0")),
    a_column_is_not_a_list: (["01_preprocessing"], "list(ds[\"col\"])", ("datasets", "4.0")),
}
NEAR = 160  # characters after the words where the note names the release


def _names_release(text: str, words: str, release: str) -> bool:
    """Some occurrence of ``words`` in ``text`` is followed, within :data:`NEAR` characters, by ``release``
    (the text of a markdown table row or sentence, line breaks as spaces)."""
    flat = " ".join(text.split())
    start = flat.find(words)
    while start >= 0:
        if release in flat[max(0, start - NEAR): start + len(words) + NEAR]:
            return True
        start = flat.find(words, start + 1)
    return False


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda f: f.__name__)
def test_note_is_stated_and_still_true(claim, tmp_path, request):
    notebooks, words, (library, since) = CLAIMS[claim]
    for notebook in notebooks:
        text = _markdown(notebook)
        assert words in text, f"{notebook} no longer states {words!r}: drop the claim or restore it"
        assert _names_release(text, words, f"{library} {since}"), \
            f"{notebook}: the note on {words!r} should name the release where the old call stopped: {library} {since}"
    kwargs = {"mirror_dir": request.getfixturevalue("mirror_dir")} if "mirror_dir" in claim.__code__.co_varnames \
        else {}
    claim(tmp_path, **kwargs)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda f: f.__name__)
def test_the_release_a_note_names_is_in_the_lock_and_installed(claim):
    """The lock installs a release at or after the one the note names (so the note is true for every student),
    and so does this environment: with the newest releases (``course drift``), a note naming a release that
    is not out would fail here."""
    _, _, (library, since) = CLAIMS[claim]
    locked = read_lock()[library]
    assert Version(locked) >= Version(since), f"requirements.lock has {library} {locked}, before {since}"
    assert Version(version(library)) >= Version(since), f"{library} {version(library)} installed, before {since}"
