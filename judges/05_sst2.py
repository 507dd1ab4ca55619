"""Judges of notebook 5 (source/05_sst2): SST-2 from the data to a trained model, with little scaffolding.

Each exercise is judged on its own: the tokenization against the student's own data, the training against the
student's own tokenized splits, so that one wrong cell costs its own points and the later tests name it (the
reasons of later tests start with the test that failed first, autograder/causes.py). Sized code is judged at
every profile's size (the cpu profile's evaluation size is None), by running the answer again.
"""

from __future__ import annotations

import math

from course.grading import check_answer, check_hyperparameters, reference_dataset, reference_tokenizer, student

from .common import (
    Case,
    accuracy_f1,
    assert_separated,
    logits_and_loss,
    noisy_checkpoint,
    prediction_sets,
    rerun_or_none,
    rows_expr,
    same_examples,
    student_model,
    which_split,
)


def sst2(run, profile=None):
    """SST-2 cut to the sizes of ``profile`` (default: the run's), loaded here."""
    import course.data
    from course.profiles import get_profile

    sizes = get_profile(profile) if profile else run.profile
    return course.data.sized(reference_dataset(run.dataset("nyu-mll/glue"), "sst2"), sizes.train_size("sst2"),
                             sizes.eval_size("sst2"))


def other_sizes(task: str = "sst2") -> list[str]:
    """The profiles whose sizes of ``task`` differ from the grading profile's (and from each other's)."""
    from course.profiles import PROFILES

    seen = {(PROFILES["grading"].train_size(task), PROFILES["grading"].eval_size(task))}
    out = []
    for name, profile in PROFILES.items():
        sizes = (profile.train_size(task), profile.eval_size(task))
        if sizes not in seen:
            seen.add(sizes)
            out.append(name)
    return out


# ------------------------------------------------------------------------------------ exercise 1: the data
DATA_VALUES = ("(len(raw_datasets['train']), len(raw_datasets['validation']), "
               "list(raw_datasets['train']['idx'][:{k}]), list(raw_datasets['validation']['idx'][:{k}]))")


def test_sst2_data(run):
    want = sst2(run)
    assert "sentence" in student.value("list(raw_datasets['train'].column_names)"), \
        "SST-2 examples have a single 'sentence' column"
    for split in ("train", "validation"):
        n = len(want[split])
        got = student.value(f"len(raw_datasets[{split!r}])")
        assert got == n, f"{split} should have {n} examples (the profile's size), it has {got}"
        k = min(n, 200)
        idx, labels = student.value(
            f"(list(raw_datasets[{split!r}]['idx'][:{k}]), list(raw_datasets[{split!r}]['label'][:{k}]))")
        assert idx == list(want[split]["idx"][:k]), f"take the first examples of {split}"
        assert labels == list(want[split]["label"][:k]), f"keep the labels of {split} as the data set has them"
    names = student.value("raw_datasets['train'].features['label'].names")
    assert names == ["negative", "positive"], f"the label names should be the data set's own, got {names!r:.80}"
    # the same cell at every other profile's size (None: the whole split), as a student runs it on a laptop
    for profile in other_sizes():
        sized = sst2(run, profile)
        hint = (f"at the {profile} profile's size, where run.train_size('sst2') is {_size(profile, 'train')} and "
                f"run.eval_size('sst2') is {_size(profile, 'eval')} (None: the whole split)")
        got = rerun_or_none("sst2_data", DATA_VALUES.format(k=50), hint=hint, since="run",
                            run_changes={"profile": profile})
        if got is None:
            continue
        want_sizes = (len(sized["train"]), len(sized["validation"]))
        assert tuple(got[:2]) == want_sizes, (
            f"{hint}, the splits should have {want_sizes[0]} and {want_sizes[1]} examples, not {got[0]} and {got[1]}")
        assert got[2] == list(sized["train"]["idx"][:50]) and got[3] == list(sized["validation"]["idx"][:50]), \
            f"{hint}: take the first examples of each split"


def _size(profile: str, which: str):
    from course.profiles import get_profile

    p = get_profile(profile)
    return p.train_size("sst2") if which == "train" else p.eval_size("sst2")


