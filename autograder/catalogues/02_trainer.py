"""Wrong answers and correct alternatives for 02_trainer (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="load_model",
        name="three_labels",
        old="num_labels=2",
        new="num_labels=3",
        why="MRPC has two classes; the predictions then have three columns too",
        fails=["test_load_model", "test_predict"],
    ),
    dict(
        cell="load_model",
        name="random_weights",
        old="model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)",
        new=(
            "from transformers import AutoConfig\n"
            "model = AutoModelForSequenceClassification.from_config(\n"
            "    AutoConfig.from_pretrained(run.checkpoint, num_labels=2))"
        ),
        why="from_config builds the architecture with random weights: no transfer learning",
    ),
    dict(
        cell="make_trainer",
        name="raw_train_split",
        old='train_dataset=tokenized_datasets["train"]',
        new='train_dataset=raw_datasets["train"]',
        why="trains on text, not on token ids",
    ),
    dict(
        cell="make_trainer",
        name="no_processing_class",
        old="    processing_class=tokenizer,\n",
        new="",
        why="the tokenizer is not saved with the model",
    ),
    dict(
        cell="predict",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples instead of the classes",
    ),
]

RIGHT = [
    dict(
        cell="predict",
        name="argmax_method",
        old="np.argmax(predictions.predictions, axis=-1)",
        new="predictions.predictions.argmax(axis=1)",
    ),
]
