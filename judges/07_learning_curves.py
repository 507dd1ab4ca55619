"""Judges of notebook 7 (source/07_learning_curves): loss curves, early stopping, gradient accumulation, schedules."""

from __future__ import annotations

import functools
import math

from course.grading import check_answer, reference_tokenizer, student

from .common import (
    JUDGE_MODELS,
    Case,
    assert_separated,
    is_pretrained,
    judge_models,
    logits_and_loss,
    reference_rows,
    rows_expr,
    same_examples,
    student_model,
    token_batches,
    tokenized_mrpc,
)

# ------------------------------------------------------------------------------------ exercise 1: loss curves
HISTORY = [
    {"loss": 0.71, "grad_norm": 3.2, "learning_rate": 1e-4, "epoch": 0.5, "step": 2},
    {"loss": 0.65, "grad_norm": 2.9, "learning_rate": 9e-5, "epoch": 1.0, "step": 4},
    {"eval_loss": 0.69, "eval_accuracy": 0.52, "eval_runtime": 0.4, "epoch": 1.0, "step": 4},
    {"loss": 0.4, "grad_norm": 2.0, "learning_rate": 5e-5, "epoch": 2.0, "step": 8},
    {"eval_loss": 0.74, "eval_accuracy": 0.55, "eval_runtime": 0.4, "epoch": 2.0, "step": 8},
    {"loss": 0.2, "grad_norm": 1.1, "learning_rate": 1e-5, "epoch": 3.0, "step": 12},
    {"train_runtime": 9.1, "train_samples_per_second": 7.0, "train_loss": 0.49, "epoch": 3.0, "step": 12},
]
# evaluations every 5 steps, training losses every 2: interleaved, with the evaluation first
INTERLEAVED = [
    {"eval_loss": 0.7, "epoch": 0.0, "step": 0},
    {"loss": 0.69, "learning_rate": 1e-4, "epoch": 0.2, "step": 2},
    {"loss": 0.6, "learning_rate": 1e-4, "epoch": 0.4, "step": 4},
    {"eval_loss": 0.61, "epoch": 0.5, "step": 5},
    {"loss": 0.5, "learning_rate": 1e-4, "epoch": 0.6, "step": 6},
    {"eval_loss": 0.66, "epoch": 1.0, "step": 10},
    {"train_loss": 0.6, "train_runtime": 3.0, "epoch": 1.0, "step": 10},
]
CURVES = [
    (HISTORY, [(2, 0.71), (4, 0.65), (8, 0.4), (12, 0.2)], [(4, 0.69), (8, 0.74)]),
    (INTERLEAVED, [(2, 0.69), (4, 0.6), (6, 0.5)], [(0, 0.7), (5, 0.61), (10, 0.66)]),
    ([], [], []),
]


def test_loss_curves(run):
    for log_history, train, evaluation in CURVES:
        got = student.value("loss_curves(log_history)", log_history=log_history)
        assert isinstance(got, dict) and set(got) == {"train", "eval"}, "return a dict with the keys 'train' and 'eval'"
        points = {k: [tuple(p) if isinstance(p, (list, tuple)) else p for p in v] for k, v in got.items()}
        assert all(isinstance(p, tuple) and len(p) == 2 for v in points.values() for p in v), \
            f"each point is a pair (step, loss), got {points['train'][:2]}"
        assert sorted(p[1] for p in points["train"]) == sorted(p[1] for p in train), (
            "the training curve: the 'loss' of every entry logged during training (not the final 'train_loss' "
            f"summary, not the evaluations); expected {train}, got {points['train']}")
        assert sorted(p[1] for p in points["eval"]) == sorted(p[1] for p in evaluation), \
            f"the validation curve: every 'eval_loss'; expected {evaluation}, got {points['eval']}"
        assert [p[1] for p in points["train"]] == [p[1] for p in train] and \
            [p[1] for p in points["eval"]] == [p[1] for p in evaluation], "keep the points in the order logged"
        assert points == {"train": train, "eval": evaluation}, \
            f"use each entry's global 'step' (not its epoch) as the x of its point; expected {train} and {evaluation}"


