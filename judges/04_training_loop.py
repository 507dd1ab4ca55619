"""Judges of notebook 4 (source/04_training_loop): the model's columns, a training step, an evaluation loop.

The training step and the evaluation loop are judged on the judge's own small models and batches, built in the
student's kernel from :data:`judges.common.JUDGE_MODELS` (never from a course helper the kernel could patch) and
here from the same source: the judge computes what a correct step or evaluation gives, and what each plausible
mistake gives, and tells them apart by the numbers the student's function returns or leaves in the weights.
"""

from __future__ import annotations

import functools
import warnings

from course.grading import check_answer, reference_tokenizer, student

from .common import (
    JUDGE_MODELS,
    Case,
    assert_separated,
    distance,
    judge_models,
    reference_rows,
    rows_expr,
    same_examples,
    token_batches,
    tokenized_mrpc,
)


# ------------------------------------------------------------------------------------ exercise 1: the columns
def test_prepare_columns(run):
    import torch

    tok = reference_tokenizer(run.checkpoint)
    train_cols, val_cols = (set(c) for c in student.value(
        "(list(tokenized_datasets['train'].column_names), list(tokenized_datasets['validation'].column_names))"))
    want = {"labels", "input_ids", "attention_mask"} | ({"token_type_ids"} & set(tok.model_input_names))
    assert "labels" in train_cols, "rename the label column to labels"
    assert not train_cols & {"sentence1", "sentence2"}, "remove the text columns"
    assert train_cols == want, f"keep only the model's inputs and labels, found {sorted(train_cols)}"
    assert val_cols == train_cols, "prepare every split"
    first = student.value("tokenized_datasets['train'][0]")
    assert isinstance(first.get("input_ids"), torch.Tensor), "set_format('torch')"
    tokenized = tokenized_mrpc(run)
    for split in ("train", "validation"):
        got = student.value(rows_expr(f"tokenized_datasets[{split!r}]"))
        assert same_examples(got, reference_rows(tokenized[split])), \
            f"keep the rows of {split}: only the columns change (each example keeps its tokens and its label)"


# ------------------------------------------------------------------------------------ exercise 2: a training step
SCHEDULES = {  # LambdaLR factors per step
    "constant": "lambda step: 1.0",
    "first step only": "lambda step: 1.0 if step == 0 else 0.0",
    "halving": "lambda step: 0.5 ** step",
}
STEP_VARIANTS = {  # a plausible wrong training step -> the reason its student reads
    "no zero_grad": "after several steps the weights differ from a correct loop: clear the gradients after every "
                    "step (optimizer.zero_grad())",
    "no optimizer step": "the weights did not move as a training step moves them: loss.backward(), then "
                         "optimizer.step()",
    "no backward": "the weights did not move as a training step moves them: loss.backward() computes the gradients "
                   "optimizer.step() uses",
    "no scheduler step": "call lr_scheduler.step() once per training step: with a decaying schedule the weights "
                         "moved as if the learning rate never changed",
    "scheduler twice": "call lr_scheduler.step() once per training step, not twice",
    "scheduler first": "the first step did not use the schedule's first learning rate: call optimizer.step() before "
                       "lr_scheduler.step()",
}
STEP_SCENARIOS = (("constant", 3), ("first step only", 1), ("halving", 3))


def step_batches(steps: int, seed: int = 11) -> list[dict]:
    return token_batches([8] * steps, seed=seed)


