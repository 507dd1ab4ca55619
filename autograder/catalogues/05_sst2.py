"""Wrong answers and correct alternatives for 05_sst2 (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="sst2_tokenize",
        name="no_truncation",
        old='tokenizer(example["sentence"], truncation=True)',
        new='tokenizer(example["sentence"])',
        why="sentences longer than the model are kept",
    ),
    dict(
        cell="sst2_train",
        name="accuracy_on_train",
        old='predictions = trainer.predict(tokenized_datasets["validation"])',
        new='predictions = trainer.predict(tokenized_datasets["train"])',
        why="reports the training accuracy",
    ),
    dict(
        cell="preprocess_glue",
        name="ignores_second_text",
        old="return tokenizer(examples[first], examples[second], truncation=True)",
        new="return tokenizer(examples[first], truncation=True)",
        why="pair tasks lose their second text",
    ),
    dict(
        cell="preprocess_glue",
        name="no_value_error",
        replace=[
            ("    if task not in GLUE_TEXT_COLUMNS:\n", ""),
            ("        raise ValueError(f\"unknown GLUE task {task!r}; known: {', '.join(GLUE_TEXT_COLUMNS)}\")\n", ""),
        ],
        why="an unknown task raises KeyError without naming the known tasks",
    ),
]

RIGHT = [
    dict(
        cell="preprocess_glue",
        name="star_args",
        old=(
            "    if second is None:\n"
            "        return tokenizer(examples[first], truncation=True)\n"
            "    return tokenizer(examples[first], examples[second], truncation=True)"
        ),
        new=(
            "    texts = (examples[first],) if second is None else (examples[first], examples[second])\n"
            "    return tokenizer(*texts, truncation=True)"
        ),
    ),
]