# ------------------------------------------------------------------------------------ exercise 2: early stopping
def test_early_stopping(run):
    """The configuration (the student's answer), the data by content, and the model it ends with, measured here:
    trained, and as good on the validation split as the best evaluation of the run. The run's log is the kernel's
    word: it counts only where it agrees with what the judge measures."""
    (evaluates, saves, best_at_end, metric, greater, patience, epochs, num_labels, rate, batch) = student.value(
        "(str(early_trainer.args.eval_strategy), str(early_trainer.args.save_strategy), "
        "early_trainer.args.load_best_model_at_end, early_trainer.args.metric_for_best_model, "
        "early_trainer.args.greater_is_better, "
        "[_c.early_stopping_patience for _c in early_trainer.callback_handler.callbacks "
        " if type(_c).__name__ == 'EarlyStoppingCallback'], float(early_trainer.args.num_train_epochs), "
        "early_trainer.model.config.num_labels, float(early_trainer.args.learning_rate), "
        "early_trainer.args.per_device_train_batch_size)")
    assert best_at_end, "load_best_model_at_end=True, so that the best model is loaded when training ends"
    assert evaluates.lower().endswith("epoch"), "evaluate every epoch: eval_strategy='epoch'"
    assert saves.lower().endswith(("epoch", "best")), "save every epoch (save_strategy='epoch'), as it evaluates"
    assert metric in ("loss", "eval_loss") and greater is False, \
        "the best model is the one with the lowest validation loss: metric_for_best_model='eval_loss' (the default)"
    assert patience == [2], f"one EarlyStoppingCallback with early_stopping_patience=2, found patience {patience}"
    assert epochs == 10 and abs(rate - 2e-4) < 1e-12 and batch == 8, \
        "at most 10 epochs (num_train_epochs=10), learning_rate=2e-4, per_device_train_batch_size=8"
    assert num_labels == 2, f"MRPC has two labels, the model has {num_labels}"
    limit, model_only = student.value("(early_trainer.args.save_total_limit, early_trainer.args.save_only_model)")
    assert limit == 1 and model_only is True, (
        "keep one checkpoint besides the best (save_total_limit=1) holding the model only (save_only_model=True): "
        f"found save_total_limit={limit}, save_only_model={model_only}")
    tokenized = tokenized_mrpc(run)
    train = tokenized["train"].select(range(16))
    evaluation = tokenized["validation"].select(range(min(32, len(tokenized["validation"]))))
    has_train, has_eval = student.value("(early_trainer.train_dataset is not None, "
                                        "early_trainer.eval_dataset is not None)")
    assert has_train and same_examples(student.value(rows_expr("early_trainer.train_dataset")),
                                       reference_rows(train)), "train on small_train"
    assert has_eval and same_examples(student.value(rows_expr("early_trainer.eval_dataset")),
                                      reference_rows(evaluation)), "evaluate on small_eval"
    model = student_model(run, "early_trainer.model")
    assert not is_pretrained(run, model), "train it: early_trainer.train() (its weights are still the checkpoint's)"
    tok = reference_tokenizer(run.checkpoint)
    _, final = logits_and_loss(model, tok, [evaluation[i] for i in range(len(evaluation))], batch_size=16)
    # the run stopped where a patience of 2 stops it, given its validation losses, and ended with the best model
    history = student.value("[(_e['step'], _e['eval_loss']) for _e in early_trainer.state.log_history "
                            "if 'eval_loss' in _e]")
    losses = [loss for _, loss in history]
    assert losses and all(isinstance(x, float) for x in losses), "train it: early_trainer.train()"
    best, waited, expected = math.inf, 0, len(losses)
    for i, loss in enumerate(losses):
        best, waited = (loss, 0) if loss < best else (best, waited + 1)
        if waited >= 2:
            expected = i + 1
            break
    assert len(losses) == expected and (expected < 10 or waited < 2), (
        f"training should stop after 2 evaluations without a lower validation loss: the validation losses were "
        f"{[round(x, 4) for x in losses]}")
    assert abs(final - min(losses)) < 2e-3, (
        f"the model after training has a validation loss of {final:.4f} (measured by the judge), the best of the run "
        f"was {min(losses):.4f}: load_best_model_at_end=True reloads the best checkpoint")


