"""What the judges of every notebook share: comparing data sets by their content, test data that separates the
plausible wrong answers (:class:`Case`), metric values with the ties a different batching may break, and the
small models the training-loop judges build in the student's kernel from their own source."""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field

from course.grading import student


# ------------------------------------------------------------------------------------ data sets by content
def rows_expr(dataset: str) -> str:
    """A question: ``(token ids, label)`` of every row of the data set ``dataset`` (an expression in the student's
    namespace), whatever its format (lists, torch tensors) and whether the label column is ``label`` or
    ``labels`` (None without one)."""
    return ("[(tuple(int(_i) for _i in _r['input_ids']), int(_r['labels']) if 'labels' in _r else "
            f"int(_r['label']) if 'label' in _r else None) for _r in {dataset}]")


def reference_rows(dataset) -> list[tuple]:
    """``(token ids, label)`` of every row of a tokenized data set of the judge's."""
    labels = dataset["label"] if "label" in dataset.column_names else [None] * len(dataset)
    return [(tuple(ids), label) for ids, label in zip(dataset["input_ids"], labels)]


def same_examples(got, want) -> bool:
    """The same examples, each as often, in any order (a data set judged by its content, not by a fingerprint
    such as its first row: ``shuffle(seed=42)`` keeps it, dropping columns keeps it)."""
    return isinstance(got, list) and Counter(map(_hashable, got)) == Counter(map(_hashable, want))


def which_split(got, splits: dict) -> str | None:
    """The name of the split of ``splits`` (name -> rows) whose examples ``got`` holds, if any."""
    for name, rows in splits.items():
        if same_examples(got, rows):
            return name
    return None


def _hashable(row):
    if isinstance(row, list):
        return tuple(_hashable(x) for x in row)
    if isinstance(row, tuple):
        return tuple(_hashable(x) for x in row)
    return row


# ------------------------------------------------------------------------------------ test data that separates
@dataclass
class Case:
    """One input of a judge: its right answer and the answers of the plausible wrong solutions (name -> value),
    each with the reason the student reads when the answer is that one. Values are numbers or tuples of numbers
    (or anything else compared with ==); ``tolerance`` is how close counts as equal."""

    name: str
    right: object
    wrong: dict = field(default_factory=dict)  # name -> value
    why: dict = field(default_factory=dict)  # name -> the reason a student with that answer reads
    tolerance: float = 1e-6
    separation: float = 0.01  # every wrong value must differ from the right one by more than this

    def problems(self) -> list[str]:
        """Wrong answers these inputs cannot tell from the right one."""
        return [f"{self.name}: {name} gives {value!r}, the right answer {self.right!r}"
                for name, value in self.wrong.items()
                if value is not None and distance(value, self.right) <= self.separation]

    def matches(self, got) -> bool:
        return got is not None and distance(got, self.right) <= self.tolerance

    def diagnosis(self, got) -> str | None:
        """The reason of the wrong answer ``got`` equals, if it equals one; when these inputs give several wrong
        answers with reasons of their own the same value, every one of those reasons (never just the first: the
        student may have made the other mistake)."""
        reasons = []
        for name, value in self.wrong.items():
            if value is not None and got is not None and distance(got, value) <= self.tolerance and name in self.why:
                reasons += [self.why[name]] if self.why[name] not in reasons else []
        return " or ".join(reasons) or None


