# Copyright 2020 The HuggingFace Datasets Authors and the current dataset script contributor.
# Licensed under the Apache License, Version 2.0.
"""F1 metric: a local, offline copy of the Hub ``f1`` metric (same inputs and outputs).

Computed by scikit-learn's ``f1_score``, as the Hub module is, with ``zero_division=0``: the same values
(an F1 whose precision and recall are both undefined is 0.0) without scikit-learn's warning about it.
Load it with ``evaluate.load(course.metrics.metric_source("f1"))``.
"""

import evaluate
from sklearn.metrics import f1_score

from course.metrics.common import RejectsEmptyInput, label_features

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
        For multilabel targets, labels are column indices. By default, all labels in `predictions` and
        `references` are used in sorted order. Defaults to None.
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


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(RejectsEmptyInput, evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            **label_features(self.config_name),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None):
        score = f1_score(
            references,
            predictions,
            labels=labels,
            pos_label=pos_label,
            average=average,
            sample_weight=sample_weight,
            zero_division=0,
        )
        return {"f1": score.tolist() if average is None else float(score)}
