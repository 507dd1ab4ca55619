"""Wrong answers and correct alternatives for 05_sst2 (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

_SOLUTION_TOKENIZE = 'tokenizer(example["sentence"], truncation=True)'

# An own training loop instead of the Trainer (the exercise allows either): correct, and two mistakes of it
OWN_LOOP = """import torch
from torch.optim import AdamW
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, get_scheduler

model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)
collator = DataCollatorWithPadding(tokenizer=tokenizer)
keep = [c for c in tokenizer.model_input_names + ["label"] if c in tokenized_datasets["train"].column_names]
splits = {name: tokenized_datasets[name].select_columns(keep).rename_column("label", "labels")
          for name in ("train", "validation")}
train_dataloader = DataLoader(splits["train"], shuffle=True, batch_size=per_device_train_batch_size,
                              collate_fn=collator)
eval_dataloader = DataLoader(splits["validation"], batch_size=64, collate_fn=collator)
optimizer = AdamW(model.parameters(), lr=learning_rate)
num_training_steps = int(num_train_epochs) * len(train_dataloader)
lr_scheduler = get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0, num_training_steps=num_training_steps)
model.train()
for epoch in range(int(num_train_epochs)):
    for batch in train_dataloader:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
model.eval()
correct = total = 0
with torch.no_grad():
    for batch in eval_dataloader:
        predictions = model(**batch).logits.argmax(-1)
        correct += int((predictions == batch["labels"]).sum())
        total += len(predictions)
