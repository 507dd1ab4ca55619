"""Wrong answers and correct alternatives for 06_yelp (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="tokenize_dynamic",
        name="pads_to_max_length",
        old="max_length=run.profile.max_length)",
        new='max_length=run.profile.max_length, padding="max_length")',
        why="static padding in map()",
    ),
    dict(
        cell="tokenize_dynamic",
        name="no_truncation",
        old='tokenizer(examples["text"], truncation=True, max_length=run.profile.max_length)',
        new='tokenizer(examples["text"])',
        why="long reviews are kept whole",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples instead of the five classes",
    ),
]

RIGHT = [
    dict(
        cell="yelp_compute_metrics",
        name="numpy_mean",
        old="return accuracy_metric.compute(predictions=predictions, references=labels)",
        new='return {"accuracy": float((predictions == labels).mean())}',
    ),
]
