"""``python -m benchmarks.smoke_sizes N:EPOCHS:LR:BATCH:SEED ...``: does MRPC learn at a given size?

For each configuration: fine-tune the run's checkpoint on the first N MRPC training pairs with the Trainer, as
notebook 2 does (dynamic padding, no checkpoints), then print one JSON line: the training seconds, the accuracy
on the smoke profile's validation slice and on all 408 pairs, each beside its majority-class share, and the
share of pairs predicted "equivalent" (1.00: collapsed to one class). This is how the README's "At the smoke
size MRPC does not beat its majority class" was measured, e.g. ``32:2:3e-4:16:42 256:3:5e-5:8:1``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    train_pairs: int
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


def measure(configs: list[Config], output_dir: str) -> list[dict]:
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

    run = course.start(profile="smoke", output_dir=output_dir, quiet=True)
    tokenizer = AutoTokenizer.from_pretrained(run.checkpoint)
    raw = load_dataset("nyu-mll/glue", "mrpc")
    tokenized = raw.map(lambda b: tokenizer(b["sentence1"], b["sentence2"], truncation=True), batched=True)
    validation = tokenized["validation"]
    smoke_eval = validation.select(range(run.eval_size("mrpc") or len(validation)))
    results = []
    for c in configs:
        set_seed(c.seed)  # the new head's initial weights, too
        model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)
        args = TrainingArguments(
            f"{output_dir}/smoke-sizes", learning_rate=c.learning_rate, num_train_epochs=c.epochs,
            per_device_train_batch_size=c.batch_size, per_device_eval_batch_size=64, seed=c.seed,
            save_strategy="no", disable_tqdm=True, logging_strategy="no")
        trainer = Trainer(model, args, train_dataset=tokenized["train"].select(range(c.train_pairs)),
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        row = {**c.__dict__, "train_seconds": round(seconds, 1)}
        for name, split in (("smoke_eval", smoke_eval), ("validation", validation)):
            labels = np.array(split["label"])
            preds = trainer.predict(split).predictions.argmax(-1)
            row[name] = {"pairs": len(labels), "accuracy": round(float((preds == labels).mean()), 3),
                         "majority": round(float(max(labels.mean(), 1 - labels.mean())), 3),
                         "predicted_equivalent": round(float(preds.mean()), 2)}
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.smoke_sizes", description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", type=Config.parse, metavar="N:EPOCHS:LR:BATCH:SEED")
    parser.add_argument("--output-dir", default="build/outputs",
                        help="where the Trainer may write (default: %(default)s)")
    args = parser.parse_args(argv)
    measure(args.configs, args.output_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