def distance(a, b) -> float:
    """The largest difference between two numbers or sequences of numbers (inf when they cannot be compared)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return 0.0 if a == b else math.inf
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) if math.isfinite(a) and math.isfinite(b) else (0.0 if a == b else math.inf)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return math.inf
        return max((distance(a[k], b[k]) for k in a), default=0.0)
    if hasattr(a, "tolist"):
        a = a.tolist()
    if hasattr(b, "tolist"):
        b = b.tolist()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return math.inf
        return max((distance(x, y) for x, y in zip(a, b)), default=0.0)
    return 0.0 if a == b else math.inf


def assert_separated(cases) -> None:
    """Instructor check, run by the judge before it asks anything: its inputs tell every listed wrong answer from
    the right one (also checked without a kernel by tests/test_judges.py)."""
    problems = [p for case in cases for p in case.problems()]
    assert not problems, "instructor check: the judge's inputs cannot tell a wrong answer from the right one: " + \
        "; ".join(problems)


# ------------------------------------------------------------------------------------ classification metrics
def prediction_sets(logits, ties: float = 1e-4, limit: int = 10):
    """Every vector of predicted classes the argmax of ``logits`` (examples x classes, computed here) may give in
    another process or batching: examples whose two best logits lie within ``ties`` may go either way (at most
    ``limit`` of them are enumerated; with more, the argmax alone)."""
    import numpy as np

    logits = np.asarray(logits, dtype=np.float64)
    best = logits.argmax(-1)
    ordered = np.sort(logits, axis=-1)
    margins = ordered[:, -1] - ordered[:, -2] if logits.shape[-1] > 1 else np.full(len(logits), np.inf)
    close = [i for i in np.flatnonzero(margins < ties)][:limit]
    if not close:
        return [best]
    second = np.argsort(logits, axis=-1)[:, -2]
    out = []
    for choice in itertools.product((0, 1), repeat=len(close)):
        p = best.copy()
        for i, take_second in zip(close, choice):
            if take_second:
                p[i] = second[i]
        out.append(p)
    return out


def accuracy_f1(predictions, labels) -> tuple[float, float]:
    """(accuracy, F1 of class 1) as the course's metrics compute them (F1 0 when nothing is predicted positive)."""
    from sklearn.metrics import accuracy_score, f1_score

    return float(accuracy_score(labels, predictions)), float(f1_score(labels, predictions, zero_division=0))


# ------------------------------------------------------------------------------------ the student's kernel
def answer_raised(error, hint: str) -> AssertionError:
    """A reason for an answer that raised on the judge's inputs: what to do, then what it raised."""
    return AssertionError(f"{hint}: {error}")


def rerun_or_none(cell: str, values: str, hint: str, **kwargs):
    """:meth:`course.grading.Student.rerun` whose failure becomes a reason that says what was run and what to do."""
    from course.grading import StudentError

    try:
        return student.rerun(cell, values, **kwargs)
    except StudentError as e:
        raise answer_raised(e, hint) from None


