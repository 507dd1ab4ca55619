# Copyright 2020 The HuggingFace Datasets Authors and the current dataset script contributor.
# Licensed under the Apache License, Version 2.0.
"""Accuracy metric: a local, offline copy of the Hub ``accuracy`` metric (same inputs and outputs).

It is computed with numpy only (no scikit-learn import), so loading it is cheap.
Load it with ``evaluate.load(course.metrics.metric_source("accuracy"))``.
"""

import evaluate
import numpy as np

from course.metrics.common import checked_compute as _checked_compute
from course.metrics.common import label_features
from course.metrics.common import no_predictions_error as _no_predictions_error

_DESCRIPTION = """
Accuracy is the proportion of correct predictions among the total number of cases processed:
Accuracy = (TP + TN) / (TP + TN + FP + FN)
With the "multilabel" configuration it is the subset accuracy: a row counts as correct only
when every one of its labels is predicted correctly.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): Predicted labels.
    references (`list` of `int`): Ground truth labels.
    normalize (`boolean`): If set to False, returns the number of correctly classified samples
        (as a float). Otherwise, returns the fraction of correctly classified samples. Defaults to True.
    sample_weight (`list` of `float`): Sample weights. Defaults to None.

Returns:
    accuracy (`float`): Accuracy score, between 0.0 and 1.0 (or the number of correct examples
        when `normalize=False`). Higher is better.

Examples:

    >>> accuracy_metric = evaluate.load("accuracy")
    >>> results = accuracy_metric.compute(references=[0, 1, 2, 0, 1, 2], predictions=[0, 1, 1, 2, 1, 0])
    >>> print(results)
    {'accuracy': 0.5}
"""

_CITATION = """
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V.
         and Thirion, B. and Grisel, O. and Blondel, M. and Prettenhofer, P.
         and Weiss, R. and Dubourg, V. and Vanderplas, J. and Passos, A. and
         Cournapeau, D. and Brucher, M. and Perrot, M. and Duchesnay, E.},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""


def _as_2d(values, name):
    try:
        array = np.asarray(values)
        if array.dtype == object:
            array = np.stack([np.asarray(row) for row in values])
    except ValueError:
        raise ValueError(f"multilabel {name} must all have the same number of labels") from None
    return array


def accuracy_score(references, predictions, normalize=True, sample_weight=None, multilabel=False):
    """Accuracy of ``predictions`` against ``references`` (scikit-learn's ``accuracy_score``)."""
    y_true = _as_2d(references, "references") if multilabel else np.asarray(references).reshape(-1)
    y_pred = _as_2d(predictions, "predictions") if multilabel else np.asarray(predictions).reshape(-1)
    if len(y_pred) == 0 and len(y_true) == 0:
        raise _no_predictions_error("accuracy")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"predictions have shape {y_pred.shape} but references have shape {y_true.shape}")
    correct = (y_true == y_pred).all(axis=1) if multilabel else y_true == y_pred
    correct = correct.astype(np.float64)
    if sample_weight is None:
        weights = None
    else:
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if weights.shape[0] != correct.shape[0]:
            raise ValueError(f"sample_weight has {weights.shape[0]} values for {correct.shape[0]} examples")
        if not weights.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
    if not normalize:
        return float(correct.sum() if weights is None else np.dot(correct, weights))
    return float(np.average(correct, weights=weights))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            **label_features(self.config_name),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html"],
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metric on ``predictions``/``references`` plus everything added with ``add``/``add_batch``."""
        return _checked_compute(self, super().compute, predictions, references, kwargs)

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        score = accuracy_score(
            references,
            predictions,
            normalize=normalize,
            sample_weight=sample_weight,
            multilabel=self.config_name == "multilabel",
        )
        return {"accuracy": score}
