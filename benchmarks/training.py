"""One training variant in its own process: per-step times, tokens, peak memory, model FLOPs.

``python -m benchmarks.training VARIANT --steps N --warmup W --batch-size B --examples E`` prints one JSON
line. Variants:

* trainer; loop (notebook 4's loop, fused AdamW like the Trainer's default); loop_foreach (the course's plain
  ``AdamW(model.parameters())``); accelerate (notebook 4's Accelerate loop);
* loop_max_length (pairs padded to 128 tokens, above the longest MRPC pair) and loop_max_length_model
  (padded to the tokenizer's maximum, what ``padding="max_length"`` without ``max_length`` does: 512);
* loop_bf16 (under ``torch.autocast`` with bfloat16: on a CPU with AMX or AVX512-BF16 the matrix
  multiplies run in bf16) and trainer_group_by_length;
* trainer_bf16 (``TrainingArguments(bf16=True)``) and accelerate_bf16 (``Accelerator(mixed_precision="bf16")``):
  with loop_bf16, the bf16 side of the GPU run's bf16 vs fp32 comparison (``benchmarks.gpu_run``).

Everything runs on the course's device (``course.pick_device()``: CUDA when there is one); on CUDA each step
is timed up to ``torch.cuda.synchronize()`` and the peak of ``torch.cuda.max_memory_allocated`` is reported.

Every variant trains the same model on the same MRPC examples in the same order (no shuffling: every
variant sees the same batches) with the same batch size; only the training machinery, the padding, the
precision or (group_by_length) the order differs.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time

from course.training import wait_for_gpu

VARIANTS = ("trainer", "loop", "loop_foreach", "accelerate", "loop_max_length", "loop_max_length_model",
            "loop_bf16", "trainer_group_by_length")
# The GPU run's comparison: the Trainer, the pure loop and Accelerate, each in fp32 and with bf16.
PRECISION_VARIANTS = ("trainer", "trainer_bf16", "loop", "loop_bf16", "accelerate", "accelerate_bf16")
MAX_LENGTH = 128  # MRPC pairs are at most ~100 tokens for this vocabulary


def model_flops(config, batch_tokens: int, seq_len: int, batch_size: int) -> float:
    """Training FLOPs of one step: 6 x non-embedding parameters x tokens, plus attention scores (fwd+bwd)."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    dense = layers * (4 * h * h + 2 * h * inter)  # q, k, v, o projections and the feed-forward block
    attention = layers * 4 * h * seq_len * seq_len * batch_size  # QK^T and AV, forward
    return 6 * dense * batch_tokens + 3 * attention


def prepare(examples: int, max_length: int | None):
    """MRPC train pairs tokenized with truncation; padded to ``max_length`` when given (0: the tokenizer's max)."""
    from datasets import load_dataset
    from transformers import AutoTokenizer

    import course

    run = course.start(profile="smoke", quiet=True)  # the default checkpoint and the data source only
    tokenizer = AutoTokenizer.from_pretrained(run.checkpoint)
    raw = load_dataset(run.dataset("nyu-mll/glue"), "mrpc")["train"]  # the whole split, not the smoke slice
    raw = raw.select(range(min(examples, len(raw))))
    kwargs = {} if max_length is None else {"padding": "max_length", "max_length": max_length or None}
    tokenized = raw.map(lambda b: tokenizer(b["sentence1"], b["sentence2"], truncation=True, **kwargs),
                        batched=True, remove_columns=["sentence1", "sentence2", "idx"])
    return run, tokenizer, tokenized.rename_column("label", "labels")


class StepTimer:
    """Wall time of each optimisation step and the shape of its batch."""

    def __init__(self):
        self.times, self.shapes, self.losses, self._start = [], [], [], None

    def begin(self):
        wait_for_gpu()  # on CUDA, kernels run asynchronously: a step ends when its work has finished
        self._start = time.perf_counter()

    def end(self, input_ids):
        wait_for_gpu()
        self.times.append(time.perf_counter() - self._start)
        self.shapes.append((tuple(input_ids.shape), int((input_ids != 0).sum())))