# The judges' own small models, built in the student's kernel from this source (never from a helper the kernel
# could have patched) and here from the same source, for the reference. Tensors the judge hands over are
# ``_JudgeUnmoved`` until moved with ``.to(device)``; the model rejects them unmoved, as a GPU model would.
JUDGE_MODELS = '''
import torch as _torch
from torch import nn as _nn
from transformers import BatchEncoding as _BatchEncoding
from transformers.modeling_outputs import SequenceClassifierOutput as _Output


class _JudgeUnmoved(_torch.Tensor):
    """A tensor not yet moved with .to(device): moving it gives a plain tensor."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs or {})
        if getattr(func, "__name__", "") in {"to", "cuda", "cpu"} and isinstance(out, _torch.Tensor):
            return out.as_subclass(_torch.Tensor)
        return out


class _JudgeClassifier(_nn.Module):
    """A small sequence classifier with the Hugging Face calling convention, its weights drawn from ``seed``.

    ``norm``: a batch norm layer, which normalises with the batch's own statistics in training mode and with its
    running statistics in evaluation mode (so model.eval() changes its outputs, deterministically).
    ``eval_scale``: the hidden layer is scaled by this in evaluation mode (1 in training mode): a deterministic
    stand-in for what dropout changes between the modes, for judges that need every example on its own.
    ``grad_sentinel``: with gradients enabled the classes come out swapped, so an evaluation outside
    torch.no_grad() gives other predictions (a real model only wastes memory and time there)."""

    def __init__(self, vocab=50, hidden=16, num_labels=2, seed=0, norm=False, eval_scale=1.0, grad_sentinel=False):
        super().__init__()
        g = _torch.Generator().manual_seed(seed)
        self.embed = _nn.Embedding(vocab, hidden)
        self.norm = _nn.BatchNorm1d(hidden) if norm else None
        self.head = _nn.Linear(hidden, num_labels)
        self.eval_scale = eval_scale
        self.grad_sentinel = grad_sentinel
        with _torch.no_grad():
            self.embed.weight.copy_(_torch.randn(self.embed.weight.shape, generator=g))
            self.head.weight.copy_(_torch.randn(self.head.weight.shape, generator=g) * 0.5)
            self.head.bias.copy_(_torch.randn(self.head.bias.shape, generator=g) * 0.5)
            if self.norm is not None:
                self.norm.weight.copy_(1 + 0.5 * _torch.randn(hidden, generator=g))
                self.norm.bias.copy_(0.5 * _torch.randn(hidden, generator=g))
                self.norm.running_mean.copy_(0.5 * _torch.randn(hidden, generator=g))
                self.norm.running_var.copy_(0.5 + _torch.rand(hidden, generator=g))

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None):
        for name, value in (("input_ids", input_ids), ("attention_mask", attention_mask), ("labels", labels)):
            if value is not None and type(value) is not _torch.Tensor:
                raise RuntimeError(f"{name} reached the model without being moved to the model's device: move every "
                                   "tensor of the batch with .to(device) before the forward pass")
        mask = (attention_mask if attention_mask is not None else _torch.ones_like(input_ids)).unsqueeze(-1).float()
        hidden = (self.embed(input_ids) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        if not self.training:
            hidden = hidden * self.eval_scale
        if self.norm is not None:
            hidden = self.norm(hidden)
        logits = self.head(hidden)
        if self.grad_sentinel and _torch.is_grad_enabled():
            logits = logits.flip(-1)
        loss = _nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return _Output(loss=loss, logits=logits)


def _judge_batch(batch, unmoved=True):
    """A batch like the collator's (a BatchEncoding: batch.to(device) works), from tensors."""
    batch = {k: _torch.as_tensor(v) for k, v in batch.items()}
    if unmoved:
        batch = {k: v.as_subclass(_JudgeUnmoved) for k, v in batch.items()}
    return _BatchEncoding(batch)
'''


@functools.cache
def judge_models() -> dict:
    """:data:`JUDGE_MODELS` built here (the judge's reference objects)."""
    namespace: dict = {"__name__": "judge_models"}
    exec(compile(JUDGE_MODELS, "<judge models>", "exec"), namespace)  # noqa: S102 - the judges' own source
    return namespace


def token_batches(sizes, seq_len: int = 6, vocab: int = 50, seed: int = 0, labels=None) -> list[dict]:
    """Batches of random token ids (plain tensors) of the given sizes, with attention masks that cut some examples
    short (uneven lengths) and labels 0/1 (or ``labels``, one list per batch)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for k, n in enumerate(sizes):
        ids = torch.randint(1, vocab, (n, seq_len), generator=g)
        lengths = torch.randint(2, seq_len + 1, (n,), generator=g)
        mask = (torch.arange(seq_len)[None, :] < lengths[:, None]).long()
        ids = ids * mask
        y = torch.tensor(labels[k]) if labels is not None else torch.randint(0, 2, (n,), generator=g)
        out.append({"input_ids": ids, "attention_mask": mask, "labels": y})
    return out


# ------------------------------------------------------------------------------------ a judge's checkpoint
def noisy_checkpoint(run, dropout: float = 0.5) -> str:
    """A copy of the run's checkpoint (the weights and tokenizer files linked, not copied) whose configuration
    sets every dropout probability to ``dropout``, written where the student's kernel can read it; returns its
    path there. Predictions made in training mode with it are close to random; in evaluation mode dropout is off
    and they do not change."""
    from huggingface_hub import snapshot_download

    source = run.checkpoint
    if not os.path.isdir(source):
        source = snapshot_download(source, local_files_only=True)
    here, there = student.scratch()
    for name in os.listdir(source):
        path = os.path.realpath(os.path.join(source, name))
        if name == "config.json":
            with open(path) as fh:
                config = json.load(fh)
            for key in list(config):
                if "dropout" in key and isinstance(config[key], (int, float)) and not isinstance(config[key], bool):
                    config[key] = dropout
            config["classifier_dropout"] = dropout
            with open(os.path.join(here, name), "w") as fh:
                json.dump(config, fh)
        elif os.path.isfile(path):
            os.symlink(student.path(path), os.path.join(here, name))
    return there


# ------------------------------------------------------------------------------------ the student's model, here
def student_model(run, expr: str, num_labels: int = 2):
    """The weights of the student's model at ``expr``, loaded here into the judge's own
    ``AutoModelForSequenceClassification`` of ``run.checkpoint`` (in evaluation mode)."""
    from transformers import AutoModelForSequenceClassification

    from course.grading import names_in

    model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=num_labels)
    missing, unexpected = model.load_state_dict(student.tensors(f"{expr}.state_dict()"), strict=False)
    assert not missing and not unexpected, (
        f"{names_in(expr)}: AutoModelForSequenceClassification.from_pretrained(run.checkpoint, "
        f"num_labels={num_labels}), whose weights the judge can load into its own")
    model.eval()
    return model


def is_pretrained(run, model) -> bool:
    """Whether ``model``'s body still holds exactly the checkpoint's weights (it was never trained)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    fresh = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=model.config.num_labels)
    body = fresh.base_model_prefix
    state = model.state_dict()
    return all(torch.equal(state[k], v) for k, v in fresh.state_dict().items()
               if k.startswith(body + ".") and k in state)


