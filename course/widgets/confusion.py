"""The confusion matrix: counts of (true label, predicted label), drawn and annotated."""

from __future__ import annotations

from .frontend import _TEXT, _as_array, _display_bundle, _figure_bundle, _mode, _text_table


def confusion_matrix_plot(labels, predictions, label_names, *, title: str = "Confusion matrix"):
    """Counts of (true label, predicted label) as an annotated matplotlib figure, displayed.

    Returns ``(matrix, figure)``; ``matrix[i, j]`` counts examples of true label ``i`` predicted as ``j``.
    """
    import numpy as np
    from sklearn.metrics import confusion_matrix  # the counts; ConfusionMatrixDisplay draws them

    label_names = [str(n) for n in label_names]
    k = len(label_names)
    true = _as_array(labels, dtype=np.int64).ravel()
    pred = _as_array(predictions, dtype=np.int64).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"{true.size} labels but {pred.size} predictions")
    if true.size and (min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= k):
        raise ValueError(f"labels and predictions must lie in [0, {k}) for {k} label names")
    # scikit-learn refuses empty input: no examples, no counts
    matrix = confusion_matrix(true, pred, labels=range(k)) if true.size else np.zeros((k, k), dtype=np.int64)

    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    side = max(3.2, 0.7 * k + 2.0)
    fig = Figure(figsize=(side + 0.8, side))
    ax = fig.subplots()
    ConfusionMatrixDisplay(matrix, display_labels=label_names).plot(
        ax=ax, cmap="Blues", values_format="d", xticks_rotation=45 if k > 3 else "horizontal")
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    fig.tight_layout()

    rows = [{"true \\ predicted": name, **{label_names[j]: int(matrix[i, j]) for j in range(k)}}
            for i, name in enumerate(label_names)]
    text = _text_table(rows, ["true \\ predicted", *label_names],
                       f"{title}: {int(np.trace(matrix))} of {true.size} on the diagonal")
    if _mode() == _TEXT:
        print(text)
    else:  # a figure is static anyway: the same PNG live and in executed notebooks
        _display_bundle(_figure_bundle(fig, text))
    note = one_class_note(matrix, label_names)
    if note:
        print(note)
    return matrix, fig


def one_class_note(matrix, label_names) -> str | None:
    """What to make of a model that predicts a single class for every example (None when it predicts several)."""
    predicted = [j for j in range(len(label_names)) if matrix[:, j].sum()]
    if len(predicted) != 1 or (matrix.sum(axis=1) > 0).sum() < 2:
        return None
    j, total = predicted[0], int(matrix.sum())
    return (f"Every example was predicted as {label_names[j]!r} ({int(matrix[j, j])} of {total} are): the model has "
            "not learned to tell the classes apart, only which one to bet on. That is what a few steps on a few "
            "dozen examples give (the grading profile); with the smoke, cpu or gpu profile it learns.")