# ------------------------------------------------------------------------------------ exercise 3: accumulation
ACC_WHY = {
    "evaluation mode": "put the model in training mode first (model.train()): the model came in evaluation mode, "
                       "where dropout is off",
    "loss not divided": "divide each micro-batch's loss by accumulation_steps: the accumulated gradient is then the "
                        "mean over the effective batch",
    "step every micro-batch": "step the optimizer once per accumulation_steps micro-batches, not after each one",
    "gradients kept": "clear the gradients after each optimizer step (optimizer.zero_grad())",
    "clipped without max_grad_norm": "without max_grad_norm, do not clip",
    "clipped after the step": "clip the total norm of the accumulated gradients to max_grad_norm "
                              "(torch.nn.utils.clip_grad_norm_) just before optimizer.step()",
    "not clipped": "clip the total norm of the accumulated gradients to max_grad_norm "
                   "(torch.nn.utils.clip_grad_norm_) just before optimizer.step()",
}
# (steps, micro-batches per step, learning rate, max_grad_norm, scale of the head's weights) and the wrong answers
# each scenario tells apart
ACC_SCENARIOS = (
    (3, 4, 0.5, None, 1.0, ("evaluation mode", "loss not divided", "step every micro-batch", "gradients kept")),
    (2, 1, 0.5, None, 1.0, ("evaluation mode", "gradients kept")),
    (2, 2, 1.0, 0.05, 1.0, ("clipped after the step", "not clipped")),
    (2, 2, 0.1, None, 100.0, ("clipped without max_grad_norm",)),
)
ACC_EVAL_SCALE = 0.5  # the judge's model scales its hidden layer by this in evaluation mode (dropout's stand-in)


def micro_batches(steps: int, parts: int) -> list[dict]:
    batches = token_batches([8] * steps, seed=21)
    size = 8 // parts
    return [{k: v[i * size : (i + 1) * size] for k, v in b.items()} for b in batches for i in range(parts)]


@functools.cache
def accumulate_here(steps, parts, lr, clip=None, scale=1.0, variant="right"):
    """Weights and step losses of accumulated training done here, correctly or as ``variant`` does it."""
    import torch

    model = judge_models()["_JudgeClassifier"](seed=3, eval_scale=ACC_EVAL_SCALE)
    with torch.no_grad():
        model.head.weight *= scale
    model.train(variant != "evaluation mode")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    every = 1 if variant == "step every micro-batch" else parts
    divide = 1 if variant == "loss not divided" else parts
    clip_at = 1.0 if variant == "clipped without max_grad_norm" else (None if variant == "not clipped" else clip)
    losses, running = [], 0.0
    for i, batch in enumerate(micro_batches(steps, parts), start=1):
        loss = model(**batch).loss / divide
        loss.backward()
        running += loss.item()
        if i % every == 0:
            if clip_at is not None and variant != "clipped after the step":
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_at)
            optimizer.step()
            if clip_at is not None and variant == "clipped after the step":
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_at)
            if variant != "gradients kept":
                optimizer.zero_grad()
            losses.append(running)
            running = 0.0
    return [p.detach().clone() for p in model.parameters()], losses


def cases_accumulation(run) -> list[Case]:
    cases = []
    for steps, parts, lr, clip, scale, wrong in ACC_SCENARIOS:
        name = f"{steps} steps of {parts} micro-batches, lr {lr}, max_grad_norm {clip}, scale {scale}"
        right = accumulate_here(steps, parts, lr, clip, scale)[0]
        cases.append(Case(name, right, {v: accumulate_here(steps, parts, lr, clip, scale, v)[0] for v in wrong},
                          ACC_WHY, tolerance=1e-5, separation=1e-3))
    return cases


def _students_accumulation(steps, parts, lr, clip, scale):
    student.run(JUDGE_MODELS + f"""
_judge_model = _JudgeClassifier(seed=3, eval_scale={ACC_EVAL_SCALE})
with _torch.no_grad():
    _judge_model.head.weight *= {scale}
_judge_model.eval()  # as an evaluation loop before it would leave it
_judge_losses = train_with_accumulation(_judge_model, [_judge_batch(_b, unmoved=False) for _b in _judge_batches],
                                        _torch.optim.SGD(_judge_model.parameters(), lr={lr}), {parts}, {clip})
""", _judge_batches=micro_batches(steps, parts))
    return student.value("([_p.detach() for _p in _judge_model.parameters()], _judge_losses)")