def logits_and_loss(model, tokenizer, rows: list[dict], batch_size: int = 32):
    """The logits of ``model`` (numpy, examples x classes) for ``rows`` (dicts with the tokenizer's columns and
    ``label``) and its mean loss per example, computed here with dynamic padding."""
    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding

    collate = DataCollatorWithPadding(tokenizer=tokenizer)
    names = [n for n in tokenizer.model_input_names if n in rows[0]]
    out, total = [], 0.0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            chunk = rows[i : i + batch_size]
            batch = collate([{k: r[k] for k in names} | {"labels": r["label"]} for r in chunk])
            result = model(**batch)
            out.append(result.logits.float().numpy())
            total += result.loss.item() * len(chunk)
    return np.concatenate(out), total / len(rows)


# ------------------------------------------------------------------------------------ MRPC and the Trainer
def tokenized_mrpc(run):
    """MRPC at the run's sizes, tokenized here as the notebooks tokenize it."""
    import course.data
    from course.grading import reference_tokenizer

    return course.data.prepare_mrpc(run, reference_tokenizer(run.checkpoint))[1]


def check_trainer_data(expr: str, tokenized, train: str = "train", evaluation: str | None = "validation") -> None:
    """The Trainer at ``expr`` trains on the examples of ``tokenized[train]`` and evaluates on those of
    ``tokenized[evaluation]``, judged by content (any order, any columns besides the tokens and the label)."""
    splits = {name: reference_rows(tokenized[name]) for name in tokenized}
    has_train, has_eval = student.value(f"({expr}.train_dataset is not None, {expr}.eval_dataset is not None)")
    assert has_train, f"give the Trainer the tokenized {train} split: train_dataset=..."
    columns = student.value(f"list(getattr({expr}.train_dataset, 'column_names', None) or [])")
    assert "input_ids" in columns, "train on the tokenized data set, not the raw one"
    got = student.value(rows_expr(f"{expr}.train_dataset"))
    if not same_examples(got, splits[train]):
        other = which_split(got, splits)
        raise AssertionError(f"train on the tokenized {train} split" + (f", not the {other} split" if other else
                             f" (its {len(splits[train])} examples, each once; found {len(got)})"))
    if evaluation is not None:
        assert has_eval, f"evaluate on the tokenized {evaluation} split: eval_dataset=..."
        got = student.value(rows_expr(f"{expr}.eval_dataset"))
        if not same_examples(got, splits[evaluation]):
            other = which_split(got, splits)
            raise AssertionError(f"evaluate on the tokenized {evaluation} split" + (f", not the {other} split"
                                 if other else f" (its {len(splits[evaluation])} examples; found {len(got)})"))
