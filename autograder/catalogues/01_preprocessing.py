"""Wrong answers and correct alternatives for 01_preprocessing (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="try_labels",
        name="label_id_not_name",
        old='raw_datasets["validation"].features["label"].int2str(validation_87_label)',
        new="str(validation_87_label)",
        why="prints the id instead of the class name",
    ),
    dict(
        cell="try_pair",
        name="concatenated_text",
        old='as_pair = tokenizer(element["sentence1"], element["sentence2"])',
        new='as_pair = tokenizer(element["sentence1"] + " " + element["sentence2"])',
        why="glues the sentences into one text: no [SEP] between them, token_type_ids all 0",
    ),
    dict(
        cell="tokenize_function",
        name="no_truncation",
        old=", truncation=True)",
        new=")",
        why="sequences longer than the model are kept",
    ),
    dict(
        cell="tokenize_function",
        name="first_sentence_only",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(example["sentence1"], truncation=True)',
        why="MRPC is a sentence-pair task",
    ),
    dict(
        cell="tokenize_function",
        name="pads_to_max_length",
        old="truncation=True)",
        new='truncation=True, padding="max_length")',
        why="static padding in map(): the collator's dynamic padding has nothing left to do",
        fails=["test_tokenize_function", "test_collate_batch"],
    ),
    dict(
        cell="collate_batch",
        name="counts_real_tokens",
        old='(batch["attention_mask"] == 0)',
        new='(batch["attention_mask"] == 1)',
        why="share of real tokens instead of padding",
    ),
]

RIGHT = [
    dict(cell="try_labels", name="names_list", old=".int2str(validation_87_label)", new=".names[validation_87_label]"),
    dict(
        cell="tokenize_function",
        name="keyword_arguments",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(text=example["sentence1"], text_pair=example["sentence2"], truncation=True)',
    ),
    dict(
        cell="collate_batch",
        name="one_minus_mean",
        old='padding_share = float((batch["attention_mask"] == 0).sum() / batch["attention_mask"].numel())',
        new='padding_share = 1.0 - batch["attention_mask"].float().mean().item()',
    ),
]
