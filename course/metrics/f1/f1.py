# Copyright 2020 The HuggingFace Datasets Authors and the current dataset script contributor.
# Licensed under the Apache License, Version 2.0.
"""F1 metric: a local, offline copy of the Hub ``f1`` metric (same inputs and outputs).

Computed with numpy only (no scikit-learn import); results equal scikit-learn's ``f1_score`` with
``zero_division=0`` (an F1 whose precision and recall are both undefined counts as 0.0, silently).
Load it with ``evaluate.load(course.metrics.metric_source("f1"))``.
"""

import warnings

import evaluate
import numpy as np

from course.metrics.common import checked_compute as _checked_compute
from course.metrics.common import label_features
from course.metrics.common import no_predictions_error as _no_predictions_error

_DESCRIPTION = """
The F1 score is the harmonic mean of the precision and recall. It can be computed with the equation:
F1 = 2 * (precision * recall) / (precision + recall) = 2 * TP / (2 * TP + FP + FN)
When a class has no true and no predicted examples its F1 is 0.0 (scikit-learn's zero_division=0).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): Predicted labels.
    references (`list` of `int`): Ground truth labels.
    labels (`list` of `int`): The set of labels to include when `average` is not `'binary'`, and their order
        when `average` is None. Labels not present in the data give 0 components in a macro average.
        By default, all labels in `predictions` and `references` are used in sorted order. Defaults to None.
    pos_label (`int`): The class to be considered positive when `average='binary'`. Defaults to 1.
    average (`string`): Defaults to `'binary'`.

        - 'binary': Only report results for the class specified by `pos_label` (the data must hold at most
          two distinct labels).
        - 'micro': Count the total true positives, false negatives and false positives over all labels.
        - 'macro': Unweighted mean of the per-label F1 scores.
        - 'weighted': Mean of the per-label F1 scores weighted by support (number of true instances).
        - 'samples': Per-example F1 averaged over examples (only for the "multilabel" configuration).
        - None: the per-label F1 scores, as a list of floats.
    sample_weight (`list` of `float`): Sample weights. Defaults to None.

Returns:
    f1 (`float`, or `list` of `float` when `average=None`): between 0.0 and 1.0, higher is better.

Examples:

    >>> f1_metric = evaluate.load("f1")
    >>> results = f1_metric.compute(references=[0, 1, 0, 1, 0], predictions=[0, 0, 1, 1, 0])
    >>> print(results)
    {'f1': 0.5}
    >>> results = f1_metric.compute(references=[0, 1, 2, 0, 1, 2], predictions=[0, 2, 1, 0, 0, 1], average="macro")
    >>> print(round(results['f1'], 2))
    0.27
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

_AVERAGES = (None, "micro", "macro", "weighted", "samples")


def _as_2d(values, name):
    try:
        array = np.asarray(values)
        if array.dtype == object:
            array = np.stack([np.asarray(row) for row in values])
    except ValueError:
        raise ValueError(f"multilabel {name} must all have the same number of labels") from None
    if array.ndim != 2:
        raise ValueError(f"multilabel {name} must be a list of label-indicator rows, got shape {array.shape}")
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"multilabel {name} must hold only 0 and 1")
    return array


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if weights.shape[0] != n:
        raise ValueError(f"sample_weight has {weights.shape[0]} values for {n} examples")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def _divide(numerator, denominator):
    """numerator / denominator, with 0.0 where the denominator is 0 (zero_division=0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _counts_single_label(y_true, y_pred, labels, weights):
    """Weighted (tp, predicted, true) counts for each of ``labels``."""
    all_labels = np.union1d(labels, np.union1d(y_true, y_pred))
    true_idx = np.searchsorted(all_labels, y_true)
    pred_idx = np.searchsorted(all_labels, y_pred)
    k = all_labels.shape[0]
    hit = true_idx == pred_idx
    tp = np.bincount(true_idx[hit], weights=weights[hit], minlength=k)
    pred = np.bincount(pred_idx, weights=weights, minlength=k)
    true = np.bincount(true_idx, weights=weights, minlength=k)
    chosen = np.searchsorted(all_labels, labels)
    return tp[chosen], pred[chosen], true[chosen]


def f1_score(references, predictions, labels=None, pos_label=1, average="binary", sample_weight=None, multilabel=False):
    """F1 of ``predictions`` against ``references``: scikit-learn's ``f1_score`` with zero_division=0."""
    if average not in _AVERAGES and average != "binary":
        raise ValueError("average has to be one of " + str(_AVERAGES))
    if multilabel:
        y_true, y_pred = _as_2d(references, "references"), _as_2d(predictions, "predictions")
    else:
        y_true, y_pred = np.asarray(references).reshape(-1), np.asarray(predictions).reshape(-1)
    if len(y_true) == 0 and len(y_pred) == 0:
        raise _no_predictions_error("f1")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"predictions have shape {y_pred.shape} but references have shape {y_true.shape}")
    if multilabel and y_true.shape[1] == 1:  # a single column is ordinary binary/multiclass data
        y_true, y_pred, multilabel = y_true.reshape(-1), y_pred.reshape(-1), False
    weights = _weights(sample_weight, y_true.shape[0])

    if multilabel:
        present = np.arange(y_true.shape[1])
        kind = "multilabel-indicator"
    else:
        present = np.union1d(y_true, y_pred)
        kind = "binary" if present.shape[0] <= 2 else "multiclass"

    if average == "binary":
        if kind != "binary":
            options = [a for a in _AVERAGES if kind == "multilabel-indicator" or a != "samples"]
            raise ValueError(
                f"Target is {kind} but average='binary'. Please choose another average setting, one of {options}."
            )
        if pos_label not in present and present.shape[0] >= 2:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        labels = [pos_label]
    elif pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got {average!r}). "
            "You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    if average == "samples" and not multilabel:
        raise ValueError("Samplewise metrics are not available outside of multilabel classification.")

    labels = present if labels is None else np.asarray(labels).reshape(-1)
    if multilabel:
        if labels.size and (labels.max() >= y_true.shape[1] or labels.min() < 0):
            raise ValueError(
                f"All labels must be in [0, n labels) for multilabel targets, n labels = {y_true.shape[1]}"
            )
        t = y_true[:, labels].astype(bool)
        p = y_pred[:, labels].astype(bool)
        axis = 1 if average == "samples" else 0
        w = weights[:, None]
        tp = ((t & p) * w).sum(axis=axis)
        pred = (p * w).sum(axis=axis)
        true = (t * w).sum(axis=axis)
    else:
        if labels.size == 0:
            tp = pred = true = np.zeros(0)
        else:
            tp, pred, true = _counts_single_label(y_true, y_pred, labels, weights)

    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    scores = _divide(2 * tp, true + pred)

    if average is None:
        return [float(s) for s in scores]
    if scores.shape[0] == 0:
        return float("nan")
    if average == "weighted":
        avg_weights = true
    elif average == "samples":
        avg_weights = weights
    else:
        avg_weights = None
    if avg_weights is not None and avg_weights.sum() == 0:
        avg_weights = None  # like scikit-learn: all-zero weights fall back to a plain mean
    return float(np.average(scores, weights=avg_weights))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            **label_features(self.config_name),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metric on ``predictions``/``references`` plus everything added with ``add``/``add_batch``."""
        return _checked_compute(self, super().compute, predictions, references, kwargs)

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None):
        score = f1_score(
            references,
            predictions,
            labels=labels,
            pos_label=pos_label,
            average=average,
            sample_weight=sample_weight,
            multilabel=self.config_name == "multilabel",
        )
        return {"f1": score}