def run_trainer(args, timer, group_by_length=False, bf16=False):
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    run, tokenizer, data = prepare(args.examples, max_length=None)
    model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)
    collator = DataCollatorWithPadding(tokenizer=tokenizer)
    shapes = []  # the input_ids of every forward pass: the batch each step really trained on (the
    # Trainer's data loader runs one batch ahead, so what the collator saw last is the next step's batch)
    model.register_forward_pre_hook(lambda module, args, kwargs: shapes.append(kwargs["input_ids"]), with_kwargs=True)
    model.register_forward_hook(lambda module, args, output: timer.losses.append(output.loss.detach()))

    class Timing(TrainerCallback):
        def on_step_begin(self, *a, **k):
            timer.begin()

        def on_step_end(self, *a, **k):
            timer.end(shapes[-1])

    targs = TrainingArguments(output_dir="/tmp/bench-trainer", max_steps=args.steps + args.warmup,
                              per_device_train_batch_size=args.batch_size, learning_rate=5e-5, report_to="none",
                              save_strategy="no", logging_strategy="no", disable_tqdm=True, seed=42,
                              train_sampling_strategy="group_by_length" if group_by_length else "sequential",
                              dataloader_num_workers=0, bf16=bf16, use_cpu=bf16 and not torch.cuda.is_available())
    Trainer(model, targs, train_dataset=data, data_collator=collator, processing_class=tokenizer,
            callbacks=[Timing()]).train()
    return model.config


def run_loop(args, timer, max_length=None, accelerate=False, bf16=False, fused=True):
    """Notebook 4's loop (``accelerate``: its Accelerate loop, bf16 as ``mixed_precision``; else on the course's
    device, bf16 under ``torch.autocast``)."""
    import torch
    from torch.optim import AdamW
    from torch.utils.data import DataLoader
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, get_scheduler

    run, tokenizer, data = prepare(args.examples, max_length=max_length)
    data.set_format("torch")
    loader = DataLoader(data, shuffle=False, batch_size=args.batch_size,
                        collate_fn=DataCollatorWithPadding(tokenizer=tokenizer))
    model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)
    if not accelerate:
        model.to(run.device)  # as notebook 4 does before it builds nothing else on the model
    optimizer = AdamW(model.parameters(), lr=5e-5, fused=fused)
    total = args.steps + args.warmup
    if accelerate:
        from accelerate import Accelerator

        accelerator = Accelerator(mixed_precision="bf16" if bf16 else "no")
        loader, model, optimizer = accelerator.prepare(loader, model, optimizer)
    scheduler = get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0, num_training_steps=total)
    device = next(model.parameters()).device
    model.train()
    done = 0
    while done < total:
        for batch in loader:
            timer.begin()
            if not accelerate:
                batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and not accelerate):
                loss = model(**batch).loss
            timer.losses.append(loss.detach())
            accelerator.backward(loss) if accelerate else loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            timer.end(batch["input_ids"])
            done += 1
            if done == total:
                break
    return getattr(model, "config", None) or accelerator.unwrap_model(model).config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=VARIANTS + tuple(v for v in PRECISION_VARIANTS if v not in VARIANTS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--examples", type=int, default=1024)
    args = parser.parse_args(argv)
    import torch

    torch.manual_seed(0)
    timer = StepTimer()
    bf16 = args.variant.endswith("_bf16")
    if args.variant.startswith("trainer"):
        config = run_trainer(args, timer, group_by_length=args.variant.endswith("group_by_length"), bf16=bf16)
    else:
        padding = {"loop_max_length": MAX_LENGTH, "loop_max_length_model": 0}.get(args.variant)
        config = run_loop(args, timer, max_length=padding, accelerate=args.variant.startswith("accelerate"),
                          bf16=bf16, fused=args.variant != "loop_foreach")
    times, shapes = timer.times[args.warmup:], timer.shapes[args.warmup:]
    padded = sum(b * s for (b, s), _ in shapes)
    real = sum(r for _, r in shapes)
    flops = sum(model_flops(config, b * s, s, b) for (b, s), _ in shapes)
    losses = [float(x) for x in timer.losses]
    cuda = torch.cuda.is_available()
    result = {
        "variant": args.variant, "steps": len(times), "batch_size": args.batch_size,
        "median_step_s": statistics.median(times), "total_s": sum(times),
        "examples_per_s": args.batch_size * len(times) / sum(times),
        "tokens_per_s": real / sum(times), "padded_tokens_per_s": padded / sum(times),
        "padding_share": 1 - real / padded, "flops_per_s": flops / sum(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu", "bf16": bf16,
        "peak_cuda_mb": torch.cuda.max_memory_allocated() / 1e6 if cuda else None,
        # what was timed trained: a finite loss at every step (the first and the last step's are kept)
        "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
        "finite_losses": bool(losses) and all(math.isfinite(x) for x in losses),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