# ------------------------------------------------------------------------------------ exercise 2: tokenization
def test_sst2_tokenize(run):
    tok = reference_tokenizer(run.checkpoint)
    data = sst2(run)
    assert "input_ids" in student.value("list(tokenized_datasets['train'].column_names)"), \
        "map tokenize_function over raw_datasets"
    examples = data["train"][:8]
    out = student.value("tokenize_function(examples)", examples=examples)
    assert isinstance(out, dict), "tokenize_function should return the tokenizer's output (a dict)"
    assert len(out.get("input_ids", [])) == 8, "tokenize_function should work on a batch (batched=True)"
    assert out["input_ids"] == tok(examples["sentence"], truncation=True)["input_ids"], \
        "tokenize each sentence on its own: one sentence, no pair, no padding"
    if "token_type_ids" in out:
        assert all(set(t) == {0} for t in out["token_type_ids"]), "a single sentence has token_type_ids 0 only"
    assert len({len(t) for t in out["input_ids"]}) > 1, "no padding here: pad per batch later"
    long = student.value("tokenize_function(examples)", examples={"sentence": ["very " * 1000]})
    assert len(long["input_ids"][0]) <= tok.model_max_length, "truncate to the model's maximum length"
    # tokenized_datasets is raw_datasets (the student's own, whatever exercise 1 made of it) tokenized: judged by
    # its tokens, whatever columns it kept
    for split in ("train", "validation"):
        sentences, labels = student.value(f"(list(raw_datasets[{split!r}]['sentence']), "
                                          f"list(raw_datasets[{split!r}]['label']))")
        want = [(tuple(ids), label) for ids, label in zip(tok(sentences, truncation=True)["input_ids"], labels)]
        got = student.value(rows_expr(f"tokenized_datasets[{split!r}]"))
        assert same_examples(got, want), \
            f"tokenized_datasets[{split!r}] should be raw_datasets[{split!r}] tokenized: map tokenize_function over " \
            "raw_datasets (every split)"


# ------------------------------------------------------------------------------------ exercise 3: training
TRAINERS = ("[_t for _t in list(globals().values()) if isinstance(_t, __import__('transformers').Trainer) "
            "and _t.train_dataset is not None]")


def _students_split(split: str):
    return student.value(rows_expr(f"tokenized_datasets[{split!r}]"))


def test_sst2_train(run):
    import numpy as np

    assert_separated(cases_sst2_train(run))
    tok = reference_tokenizer(run.checkpoint)
    reported = student.value("validation_accuracy")
    assert isinstance(reported, float) and 0 <= reported <= 1, "validation_accuracy: a float in [0, 1]"
    num_labels = student.value("model.config.num_labels")
    assert num_labels == 2, f"SST-2 has two classes: num_labels=2, not {num_labels}"
    splits = {"train": _students_split("train"), "validation": _students_split("validation")}
    # a Trainer given training data must train on the tokenized train split (its examples, in any order)
    trainers = student.value(f"len({TRAINERS})")
    for i in range(trainers):
        got = student.value(rows_expr(f"{TRAINERS}[{i}].train_dataset"))
        if not same_examples(got, splits["train"]):
            other = which_split(got, {"validation": splits["validation"]})
            raise AssertionError("train on the tokenized train split" + (
                ": the validation split only measures the trained model" if other else ""))
    if trainers:  # with the Trainer: the parameters cell's hyperparameters (an own loop is judged by its result)
        check_hyperparameters(f"{TRAINERS}[0].args", run, shown="the Trainer's args")
    model = student_model(run, "model")
    # validation_accuracy is the accuracy of that model on the student's validation split, measured here (ties
    # that another batching may break either way allowed)
    rows = [{"input_ids": list(ids), "attention_mask": [1] * len(ids), "label": label}
            for ids, label in splits["validation"]]
    if "token_type_ids" in tok.model_input_names:
        rows = [r | {"token_type_ids": [0] * len(r["input_ids"])} for r in rows]
    logits, _ = logits_and_loss(model, tok, rows, batch_size=64)
    labels = np.array([r["label"] for r in rows])
    possible = sorted({accuracy_f1(p, labels)[0] for p in prediction_sets(logits)})
    assert any(math.isclose(reported, a, abs_tol=1e-6) for a in possible), (
        f"validation_accuracy {reported:.4f} is not the accuracy of model on the validation split "
        f"({possible[0]:.4f}, measured by the judge): predict with the trained model in evaluation mode "
        "(model.eval() and torch.no_grad(), or trainer.predict) on tokenized_datasets['validation']")
    # the model beats the majority class (or reaches the profile's target) on the judge's own validation split
    validation = sst2(run)["validation"]
    encoded = [dict(tok(s, truncation=True)) | {"label": y}
               for s, y in zip(validation["sentence"], validation["label"])]
    logits, _ = logits_and_loss(model, tok, encoded, batch_size=64)
    truth = np.array(validation["label"])
    accuracy = float((logits.argmax(-1) == truth).mean())
    majority = max(truth.mean(), 1 - truth.mean())
    target = run.target_accuracy("sst2")
    if target is None:
        assert accuracy > majority, (
            f"accuracy {accuracy:.3f} does not beat the majority class ({majority:.3f}): is the model trained?")
    else:
        assert accuracy >= target, f"accuracy {accuracy:.3f} is below the profile's target {target}"
    _judge_rerun(run)


