"""Self-checks say what is wrong and what to try; the tiny test models record how they were used."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course.checks import CheckFailed, check_batch, check_labels, check_logits, check_token_list, tiny_batch, tiny_model


def test_labels_taken_too_early_or_over_the_wrong_axis():
    logits = np.zeros((408, 2))
    with pytest.raises(CheckFailed, match=r"\(408, 2\) these are still logits"):
        check_labels(logits, 408)
    with pytest.raises(CheckFailed, match="wrong axis"):
        check_labels(logits.argmax(axis=0), 408)
    with pytest.raises(CheckFailed, match="probabilities or logits"):
        check_labels(np.full(408, 0.7), 408)
    check_labels(logits.argmax(axis=-1), 408)


def test_logits_shape_messages():
    with pytest.raises(CheckFailed, match="argmax was taken too early"):
        check_logits(np.zeros(408), 408, 2)
    with pytest.raises(CheckFailed, match="right split"):
        check_logits(np.zeros((3668, 2)), 408, 2)
    with pytest.raises(CheckFailed, match="num_labels=3"):
        check_logits(np.zeros((408, 3)), 408, 2)


def test_batch_without_labels_or_with_text():
    batch = {"input_ids": torch.ones(2, 3), "label": torch.ones(2)}
    with pytest.raises(CheckFailed, match="Rename the column"):
        check_batch(batch)
    with pytest.raises(CheckFailed, match="remove the text columns"):
        check_batch({"input_ids": torch.ones(2, 3), "labels": torch.ones(2), "sentence1": ["a", "b"]})


def test_column_object_is_not_a_list(mirror_dir):
    from datasets import load_dataset

    column = load_dataset(str(mirror_dir / "nyu-mll" / "glue"), "mrpc")["validation"]["sentence1"]
    with pytest.raises(CheckFailed, match=r"wrap it in list\(...\)"):
        check_token_list(column)
    check_token_list(list(column))


def test_tiny_model_rejects_batches_not_moved_to_the_device():
    model = tiny_model()
    with pytest.raises(CheckFailed, match=r"\.to\(device\)"):
        model(**tiny_batch())
    moved = {k: v.to(torch.device("cpu")) for k, v in tiny_batch().items()}
    out = model(**moved)
    assert out.loss is not None and out.logits.shape == (8, 2)
    model.eval()
    with torch.no_grad():
        model(**moved)
    assert model.calls == [(True, True), (False, False)]
