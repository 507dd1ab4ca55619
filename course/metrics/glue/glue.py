# Copyright 2020 The HuggingFace Evaluate Authors.
# Licensed under the Apache License, Version 2.0.
"""GLUE benchmark metric: a local, offline copy of the Hub ``glue`` metric (same configs, inputs and outputs).

Computed as the Hub module computes it: scikit-learn's ``accuracy_score``, ``f1_score`` and
``matthews_corrcoef``, scipy's ``pearsonr`` and ``spearmanr`` for ``stsb``. F1 takes ``zero_division=0``:
the Hub's values without scikit-learn's warning when no example is predicted or labelled positive.
Load it with ``evaluate.load(course.metrics.metric_source("glue"), "mrpc")``.
"""

import datasets
import evaluate
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from course.metrics.common import RejectsEmptyInput

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
CONFIGS = (*_ACCURACY_CONFIGS, *_ACCURACY_F1_CONFIGS, "cola", "stsb")


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
    return float(accuracy_score(labels, preds))


def acc_and_f1(preds, labels):
    return {"accuracy": simple_accuracy(preds, labels), "f1": float(f1_score(labels, preds, zero_division=0))}


def pearson_and_spearman(preds, labels):
    return {
        "pearson": float(pearsonr(preds, labels)[0]),
        "spearmanr": float(spearmanr(preds, labels)[0]),
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Glue(RejectsEmptyInput, evaluate.Metric):
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

    def _compute(self, predictions, references):
        if self.config_name == "cola":
            return {"matthews_correlation": float(matthews_corrcoef(references, predictions))}
        elif self.config_name == "stsb":
            return pearson_and_spearman(predictions, references)
        elif self.config_name in _ACCURACY_F1_CONFIGS:
            return acc_and_f1(predictions, references)
        elif self.config_name in _ACCURACY_CONFIGS:
            return {"accuracy": simple_accuracy(predictions, references)}
        else:
            raise _config_error(self.config_name)
