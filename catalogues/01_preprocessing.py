"""Wrong answers and correct alternatives for 01_preprocessing (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

WRONG = [
    # ------------------------------------------------------------------------------------------ try_labels
    dict(
        cell="try_labels",
        name="label_id_not_name",
        old='return dataset.features["label"].int2str(label)',
        new="return str(label)",
        why="returns the id instead of the class name",
        reason="use the label feature's int2str",
    ),
    dict(
        cell="try_labels",
        name="validation_element_from_train",
        old='validation_87 = raw_datasets["validation"][87]',
        new='validation_87 = raw_datasets["train"][87]',
        why="wrong split: element 87 of the training set",
        reason="validation_87 is not validation element 87 (indexing starts at 0)",
    ),
    dict(
        cell="try_labels",
        name="one_based_index",
        old='raw_datasets["validation"][87]',
        new='raw_datasets["validation"][86]',
        why="counts elements from 1: element 86 is the 87th",
        reason="validation_87 is not validation element 87 (indexing starts at 0)",
    ),
    dict(
        cell="try_labels",
        name="neighbouring_train_element",
        old='raw_datasets["train"][15]',
        new='raw_datasets["train"][14]',
        why="element 14 (the same label as 15, so only the element itself shows the slip)",
        reason="train_15 is not training element 15 (indexing starts at 0)",
    ),
    dict(
        cell="try_labels",
        name="whole_element",
        old='train_15_label = train_15["label"]',
        new="train_15_label = train_15",
        why="the whole element (a dict), not its label",
        reason="train_15_label should be an int, e.g. train_15['label']",
    ),
    dict(
        cell="try_labels",
        name="guessed_names_order",
        old='return dataset.features["label"].int2str(label)',
        new='return ["equivalent", "not_equivalent"][label]',
        why="hard-codes the names in the wrong order: label 0 is not_equivalent",
        reason="validation_87_label_name: use the label feature's int2str",
    ),
    dict(
        cell="try_labels",
        name="train_label_as_name",
        old='train_15_label = train_15["label"]',
        new='train_15_label = raw_datasets["train"].features["label"].int2str(train_15["label"])',
        why="the name instead of the integer label",
        reason="train_15_label should be an int, e.g. train_15['label']",
    ),
    dict(
        cell="try_labels",
        name="name_of_a_global_label",
        old='return dataset.features["label"].int2str(label)',
        new='return dataset.features["label"].int2str(train_15_label)',
        why="names the label of another element (train_15_label happens to equal validation 87's label)",
        reason="label_name(train, 0) should be the name of that element's label",
    ),
    # ------------------------------------------------------------------------------------------ try_pair
    dict(
        cell="try_pair",
        name="concatenated_text",
        old='as_pair = tokenizer(element["sentence1"], element["sentence2"])',
        new='as_pair = tokenizer(element["sentence1"] + " " + element["sentence2"])',
        why="glues the sentences into one text: no [SEP] between them, token_type_ids all 0",
        reason="a pair has token_type_ids 0 for sentence 1 and 1 for sentence 2",
    ),
    dict(
        cell="try_pair",
        name="list_of_two_texts",
        old='as_pair = tokenizer(element["sentence1"], element["sentence2"])',
        new='as_pair = tokenizer([element["sentence1"], element["sentence2"]])',
        why="a list is a batch of two separate texts, not a pair",
        reason="TypeError: unhashable type: 'list'",
    ),
    dict(
        cell="try_pair",
        name="swapped_pair",
        old='as_pair = tokenizer(element["sentence1"], element["sentence2"])',
        new='as_pair = tokenizer(element["sentence2"], element["sentence1"])',
        why="sentence2 first: the pair is in the wrong order",
        reason="tokenized together, as a pair",
    ),
    dict(
        cell="try_pair",
        name="wrong_element",
        old='element = raw_datasets["train"][15]',
        new='element = raw_datasets["train"][0]',
        why="element 0 instead of element 15",
        reason="first_alone: sentence1 of element 15",
    ),
    dict(
        cell="try_pair",
        name="second_is_first",
        old='second_alone = tokenizer(element["sentence2"])',
        new='second_alone = tokenizer(element["sentence1"])',
        why="copy-paste: second_alone tokenizes sentence1 again",
        reason="second_alone: sentence2 of element 15",
    ),
    # ------------------------------------------------------------------------------------------ tokenize_function
    dict(
        cell="tokenize_function",
        name="no_truncation",
        old=", truncation=True)",
        new=")",
        why="sequences longer than the model are kept",
        reason="truncate to the model's maximum length (truncation=True)",
    ),
    dict(
        cell="tokenize_function",
        name="first_sentence_only",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(example["sentence1"], truncation=True)',
        why="MRPC is a sentence-pair task",
        reason="tokenize sentence1 and sentence2 together, as a pair",
    ),
    dict(
        cell="tokenize_function",
        name="pads_to_max_length",
        old="truncation=True)",
        new='truncation=True, padding="max_length")',
        why="static padding in map(): the collator's dynamic padding has nothing left to do",
        fails=["test_tokenize_function", "test_collate_batch"],
        reason="no padding here: every encoding keeps its own length",
    ),
    dict(
        cell="tokenize_function",
        name="pads_in_map",
        old="truncation=True)",
        new="truncation=True, padding=True)",
        why="pads each map() batch of 1,000 to its longest: the collator's batches then hold that padding",
        fails=["test_tokenize_function", "test_collate_batch"],
        reason="no padding here: every encoding keeps its own length",
    ),
    dict(
        cell="tokenize_function",
        name="swapped_sentences",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(example["sentence2"], example["sentence1"], truncation=True)',
        why="the pair in the wrong order",
        reason="tokenize sentence1 and sentence2 together, as a pair",
    ),
    dict(
        cell="tokenize_function",
        name="concatenates_lists",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(example["sentence1"] + example["sentence2"], truncation=True)',
        why="with batched=True the columns are lists: + joins the lists, giving 2n single texts (map() fails)",
        fails=["test_tokenize_function", "test_collate_batch"],
        reason="with a batch of 4 examples you should get 4 encodings",
    ),
    dict(
        cell="tokenize_function",
        name="returns_tensors",
        old="truncation=True)",
        new='truncation=True, return_tensors="pt")',
        why="tensors need equal lengths: fails without padding (and map() stores lists anyway)",
        fails=["test_tokenize_function", "test_collate_batch"],
        reason="ValueError: Unable to create tensor",
    ),
    dict(
        cell="tokenize_function",
        name="no_return",
        old='    return tokenizer(example["sentence1"]',
        new='    tokenizer(example["sentence1"]',
        why="the function returns None: map() adds nothing",
        fails=["test_tokenize_function", "test_collate_batch"],
        reason="AttributeError: 'NoneType' object has no attribute 'keys'",
    ),
    # ------------------------------------------------------------------------------------------ collate_batch
    dict(
        cell="collate_batch",
        name="counts_real_tokens",
        old='(batch["attention_mask"] == 0)',
        new='(batch["attention_mask"] == 1)',
        why="share of real tokens instead of padding",
        reason="count the positions whose attention mask is 0, over all positions",
    ),
    dict(
        cell="collate_batch",
        name="count_not_share",
        old='padding_share = float((batch["attention_mask"] == 0).sum() / batch["attention_mask"].numel())',
        new='padding_share = float((batch["attention_mask"] == 0).sum())',
        why="the number of padding positions, not their share",
        reason="padding_share is a share: between 0 and 1",
    ),
    dict(
        cell="collate_batch",
        name="per_example_count",
        old='batch["attention_mask"].numel()',
        new='batch["attention_mask"].shape[0]',
        why="divides by the number of examples: padding tokens per example",
        reason="padding_share is a share: between 0 and 1",
    ),
    dict(
        cell="collate_batch",
        name="collates_text_columns",
        old="batch = data_collator(samples)",
        new='batch = data_collator(tokenized_datasets["train"][:8])',
        why="the raw slice still holds the sentences (strings) and idx: the collator cannot make tensors",
        reason="raised ValueError: Unable to create tensor",
    ),
    dict(
        cell="collate_batch",
        name="tokenizer_pad",
        old="batch = data_collator(samples)",
        new='batch = tokenizer.pad(samples, return_tensors="pt")',
        why="tokenizer.pad keeps the column label: the model wants labels (the collator renames it)",
        reason="the collator renames label to labels",
    ),
    dict(
        cell="collate_batch",
        name="collator_max_length",
        old="batch = data_collator(samples)",
        new='batch = DataCollatorWithPadding(tokenizer=tokenizer, padding="max_length")(samples)',
        why="static padding to 512 where dynamic padding was asked",
        reason="dynamic padding pads to the longest of these 8 examples",
    ),
    # issue 28: the judge checked the batch only against the student's own samples; made-up samples, batch and
    # padding_share that agree with each other got the 3 points
    dict(
        cell="collate_batch",
        name="made_up_samples",
        source=(
            "samples = {\"input_ids\": [[101, 2000 + i, 102] + [2050] * i for i in range(8)],\n"
            "           \"token_type_ids\": [[0] * (3 + i) for i in range(8)],\n"
            "           \"attention_mask\": [[1] * (3 + i) for i in range(8)],\n"
            "           \"label\": [i % 2 for i in range(8)]}\n"
            "batch = data_collator(samples)\n"
            "padding_share = float((batch[\"attention_mask\"] == 0).sum() / batch[\"attention_mask\"].numel())\n"
        ),
        why="a hostile answer: samples of its own, so that the batch and the share agree with them",
        reason="should be data_collator(samples) of these 8 examples",
    ),
    dict(
        cell="collate_batch",
        name="batch_of_pairs",
        old="batch = data_collator(samples)",
        new='batch = data_collator(list(zip(samples["input_ids"], samples["label"])))',
        why="(input_ids, label) pairs instead of the examples: the collator wants dicts (or a dict of lists)",
        reason="call data_collator on samples as they are",
    ),
] + quiz_mistakes({
    "quiz_1": ('"b"', ['"a"', '"c"'], "(b). The tokenizer puts [CLS] first"),
    "quiz_2": ('"c"', ['"a"', '"d"'], "(c). map() adds the tokenizer's columns"),
    "quiz_3": ('"b"', ['"a"'], "(b). A collate function"),
})

RIGHT = [
    dict(cell="try_labels", name="names_list", old=".int2str(label)", new=".names[label]"),
    dict(
        cell="try_labels",
        name="column_indexing",
        replace=[
            ('train_15_label = train_15["label"]', 'train_15_label = raw_datasets["train"]["label"][15]'),
            ('label = dataset[index]["label"]', 'label = dataset["label"][index]'),
        ],
    ),
    dict(
        cell="try_pair",
        name="keyword_text_pair",
        old='as_pair = tokenizer(element["sentence1"], element["sentence2"])',
        new='as_pair = tokenizer(text=element["sentence1"], text_pair=element["sentence2"])',
    ),
    dict(
        cell="try_pair",
        name="unpacked_sentences",
        source=(
            "s1, s2 = raw_train_dataset[15][\"sentence1\"], raw_train_dataset[15][\"sentence2\"]\n"
            "first_alone, second_alone = tokenizer(s1), tokenizer(s2)\n"
            "as_pair = tokenizer(s1, s2)\n"
            "print(len(first_alone[\"input_ids\"]), len(second_alone[\"input_ids\"]), len(as_pair[\"input_ids\"]))\n"
        ),
    ),
    dict(
        cell="tokenize_function",
        name="keyword_arguments",
        old='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        new='tokenizer(text=example["sentence1"], text_pair=example["sentence2"], truncation=True)',
    ),
    dict(
        cell="tokenize_function",
        name="lambda",
        source=(
            "tokenize_function = lambda example: tokenizer(example[\"sentence1\"], example[\"sentence2\"],\n"
            "                                              truncation=\"longest_first\")\n"
        ),
    ),
    dict(
        cell="collate_batch",
        name="one_minus_mean",
        old='padding_share = float((batch["attention_mask"] == 0).sum() / batch["attention_mask"].numel())',
        new='padding_share = 1.0 - batch["attention_mask"].float().mean().item()',
    ),
    dict(
        cell="collate_batch",
        name="pad_token_ids_numpy",
        old='padding_share = float((batch["attention_mask"] == 0).sum() / batch["attention_mask"].numel())',
        new=(
            "import numpy as np\n"
            'padding_share = float(np.mean(batch["input_ids"].numpy() == tokenizer.pad_token_id))'
        ),
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[('quiz_1 = "b"', 'quiz_1 = "B"'), ('quiz_2 = "c"', 'quiz_2 = " c "'), ('quiz_3 = "b"', "quiz_3 = 'b'")],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
EQUIVALENT = {
    "collate_batch: name: 'attention_mask' -> 'input_ids' in line 3": (
        "input_ids == 0 marks the same positions: the pad token's id is 0 for this uncased BERT vocabulary "
        "(the pad_token_id alternative above is the general form)"
    ),
    "collate_batch: name: 'attention_mask' -> 'input_ids' in line 3 #2": "input_ids has the same shape (numel) as the attention mask",
}