# The judge's own run of the training cell: SCHEDULE_TRAIN training sentences of one label, SCHEDULE_BATCH a
# batch, one epoch (SCHEDULE_STEPS optimizer steps) at SCHEDULE_LR, with a checkpoint whose dropout is 0.5
SCHEDULE_TRAIN, SCHEDULE_BATCH, SCHEDULE_LR = 48, 8, 5e-5
SCHEDULE_STEPS = math.ceil(SCHEDULE_TRAIN / SCHEDULE_BATCH)


def cases_sst2_train(run):
    """How far the classification head's bias moves in the judge's run, in units of learning_rate x steps. Every
    training label is the same, so each bias's gradient keeps its sign and each AdamW step moves it by about the
    step's learning rate: the sum of the learning rates used. The linear schedule stepped after every optimizer
    step uses lr * (N - t) / N at step t, (N + 1) / 2N of a constant rate's sum (cosine: the same); stepped once per
    epoch, or without a scheduler, the rate stays at lr (measured: 0.583 against 0.998 for 6 steps)."""
    n = SCHEDULE_STEPS
    return [Case("the bias's movement in units of learning_rate x steps", (n + 1) / (2 * n),
                 {"scheduler stepped once per epoch": 1.0, "no scheduler (a constant learning rate)": 1.0},
                 separation=0.25)]


def _judge_rerun(run, copies: int = 64) -> None:
    """The training cell again, on the judge's data: SCHEDULE_TRAIN training sentences of one label, and a
    validation split of ``copies`` copies of one sentence, with a checkpoint whose dropout is 0.5.

    Evaluated in evaluation mode, every copy gets the same prediction (accuracy 0 or 1); with dropout on, they
    scatter. The head's bias, read before and after, shows the learning rates the training used
    (:func:`cases_sst2_train`)."""
    import torch

    tok = reference_tokenizer(run.checkpoint)
    data = sst2(run)
    validation = data["validation"][0]
    sentence, label = validation["sentence"], validation["label"]
    train = [s for s, y in zip(data["train"]["sentence"], data["train"]["label"]) if y == label][:SCHEDULE_TRAIN]
    assert len(train) == SCHEDULE_TRAIN, "instructor check: too few training sentences of one label"

    def columns(sentences, labels):
        encoded = tok(list(sentences), truncation=True)
        return {"sentence": list(sentences), "label": list(labels), "idx": list(range(len(labels))),
                **{k: list(v) for k, v in encoded.items()}}

    judge_data = {"train": columns(train, [label] * len(train)),
                  "validation": columns([sentence] * copies, [label] * copies)}
    prelude = ("import datasets as _datasets\n"
               "tokenized_datasets = _datasets.DatasetDict({_k: _datasets.Dataset.from_dict(_v) "
               "for _k, _v in _judge_data.items()})\n")
    bias, before = _head_bias(run)
    hyperparameters = {"learning_rate": SCHEDULE_LR, "num_train_epochs": 1, "per_device_train_batch_size":
                       SCHEDULE_BATCH}
    shown = ", ".join(f"{k}={v}" for k, v in hyperparameters.items())
    got = rerun_or_none("sst2_train", f"(validation_accuracy, [float(_b) for _b in dict(model.named_parameters())"
                        f"[{bias!r}].detach().float().cpu()])", prelude=prelude, _judge_data=judge_data,
                        run_changes={"checkpoint": noisy_checkpoint(run)}, **hyperparameters,
                        hint=f"the judge ran your training cell again on {SCHEDULE_TRAIN} sentences of its own "
                             f"with {shown}")
    if got is None:
        return
    assert isinstance(got, (list, tuple)) and len(got) == 2, "validation_accuracy and model should both be set"
    accuracy, after = got
    assert isinstance(accuracy, float) and (abs(accuracy) < 1e-9 or abs(accuracy - 1) < 1e-9), (
        f"evaluate in evaluation mode: model.eval() (and torch.no_grad()), or trainer.predict. The judge ran your "
        f"cell again with a checkpoint whose dropout is 0.5 and {copies} copies of one validation sentence: in "
        f"evaluation mode they all get the same prediction (accuracy 0 or 1), yours gave {accuracy!r:.6}")
    assert isinstance(after, list) and len(after) == len(before) and all(
        isinstance(b, float) and math.isfinite(b) for b in after), f"model.{bias} should hold two finite numbers"
    moved = float(torch.tensor(after, dtype=torch.float64).sub(before).abs().mean()) / (SCHEDULE_LR * SCHEDULE_STEPS)
    (case,) = cases_sst2_train(run)
    limit = (case.right + min(case.wrong.values())) / 2
    assert moved < limit, (
        f"use the linear learning-rate schedule, stepped after every optimizer step (the Trainer's default; in your "
        f"own loop lr_scheduler.step() right after optimizer.step(), inside the batch loop). The judge ran your "
        f"cell again with {shown} on {SCHEDULE_TRAIN} sentences of one label ({SCHEDULE_STEPS} steps): the "
        f"classifier's bias moved {moved:.2f} x learning_rate x steps, where that schedule moves it about "
        f"{case.right:.2f} and a learning rate that stays constant (no scheduler, or one stepped per epoch) about 1")


