"""Self-checks with helpful messages, and the tiny models the notebook tests train.

The messages say what is wrong and what to try, never the answer. Test cells reload this module
(``importlib.reload``) so a notebook cannot quietly replace these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping


class CheckFailed(AssertionError):
    """A self-check found a mistake; the message says what to try."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_labels(predicted, n_examples: int, name: str = "predictions") -> None:
    """Class ids, one per example: catches logits passed on, and argmax over the wrong axis."""
    import numpy as np

    arr = np.asarray(predicted)
    expect(arr.ndim == 1, f"{name} has shape {arr.shape}: expected one class id per example, shape "
           f"({n_examples},). If it is ({n_examples}, 2) these are still logits: take the argmax over the "
           "class axis.")
    expect(arr.shape[0] == n_examples, f"{name} has {arr.shape[0]} entries for {n_examples} examples: the "
           "argmax was taken over the wrong axis (axis 0 runs over examples, the last axis over classes).")
    expect(np.issubdtype(arr.dtype, np.integer), f"{name} holds {arr.dtype} values: class ids are integers "
           "(did you return probabilities or logits instead of the argmax?).")


def check_logits(logits, n_examples: int, num_labels: int, name: str = "predictions") -> None:
    """Logits of shape (n_examples, num_labels): catches an argmax taken too early or the wrong split."""
    import numpy as np

    shape = tuple(np.shape(logits))
    expect(len(shape) == 2, f"{name} has shape {shape}: logits have one row per example and one column per "
           f"class, ({n_examples}, {num_labels}). A 1-D array means the argmax was taken too early.")
    expect(shape[0] == n_examples, f"{name} has {shape[0]} rows but the evaluated split has {n_examples} "
           "examples: did you predict on the right split?")
    expect(shape[1] == num_labels, f"{name} has {shape[1]} columns: the model was created with "
           f"num_labels={shape[1]}, the task has {num_labels} classes.")


def check_batch(batch: Mapping) -> None:
    """A batch a model can train on: tensors only, with ``labels``."""
    import torch

    keys = list(batch.keys())
    text = [k for k, v in batch.items() if not isinstance(v, torch.Tensor)]
    expect(not text, f"the batch holds non-tensor columns {text}: remove the text columns before batching "
           "(Dataset.remove_columns).")
    expect("labels" in batch, f"the batch has no 'labels' (it has {keys}): the model computes a loss only "
           "from a column called 'labels'. Rename the column.")


def check_token_list(texts, name: str = "the texts") -> None:
    """Tokenizers want a str or a list of str; a datasets Column is neither."""
    expect(isinstance(texts, (str, list, tuple)), f"{name} is a {type(texts).__name__}: tokenizers take a "
           "string or a list of strings. In datasets 4+, ds['column'] is a lazy Column: wrap it in list(...).")


# --- tiny models and batches for testing training-loop code by its effect -------------------------------


def _unmoved_tensor_class():
    import torch

    class UnmovedTensor(torch.Tensor):
        """A tensor that has not been moved with ``.to(device)``; moving it gives a plain tensor."""

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            out = super().__torch_function__(func, types, args, kwargs or {})
            if getattr(func, "__name__", "") in {"to", "cuda", "cpu"} and isinstance(out, torch.Tensor):
                return out.as_subclass(torch.Tensor)
            return out

    return UnmovedTensor


def tiny_batch(batch_size: int = 8, seq_len: int = 6, vocab: int = 50, num_labels: int = 2, seed: int = 0,
               unmoved: bool = True):
    """A padded batch like the collator's (a ``BatchEncoding``, so ``batch.to(device)`` works as on a real
    batch); with ``unmoved`` the model rejects it unless moved to the device."""
    import torch
    from transformers import BatchEncoding

    g = torch.Generator().manual_seed(seed)
    batch = {
        "input_ids": torch.randint(1, vocab, (batch_size, seq_len), generator=g),
        "attention_mask": torch.ones(batch_size, seq_len, dtype=torch.long),
        "labels": torch.randint(0, num_labels, (batch_size,), generator=g),
    }
    if unmoved:
        cls = _unmoved_tensor_class()
        batch = {k: v.as_subclass(cls) for k, v in batch.items()}
    return BatchEncoding(batch)


def tiny_model(vocab: int = 50, num_labels: int = 2, seed: int = 0):
    """A small sequence classifier with the Hugging Face calling convention that records how it was called."""
    import torch
    from torch import nn
    from transformers.modeling_outputs import SequenceClassifierOutput

    class TinyClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(seed)
            self.embed = nn.Embedding(vocab, 16)
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(16, num_labels)
            self.calls = []  # (training mode, grad enabled) per forward

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None):
            for name, value in (("input_ids", input_ids), ("attention_mask", attention_mask), ("labels", labels)):
                if value is not None and type(value) is not torch.Tensor:
                    raise CheckFailed(f"{name} reached the model without being moved to the model's device: "
                                      "move every tensor of the batch with .to(device) before the forward pass.")
            self.calls.append((self.training, torch.is_grad_enabled()))
            hidden = self.dropout(self.embed(input_ids)).mean(dim=1)
            logits = self.head(hidden)
            loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return TinyClassifier()
