"""Wrong answers and correct alternatives for 06_yelp (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

_SOLUTION_TOKENIZE = 'tokenizer(examples["text"], truncation=True, max_length=run.profile.max_length)'

WRONG = [
    # ------------------------------------------------------------------------------------------ tokenize_dynamic
    dict(
        cell="tokenize_dynamic",
        name="pads_to_max_length",
        old="max_length=run.profile.max_length)",
        new='max_length=run.profile.max_length, padding="max_length")',
        why="static padding in map()",
        reason="no padding: every review keeps its own length",
    ),
    dict(
        cell="tokenize_dynamic",
        name="no_truncation",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(examples["text"])',
        why="long reviews are kept whole",
        reason="truncate to run.profile.max_length",
    ),
    dict(
        cell="tokenize_dynamic",
        name="truncates_to_model_maximum",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(examples["text"], truncation=True)',
        why="truncates to the model's 512 tokens, not to run.profile.max_length like the padded data set",
        reason="truncate to run.profile.max_length",
    ),
    dict(
        cell="tokenize_dynamic",
        name="hard_coded_max_length",
        old="max_length=run.profile.max_length)",
        new="max_length=128)",
        why="a hard-coded length: differs from the padded data set whenever the profile's max_length is not 128",
        reason="truncate to run.profile.max_length",
    ),
    dict(
        cell="tokenize_dynamic",
        name="pads_per_map_batch",
        old=_SOLUTION_TOKENIZE,
        new='tokenizer(examples["text"], truncation=True, max_length=run.profile.max_length, padding=True)',
        why="pads every map() batch to its longest review: not dynamic padding",
        reason="no padding: every review keeps its own length",
    ),
    dict(
        cell="tokenize_dynamic",
        name="no_shuffle",
        old='dataset["train"].shuffle(seed=42).select(range(n_train))',
        new='dataset["train"].select(range(n_train))',
        why="other reviews than small_train_dataset: the timing comparison is unfair",
        reason="the same reviews as small_train_dataset, in the same order",
    ),
    dict(
        cell="tokenize_dynamic",
        name="test_split",
        old='dataset["train"].shuffle(seed=42)',
        new='dataset["test"].shuffle(seed=42)',
        why="the held-out split instead of the training split",
        reason="the same reviews as small_train_dataset, in the same order",
    ),
    # found by the full mutation run after issue 28's judges: listed as equivalent until the judge ran the cell
    # again at the cpu profile's size, where an unseeded shuffle (NumPy's global generator, in another state by
    # then) picks other reviews. The text asks for a fixed seed, "the same subset on every run" (quiz 1)
    dict(
        cell="tokenize_dynamic",
        name="shuffle_without_seed",
        old='dataset["train"].shuffle(seed=42)',
        new='dataset["train"].shuffle()',
        why="no fixed seed: another run (or the cpu profile's size) draws another subset than small_train_dataset",
        reason="the same reviews as small_train_dataset, in the same order",
    ),
    # issue 28: sized code that works at the grading size only (the offline sample has 800 training reviews; the
    # cpu profile asks for 1,000, which n_train caps)
    dict(
        cell="tokenize_dynamic",
        name="train_size_uncapped",
        old="select(range(n_train))",
        new='select(range(run.train_size("yelp")))',
        why="run.train_size('yelp') is 1,000 in the cpu profile, more reviews than the offline sample's 800",
        reason="at the cpu profile's size",
    ),
    # ------------------------------------------------------------------------------------------ yelp_compute_metrics
    dict(
        cell="yelp_compute_metrics",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples instead of the five classes",
        reason="accuracy of the argmax over the class axis",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="passes_logits",
        old="accuracy_metric.compute(predictions=predictions, references=labels)",
        new="accuracy_metric.compute(predictions=logits, references=labels)",
        why="logits instead of class ids",
        reason="ValueError: Predictions and/or references don't match the expected",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="mrpc_metric",
        old='evaluate.load("accuracy")',
        new='evaluate.load("glue", "mrpc")',
        why="copied from MRPC: a binary F1 metric on five classes",
        reason="Target is multiclass but average='binary'",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="returns_float",
        old="return accuracy_metric.compute(predictions=predictions, references=labels)",
        new='return accuracy_metric.compute(predictions=predictions, references=labels)["accuracy"]',
        why="the Trainer needs a dict of metrics",
        reason="TypeError: 'float' object is not iterable",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="stars_from_one",
        old="predictions = np.argmax(logits, axis=-1)",
        new="predictions = np.argmax(logits, axis=-1) + 1",
        why="shifts predictions to 1-5 stars while the labels are 0-4",
        reason="expected {'accuracy': 1.0}",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="attribute_access_only",
        old="logits, labels = eval_pred",
        new="logits, labels = eval_pred.predictions, eval_pred.label_ids",
        why="works with an EvalPrediction only, not with the (logits, labels) tuple the function is given",
        reason="AttributeError: 'tuple' object has no attribute 'predictions'",
    ),
    dict(
        cell="yelp_compute_metrics",
        name="renamed_key",
        old="return accuracy_metric.compute(predictions=predictions, references=labels)",
        new='return {"acc": accuracy_metric.compute(predictions=predictions, references=labels)["accuracy"]}',
        why="the metric must be called accuracy (eval_accuracy in the Trainer's logs)",
        reason="expected {'accuracy': 1.0}",
    ),
] + quiz_mistakes({
    "quiz_1": ('"a"', ['"d"', '"b"'], "(a). Taking the first rows"),
    "quiz_2": ("5", ["4", "6", ('"5"', "quiz_2: a number")], "5: one per star rating"),
    "quiz_3": ('"b"', ['"d"', '"a"'], "(b). The attention mask keeps padding out"),
})

RIGHT = [
    dict(
        cell="tokenize_dynamic",
        name="remove_text_column",
        old="map(tokenize_dynamic, batched=True)",
        new='map(tokenize_dynamic, batched=True, remove_columns=["text"])',
        why="the text column is not needed after tokenizing: a correct answer the judge rejected when it read the "
            "text column to recognise the reviews (issue 28)",
    ),
    dict(
        cell="tokenize_dynamic",
        name="lambda",
        old="def tokenize_dynamic(examples):\n    return " + _SOLUTION_TOKENIZE + "\n",
        new="tokenize_dynamic = lambda examples: " + _SOLUTION_TOKENIZE + "\n",
    ),
    dict(
        cell="tokenize_dynamic",
        name="map_then_shuffle",
        old='dataset["train"].shuffle(seed=42).select(range(n_train)).map(tokenize_dynamic, batched=True)',
        new='dataset["train"].map(tokenize_dynamic, batched=True).shuffle(seed=42).select(range(n_train))',
    ),
    dict(
        cell="yelp_compute_metrics",
        name="numpy_mean",
        old="return accuracy_metric.compute(predictions=predictions, references=labels)",
        new='return {"accuracy": float((predictions == labels).mean())}',
    ),
    dict(
        cell="yelp_compute_metrics",
        name="sklearn_lambda",
        source=(
            "import numpy as np\n"
            "from sklearn.metrics import accuracy_score\n"
            "\n"
            "compute_metrics = lambda eval_pred: {\"accuracy\": float(accuracy_score(eval_pred[1], eval_pred[0].argmax(axis=1)))}\n"
        ),
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[("quiz_2 = 5", "quiz_2 = 5.0"), ('quiz_3 = "b"', 'quiz_3 = "B"')],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
EQUIVALENT = {
    "tokenize_dynamic: columns dropped: dataset['train'].shuffle(seed=42).select(range(n_train)).... with remove_columns=['text']": (
        "the text column is not needed once tokenized: the same tokens and labels (issue 28)"
    ),
    "tokenize_dynamic: keyword dropped: batched= in dataset['train'].shuffle(seed=42).select(range(n_train))....": (
        "map without batched=True calls tokenize_dynamic per example: the same tokenized data set, slower"
    ),
    "tokenize_dynamic: keyword flipped: batched=False in dataset['train'].shuffle(seed=42).select(range(n_train))....": (
        "map without batched=True calls tokenize_dynamic per example: the same tokenized data set, slower"
    ),
    "tokenize_dynamic: keyword dropped: truncation= in tokenizer(examples['text'], truncation=True, max_length=r...": (
        "with max_length given the tokenizer truncates anyway (longest_first), with a warning"
    ),
    "yelp_compute_metrics: unary removed: -1": "axis=1 is the last axis of the (examples, 5) logits, like axis=-1",
}
