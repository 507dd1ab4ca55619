"""What the course's metric scripts share (imported by ``accuracy``, ``f1`` and ``glue``).

evaluate copies each script into its modules cache and imports it from there, so the scripts import this
module by its package name, ``course.metrics.common``: evaluate checks that such an import resolves (the
``course`` package is installed with the kit).
"""

import datasets


class RejectsEmptyInput:
    """Mixin for an ``evaluate.Metric``: ``compute(predictions=[], references=[])`` raises a clear error
    before evaluate writes anything (scikit-learn's own error, raised inside evaluate's compute, would leave
    evaluate's cache file locked). Not an ``evaluate.Metric`` itself, so ``evaluate.load`` never takes it for
    the script's metric class."""

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metric on ``predictions``/``references`` plus everything added with ``add``/``add_batch``."""
        if any(values is not None and len(values) == 0 for values in (predictions, references)):
            name = self.name if self.config_name == "default" else f"{self.name} ({self.config_name})"
            raise ValueError(
                f"{name} got no predictions: pass at least one prediction and reference, with "
                "compute(predictions=..., references=...) or add()/add_batch() before compute()"
            )
        return super().compute(predictions=predictions, references=references, **kwargs)


def label_features(config_name: str) -> dict:
    """``features`` and ``format`` of a classification metric: int labels, or rows of them for "multilabel".

    evaluate allows its fast numpy format only for flat (non-Sequence) features.
    """
    label = datasets.Sequence(datasets.Value("int32")) if config_name == "multilabel" else datasets.Value("int32")
    return {
        "features": datasets.Features({"predictions": label, "references": label}),
        "format": None if config_name == "multilabel" else "numpy",
    }