def _head_bias(run):
    """The name of the classification head's bias in the run's model (the last bias with one value per class) and
    its values as ``from_pretrained(run.checkpoint, num_labels=2)`` makes them (a new head's bias starts at 0)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    models = [AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2) for _ in range(2)]
    name = [n for n, p in models[0].named_parameters() if n.endswith("bias") and tuple(p.shape) == (2,)][-1]
    first, second = (dict(m.named_parameters())[name].detach().double() for m in models)
    assert torch.equal(first, second), "instructor check: the checkpoint's new head has no fixed starting bias"
    return name, first


# ------------------------------------------------------------------------------------ exercise 4 (bonus)
def test_preprocess_glue(run):
    from course.grading import StudentError

    tok = reference_tokenizer(run.checkpoint)
    student.run("from transformers import AutoTokenizer as _AutoTokenizer\n"
                "_judge_tokenizer = _AutoTokenizer.from_pretrained(checkpoint)", checkpoint=run.checkpoint)

    def ask(examples, task):
        return student.value("preprocess_glue(examples, task, _judge_tokenizer)", examples=examples, task=task)

    assert len(ask({"sentence": ["a fine film", "dull"]}, "sst2")["input_ids"]) == 2, "one encoding per sentence"
    pairs = {"mrpc": ("sentence1", "sentence2"), "qqp": ("question1", "question2"), "qnli": ("question", "sentence"),
             "mnli": ("premise", "hypothesis"), "rte": ("sentence1", "sentence2"), "stsb": ("sentence1", "sentence2"),
             "wnli": ("sentence1", "sentence2")}
    for task, (a, b) in pairs.items():
        ex = {a: ["the first text here", "x"], b: ["and the second one", "y z"]}
        want = tok(ex[a], ex[b], truncation=True)["input_ids"]
        assert ask(ex, task)["input_ids"] == want, f"{task}: tokenize {a} and {b} as a pair"
    long = "word " * 1000
    assert len(ask({"sentence": [long]}, "sst2")["input_ids"][0]) <= tok.model_max_length, \
        "truncate single sentences to the model's maximum length (truncation=True)"
    assert len(ask({"premise": [long], "hypothesis": [long]}, "mnli")["input_ids"][0]) <= tok.model_max_length, \
        "truncate pairs to the model's maximum length (truncation=True)"
    for task in ("cola", "sst2"):
        assert ask({"sentence": ["one"]}, task)["input_ids"] == tok(["one"])["input_ids"], f"{task}: a single sentence"
    try:
        ask({"sentence": ["one"]}, "imdb")
    except StudentError as e:
        assert e.ename == "ValueError", "an unknown task should raise a ValueError"
        assert "sst2" in e.evalue, "the ValueError for an unknown task should name the known tasks"
    else:
        raise AssertionError("an unknown task should raise a ValueError")


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'a',
                 "(a). token_type_ids mark the segment: everything is segment 0 when there is no second sentence. "
                 "The tokenizer still returns them (all zeros), and the model accepts them.")


def test_quiz_2(run):
    check_answer('quiz_2', 'a',
                 "(a). The GLUE test sets are unlabelled (-1), so a model's test accuracy cannot be computed here;"
                 " the validation split is the held-out set to report.")


def test_quiz_3(run):
    check_answer('quiz_3', 0.5092,
                 "about 0.51 (444 / 872). That is the majority-class baseline: a trained model has to beat it to "
                 "have learned anything, which is what Exercise 3 checks.", tolerance=0.005)
