"""Judges of notebook 3 (source/03_compute_metrics): compute_metrics, precision and recall, the per-epoch Trainer."""

from __future__ import annotations

from course.grading import check_answer, check_hyperparameters, reference_tokenizer, student

from .common import (
    Case,
    accuracy_f1,
    assert_separated,
    check_trainer_data,
    is_pretrained,
    logits_and_loss,
    prediction_sets,
    student_model,
    tokenized_mrpc,
)


# ------------------------------------------------------------------------------------ compute_metrics
def cases_compute_metrics(run) -> list[Case]:
    """Logits on which every plausible wrong compute_metrics gives other values than the right one: all zeros
    (the majority class, or probabilities cast to class ids), all ones, a threshold on the raw logit, the F1 of
    class 0, the macro F1."""
    import numpy as np

    logits = np.array([[-1.0, 0.3]] * 3 + [[0.2, -0.4]] + [[0.1, 0.6]] + [[1.0, -1.0]] * 5)
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    return [_metrics_case("10 logits", logits, labels)]


def _metrics_case(name, logits, labels) -> Case:
    from sklearn.metrics import f1_score

    predicted = logits.argmax(axis=-1)
    right = accuracy_f1(predicted, labels)
    zeros, ones = [0] * len(labels), [1] * len(labels)
    return Case(name, right, {
        "all zeros": accuracy_f1(zeros, labels), "all ones": accuracy_f1(ones, labels),
        "logit > 0.5": accuracy_f1((logits[:, 1] > 0.5).astype(int), labels),
        "F1 of class 0": (right[0], float(f1_score(labels, predicted, pos_label=0))),
        "macro F1": (right[0], float(f1_score(labels, predicted, average="macro"))),
    }, {
        "all zeros": "every prediction is class 0: take the argmax over the class axis of the logits",
        "all ones": "every prediction is class 1: take the argmax over the class axis of the logits",
        "logit > 0.5": "compare the two logits (argmax over the class axis), not one logit with a threshold",
        "F1 of class 0": "F1 of the positive class (1), not of class 0",
        "macro F1": "F1 of the positive class (1), not the macro average",
    }, tolerance=1e-9)


def test_compute_metrics(run):
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    student.run("from transformers import EvalPrediction as _EvalPrediction")
    first = student.value("compute_metrics((logits, labels))",
                          logits=np.array([[2.0, -1.0], [0.1, 0.9], [-0.5, 0.5], [1.0, 0.0]]),
                          labels=np.array([0, 1, 0, 0]))
    assert isinstance(first, dict) and {"accuracy", "f1"} <= set(first), (
        f"return a dict with accuracy and f1, got {first!r:.120}")
    assert abs(first["accuracy"] - 0.75) < 1e-9, f"3 of 4 predictions are right, got accuracy {first['accuracy']!r:.40}"
    cases = cases_compute_metrics(run)
    assert_separated(cases)
    logits = np.array([[-1.0, 0.3]] * 3 + [[0.2, -0.4]] + [[0.1, 0.6]] + [[1.0, -1.0]] * 5)
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    got = student.value("compute_metrics((logits, labels))", logits=logits, labels=labels)
    pair = (got.get("accuracy"), got.get("f1"))
    if not cases[0].matches(pair):
        why = cases[0].diagnosis(pair) or "accuracy and F1 of the positive class of the argmax over the class axis"
        raise AssertionError(f"{why}: expected accuracy {cases[0].right[0]:.3f} and F1 {cases[0].right[1]:.3f} for "
                             f"10 logits, got {pair[0]!r:.20} and {pair[1]!r:.20}")
    rng = np.random.default_rng(0)
    for n in (2, 5, 17, 64):
        logits = rng.normal(size=(n, 2))
        labels = rng.integers(0, 2, size=n)
        labels[0] = 1  # at least one positive
        predicted = logits.argmax(axis=-1)
        for expr in ("compute_metrics((logits, labels))",
                     "compute_metrics(_EvalPrediction(predictions=logits, label_ids=labels))"):
            got = student.value(expr, logits=logits, labels=labels)
            want = accuracy_score(labels, predicted)
            assert abs(got["accuracy"] - want) < 1e-9, (
                f"accuracy of the argmax over the last axis: {want:.3f} for these {n} logits, "
                f"got {got['accuracy']!r:.30}")
            want = f1_score(labels, predicted, zero_division=0)
            assert abs(got["f1"] - want) < 1e-9, (
                f"F1 of the positive class (1) of the argmax over the last axis: {want:.3f} for these {n} logits, "
                f"got {got['f1']!r:.30}")
    # argmax over classes, not examples: 2 examples so a wrong axis gives the right length and wrong values
    got = student.value("compute_metrics((logits, labels))", logits=np.array([[5.0, 0.0], [4.0, 3.0]]),
                        labels=np.array([0, 0]))
    assert got["accuracy"] == 1.0, "take the argmax over the class axis (-1), not over examples"
    # ties go to the first class, as np.argmax does
    got = student.value("compute_metrics((logits, labels))", logits=np.array([[0.3, 0.3], [0.2, 0.2], [0.0, 1.0]]),
                        labels=np.array([0, 0, 1]))
    assert got["accuracy"] == 1.0, "a tie goes to the first class (np.argmax)"
    # imbalanced: the F1 of class 0 differs from the F1 of class 1
    logits = np.array([[0.0, 1.0]] * 6 + [[1.0, 0.0]] * 2)
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    got = student.value("compute_metrics((logits, labels))", logits=logits, labels=labels)
    assert abs(got["f1"] - f1_score(labels, logits.argmax(-1))) < 1e-9, "F1 of the positive class (1), not of class 0"
    assert all(isinstance(v, float) for v in got.values()), "metric values should be plain floats"


