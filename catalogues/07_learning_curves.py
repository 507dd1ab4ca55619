"""Wrong answers and correct alternatives for 07_learning_curves (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

TRAIN_LINE = 'train = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]'
EVAL_LINE = 'evaluation = [(entry["step"], entry["eval_loss"]) for entry in log_history if "eval_loss" in entry]'

WRONG = [
    # ----------------------------------------------------------------------------------------------- loss_curves
    dict(
        cell="loss_curves",
        name="summary_included",
        old=TRAIN_LINE,
        new=('train = [(entry["step"], entry.get("loss", entry.get("train_loss"))) for entry in log_history\n'
             '             if "loss" in entry or "train_loss" in entry]'),
        why="the end-of-training summary (train_loss) becomes a point of the training curve",
        reason="not the final 'train_loss' summary",
    ),
    dict(
        cell="loss_curves",
        name="epoch_as_x",
        replace=[('[(entry["step"], entry["loss"])', '[(entry["epoch"], entry["loss"])'),
                 ('[(entry["step"], entry["eval_loss"])', '[(entry["epoch"], entry["eval_loss"])')],
        why="the epoch instead of the global step: several training points share one epoch",
        reason="use each entry's global 'step'",
    ),
    dict(
        cell="loss_curves",
        name="validation_gets_training_losses",
        old=EVAL_LINE,
        new=('evaluation = [(entry["step"], entry.get("eval_loss", entry.get("loss"))) for entry in log_history\n'
             '                  if "eval_loss" in entry or "loss" in entry]'),
        why="both kinds of entry on the validation curve",
        reason="one point per evaluation",
    ),
    dict(
        cell="loss_curves",
        name="losses_only",
        replace=[('[(entry["step"], entry["loss"])', '[entry["loss"]'),
                 ('[(entry["step"], entry["eval_loss"])', '[entry["eval_loss"]')],
        why="the losses without their steps: nothing to plot them against",
        reason="each point is a pair (step, loss)",
    ),
    dict(
        cell="loss_curves",
        name="loss_then_step",
        old='[(entry["step"], entry["loss"])',
        new='[(entry["loss"], entry["step"])',
        why="(loss, step) instead of (step, loss)",
        reason="the training curve",
    ),
    dict(
        cell="loss_curves",
        name="sorted_by_loss",
        old='return {"train": train, "eval": evaluation}',
        new='return {"train": sorted(train, key=lambda p: p[1]), "eval": sorted(evaluation, key=lambda p: p[1])}',
        why="sorted by loss: the curve's order is lost",
        reason="in the order logged",
    ),
    dict(
        cell="loss_curves",
        name="other_keys",
        old='return {"train": train, "eval": evaluation}',
        new='return {"training": train, "validation": evaluation}',
        why="keys the rest of the notebook does not know",
        reason="return a dict with the keys 'train' and 'eval'",
    ),
    dict(
        cell="loss_curves",
        name="last_evaluation_dropped",
        old='return {"train": train, "eval": evaluation}',
        new='return {"train": train, "eval": evaluation[:-1]}',
        why="off by one: the last evaluation is missing",
        reason="one point per evaluation",
    ),
    # -------------------------------------------------------------------------------------------- early_stopping
    dict(
        cell="early_stopping",
        name="no_load_best",
        old="    load_best_model_at_end=True,\n",
        new="",
        why="training stops early but ends with the last model, not the best one",
        reason="load_best_model_at_end=True",
    ),
    dict(
        cell="early_stopping",
        name="patience_1",
        old="early_stopping_patience=2",
        new="early_stopping_patience=1",
        why="stops at the first evaluation without improvement",
        reason="early_stopping_patience=2",
    ),
    dict(
        cell="early_stopping",
        name="greater_is_better",
        old='    metric_for_best_model="eval_loss",\n',
        new='    metric_for_best_model="eval_loss",\n    greater_is_better=True,\n',
        why="keeps the model with the highest validation loss",
        reason="the lowest validation loss",
    ),
    dict(
        cell="early_stopping",
        name="every_two_steps",
        old='    eval_strategy="epoch",\n    save_strategy="epoch",\n',
        new='    eval_strategy="steps",\n    eval_steps=2,\n    save_strategy="steps",\n    save_steps=2,\n',
        why="evaluates every 2 steps: patience counts half-epochs",
        reason="evaluate every epoch",
    ),
    dict(
        cell="early_stopping",
        name="no_callback",
        old="    callbacks=[EarlyStoppingCallback(early_stopping_patience=2)],\n",
        new="",
        why="keeps the best model but never stops early",
        reason="callbacks=[EarlyStoppingCallback(...)]",
    ),
    dict(
        cell="early_stopping",
        name="accuracy_metric",
        old='metric_for_best_model="eval_loss"',
        new='metric_for_best_model="accuracy"',
        why="there is no compute_metrics, so no accuracy: the first evaluation raises",
        reason="the lowest validation loss",
    ),
    dict(
        cell="early_stopping",
        name="trains_on_eval",
        old="    train_dataset=small_train,\n",
        new="    train_dataset=small_eval,\n",
        why="trains on the validation pairs it stops on",
        reason="train on small_train",
    ),
    dict(
        cell="early_stopping",
        name="every_checkpoint_kept",
        old="    save_total_limit=1,\n",
        new="",
        why="keeps a 90 MB checkpoint of every epoch",
        reason="save_total_limit=1",
    ),
    dict(
        cell="early_stopping",
        name="optimizer_state_saved",
        old="    save_only_model=True,\n",
        new="",
        why="saves the optimizer's state with every checkpoint: three times the disk",
        reason="save_only_model=True",
    ),
    dict(
        cell="early_stopping",
        name="three_epochs",
        old="num_train_epochs=10",
        new="num_train_epochs=3",
        why="three epochs leave patience no room to act",
        reason="at most 10 epochs",
    ),
    # ---------------------------------------------------------------------------------------------- accumulation
    dict(
        cell="accumulation",
        name="eval_mode_kept",
        old="    model.train()\n",
        new="",
        why="a model that comes in eval mode trains without dropout",
        reason="put the model in training mode first",
    ),
    dict(
        cell="accumulation",
        name="no_division",
        old="loss = model(**batch).loss / accumulation_steps",
        new="loss = model(**batch).loss",
        why="sums the micro-batches' gradients: a step accumulation_steps times too large",
        reason="divide each loss by accumulation_steps",
    ),
    dict(
        cell="accumulation",
        name="step_every_batch",
        old="if i % accumulation_steps == 0:",
        new="if True:",
        why="an optimizer step after every micro-batch: no accumulation",
        reason="two optimizer steps",
    ),
    dict(
        cell="accumulation",
        name="zero_grad_before_backward",
        old="        loss.backward()\n",
        new="        optimizer.zero_grad()\n        loss.backward()\n",
        why="clears the gradients of the earlier micro-batches: each step sees only the last one",
        reason="the weights should equal three steps on the whole batches",
    ),
    dict(
        cell="accumulation",
        name="no_zero_grad",
        old="            optimizer.zero_grad()\n",
        new="",
        why="gradients carry over from one step to the next",
        reason="the weights should equal three steps on the whole batches",
    ),
    dict(
        cell="accumulation",
        name="clip_after_step",
        replace=[("            if max_grad_norm is not None:\n"
                  "                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n"
                  "            optimizer.step()\n",
                  "            optimizer.step()\n"
                  "            if max_grad_norm is not None:\n"
                  "                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n")],
        why="clips after the step, when the gradients have already been used",
        reason="clip the total norm of the accumulated gradients",
    ),
    dict(
        cell="accumulation",
        name="clips_by_value",
        old="torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)",
        new="torch.nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)",
        why="clips each gradient entry, not the total norm",
        reason="clip the total norm of the accumulated gradients",
    ),
    dict(
        cell="accumulation",
        name="always_clips_at_one",
        replace=[("            if max_grad_norm is not None:\n"
                  "                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n",
                  "            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm or 1.0)\n")],
        why="clips at the Trainer's default 1.0 when no max_grad_norm is given",
        reason="without max_grad_norm, do not clip",
    ),
    dict(
        cell="accumulation",
        name="losses_summed",
        old="running += loss.item()",
        new="running += loss.item() * accumulation_steps",
        why="reports the sum of the micro-batch losses, not their mean",
        reason="each step's loss is the mean of its micro-batches' losses",
    ),
    # ------------------------------------------------------------------------------------------------- schedules
    dict(
        cell="schedules",
        name="rate_after_step",
        replace=[('        rates.append(optimizer.param_groups[0]["lr"])\n', ""),
                 ("        scheduler.step()\n",
                  '        scheduler.step()\n        rates.append(optimizer.param_groups[0]["lr"])\n')],
        why="reads the rate after the schedule moved on: every rate is the next step's",
        reason="the first step uses the full learning rate",
    ),
    dict(
        cell="schedules",
        name="no_warmup",
        old="num_warmup_steps=num_warmup_steps,",
        new="num_warmup_steps=0,",
        why="ignores the warm-up",
        reason="warm-up steps",
    ),
    dict(
        cell="schedules",
        name="always_linear",
        old="get_scheduler(scheduler_type,",
        new='get_scheduler("linear",',
        why="the default schedule whatever was asked",
        reason="cosine over 12 steps",
    ),
    dict(
        cell="schedules",
        name="one_step_longer",
        old="num_training_steps=num_training_steps)",
        new="num_training_steps=num_training_steps + 1)",
        why="a schedule built for one step more: it never reaches its end",
        reason="read the rate before each step",
    ),
    dict(
        cell="schedules",
        name="fixed_learning_rate",
        old="lr=learning_rate)",
        new="lr=5e-5)",
        why="ignores the learning_rate argument",
        reason="lr 0.001",
    ),
    dict(
        cell="schedules",
        name="one_rate_more",
        old="for _ in range(num_training_steps):",
        new="for _ in range(num_training_steps + 1):",
        why="one rate more than there are steps",
        reason="one learning rate per optimizer step",
    ),
] + quiz_mistakes({
    "quiz_1": ('"b"', ['"a"', '"d"'], "(b) overfitting"),
    "quiz_2": ('"a"', ['"b"', '"c"'], "(a). Losses flat"),
    "quiz_3": ("64", ["32", "4", ('"64"', "quiz_3: a number")], "64 = 4 examples per device"),
})

RIGHT = [
    dict(
        cell="early_stopping",
        name="shuffled_train_split",
        old='train_dataset=small_train,',
        new='train_dataset=small_train.shuffle(seed=42),',
        why="the same training examples in another order (the Trainer shuffles them anyway): a correct answer the "
            "judge rejected when it recognised the split by its first row (issue 28)",
    ),
    dict(
        cell="loss_curves",
        name="one_loop",
        source=(
            "def loss_curves(log_history):\n"
            "    curves = {\"train\": [], \"eval\": []}\n"
            "    for entry in log_history:\n"
            "        if \"loss\" in entry:\n"
            "            curves[\"train\"].append((entry[\"step\"], entry[\"loss\"]))\n"
            "        elif \"eval_loss\" in entry:\n"
            "            curves[\"eval\"].append((entry[\"step\"], entry[\"eval_loss\"]))\n"
            "    return curves\n"
        ),
    ),
    dict(
        cell="early_stopping",
        name="save_best_default_metric",
        replace=[('    save_strategy="epoch",\n', '    save_strategy="best",\n'),
                 ('    metric_for_best_model="eval_loss",\n', "")],
    ),
    dict(
        cell="accumulation",
        name="mean_of_collected_losses",
        source=(
            "import torch\n\n\n"
            "def train_with_accumulation(model, batches, optimizer, accumulation_steps, max_grad_norm=None):\n"
            "    model.train(True)\n"
            "    step_losses, pending = [], []\n"
            "    for batch in batches:\n"
            "        loss = model(**batch).loss\n"
            "        (loss / accumulation_steps).backward()\n"
            "        pending.append(loss.item())\n"
            "        if len(pending) == accumulation_steps:\n"
            "            if max_grad_norm:\n"
            "                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_grad_norm)\n"
            "            optimizer.step()\n"
            "            optimizer.zero_grad(set_to_none=True)\n"
            "            step_losses.append(sum(pending) / len(pending))\n"
            "            pending = []\n"
            "    return step_losses\n"
        ),
    ),
    dict(
        cell="schedules",
        name="last_lr_and_adamw",
        replace=[("torch.optim.SGD(", "torch.optim.AdamW("),
                 ('rates.append(optimizer.param_groups[0]["lr"])', "rates.append(scheduler.get_last_lr()[0])")],
    ),
    dict(
        cell="quiz",
        name="capitals_and_float",
        replace=[('quiz_1 = "b"', 'quiz_1 = "B"'), ('quiz_2 = "a"', 'quiz_2 = " a"'), ("quiz_3 = 64", "quiz_3 = 64.0")],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
BF16 = "bf16 is False in the grading profile, which is the TrainingArguments default; it only matters on a GPU with bfloat16"
NOT_ASKED_LOGGING = "the exercise asks when to evaluate and save, not when to log: the curves only get more or fewer points"

EQUIVALENT = {
    "early_stopping: shuffled: train_dataset=small_train -> ....shuffle(seed=42)": (
        "the same training examples in another order: the Trainer shuffles them every epoch anyway (issue 28)"
    ),
    "early_stopping: keyword dropped: bf16= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": BF16,
    "early_stopping: keyword dropped: data_collator= in Trainer(AutoModelForSequenceClassification.from_pretraine...": (
        "without a data_collator the Trainer builds DataCollatorWithPadding from processing_class"
    ),
    "early_stopping: keyword dropped: processing_class= in Trainer(AutoModelForSequenceClassification.from_pretraine...": (
        "the explicit DataCollatorWithPadding pads the batches; processing_class would only be saved with checkpoints"
    ),
    "early_stopping: keyword dropped: logging_strategy= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": NOT_ASKED_LOGGING,
    "early_stopping: name: 'epoch' -> 'no' in line 8": NOT_ASKED_LOGGING,
    "early_stopping: name: 'epoch' -> 'steps' in line 8": NOT_ASKED_LOGGING,
    "early_stopping: keyword dropped: metric_for_best_model= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": (
        "with load_best_model_at_end the best model is the one with the lowest validation loss by default"
    ),
    "early_stopping: keyword dropped: num_labels= in AutoModelForSequenceClassification.from_pretrained(run.ch...": (
        "num_labels defaults to 2 in transformers' PretrainedConfig: MRPC's two classes either way"
    ),
    "early_stopping: keyword dropped: per_device_train_batch_size= in TrainingArguments('test-trainer', eval_strategy='epoch', ...": (
        "the batch of 8 the exercise asks for is the TrainingArguments default"
    ),
    "schedules: call removed: torch.nn.Parameter(torch.zeros(1)) -> torch.zeros(1)": (
        "the throwaway optimizer's parameter is never trained: a plain tensor carries the learning rates as well"
    ),
    "schedules: number: 1 -> 0 in line 8": "the size of the throwaway parameter changes nothing in the schedule",
    "schedules: number: 1 -> 2 in line 8": "the size of the throwaway parameter changes nothing in the schedule",
    "schedules: number: 0 -> -1 in line 13": "the optimizer has one parameter group: [-1] is [0]",
    "schedules: statement removed: optimizer.step()": (
        "the schedule sets the same learning rates without the optimizer's step (torch only warns about the order)"
    ),
}
