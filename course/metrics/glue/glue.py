# Copyright 2020 The HuggingFace Evaluate Authors.
# Licensed under the Apache License, Version 2.0.
"""GLUE benchmark metric: a local, offline copy of the Hub ``glue`` metric (same configs, inputs and outputs).

Accuracy, F1 and Matthews correlation are computed with numpy (no scikit-learn import); ``stsb`` imports
scipy lazily for Pearson/Spearman. Load it with
``evaluate.load(course.metrics.metric_source("glue"), "mrpc")``.
"""

import datasets
import evaluate
import numpy as np

from course.metrics.common import checked_compute as _checked_compute
from course.metrics.common import no_predictions_error as _no_predictions_error

_CITATION = """\
@inproceedings{wang2019glue,
  title={{GLUE}: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding},
  author={Wang, Alex and Singh, Amanpreet and Michael, Julian and Hill, Felix and Levy, Omer and Bowman, Samuel R.},
  note={In the Proceedings of ICLR.},
  year={2019}
}
"""

_DESCRIPTION = """\
GLUE, the General Language Understanding Evaluation benchmark
(https://gluebenchmark.com/) is a collection of resources for training,
evaluating, and analyzing natural language understanding systems.
"""

_KWARGS_DESCRIPTION = """
Compute the GLUE evaluation metric associated to each GLUE dataset.
Args:
    predictions: list of predicted labels (class ids; floats for "stsb").
    references: list of gold labels (class ids; floats for "stsb").
Returns: depending on the GLUE subset, one or several of:
    "accuracy": Accuracy (all classification subsets)
    "f1": F1 score of the positive class 1 ("mrpc", "qqp")
    "pearson": Pearson Correlation ("stsb")
    "spearmanr": Spearman Correlation ("stsb")
    "matthews_correlation": Matthew Correlation ("cola")
Examples:

    >>> glue_metric = evaluate.load('glue', 'sst2')
    >>> # or any of "mnli", "mnli_mismatched", "mnli_matched", "qnli", "rte", "wnli", "ax", "hans"
    >>> results = glue_metric.compute(predictions=[0, 1], references=[0, 1])
    >>> print(results)
    {'accuracy': 1.0}

    >>> glue_metric = evaluate.load('glue', 'mrpc')  # 'mrpc' or 'qqp'
    >>> results = glue_metric.compute(predictions=[0, 1], references=[0, 1])
    >>> print(results)
    {'accuracy': 1.0, 'f1': 1.0}

    >>> glue_metric = evaluate.load('glue', 'stsb')
    >>> results = glue_metric.compute(predictions=[0., 1., 2., 3., 4., 5.], references=[0., 1., 2., 3., 4., 5.])
    >>> print({"pearson": round(results["pearson"], 2), "spearmanr": round(results["spearmanr"], 2)})
    {'pearson': 1.0, 'spearmanr': 1.0}

    >>> glue_metric = evaluate.load('glue', 'cola')
    >>> results = glue_metric.compute(predictions=[0, 1], references=[0, 1])
    >>> print(results)
    {'matthews_correlation': 1.0}
"""

_ACCURACY_CONFIGS = ("sst2", "mnli", "mnli_mismatched", "mnli_matched", "qnli", "rte", "wnli", "ax", "hans")
_ACCURACY_F1_CONFIGS = ("mrpc", "qqp")
CONFIGS = (
    "sst2",
    "mnli",
    "mnli_mismatched",
    "mnli_matched",
    "cola",
    "stsb",
    "mrpc",
    "qqp",
    "qnli",
    "rte",
    "wnli",
    "ax",
    "hans",
)


class GlueConfigError(KeyError):
    """Unknown or missing GLUE configuration name (a KeyError, as with the Hub metric)."""

    def __str__(self):  # KeyError's str() would show the message in quotes
        return str(self.args[0])


def _config_error(config_name):
    if config_name in (None, "default"):
        start = "The glue metric needs a configuration name, e.g. evaluate.load(path, 'mrpc'). "
    else:
        start = f"Unknown glue configuration {config_name!r}. "
    return GlueConfigError(start + "You should supply a configuration name selected in " + str(list(CONFIGS)))


def simple_accuracy(preds, labels):
    return float((preds == labels).mean())


def binary_f1(preds, labels, pos_label=1):
    """F1 of class ``pos_label``, like scikit-learn's binary ``f1_score`` with zero_division=0."""
    present = np.union1d(preds, labels)
    if present.shape[0] > 2:
        raise ValueError(
            "Target is multiclass but average='binary'. This GLUE subset expects binary labels 0/1, "
            f"got labels {present.tolist()}."
        )
    if pos_label not in present and present.shape[0] == 2:
        raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
    tp = float(np.sum((preds == pos_label) & (labels == pos_label)))
    denominator = float(np.sum(preds == pos_label) + np.sum(labels == pos_label))
    return 0.0 if denominator == 0 else 2 * tp / denominator


def acc_and_f1(preds, labels):
    return {"accuracy": simple_accuracy(preds, labels), "f1": binary_f1(preds, labels)}


def matthews_corrcoef(labels, preds):
    """Multiclass Matthews correlation, like scikit-learn's (0.0 when undefined)."""
    classes, encoded = np.unique(np.concatenate([labels, preds]), return_inverse=True)
    k = classes.shape[0]
    n = labels.shape[0]
    confusion = np.bincount(encoded[:n] * k + encoded[n:], minlength=k * k).reshape(k, k).astype(np.float64)
    t_sum = confusion.sum(axis=1)
    p_sum = confusion.sum(axis=0)
    n_correct = np.trace(confusion)
    n_samples = p_sum.sum()
    cov_ytyp = n_correct * n_samples - np.dot(t_sum, p_sum)
    cov_ypyp = n_samples**2 - np.dot(p_sum, p_sum)
    cov_ytyt = n_samples**2 - np.dot(t_sum, t_sum)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ypyp * cov_ytyt))


def pearson_and_spearman(preds, labels):
    from scipy.stats import pearsonr, spearmanr  # lazy: scipy.stats is slow to import and only stsb needs it

    return {
        "pearson": float(pearsonr(preds, labels)[0]),
        "spearmanr": float(spearmanr(preds, labels)[0]),
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Glue(evaluate.Metric):
    def _info(self):
        if self.config_name not in CONFIGS:
            raise _config_error(self.config_name)
        dtype = "float32" if self.config_name == "stsb" else "int64"
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value(dtype),
                    "references": datasets.Value(dtype),
                }
            ),
            codebase_urls=[],
            reference_urls=[],
            format="numpy",
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metric on ``predictions``/``references`` plus everything added with ``add``/``add_batch``."""
        return _checked_compute(self, super().compute, predictions, references, kwargs)

    def _compute(self, predictions, references):
        predictions = np.asarray(predictions).reshape(-1)
        references = np.asarray(references).reshape(-1)
        if predictions.shape[0] == 0 and references.shape[0] == 0:
            raise _no_predictions_error(f"glue ({self.config_name})")
        if self.config_name == "cola":
            return {"matthews_correlation": matthews_corrcoef(references, predictions)}
        elif self.config_name == "stsb":
            return pearson_and_spearman(predictions, references)
        elif self.config_name in _ACCURACY_F1_CONFIGS:
            return acc_and_f1(predictions, references)
        elif self.config_name in _ACCURACY_CONFIGS:
            return {"accuracy": simple_accuracy(predictions, references)}
        else:
            raise _config_error(self.config_name)