@functools.cache
def train_here(schedule: str, steps: int, variant: str = "right"):
    """Weights and returned losses of ``steps`` training steps done here, correctly or as ``variant`` does them
    (SGD, lr 0.5, the judge's model with seed 3)."""
    import torch

    ns = judge_models()
    model = ns["_JudgeClassifier"](seed=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, eval(SCHEDULES[schedule]))  # noqa: S307 - ours
    losses = []
    with warnings.catch_warnings():  # the wrong variants step the scheduler first on purpose: torch warns of it
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`", category=UserWarning)
        _train_steps(model, optimizer, scheduler, steps, variant, losses)
    return [p.detach().clone() for p in model.parameters()], losses


def _train_steps(model, optimizer, scheduler, steps: int, variant: str, losses: list) -> None:
    for batch in step_batches(steps):
        loss = model(**batch).loss
        if variant != "no backward":
            loss.backward()
        if variant == "scheduler first":
            scheduler.step()
        if variant != "no optimizer step":
            optimizer.step()
        if variant not in ("no scheduler step", "scheduler first"):
            scheduler.step()
        if variant == "scheduler twice":
            scheduler.step()
        if variant != "no zero_grad":
            optimizer.zero_grad()
        losses.append(loss.item())


def cases_training_step(run) -> list[Case]:
    """For each schedule the judge trains with: the weights of a correct step and of every plausible wrong one."""
    cases = []
    for schedule, steps in STEP_SCENARIOS:
        wrong = {v: train_here(schedule, steps, v)[0] for v in STEP_VARIANTS}
        if schedule == "constant":  # with a constant schedule the scheduler's calls do not matter
            wrong = {k: v for k, v in wrong.items() if not k.startswith("scheduler") and k != "no scheduler step"}
        elif schedule == "first step only":
            wrong = {"scheduler first": wrong["scheduler first"]}
        else:
            wrong = {k: wrong[k] for k in ("no scheduler step", "scheduler twice")}
        cases.append(Case(f"{schedule} schedule, {steps} steps", train_here(schedule, steps)[0], wrong, STEP_VARIANTS,
                          tolerance=1e-5, separation=1e-3))
    return cases


def _students_step(schedule: str, steps: int):
    student.run(JUDGE_MODELS + f"""
_judge_model = _JudgeClassifier(seed=3)
_judge_optimizer = _torch.optim.SGD(_judge_model.parameters(), lr=0.5)
_judge_scheduler = _torch.optim.lr_scheduler.LambdaLR(_judge_optimizer, {SCHEDULES[schedule]})
_judge_losses = [training_step(_judge_model, _judge_batch(_b), _judge_optimizer, _judge_scheduler,
                               _torch.device("cpu")) for _b in _judge_batches]
""", _judge_batches=step_batches(steps))
    return student.value("([_p.detach() for _p in _judge_model.parameters()], _judge_losses)")


def test_training_step(run):
    cases = cases_training_step(run)
    assert_separated(cases)
    for (schedule, steps), case in zip(STEP_SCENARIOS, cases):
        weights, losses = _students_step(schedule, steps)
        want_losses = train_here(schedule, steps)[1]
        assert isinstance(losses, list) and all(isinstance(x, float) for x in losses), \
            "return the loss as a Python float (loss.item())"
        if not case.matches(weights):
            why = case.diagnosis(weights) or "the weights differ from those of a correct training step"
            raise AssertionError(f"{why} ({case.name})")
        assert distance(losses, want_losses) < 1e-5, \
            f"return the loss of the batch, computed before the step (loss.item()): expected {want_losses}, " \
            f"got {losses}"


# ------------------------------------------------------------------------------------ exercise 3: evaluation
EVAL_SIZES = (6, 3, 11, 4, 8)  # uneven batches: the mean of per-batch metrics is not the metric of all of them
EVAL_SEED, EVAL_MODEL_SEED = 10, 8
EVAL_WHY = {
    "training mode": "call model.eval() before evaluating: dropout must be off (and batch norm must use its running "
                     "statistics; this model has one)",
    "gradients on": "evaluate inside torch.no_grad(): no gradients are needed (the judge's model answers otherwise "
                    "when they are on, where a real one only wastes memory and time)",
    "training mode, gradients on": "call model.eval() before evaluating, and evaluate inside torch.no_grad(): no "
                                   "gradients are needed",
    "always 0": "predicted class ids, not probabilities (every prediction was class 0): the argmax over the class "
                "dimension",
    "always 1": "predicted class ids (the argmax over the class dimension): every prediction was class 1",
    "mean of the batches": "one metric over every batch: metric.add_batch(...) for each batch, metric.compute() "
                           "once at the end (not the mean of per-batch results)",
    "last batch": "accuracy and F1 over every batch, not the last one only (metric.add_batch for each batch)",
    **{f"first {k} batches": "accuracy and F1 over every batch (did the function return inside the loop?)"
       for k in range(1, len(EVAL_SIZES))},
}


@functools.cache
def evaluation_here(training: bool = False, grad: bool = False):
    """Predictions and labels per batch of the judge's evaluation model on its batches, computed here in
    evaluation or training mode, with gradients off or on."""
    import torch

    ns = judge_models()
    model = ns["_JudgeClassifier"](seed=EVAL_MODEL_SEED, norm=True, grad_sentinel=True)
    model.train(training)
    out = []
    with torch.set_grad_enabled(grad):
        for batch in token_batches(EVAL_SIZES, seed=EVAL_SEED):
            out.append((model(**batch).logits.argmax(-1).tolist(), batch["labels"].tolist()))
    return out


def cases_evaluate_model(run) -> list[Case]:
    """(accuracy, F1) of a correct evaluation loop and of every plausible wrong one, on the judge's batches."""
    from .common import accuracy_f1

    def pooled(batches):
        return accuracy_f1(sum((p for p, _ in batches), []), sum((y for _, y in batches), []))

    right = evaluation_here()
    labels = sum((y for _, y in right), [])
    per_batch = [accuracy_f1(p, y) for p, y in right]
    wrong = {
        "training mode": pooled(evaluation_here(training=True)),
        "gradients on": pooled(evaluation_here(grad=True)),
        "training mode, gradients on": pooled(evaluation_here(training=True, grad=True)),
        "always 0": accuracy_f1([0] * len(labels), labels),
        "always 1": accuracy_f1([1] * len(labels), labels),
        "mean of the batches": tuple(sum(v) / len(v) for v in zip(*per_batch)),
        "last batch": per_batch[-1],
        **{f"first {k} batches": pooled(right[:k]) for k in range(1, len(right))},
    }
    return [Case(f"{len(EVAL_SIZES)} batches of {', '.join(map(str, EVAL_SIZES))}", pooled(right), wrong, EVAL_WHY,
                 tolerance=1e-6, separation=0.02)]


def test_evaluate_model(run):
    cases = cases_evaluate_model(run)
    assert_separated(cases)
    student.run(JUDGE_MODELS + f"""
import evaluate as _evaluate
import course as _course
_judge_model = _JudgeClassifier(seed={EVAL_MODEL_SEED}, norm=True, grad_sentinel=True)
_judge_result = evaluate_model(_judge_model, [_judge_batch(_b) for _b in _judge_batches],
                               _evaluate.load(_course.metrics.metric_dir("glue"), "mrpc"), _torch.device("cpu"))
""", _judge_batches=token_batches(EVAL_SIZES, seed=EVAL_SEED))
    answer = student.value("_judge_result")
    assert isinstance(answer, dict) and {"accuracy", "f1"} <= set(answer), \
        "evaluate_model should return the metric's result (metric.compute()): here a dict with accuracy and f1"
    got = (answer["accuracy"], answer["f1"])
    case = cases[0]
    if not case.matches(got):
        why = case.diagnosis(got) or "accuracy and F1 of the argmax over the class dimension, over every batch"
        raise AssertionError(f"{why}: expected accuracy {case.right[0]:.3f} and F1 {case.right[1]:.3f}, got "
                             f"{got[0]!r:.8} and {got[1]!r:.8}")


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'b',
                 "(b). backward() computes the gradients, step() uses them, the schedule then moves the learning "
                 "rate, and zero_grad() clears the gradients for the next batch. Clearing them between backward() "
                 "and step() (c) makes step() do nothing; stepping before backward() uses the previous batch's "
                 "gradients.")


def test_quiz_2(run):
    check_answer('quiz_2', 'a',
                 "(a). Dropout is active in train mode and makes every prediction random; eval() switches it off "
                 "(and call model.train() again before training). no_grad() stops autograd from keeping the "
                 "activations a backward pass would need.")


def test_quiz_3(run):
    check_answer('quiz_3', 'a',
                 "(a). Accelerate places the model and batches on the right devices, shards the data between "
                 "processes, wraps the model for distributed training and handles mixed precision; the loop itself"
                 " stays yours. The Trainer is built on it.")