# ------------------------------------------------------------------------------------ precision and recall
def cases_precision_recall(run) -> list[Case]:
    """One predicted positive out of three is right, one actual positive is missed, two true negatives: precision
    1/3, recall 1/2; swapped arguments (or the pair returned the other way round), class 0 as the positive class
    (TN differs from TP, so it differs from swapping), the all-zeros predictor and matches counted as true positives
    all give other values."""
    import numpy as np
    from sklearn.metrics import precision_score, recall_score

    p, r = np.array(PR_PREDICTIONS), np.array(PR_REFERENCES)
    right = (float(precision_score(r, p)), float(recall_score(r, p)))
    matches = float(np.sum(p == r))
    return [Case(f"{PR_PREDICTIONS} against {PR_REFERENCES}", right, {
        "arguments swapped": (float(precision_score(p, r)), float(recall_score(p, r))),
        "class 0 positive": (float(precision_score(r, p, pos_label=0)), float(recall_score(r, p, pos_label=0))),
        "all zeros": (0.0, 0.0),
        "matches as true positives": (matches / np.sum(p == 1), matches / np.sum(r == 1)),
    }, {
        "arguments swapped": "precision divides by the predicted positives, recall by the actual ones (swapped here)",
        "class 0 positive": "count with class 1 as the positive class",
    }, tolerance=1e-9)]


PR_PREDICTIONS, PR_REFERENCES = [1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 0, 0]


def test_precision_recall(run):
    import numpy as np
    from sklearn.metrics import precision_score, recall_score

    got = student.value("precision_recall(predictions, references)", predictions=[1, 1, 0, 0], references=[1, 0, 1, 0])
    assert got == (0.5, 0.5), f"expected (0.5, 0.5) for [1, 1, 0, 0] against [1, 0, 1, 0], got {got!r:.60}"
    cases = cases_precision_recall(run)
    assert_separated(cases)
    got = student.value("precision_recall(predictions, references)", predictions=np.array(PR_PREDICTIONS),
                        references=np.array(PR_REFERENCES))
    assert isinstance(got, tuple) and len(got) == 2, f"return (precision, recall), got {got!r:.60}"
    if not cases[0].matches(got):
        why = cases[0].diagnosis(got) or "count with class 1 as the positive class"
        raise AssertionError(
            f"{why}: precision 1/3 (TP / predicted positives) and recall 1/2 (TP / actual positives) for predictions "
            f"{PR_PREDICTIONS} against references {PR_REFERENCES}; got {got!r:.60}")
    got = student.value("precision_recall(predictions, references)", predictions=[0, 0], references=[0, 0])
    assert got == (0.0, 0.0), f"nothing predicted positive: precision 0.0, not an error or nan (got {got!r:.40})"
    rng = np.random.default_rng(1)
    for n in (1, 3, 10, 50):
        predictions = rng.integers(0, 2, size=n)
        references = rng.integers(0, 2, size=n)
        got = student.value("precision_recall(predictions, references)", predictions=predictions,
                            references=references)
        want = precision_score(references, predictions, zero_division=0)
        assert abs(got[0] - want) < 1e-9, f"precision: TP / predicted positives, {want:.3f} here, got {got[0]!r:.30}"
        want = recall_score(references, predictions, zero_division=0)
        assert abs(got[1] - want) < 1e-9, f"recall: TP / actual positives, {want:.3f} here, got {got[1]!r:.30}"
    got = student.value("precision_recall(predictions, references)", predictions=[1, 0], references=[1, 1])
    assert isinstance(got, tuple) and all(isinstance(v, float) for v in got), "return a tuple of two floats"


