"""Wrong answers and correct alternatives for 04_training_loop (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

WRONG = [
    # ------------------------------------------------------------------------------------------ prepare_columns
    dict(
        cell="prepare_columns",
        name="keeps_idx",
        old='["sentence1", "sentence2", "idx"]',
        new='["sentence1", "sentence2"]',
        why="the model does not accept an idx argument",
        reason="keep only the model's inputs and labels",
    ),
    dict(
        cell="prepare_columns",
        name="no_rename",
        old='tokenized_datasets = tokenized_datasets.rename_column("label", "labels")\n',
        new="",
        why="the model computes a loss only from a labels argument",
        reason="rename the label column to labels",
    ),
    dict(
        cell="prepare_columns",
        name="keeps_text_columns",
        old='["sentence1", "sentence2", "idx"]',
        new='["idx"]',
        why="text columns left in: the collator cannot turn strings into tensors",
        reason="remove the text columns",
    ),
    dict(
        cell="prepare_columns",
        name="no_set_format",
        old='tokenized_datasets.set_format("torch")\n',
        new="",
        why="the data set returns lists, not tensors",
        reason="set_format('torch')",
    ),
    dict(
        cell="prepare_columns",
        name="numpy_format",
        old='set_format("torch")',
        new='set_format("numpy")',
        why="NumPy arrays, not PyTorch tensors",
        reason="set_format('torch')",
    ),
    dict(
        cell="prepare_columns",
        name="not_reassigned",
        old="tokenized_datasets = tokenized_datasets.remove_columns(",
        new="tokenized_datasets.remove_columns(",
        why="remove_columns returns a new DatasetDict: without assigning it the columns stay",
        reason="remove the text columns",
    ),
    dict(
        cell="prepare_columns",
        name="rename_reversed",
        old='rename_column("label", "labels")',
        new='rename_column("labels", "label")',
        why="arguments in the wrong order: there is no labels column to rename (error)",
        reason="rename the label column to labels",
    ),
    dict(
        cell="prepare_columns",
        name="removes_token_type_ids",
        old='["sentence1", "sentence2", "idx"]',
        new='["sentence1", "sentence2", "idx", "token_type_ids"]',
        why="token_type_ids is a model input: the pair structure is lost",
        reason="keep only the model's inputs and labels",
    ),
    # ------------------------------------------------------------------------------------------ training_step
    dict(
        cell="training_step",
        name="no_zero_grad",
        old="    optimizer.zero_grad()\n",
        new="",
        why="gradients accumulate over steps",
        reason="clear the gradients after every step",
    ),
    dict(
        cell="training_step",
        name="no_scheduler_step",
        old="    lr_scheduler.step()\n",
        new="",
        why="the learning rate never decays",
        reason="call lr_scheduler.step() once per training step",
    ),
    dict(
        cell="training_step",
        name="returns_tensor",
        old="return loss.item()",
        new="return loss",
        why="keeps the graph alive; not a float",
        reason="return the loss as a Python float (loss.item())",
    ),
    dict(
        cell="training_step",
        name="batch_not_moved",
        old="    batch = {k: v.to(device) for k, v in batch.items()}\n",
        new="",
        why="the batch stays on the CPU while the model is on the device",
        reason="move every tensor of the batch with .to(device)",
    ),
    dict(
        cell="training_step",
        name="no_backward",
        old="    loss.backward()\n",
        new="",
        why="no gradients: optimizer.step() changes nothing",
        reason="loss.backward(), then optimizer.step()",
    ),
    dict(
        cell="training_step",
        name="no_optimizer_step",
        old="    optimizer.step()\n",
        new="",
        why="the weights are never updated",
        reason="loss.backward(), then optimizer.step()",
    ),
    dict(
        cell="training_step",
        name="zero_grad_before_step",
        old="    loss.backward()\n    optimizer.step()\n    lr_scheduler.step()\n    optimizer.zero_grad()\n",
        new="    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n    lr_scheduler.step()\n",
        why="clears the gradients between backward() and step(): the update uses zero gradients",
        reason="loss.backward(), then optimizer.step()",
    ),
    dict(
        cell="training_step",
        name="batch_not_unpacked",
        old="outputs = model(**batch)",
        new="outputs = model(batch)",
        why="passes the dict as input_ids instead of keyword arguments",
        reason="move every tensor of the batch with .to(device)",
    ),
    dict(
        cell="training_step",
        name="scheduler_before_optimizer",
        old="    optimizer.step()\n    lr_scheduler.step()\n",
        new="    lr_scheduler.step()\n    optimizer.step()\n",
        why="skips the first learning rate of the schedule: the first step moves the weights with the second "
        "learning rate",
        reason="call optimizer.step() before lr_scheduler.step()",
    ),
    dict(
        cell="training_step",
        name="item_not_called",
        old="return loss.item()",
        new="return loss.item",
        why="returns the bound method, not the number",
        reason="return the loss as a Python float (loss.item())",
    ),
    # ------------------------------------------------------------------------------------------ evaluate_model
    dict(
        cell="evaluate_model",
        name="no_eval_mode",
        old="    model.eval()\n",
        new="",
        why="dropout stays on during evaluation",
        reason="call model.eval() before evaluating: dropout must be off",
    ),
    dict(
        cell="evaluate_model",
        name="no_no_grad",
        old="        with torch.no_grad():\n            outputs = model(**batch)",
        new="        outputs = model(**batch)",
        why="builds the autograd graph for nothing",
        reason="evaluate inside torch.no_grad(): no gradients are needed",
    ),
    dict(
        cell="evaluate_model",
        name="train_mode",
        old="    model.eval()\n",
        new="    model.train()\n",
        why="training mode: dropout on",
        reason="call model.eval() before evaluating: dropout must be off",
    ),
    dict(
        cell="evaluate_model",
        name="batch_not_moved",
        old="        batch = {k: v.to(device) for k, v in batch.items()}\n",
        new="",
        why="the batch stays on the CPU while the model is on the device",
        reason="move every tensor of the batch with .to(device)",
    ),
    dict(
        cell="evaluate_model",
        name="argmax_over_batch",
        old="torch.argmax(outputs.logits, dim=-1)",
        new="torch.argmax(outputs.logits, dim=0)",
        why="argmax over the examples of the batch instead of the classes",
        reason="ValueError: Mismatch in the number of predictions (2) and references",
    ),
    dict(
        cell="evaluate_model",
        name="logits_as_predictions",
        old="metric.add_batch(predictions=predictions,",
        new="metric.add_batch(predictions=outputs.logits,",
        why="logits, not class ids",
        reason="ValueError: Predictions and/or references don't match the expected",
    ),
    dict(
        cell="evaluate_model",
        name="last_batch_only",
        replace=[
            ('        metric.add_batch(predictions=predictions, references=batch["labels"])\n', ""),
            ("    return metric.compute()", '    return metric.compute(predictions=predictions, references=batch["labels"])'),
        ],
        why="computes the metric on the last batch only",
        reason="over every batch",
    ),
    dict(
        cell="evaluate_model",
        name="returns_inside_loop",
        old="    return metric.compute()",
        new="        return metric.compute()",
        why="indented into the loop: returns after the first batch",
        reason="over every batch",
    ),
    dict(
        cell="evaluate_model",
        name="probability_of_class_1",
        old="torch.argmax(outputs.logits, dim=-1)",
        new="torch.softmax(outputs.logits, dim=-1)[:, 1]",
        why="the probability of class 1 instead of a class id (a metric that truncates it sees 'always 0')",
        reason="predicted class ids, not probabilities",
    ),
    # issue 28: the judge trusted the tiny model's call record, which lives in the kernel: an evaluate_model without
    # torch.no_grad() that rewrites model.calls got full marks (18/18 against 12/18 for the same mistake left honest)
    dict(
        cell="evaluate_model",
        name="rewrites_the_call_record",
        replace=[
            ("        with torch.no_grad():\n            outputs = model(**batch)", "        outputs = model(**batch)"),
            (
                "    return metric.compute()",
                "    if hasattr(model, \"calls\"):  # what the judge used to read\n"
                "        model.calls[:] = [(False, False)] * len(model.calls)\n"
                "    return metric.compute()",
            ),
        ],
        why="a hostile answer: no torch.no_grad(), and the model's record of how it was called rewritten",
        reason="evaluate inside torch.no_grad()",
    ),
    # the older variant: the course's helper module patched so that its tiny models evaluate without gradients
    # (flagged, and it used to be paid all the same)
    dict(
        cell="evaluate_model",
        name="patches_the_course_helpers",
        replace=[
            (
                "def evaluate_model(model, dataloader, metric, device):\n",
                "import course.checks\n"
                "import torch\n"
                "\n"
                "_original_tiny_model = course.checks.tiny_model\n"
                "\n"
                "\n"
                "def _tiny_model_without_grad(*args, **kwargs):\n"
                "    model = _original_tiny_model(*args, **kwargs)\n"
                "    forward = model.forward\n"
                "    model.forward = torch.no_grad()(forward)\n"
                "    model.calls = []\n"
                "    return model\n"
                "\n"
                "\n"
                "course.checks.tiny_model = _tiny_model_without_grad\n"
                "\n"
                "\n"
                "def evaluate_model(model, dataloader, metric, device):\n",
            ),
            ("        with torch.no_grad():\n            outputs = model(**batch)", "        outputs = model(**batch)"),
        ],
        why="a hostile answer: no torch.no_grad() in evaluate_model; course.checks.tiny_model patched instead",
        reason="evaluate inside torch.no_grad()",
    ),
    dict(
        cell="evaluate_model",
        name="mean_of_batch_metrics",
        source=(
            "def evaluate_model(model, dataloader, metric, device):\n"
            "    model.eval()\n"
            "    results = []\n"
            "    for batch in dataloader:\n"
            "        batch = {k: v.to(device) for k, v in batch.items()}\n"
            "        with torch.no_grad():\n"
            "            outputs = model(**batch)\n"
            "        predictions = torch.argmax(outputs.logits, dim=-1)\n"
            "        results.append(metric.compute(predictions=predictions, references=batch[\"labels\"]))\n"
            "    return {k: sum(r[k] for r in results) / len(results) for k in results[0]}\n"
        ),
        why="the mean of per-batch metrics: equal to the metric over every example only when the batches are "
            "equal and the metric is an accuracy (F1 of uneven batches differs)",
        reason="not the mean of per-batch results",
    ),
] + quiz_mistakes({
    "quiz_1": ('"b"', ['"a"', '"c"'], "(b). backward() computes the gradients"),
    "quiz_2": ('"a"', ['"b"', '"c"'], "(a). Dropout is active in train mode"),
    "quiz_3": ('"a"', ['"b"'], "(a). Accelerate places the model"),
})

RIGHT = [
    dict(
        cell="cell-13",  # the ungraded set-up cell before exercise 2: the tests must not need its names
        name="linear_schedule_with_warmup",
        replace=[
            ("from torch.optim import AdamW\nfrom transformers import get_scheduler\n",
             "import torch\nfrom transformers import get_linear_schedule_with_warmup\n"),
            ("optimizer = AdamW(", "optimizer = torch.optim.AdamW("),
            ('get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0,',
             "get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0,"),
        ],
        why="the same schedule made by get_linear_schedule_with_warmup; AdamW and get_scheduler are never imported",
    ),
    dict(
        cell="prepare_columns",
        name="select_columns_with_format",
        source=(
            'tokenized_datasets = tokenized_datasets.select_columns(["input_ids", "token_type_ids", "attention_mask", "label"])\n'
            'tokenized_datasets = tokenized_datasets.rename_column("label", "labels").with_format("torch")\n'
            'tokenized_datasets["train"].column_names\n'
        ),
    ),
    dict(
        cell="prepare_columns",
        name="rename_first_computed_columns",
        source=(
            'tokenized_datasets = tokenized_datasets.rename_column("label", "labels")\n'
            "keep = set(tokenizer.model_input_names) | {\"labels\"}\n"
            'tokenized_datasets = tokenized_datasets.remove_columns(\n'
            '    [c for c in tokenized_datasets["train"].column_names if c not in keep])\n'
            'tokenized_datasets.set_format("pt")\n'
            'tokenized_datasets["train"].column_names\n'
        ),
    ),
    dict(
        cell="training_step",
        name="zero_grad_first",
        replace=[
            (
                "    batch = {k: v.to(device) for k, v in batch.items()}\n",
                "    optimizer.zero_grad()\n    batch = {k: v.to(device) for k, v in batch.items()}\n",
            ),
            ("    lr_scheduler.step()\n    optimizer.zero_grad()\n", "    lr_scheduler.step()\n"),
        ],
    ),
    dict(
        cell="training_step",
        name="batch_encoding_to",
        old="    batch = {k: v.to(device) for k, v in batch.items()}\n",
        new="    batch = batch.to(device)\n",
    ),
    dict(
        cell="training_step",
        name="compact_float_set_to_none",
        source=(
            "def training_step(model, batch, optimizer, lr_scheduler, device):\n"
            "    loss = model(**{name: tensor.to(device) for name, tensor in batch.items()}).loss\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    optimizer.zero_grad(set_to_none=True)\n"
            "    lr_scheduler.step()\n"
            "    return float(loss.detach())\n"
        ),
    ),
    dict(cell="evaluate_model", name="inference_mode", old="with torch.no_grad():", new="with torch.inference_mode():"),
    dict(
        cell="evaluate_model",
        name="collect_then_compute",
        source=(
            "def evaluate_model(model, dataloader, metric, device):\n"
            "    model.eval()\n"
            "    all_predictions, all_labels = [], []\n"
            "    with torch.no_grad():\n"
            "        for batch in dataloader:\n"
            "            batch = {k: v.to(device) for k, v in batch.items()}\n"
            "            all_predictions.append(model(**batch).logits.argmax(dim=1).cpu())\n"
            "            all_labels.append(batch[\"labels\"].cpu())\n"
            "    return metric.compute(predictions=torch.cat(all_predictions), references=torch.cat(all_labels))\n"
        ),
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[('quiz_1 = "b"', 'quiz_1 = "b "'), ('quiz_2 = "a"', 'quiz_2 = "A"')],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
EQUIVALENT = {
    "evaluate_model: unary removed: -1": "dim=1 is the last dimension of the (batch, 2) logits, like dim=-1",
}
