"""Wrong answers and correct alternatives for 03_compute_metrics (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

# compute_metrics with scikit-learn; the F1 arguments make the entry right or wrong
_SKLEARN_COMPUTE_METRICS = (
    "from sklearn.metrics import accuracy_score, f1_score\n"
    "\n"
    "\n"
    "def compute_metrics(eval_preds):\n"
    "    logits, labels = eval_preds\n"
    "    predictions = np.argmax(logits, axis=-1)\n"
    '    return {{"accuracy": float(accuracy_score(labels, predictions)),\n'
    '            "f1": float(f1_score(labels, predictions{f1_args}))}}\n'
)

TYPED_METRICS = """    compute_metrics=compute_metrics,
)
trainer.train = lambda *args, **kwargs: None  # no training at all
trainer.state.epoch = float(num_train_epochs)
course.training.metrics_per_epoch = lambda history: [
    {"epoch": float(e + 1), "loss": 0.6 - 0.05 * e, "accuracy": 0.7 + 0.02 * e, "f1": 0.8 + 0.01 * e}
    for e in range(int(num_train_epochs))]"""

WRONG = [
    # ------------------------------------------------------------------------------------------ compute_metrics
    dict(
        cell="compute_metrics",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples; evaluation during training then fails too",
        fails=["test_compute_metrics", "test_epoch_metrics"],
        reason="ValueError: Mismatch in the number of predictions (2) and references",
    ),
    dict(
        cell="compute_metrics",
        name="passes_logits",
        old="metric.compute(predictions=predictions, references=labels)",
        new="metric.compute(predictions=logits, references=labels)",
        why="logits instead of class ids: the metric cannot compare them with the labels",
        fails=["test_compute_metrics", "test_epoch_metrics"],
        reason="ValueError: Predictions and/or references don't match the expected",
    ),
    dict(
        cell="compute_metrics",
        name="f1_of_class_0",
        source=_SKLEARN_COMPUTE_METRICS.format(f1_args=", pos_label=0, zero_division=0"),
        why="F1 of the wrong class (MRPC's positive class is 1, equivalent)",
        reason="F1 of the positive class",
    ),
    dict(
        cell="compute_metrics",
        name="macro_f1",
        source=_SKLEARN_COMPUTE_METRICS.format(f1_args=', average="macro", zero_division=0'),
        why="macro F1 (mean over both classes) instead of the F1 of the positive class GLUE reports",
        reason="F1 of the positive class",
    ),
    dict(
        cell="compute_metrics",
        name="accuracy_only",
        old="return metric.compute(predictions=predictions, references=labels)",
        new='return {"accuracy": float((predictions == labels).mean())}',
        why="no F1: the per-epoch table lacks it too",
        fails=["test_compute_metrics", "test_epoch_metrics"],
        reason="return accuracy and f1",
    ),
    dict(
        cell="compute_metrics",
        name="threshold_logit_half",
        old="predictions = np.argmax(logits, axis=-1)",
        new="predictions = (logits[:, 1] > 0.5).astype(int)",
        why="thresholds a logit as if it were a probability",
        reason="3 of these 4 predictions are right",
    ),
    dict(
        cell="compute_metrics",
        name="ties_to_positive",
        old="predictions = np.argmax(logits, axis=-1)",
        new="predictions = (logits[:, 1] >= logits[:, 0]).astype(int)",
        why="a tie goes to class 1, unlike np.argmax (and the model's own predictions)",
        reason="a tie goes to the first class (np.argmax)",
    ),
    dict(
        cell="compute_metrics",
        name="unpacks_reversed",
        old="logits, labels = eval_preds",
        new="labels, logits = eval_preds",
        why="EvalPrediction is (predictions, label_ids): the labels get the logits",
        fails=["test_compute_metrics", "test_epoch_metrics"],
        reason="TypeError: object of type 'numpy.int64' has no len()",
    ),
    dict(
        cell="compute_metrics",
        name="attribute_access_only",
        old="logits, labels = eval_preds",
        new="logits, labels = eval_preds.predictions, eval_preds.label_ids",
        why="works with an EvalPrediction only, not with the (logits, labels) tuple the function is given",
        reason="AttributeError: 'tuple' object has no attribute 'predictions'",
    ),
    # ------------------------------------------------------------------------------------------ precision_recall
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
        reason="precision 1/3 (TP / predicted positives) and recall 1/2",
    ),
    dict(
        cell="precision_recall",
        name="no_zero_guard",
        replace=[
            (" if predicted_positives else 0.0", ""),
            (" if actual_positives else 0.0", ""),
        ],
        why="0/0 gives nan and a RuntimeWarning instead of 0.0",
        reason="nothing predicted positive: precision 0.0, not an error or nan",
    ),
    dict(
        cell="precision_recall",
        name="class_0_positive",
        replace=[
            ("(predictions == 1) & (references == 1)", "(predictions == 0) & (references == 0)"),
            ("np.sum(predictions == 1)", "np.sum(predictions == 0)"),
            ("np.sum(references == 1)", "np.sum(references == 0)"),
        ],
        why="treats class 0 as the positive class",
        reason="with class 1 as the positive class",
    ),
    dict(
        cell="precision_recall",
        name="returns_dict",
        old="return float(precision), float(recall)",
        new='return {"precision": float(precision), "recall": float(recall)}',
        why="a dict, not the (precision, recall) pair asked for",
        reason="expected (0.5, 0.5)",
    ),
    dict(
        cell="precision_recall",
        name="true_positives_are_matches",
        old="true_positives = np.sum((predictions == 1) & (references == 1))",
        new="true_positives = np.sum(predictions == references)",
        why="counts every correct prediction (true negatives too) as a true positive",
        reason="expected (0.5, 0.5)",
    ),
    dict(
        cell="precision_recall",
        name="no_asarray",
        old="    predictions, references = np.asarray(predictions), np.asarray(references)\n",
        new="",
        why="with Python lists, predictions == 1 is a single False: every count is 0",
        reason="expected (0.5, 0.5)",
    ),
    dict(
        cell="precision_recall",
        name="returns_recall_first",
        old="return float(precision), float(recall)",
        new="return float(recall), float(precision)",
        why="the pair in the wrong order",
        reason="precision 1/3 (TP / predicted positives) and recall 1/2",
    ),
    # ------------------------------------------------------------------------------------------ epoch_trainer
    # issue 28: the judge trusted the epoch_metrics rows and trainer.state.epoch, which live in the kernel: no train()
    # at all, trainer.state.epoch set and typed-in rows got 14 points against 12 for the honest mistake
    dict(
        cell="epoch_trainer",
        name="no_training_typed_metrics",
        old="    compute_metrics=compute_metrics,\n)",
        new=TYPED_METRICS,
        why="a hostile answer: the Trainer is right, but it never trains, and the per-epoch rows are typed in",
        fails=["test_epoch_metrics"],
        reason="train the model",
    ),
    dict(
        cell="epoch_trainer",
        name="no_eval_strategy",
        old='eval_strategy="epoch",',
        new="",
        why="never evaluates during training",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="evaluate every epoch: eval_strategy='epoch'",
    ),
    dict(
        cell="epoch_trainer",
        name="no_compute_metrics",
        old="    compute_metrics=compute_metrics,\n",
        new="",
        why="evaluation reports only the loss",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="give the Trainer your compute_metrics",
    ),
    dict(
        cell="epoch_trainer",
        name="old_keyword",
        old='eval_strategy="epoch",',
        new='evaluation_strategy="epoch",',
        why="evaluation_strategy was removed from TrainingArguments (transformers 5): TypeError",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="got an unexpected keyword argument 'evaluation_strategy'",
    ),
    dict(
        cell="epoch_trainer",
        name="steps_strategy",
        old='eval_strategy="epoch",',
        new='eval_strategy="steps",',
        why="evaluates every eval_steps (= logging_steps, 500): never in a short run",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="evaluate every epoch: eval_strategy='epoch'",
    ),
    dict(
        cell="epoch_trainer",
        name="logging_strategy_instead",
        old='eval_strategy="epoch",',
        new='logging_strategy="epoch",',
        why="logs the loss every epoch but never evaluates",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="evaluate every epoch: eval_strategy='epoch'",
    ),
    dict(
        cell="epoch_trainer",
        name="evaluates_on_train",
        old='eval_dataset=tokenized_datasets["validation"]',
        new='eval_dataset=tokenized_datasets["train"]',
        why="the per-epoch metrics measure the training data (so they are not the trained model's on the validation "
            "split, which the judge measures)",
        fails=["test_epoch_trainer", "test_epoch_metrics"],
        reason="evaluate on the tokenized validation split",
    ),
    dict(
        cell="epoch_trainer",
        name="no_processing_class",
        old="    processing_class=tokenizer,\n",
        new="",
        why="the tokenizer is not saved with the model",
        fails=["test_epoch_trainer"],
        reason="processing_class=tokenizer",
    ),
] + quiz_mistakes({
    "quiz_1": ('"b"', ['"a"'], "(b). compute_metrics gets the raw outputs"),
    "quiz_2": ("0.81", ["0.68", "1.0", "0.5"], "about 0.81"),
    "quiz_3": ('"a"', ['"b"', '"d"'], "(a). Evaluation during training is off by default"),
})

RIGHT = [
    dict(
        cell="epoch_trainer",
        name="shuffled_train_split",
        old='train_dataset=tokenized_datasets["train"],',
        new='train_dataset=tokenized_datasets["train"].shuffle(seed=42),',
        why="the same training examples in another order (the Trainer shuffles them anyway): a correct answer the "
            "judge rejected when it recognised the split by its first row (issue 28)",
    ),
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
    # scikit-learn without zero_division warns (UndefinedMetricWarning, on stderr) on the hidden cases
    # with no predicted positive; the test cell catches warnings, so a right answer keeps its marks.
    dict(
        cell="compute_metrics",
        name="sklearn_default_zero_division",
        source=_SKLEARN_COMPUTE_METRICS.format(f1_args=""),
    ),
    dict(
        cell="compute_metrics",
        name="sklearn",
        source=(
            "from sklearn.metrics import accuracy_score, f1_score\n"
            "\n"
            "\n"
            "def compute_metrics(eval_preds):\n"
            "    logits, labels = eval_preds\n"
            "    predictions = logits.argmax(axis=1)\n"
            "    return {\"accuracy\": float(accuracy_score(labels, predictions)),\n"
            "            \"f1\": float(f1_score(labels, predictions, zero_division=0))}\n"
        ),
    ),
    dict(
        cell="compute_metrics",
        name="lambda",
        source=(
            "compute_metrics = lambda eval_preds: metric.compute(predictions=np.argmax(eval_preds[0], axis=-1),\n"
            "                                                    references=eval_preds[1])\n"
        ),
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
    dict(
        cell="precision_recall",
        name="python_loop",
        source=(
            "def precision_recall(predictions, references):\n"
            "    tp = fp = fn = 0\n"
            "    for p, r in zip(predictions, references):\n"
            "        if p == 1 and r == 1:\n"
            "            tp += 1\n"
            "        elif p == 1:\n"
            "            fp += 1\n"
            "        elif r == 1:\n"
            "            fn += 1\n"
            "    precision = tp / (tp + fp) if tp + fp > 0 else 0.0\n"
            "    recall = tp / (tp + fn) if tp + fn > 0 else 0.0\n"
            "    return precision, recall\n"
        ),
    ),
    dict(
        cell="epoch_trainer",
        name="kwargs_dict",
        old=(
            'training_args = TrainingArguments(\n    "test-trainer",\n    eval_strategy="epoch",\n'
            "    learning_rate=learning_rate,\n    num_train_epochs=num_train_epochs,\n"
            "    per_device_train_batch_size=per_device_train_batch_size,\n    logging_steps=logging_steps,\n"
            '    bf16=bf16,\n    save_strategy="no",  # no checkpoints: hundreds of megabytes each\n)'
        ),
        new=(
            'args = dict(output_dir="test-trainer", eval_strategy="epoch", learning_rate=learning_rate,\n'
            "            num_train_epochs=num_train_epochs, per_device_train_batch_size=per_device_train_batch_size,\n"
            '            logging_steps=logging_steps, bf16=bf16, save_strategy="no")\n'
            "training_args = TrainingArguments(**args)"
        ),
    ),
    dict(
        cell="epoch_trainer",
        name="keyword_arguments_enum",
        replace=[
            ('eval_strategy="epoch",', "eval_strategy=IntervalStrategy.EPOCH,"),
            (
                "training_args = TrainingArguments(",
                "from transformers import IntervalStrategy\n\ntraining_args = TrainingArguments(",
            ),
            ("    model,\n", "    model=model,\n"),
            ("    training_args,\n", "    args=training_args,\n"),
        ],
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[("quiz_2 = 0.81", "quiz_2 = 2 * (279 / 408) / (279 / 408 + 1)"), ('quiz_3 = "a"', 'quiz_3 = "A"')],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
BF16 = "bf16 is False in the grading profile, which is the TrainingArguments default; it only matters on a GPU with bfloat16"

EQUIVALENT = {
    "epoch_trainer: shuffled: tokenized_datasets['train'] -> tokenized_datasets['train'].shuffle(seed=42)": (
        "the same training examples in another order: the Trainer shuffles them every epoch anyway (issue 28)"
    ),
    "compute_metrics: unary removed: -1": "axis=1 is the last axis of the (examples, 2) logits, like axis=-1",
    "precision_recall: call removed: float(precision) -> precision": "NumPy's float64 is a subclass of Python's float: same value",
    "precision_recall: call removed: float(recall) -> recall": "NumPy's float64 is a subclass of Python's float: same value",
    "epoch_trainer: keyword dropped: data_collator= in Trainer(model, training_args, train_dataset=tokenized_dat...": (
        "without a data_collator the Trainer builds DataCollatorWithPadding from processing_class"
    ),
    "epoch_trainer: keyword dropped: num_labels= in AutoModelForSequenceClassification.from_pretrained(run.ch...": (
        "num_labels defaults to 2 in transformers' PretrainedConfig: MRPC's two classes either way"
    ),
    "epoch_trainer: keyword dropped: bf16= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": (
        BF16
    ),
    "epoch_trainer: keyword dropped: save_strategy= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": (
        "the exercise does not ask where or whether to save; the default saves every 500 steps, none at grading size"
    ),
}