def test_accumulation(run):
    cases = cases_accumulation(run)
    assert_separated(cases)
    for (steps, parts, lr, clip, scale, _), case in zip(ACC_SCENARIOS, cases):
        weights, losses = _students_accumulation(steps, parts, lr, clip, scale)
        if steps == 3:
            assert isinstance(losses, list) and len(losses) == 3, \
                f"12 micro-batches, 4 per step: three optimizer steps, so three losses (got {losses!r:.80})"
        if not case.matches(weights):
            why = case.diagnosis(weights) or (
                "after the accumulated steps the weights should equal those of the same steps on the whole batches: "
                "divide each loss by accumulation_steps, step the optimizer once per accumulation_steps "
                "micro-batches, clip (when max_grad_norm is given) just before the step, and clear the gradients "
                "after it")
            raise AssertionError(f"{why} ({case.name})")
        if steps == 3:
            want = accumulate_here(steps, parts, lr, clip, scale)[1]
            assert all(isinstance(x, float) for x in losses) and all(abs(a - b) < 1e-5 for a, b in zip(losses, want)), \
                f"each step's loss is the mean of its micro-batches' losses: expected {want}, got {losses}"


# ------------------------------------------------------------------------------------ exercise 4: schedules
SCHEDULE_CASES = (("linear", 10, 0, 5e-5), ("cosine", 12, 3, 1e-3), ("constant_with_warmup", 8, 2, 2e-5),
                  ("linear", 6, 2, 3e-4), ("cosine", 5, 0, 5e-5))


@functools.cache
def rates_here(kind, steps, warmup, lr, variant="right"):
    """The learning rate of each step, read before it (right), after stepping the schedule, or without warm-up."""
    import warnings

    import torch
    from transformers import get_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = get_scheduler(kind, optimizer=opt, num_warmup_steps=0 if variant == "no warm-up" else warmup,
                          num_training_steps=steps)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            if variant == "read after the step":
                opt.step()
                sched.step()
            out.append(opt.param_groups[0]["lr"])
            if variant != "read after the step":
                opt.step()
                sched.step()
    return out


SCHEDULE_WHY = {"read after the step": "read the rate before each step; step the optimizer, then the schedule",
                "no warm-up": "pass num_warmup_steps on to get_scheduler"}


def cases_schedules(run) -> list[Case]:
    cases = []
    for kind, steps, warmup, lr in SCHEDULE_CASES:
        wrong = {"read after the step": rates_here(kind, steps, warmup, lr, "read after the step")}
        if warmup:
            wrong["no warm-up"] = rates_here(kind, steps, warmup, lr, "no warm-up")
        cases.append(Case(f"{kind}, {steps} steps, {warmup} warm-up, lr {lr}", rates_here(kind, steps, warmup, lr),
                          wrong, SCHEDULE_WHY, tolerance=1e-15, separation=lr * 1e-3))
    return cases


def test_schedules(run):
    cases = cases_schedules(run)
    assert_separated(cases)
    for (kind, steps, warmup, lr), case in zip(SCHEDULE_CASES, cases):
        want = case.right
        got = student.value(f"learning_rates({kind!r}, {steps}, num_warmup_steps={warmup}, learning_rate={lr})")
        assert isinstance(got, list) and len(got) == steps, f"{steps} steps: {steps} learning rates, got {got!r:.100}"
        right = all(isinstance(x, float) and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-15) for x, y in zip(got, want))
        if not right:
            hint = case.diagnosis(got) or "read the rate before each step; step the optimizer, then the schedule"
            raise AssertionError(
                f"{kind} over {steps} steps with {warmup} warm-up steps and lr {lr} ({hint}): expected "
                f"{[float(f'{x:.3g}') for x in want]}, "
                f"got {[float(f'{x:.3g}') if isinstance(x, float) else x for x in got]}")


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'b',
                 "(b) overfitting. The model keeps fitting its training examples better (training loss down) while"
                 " doing worse on examples it has not seen (validation loss up): it memorises instead of "
                 "generalising.")


def test_quiz_2(run):
    check_answer('quiz_2', 'a',
                 "(a). Losses flat at the loss of a random guess mean the model does not learn at all: "
                 "underfitting, or a bug. Dropout, stopping earlier and less data all fight overfitting, the "
                 "opposite problem.")


def test_quiz_3(run):
    check_answer('quiz_3', 64,
                 "64 = 4 examples per device per micro-batch x 8 micro-batches accumulated x 2 devices.")
