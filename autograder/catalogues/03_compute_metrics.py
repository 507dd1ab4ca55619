"""Wrong answers and correct alternatives for 03_compute_metrics (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="compute_metrics",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples; evaluation during training then fails too",
        fails=["test_compute_metrics", "test_epoch_metrics"],
    ),
    dict(
        cell="precision_recall",
        name="swapped",
        replace=[
            (
                "precision = true_positives / predicted_positives if predicted_positives else 0.0",
                "precision = true_positives / actual_positives if actual_positives else 0.0",
            ),
            (
                "recall = true_positives / actual_positives if actual_positives else 0.0",
                "recall = true_positives / predicted_positives if predicted_positives else 0.0",
            ),
        ],
        why="precision and recall confused",
    ),
    dict(
        cell="precision_recall",
        name="no_zero_guard",
        replace=[
            (" if predicted_positives else 0.0", ""),
            (" if actual_positives else 0.0", ""),
        ],
        why="0/0 gives nan and a RuntimeWarning instead of 0.0",
    ),
    dict(
        cell="epoch_trainer",
        name="no_eval_strategy",
        old='eval_strategy="epoch",',
        new="",
        why="never evaluates during training",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
    ),
    dict(
        cell="epoch_trainer",
        name="no_compute_metrics",
        old="    compute_metrics=compute_metrics,\n",
        new="",
        why="evaluation reports only the loss",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
    ),
]

RIGHT = [
    # Not a mistake after all: accuracy and F1 = 2TP / (2TP + FP + FN) are both symmetric in their two
    # arguments, so swapping them gives the same values (the catalogue run showed it; keep it as proof).
    dict(
        cell="compute_metrics",
        name="swapped_arguments",
        old="metric.compute(predictions=predictions, references=labels)",
        new="metric.compute(predictions=labels, references=predictions)",
    ),
    dict(
        cell="compute_metrics",
        name="indexing",
        old="logits, labels = eval_preds",
        new="logits, labels = eval_preds[0], eval_preds[1]",
    ),
    dict(
        cell="precision_recall",
        name="sklearn",
        source=(
            "def precision_recall(predictions, references):\n"
            "    from sklearn.metrics import precision_score, recall_score\n"
            "\n"
            "    return (float(precision_score(references, predictions, zero_division=0)),\n"
            "            float(recall_score(references, predictions, zero_division=0)))\n"
        ),
    ),
]