# ------------------------------------------------------------------------------------ the per-epoch Trainer
def test_epoch_trainer(run):
    strategy, same_metrics, num_labels, same_tokenizer = student.value(
        "(str(training_args.eval_strategy), trainer.compute_metrics is compute_metrics, "
        "trainer.model.config.num_labels, trainer.processing_class is tokenizer)")
    assert strategy.lower().endswith("epoch"), "evaluate every epoch: eval_strategy='epoch'"
    assert same_metrics, "give the Trainer your compute_metrics"
    assert num_labels == 2, f"MRPC has two labels, the model has {num_labels}"
    assert same_tokenizer, "processing_class=tokenizer"
    check_hyperparameters("training_args", run)
    check_trainer_data("trainer", tokenized_mrpc(run))


def test_epoch_metrics(run):
    """One evaluation per epoch, each with accuracy and F1, and the last one is the trained model's: the judge
    measures that model's loss, accuracy and F1 on the validation split itself (``epoch_metrics`` and
    ``trainer.state`` are what the kernel says; they count only where they agree with the judge's numbers)."""
    import math

    import numpy as np

    rows = student.value("epoch_metrics")
    assert isinstance(rows, list) and len(rows) >= 1, "the Trainer should have evaluated at least once"
    assert all(isinstance(r, dict) for r in rows), "each evaluation reports a dict of metrics"
    assert {"accuracy", "f1"} <= set(rows[-1]), "each evaluation reports accuracy and f1"
    epochs = student.value("float(trainer.args.num_train_epochs)")
    assert len(rows) == math.ceil(epochs - 1e-9), \
        f"one evaluation per epoch: {math.ceil(epochs - 1e-9)} epochs, {len(rows)} evaluations"
    model = student_model(run, "trainer.model")
    assert not is_pretrained(run, model), "train the model: trainer.train() (its weights are still the checkpoint's)"
    validation = tokenized_mrpc(run)["validation"]
    logits, loss = logits_and_loss(model, reference_tokenizer(run.checkpoint),
                                   [validation[i] for i in range(len(validation))])
    labels = np.array(validation["label"])
    possible = [accuracy_f1(p, labels) for p in prediction_sets(logits)]
    last = rows[-1]
    reported = (last.get("accuracy"), last.get("f1"))
    assert any(math.isclose(reported[0], a, abs_tol=1e-6) and math.isclose(reported[1], f, abs_tol=1e-6)
               for a, f in possible), (
        f"the last evaluation reports accuracy {reported[0]!r:.8} and F1 {reported[1]!r:.8}, but the trained model "
        f"scores {possible[0][0]:.4f} and {possible[0][1]:.4f} on the validation split (measured by the judge): "
        "evaluate the model you trained, on the validation split, at the end of every epoch")
    if "loss" in last:
        assert isinstance(last["loss"], float) and abs(last["loss"] - loss) < 2e-3, (
            f"the last evaluation reports a validation loss of {last['loss']!r:.8}, the trained model's is "
            f"{loss:.4f} (measured by the judge)")


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'b',
                 "(b). compute_metrics gets the raw outputs (logits, shape (examples, classes)) and the labels; "
                 "the predicted class is np.argmax(logits, axis=-1), which is then compared with the labels.")


def test_quiz_2(run):
    check_answer('quiz_2', 0.8122,
                 "about 0.81. Precision is 279/408 = 0.684 and recall is 1, so F1 = 2 x 0.684 x 1 / (0.684 + 1) = "
                 "0.812 (and accuracy 0.684): a model that learned nothing scores well on F1 when the positive "
                 "class is the majority; compare with the majority-class baseline, not with 0.", tolerance=0.005)


def test_quiz_3(run):
    check_answer('quiz_3', 'a',
                 "(a). Evaluation during training is off by default (\"no\"); \"epoch\" evaluates at the end of every "
                 "epoch, \"steps\" every eval_steps. Saving is save_strategy, stopping early is "
                 "EarlyStoppingCallback.")