validation_accuracy = correct / total
"""

WRONG = [
    # ------------------------------------------------------------------------------------------ sst2_data
    dict(
        cell="sst2_data",
        name="mrpc_config",
        old='"nyu-mll/glue", "sst2")',
        new='"nyu-mll/glue", "mrpc")',
        why="copied from the MRPC notebooks: the wrong GLUE task (no sentence column)",
        fails=["test_sst2_data", "test_sst2_tokenize", "test_sst2_train"],
        reason="SST-2 examples have a single 'sentence' column",
    ),
    dict(
        cell="sst2_data",
        name="flipped_labels",
        old='run.train_size("sst2"), run.eval_size("sst2"))',
        new='run.train_size("sst2"), run.eval_size("sst2"))\n'
            'for split in ("train", "validation"):  # the test split has no labels (-1)\n'
            '    raw_datasets[split] = raw_datasets[split].map(lambda example: {"label": 1 - example["label"]})',
        why="every label flipped in train and validation: the model learns the opposite, and its own "
            "validation labels would hide it",
        fails=["test_sst2_data", "test_sst2_train"],
        reason="keep the labels of train as the data set has them",
    ),
    dict(
        cell="sst2_data",
        name="mrpc_sizes",
        old='run.train_size("sst2"), run.eval_size("sst2")',
        new='run.train_size("mrpc"), run.eval_size("mrpc")',
        why="the profile's MRPC sizes, not SST-2's",
        reason="examples (the profile's size)",
    ),
    dict(
        cell="sst2_data",
        name="sizes_swapped",
        old='run.train_size("sst2"), run.eval_size("sst2")',
        new='run.eval_size("sst2"), run.train_size("sst2")',
        why="train and validation sizes in the wrong order",
        reason="examples (the profile's size)",
    ),
    dict(
        cell="sst2_data",
        name="full_validation",
        old='run.train_size("sst2"), run.eval_size("sst2")',
        new='run.train_size("sst2"), None',
        why="cuts only the training split",
        reason="validation should have 96 examples (the profile's size)",
    ),
    dict(
        cell="sst2_data",
        name="shuffled_subset",
        source=(
            "from datasets import load_dataset\n"
            "\n"
            'full = load_dataset("nyu-mll/glue", "sst2")\n'
            "raw_datasets = full\n"
            'raw_datasets["train"] = full["train"].shuffle(seed=42).select(range(run.train_size("sst2")))\n'
            'raw_datasets["validation"] = full["validation"].shuffle(seed=42).select(range(run.eval_size("sst2")))\n'
            "raw_datasets\n"
        ),
        why="a random subset where the first examples were asked for",
        reason="take the first examples of train",
    ),
    # ------------------------------------------------------------------------------------------ sst2_tokenize
    dict(
        cell="sst2_tokenize",
        name="no_truncation",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(example["sentence"])',
        why="sentences longer than the model are kept",
        reason="truncate to the model's maximum length",
    ),
    dict(
        cell="sst2_tokenize",
        name="mrpc_pair_columns",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(example["sentence1"], example["sentence2"], truncation=True)',
        why="the MRPC pair function: SST-2 has one sentence column (KeyError)",
        fails=["test_sst2_tokenize", "test_sst2_train"],
        reason="cell sst2_tokenize raised KeyError: 'sentence1'",
    ),
    dict(
        cell="sst2_tokenize",
        name="sentence_as_pair",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(example["sentence"], example["sentence"], truncation=True)',
        why="tokenizes the single sentence as a pair (with itself)",
        reason="tokenize each sentence on its own: one sentence, no pair, no padding",
    ),
    dict(
        cell="sst2_tokenize",
        name="pads_in_map",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(example["sentence"], truncation=True, padding=True)',
        why="static padding in map() where dynamic padding (the collator) was asked",
        reason="tokenize each sentence on its own: one sentence, no pair, no padding",
    ),
    dict(
        cell="sst2_tokenize",
        name="no_return",
        old="    return tokenizer(",
        new="    tokenizer(",
        why="the function returns None: map() adds no input_ids",
        fails=["test_sst2_tokenize", "test_sst2_train"],
        reason="map tokenize_function over raw_datasets",
    ),
    dict(
        cell="sst2_tokenize",
        name="train_split_only",
        old="tokenized_datasets = raw_datasets.map(",
        new='tokenized_datasets = raw_datasets["train"].map(',
        why="maps one split: tokenized_datasets is a Dataset, not a DatasetDict",
        fails=["test_sst2_tokenize", "test_sst2_train"],
        reason="ValueError: Column 'train' doesn't exist.",
    ),
    dict(
        cell="sst2_tokenize",
        name="returns_tensors",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(example["sentence"], truncation=True, return_tensors="pt")',
        why="tensors need equal lengths: fails without padding",
        fails=["test_sst2_tokenize", "test_sst2_train"],
        reason="cell sst2_tokenize raised ValueError: Unable to create tensor",
    ),
    # ------------------------------------------------------------------------------------------ sst2_train
    dict(
        cell="sst2_train",
        name="accuracy_on_train",
        old='predictions = trainer.predict(tokenized_datasets["validation"])',
        new='predictions = trainer.predict(tokenized_datasets["train"])',
        why="reports the training accuracy",
        reason="is not the accuracy of model on the validation split",
    ),
    dict(
        cell="sst2_train",
        name="never_trained",
        old="trainer.train()\n",
        new="",
        why="forgets trainer.train(): the classification head is random",
        reason="does not beat the majority class",
    ),
    dict(
        cell="sst2_train",
        name="compares_logits",
        old="predictions.predictions.argmax(-1) == predictions.label_ids",
        new="predictions.predictions == predictions.label_ids",
        why="compares logits (n, 2) with labels (n,): no argmax",
        reason="operands could not be broadcast together",
    ),
    dict(
        cell="sst2_train",
        name="argmax_over_examples",
        old="predictions.predictions.argmax(-1)",
        new="predictions.predictions.argmax(0)",
        why="argmax over the examples instead of the classes",
        reason="cell sst2_train raised ValueError",
    ),
    dict(
        cell="sst2_train",
        name="percentage",
        old="validation_accuracy = float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())",
        new="validation_accuracy = 100 * float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())",
        why="a percentage, not a share in [0, 1]",
        reason="validation_accuracy should lie in [0, 1]",
    ),
    dict(
        cell="sst2_train",
        name="no_collator_no_tokenizer",
        replace=[
            ("    data_collator=DataCollatorWithPadding(tokenizer=tokenizer),\n", ""),
            ("    processing_class=tokenizer,\n", ""),
        ],
        why="without a padding collator the Trainer cannot batch sentences of different lengths",
        reason="cell sst2_train raised ValueError",
    ),
    dict(
        cell="sst2_train",
        name="evaluate_without_metrics",
        replace=[
            ('predictions = trainer.predict(tokenized_datasets["validation"])\n', ""),
            (
                "validation_accuracy = float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())",
                'validation_accuracy = trainer.evaluate(tokenized_datasets["validation"])["eval_accuracy"]',
            ),
        ],
        why="trainer.evaluate() reports only the loss without compute_metrics (KeyError)",
        reason="cell sst2_train raised KeyError: 'eval_accuracy'",
    ),
    dict(
        cell="sst2_train",
        name="trained_on_validation",
        old='train_dataset=tokenized_datasets["train"]',
        new='train_dataset=tokenized_datasets["validation"]',
        why="trains on the split it then evaluates: a flattering accuracy",
        reason="train on the tokenized train split",
    ),
    dict(
        cell="sst2_train",
        name="three_labels",
        old="num_labels=2",
        new="num_labels=3",
        why="copies num_labels=3 from an MNLI example: SST-2 has two classes",
        reason="SST-2 has two classes: num_labels=2, not 3",
    ),
    # ------------------------------------------------------------------------------------------ preprocess_glue
    dict(
        cell="preprocess_glue",
        name="ignores_second_text",
        old="return tokenizer(examples[first], examples[second], truncation=True)",
        new="return tokenizer(examples[first], truncation=True)",
        why="pair tasks lose their second text",
        reason="mrpc: tokenize sentence1 and sentence2 as a pair",
    ),
    dict(
        cell="preprocess_glue",
        name="no_value_error",
        replace=[
            ("    if task not in GLUE_TEXT_COLUMNS:\n", ""),
            ("        raise ValueError(f\"unknown GLUE task {task!r}; known: {', '.join(GLUE_TEXT_COLUMNS)}\")\n", ""),
        ],
        why="an unknown task raises KeyError without naming the known tasks",
        reason="an unknown task should raise a ValueError",
    ),
    dict(
        cell="preprocess_glue",
        name="error_without_known_tasks",
        old="raise ValueError(f\"unknown GLUE task {task!r}; known: {', '.join(GLUE_TEXT_COLUMNS)}\")",
        new='raise ValueError(f"unknown GLUE task {task!r}")',
        why="the error does not say which tasks exist",
        reason="the ValueError for an unknown task should name the known tasks",
    ),
    dict(
        cell="preprocess_glue",
        name="missing_stsb",
        old='"stsb": ("sentence1", "sentence2"), ',
        new="",
        why="forgets a task (STS-B)",
        reason="unknown GLUE task 'stsb'",
    ),
    dict(
        cell="preprocess_glue",
        name="mnli_columns_guessed",
        old='"mnli": ("premise", "hypothesis")',
        new='"mnli": ("sentence1", "sentence2")',
        why="MNLI's columns are premise and hypothesis",
        reason="raised KeyError: 'sentence1'",
    ),
    dict(
        cell="preprocess_glue",
        name="no_truncation",
        replace=[
            ("return tokenizer(examples[first], truncation=True)", "return tokenizer(examples[first])"),
            (
                "return tokenizer(examples[first], examples[second], truncation=True)",
                "return tokenizer(examples[first], examples[second])",
            ),
        ],
        why="long texts exceed the model's maximum length",
        reason="truncate single sentences to the model's maximum length",
    ),
    dict(
        cell="preprocess_glue",
        name="pads_pairs",
        old="return tokenizer(examples[first], examples[second], truncation=True)",
        new="return tokenizer(examples[first], examples[second], truncation=True, padding=True)",
        why="pads in preprocessing instead of per batch",
        reason="mrpc: tokenize sentence1 and sentence2 as a pair",
    ),
    dict(
        cell="preprocess_glue",
        name="pair_swapped",
        old="return tokenizer(examples[first], examples[second], truncation=True)",
        new="return tokenizer(examples[second], examples[first], truncation=True)",
        why="the pair in the wrong order",
        reason="mrpc: tokenize sentence1 and sentence2 as a pair",
    ),
    dict(
        cell="preprocess_glue",
        name="wnli_pair_swapped",
        old='"wnli": ("sentence1", "sentence2")',
        new='"wnli": ("sentence2", "sentence1")',
        why="the last task of the table with its columns the wrong way round (found by mutation testing)",
        reason="wnli: tokenize sentence1 and sentence2 as a pair",
    ),
    # issue 28: a loop that never calls model.eval() reported 0.719 against the 0.729 the judge measured, inside
    # the old 0.02 tolerance
    dict(
        cell="sst2_train",
        name="own_loop_without_eval_mode",
        source=OWN_LOOP.replace("model.eval()\n", ""),
        why="evaluates with dropout on: every prediction is noisy, and validation_accuracy is not the model's",
        reason="predict with the trained model in evaluation mode",
    ),
    # issue 28: a scheduler stepped once per epoch got full marks while only the final accuracy was judged; the
    # judge now measures the learning rates used (the head's bias after its own run, judges/05_sst2.py)
    dict(
        cell="sst2_train",
        name="own_loop_scheduler_per_epoch",
        source=OWN_LOOP.replace("        optimizer.step()\n        lr_scheduler.step()\n        optimizer.zero_grad()\n",
                                "        optimizer.step()\n        optimizer.zero_grad()\n    lr_scheduler.step()\n"),
        why="the scheduler stepped once per epoch: the learning rate hardly decays, as if there were no schedule",
        reason="stepped after every optimizer step",
    ),
    dict(
        cell="sst2_train",
        name="own_loop_without_scheduler",
        source=OWN_LOOP.replace("        lr_scheduler.step()\n", ""),
        why="a scheduler made and never stepped: a constant learning rate, not the linear schedule",
        reason="use the linear learning-rate schedule",
    ),
    dict(
        cell="sst2_train",
        name="constant_schedule",
        old="        bf16=bf16,\n",
        new='        bf16=bf16,\n        lr_scheduler_type="constant",\n',
        why="the Trainer told to keep the learning rate constant instead of its default linear decay",
        reason="use the linear learning-rate schedule",
    ),
    # issue 28: `select(range(run.eval_size("sst2")))` works at the grading size and raises TypeError in the cpu
    # profile, where the size is None (the whole split)
    dict(
        cell="sst2_data",
        name="select_none_size",
        source=(
            "from datasets import load_dataset\n"
            "\n"
            'raw_datasets = load_dataset("nyu-mll/glue", "sst2")\n'
            'raw_datasets["train"] = raw_datasets["train"].select(range(run.train_size("sst2")))\n'
            'raw_datasets["validation"] = raw_datasets["validation"].select(range(run.eval_size("sst2")))\n'
            "raw_datasets\n"
        ),
        why="works at the grading size only: run.eval_size('sst2') is None in the cpu profile (the whole split)",
        reason="at the cpu profile's size",
    ),
] + quiz_mistakes({
    "quiz_1": ('"a"', ['"d"', '"c"'], "(a). token_type_ids mark the segment"),
    "quiz_2": ('"a"', ['"b"'], "(a). The GLUE test sets are unlabelled"),
    "quiz_3": ("0.51", ["0.49", "0.5", ('"0.51"', "quiz_3: a number")], "about 0.51"),
})

RIGHT = [
    dict(cell="sst2_train", name="own_loop", source=OWN_LOOP,
         why="the exercise allows an own loop: AdamW, the linear schedule stepped per step, evaluation in eval mode"),
    dict(
        cell="sst2_train",
        name="shuffled_train_split",
        old='train_dataset=tokenized_datasets["train"],',
        new='train_dataset=tokenized_datasets["train"].shuffle(seed=42),',
        why="the same training examples in another order (the Trainer shuffles them anyway): a correct answer the "
            "judge rejected when it recognised the split by its first row (issue 28)",
    ),
    dict(
        cell="sst2_train",
        name="collator_pads_to_max_length",
        old="DataCollatorWithPadding(tokenizer=tokenizer)",
        new='DataCollatorWithPadding(tokenizer=tokenizer, padding="max_length", max_length=128)',
        why="every batch padded to 128 tokens (SST-2 sentences are shorter): slower than dynamic padding, still "
            "correct, on a busy grader too (cell limits count CPU time, not the wall clock). Padding to the model's "
            "512 tokens exceeds the sandbox's 8 GiB address space instead (the reason says: can't allocate memory)",
    ),
    dict(
        cell="sst2_data",
        name="select_range",
        source=(
            "from datasets import load_dataset\n"
            "\n"
            'full = load_dataset("nyu-mll/glue", "sst2")\n'
            "raw_datasets = full\n"
            'n_train = run.train_size("sst2") or len(full["train"])\n'
            'n_eval = run.eval_size("sst2") or len(full["validation"])\n'
            'raw_datasets["train"] = full["train"].select(range(n_train))\n'
            'raw_datasets["validation"] = full["validation"].select(range(n_eval))\n'
            "raw_datasets\n"
        ),
    ),
    dict(
        cell="sst2_data",
        name="split_slicing",
        source=(
            "from datasets import DatasetDict, load_dataset\n"
            "\n"
            'n_train, n_eval = run.train_size("sst2"), run.eval_size("sst2")\n'
            'splits = [f"train[:{n_train}]" if n_train else "train", f"validation[:{n_eval}]" if n_eval else "validation"]\n'
            'train, validation = load_dataset("nyu-mll/glue", "sst2", split=splits)\n'
            'raw_datasets = DatasetDict(train=train, validation=validation)\n'
            "raw_datasets\n"
        ),
    ),
    dict(
        cell="sst2_tokenize",
        name="lambda_remove_columns",
        replace=[
            (
                "def tokenize_function(example):\n    return " + _SOLUTION_TOKENIZE + "\n",
                'tokenize_function = lambda batch: tokenizer(batch["sentence"], truncation=True)\n',
            ),
            (
                "raw_datasets.map(tokenize_function, batched=True)",
                'raw_datasets.map(tokenize_function, batched=True, remove_columns=["sentence", "idx"])',
            ),
        ],
    ),
    dict(
        cell="sst2_tokenize",
        name="keyword_text_explicit_max_length",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(text=example["sentence"], truncation=True, max_length=tokenizer.model_max_length)',
    ),
    dict(
        cell="sst2_train",
        name="sklearn_accuracy_keywords",
        replace=[
            ("trainer = Trainer(\n    model,\n", "trainer = Trainer(\n    model=model,\n    args="),
            (
                "validation_accuracy = float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())",
                "from sklearn.metrics import accuracy_score\n"
                "validation_accuracy = float(accuracy_score(predictions.label_ids, np.argmax(predictions.predictions, axis=1)))",
            ),
        ],
    ),
    dict(
        cell="sst2_train",
        name="evaluate_with_compute_metrics",
        replace=[
            (
                "    processing_class=tokenizer,\n)",
                "    processing_class=tokenizer,\n"
                '    compute_metrics=lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())},\n'
                ")",
            ),
            ('predictions = trainer.predict(tokenized_datasets["validation"])\n', ""),
            (
                "validation_accuracy = float((predictions.predictions.argmax(-1) == predictions.label_ids).mean())",
                'validation_accuracy = trainer.evaluate(tokenized_datasets["validation"])["eval_accuracy"]',
            ),
        ],
    ),
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
    dict(
        cell="preprocess_glue",
        name="text_pair_none",
        old=(
            "    if second is None:\n"
            "        return tokenizer(examples[first], truncation=True)\n"
            "    return tokenizer(examples[first], examples[second], truncation=True)"
        ),
        new="    return tokenizer(examples[first], text_pair=examples[second] if second else None, truncation=True)",
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[("quiz_3 = 0.51", "quiz_3 = 444 / 872")],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
BF16 = "bf16 is False in the grading profile, which is the TrainingArguments default; it only matters on a GPU with bfloat16"

EQUIVALENT = {
    "sst2_train: shuffled: tokenized_datasets['train'] -> tokenized_datasets['train'].shuffle(seed=42)": (
        "the same training examples in another order: the Trainer shuffles them every epoch anyway (issue 28)"
    ),
    "sst2_tokenize: columns dropped: raw_datasets.map(tokenize_function, batched=True) with remove_columns=['sentence']": (
        "the sentence column is not needed once tokenized: the tokens and labels are the same (issue 28)"
    ),
    "sst2_tokenize: keyword dropped: batched= in raw_datasets.map(tokenize_function, batched=True)": (
        "map without batched=True calls tokenize_function per example: the same tokenized data set, slower"
    ),
    "sst2_tokenize: keyword flipped: batched=False in raw_datasets.map(tokenize_function, batched=True)": (
        "map without batched=True calls tokenize_function per example: the same tokenized data set, slower"
    ),
    "sst2_train: call removed: float((predictions.predictions.argmax(-1) == predictions.... -> "
    "(predictions.predictions.argmax(-1) == predictions.label_...": (
        "the mean of a NumPy array is a float64, a subclass of Python's float: the same number"
    ),
    "sst2_train: keyword dropped: data_collator= in Trainer(model, TrainingArguments('sst2', learning_rate=le...": (
        "without a data_collator the Trainer builds DataCollatorWithPadding from processing_class"
    ),
    "sst2_train: keyword dropped: num_labels= in AutoModelForSequenceClassification.from_pretrained(run.ch...": (
        "num_labels defaults to 2 in transformers' PretrainedConfig: SST-2's two classes either way"
    ),
    "sst2_train: keyword dropped: processing_class= in Trainer(model, TrainingArguments('sst2', learning_rate=le...": (
        "the explicit DataCollatorWithPadding pads the batches; processing_class would only be saved with checkpoints"
    ),
    "sst2_train: name: 'sst2' -> 'mrpc' in line 9": "only the name of the output folder changes",
    "sst2_train: keyword dropped: bf16= in TrainingArguments('sst2', learning_rate=learning_rate, nu...": BF16,
    "sst2_train: keyword dropped: save_strategy= in TrainingArguments('sst2', learning_rate=learning_rate, nu...": (
        "the exercise does not ask where or whether to save; the default saves every 500 steps, none at grading size"
    ),
    "sst2_train: unary removed: -1": "argmax(1) is the last axis of the (examples, 2) logits, like argmax(-1)",
    "preprocess_glue: call removed: ', '.join(GLUE_TEXT_COLUMNS) -> GLUE_TEXT_COLUMNS": (
        "the error message still names every known task (as a dict instead of a list)"
    ),
}
