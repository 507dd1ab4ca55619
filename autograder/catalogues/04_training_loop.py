"""Wrong answers and correct alternatives for 04_training_loop (format: autograder/catalogue.py)."""
# ruff: noqa: C408

WRONG = [
    dict(
        cell="prepare_columns",
        name="keeps_idx",
        old='["sentence1", "sentence2", "idx"]',
        new='["sentence1", "sentence2"]',
        why="the model does not accept an idx argument",
    ),
    dict(
        cell="prepare_columns",
        name="no_rename",
        old='tokenized_datasets = tokenized_datasets.rename_column("label", "labels")\n',
        new="",
        why="the model computes a loss only from a labels argument",
    ),
    dict(
        cell="training_step",
        name="no_zero_grad",
        old="    optimizer.zero_grad()\n",
        new="",
        why="gradients accumulate over steps",
    ),
    dict(
        cell="training_step",
        name="no_scheduler_step",
        old="    lr_scheduler.step()\n",
        new="",
        why="the learning rate never decays",
    ),
    dict(
        cell="training_step",
        name="returns_tensor",
        old="return loss.item()",
        new="return loss",
        why="keeps the graph alive; not a float",
    ),
    dict(
        cell="evaluate_model",
        name="no_eval_mode",
        old="    model.eval()\n",
        new="",
        why="dropout stays on during evaluation",
    ),
    dict(
        cell="evaluate_model",
        name="no_no_grad",
        old="        with torch.no_grad():\n            outputs = model(**batch)",
        new="        outputs = model(**batch)",
        why="builds the autograd graph for nothing",
    ),
]

RIGHT = [
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
    dict(cell="evaluate_model", name="inference_mode", old="with torch.no_grad():", new="with torch.inference_mode():"),
]
