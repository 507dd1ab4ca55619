"""``python -m benchmarks.smoke_sizes [--task T] N:EPOCHS:LR:BATCH:SEED ...``: does a task learn at a given size?

For each configuration: fine-tune the run's checkpoint on the first N training examples of the task (MRPC by
default; ``sst2``, ``yelp``) with the Trainer, as notebook 2 does (dynamic padding, truncation at the smoke
profile's ``max_length``, no checkpoints), then print one JSON line: the training seconds, the accuracy on the
evaluation slice of the grading and smoke profiles and on the whole evaluation split, each beside its
majority-class share, and the share of the most predicted class (1.00: collapsed to one class). This is how the
README's smoke-size paragraph was measured, e.g. ``32:2:3e-4:16:42 128:3:5e-5:4:1``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    train_examples: int
    epochs: float
    learning_rate: float
    batch_size: int
    seed: int

    @classmethod
    def parse(cls, text: str) -> Config:
        try:
            n, epochs, lr, batch, seed = text.split(":")
            return cls(int(n), float(epochs), float(lr), int(batch), int(seed))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: write N:EPOCHS:LR:BATCH:SEED, e.g. 256:3:5e-5:8:42") from None


def measure(configs: list[Config], output_dir: str, task: str = "mrpc") -> list[dict]:
    """Train and evaluate each configuration; one result dict per configuration, printed as it finishes."""
    import numpy as np
    from datasets import load_dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    import course
    from course.profiles import PROFILES
    from course.tasks import task as get_task

    t = get_task(task)
    run = course.start(profile="smoke", output_dir=output_dir, quiet=True)
    tokenizer = AutoTokenizer.from_pretrained(run.checkpoint)
    raw = load_dataset(t.hub_id, t.config)
    if t.eval_split not in raw:  # the offline Yelp sample: held out as notebook 6 does
        raw = raw["train"].train_test_split(test_size=0.2, seed=42, stratify_by_column="label")
    columns = t.text_columns
    tokenized = raw.map(lambda b: tokenizer(*(b[c] for c in columns), truncation=True,
                                            max_length=run.profile.max_length), batched=True)
    evaluation = tokenized[t.eval_split]
    slices = {f"{name}_eval": evaluation.select(range(PROFILES[name].eval_size(task) or len(evaluation)))
              for name in ("grading", "smoke")}
    results = []
    for c in configs:
        set_seed(c.seed)  # the new head's initial weights, too
        model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=t.num_labels)
        args = TrainingArguments(
            f"{output_dir}/smoke-sizes", learning_rate=c.learning_rate, num_train_epochs=c.epochs,
            per_device_train_batch_size=c.batch_size, per_device_eval_batch_size=64, seed=c.seed,
            save_strategy="no", disable_tqdm=True, logging_strategy="no")
        trainer = Trainer(model, args, train_dataset=tokenized["train"].select(range(c.train_examples)),
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        row = {"task": task, **c.__dict__, "train_seconds": round(seconds, 1)}
        for name, split in (*slices.items(), (t.eval_split, evaluation)):
            labels = np.array(split["label"])
            preds = trainer.predict(split).predictions.argmax(-1)
            row[name] = {"examples": len(labels), "accuracy": round(float((preds == labels).mean()), 3),
                         "majority": round(float(np.bincount(labels).max() / len(labels)), 3),
                         "top_class_share": round(float(np.bincount(preds).max() / len(preds)), 2)}
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.smoke_sizes", description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", type=Config.parse, metavar="N:EPOCHS:LR:BATCH:SEED")
    parser.add_argument("--task", default="mrpc", help="a task of course/tasks.py (default: %(default)s)")
    parser.add_argument("--output-dir", default="build/outputs",
                        help="where the Trainer may write (default: %(default)s)")
    args = parser.parse_args(argv)
    measure(args.configs, args.output_dir, args.task)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
