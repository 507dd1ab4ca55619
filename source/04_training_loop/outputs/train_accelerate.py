"""Fine-tune on MRPC with Accelerate: `python train_accelerate.py` or `accelerate launch train_accelerate.py`."""
import json
import os

import evaluate
import torch
from accelerate import Accelerator
from torch.optim import AdamW
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, get_scheduler

import course


def training_function(profile=None, output_dir="."):
    accelerator = Accelerator()
    run = course.start(profile=profile, output_dir=output_dir, quiet=not accelerator.is_main_process)
    tokenizer = AutoTokenizer.from_pretrained(run.checkpoint)
    with accelerator.main_process_first():
        raw_datasets, tokenized_datasets = course.data.prepare_mrpc(run, tokenizer)
    tokenized_datasets = tokenized_datasets.remove_columns(["sentence1", "sentence2", "idx"])
    tokenized_datasets = tokenized_datasets.rename_column("label", "labels")
    tokenized_datasets.set_format("torch")
    data_collator = DataCollatorWithPadding(tokenizer=tokenizer)
    train_dl = DataLoader(tokenized_datasets["train"], shuffle=True, batch_size=run.profile.batch_size,
                          collate_fn=data_collator)
    eval_dl = DataLoader(tokenized_datasets["validation"], batch_size=run.profile.eval_batch_size,
                         collate_fn=data_collator)

    model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)
    optimizer = AdamW(model.parameters(), lr=run.profile.learning_rate)
    train_dl, eval_dl, model, optimizer = accelerator.prepare(train_dl, eval_dl, model, optimizer)

    num_epochs = int(run.profile.epochs)
    num_training_steps = num_epochs * len(train_dl)
    lr_scheduler = get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0,
                                 num_training_steps=num_training_steps)
    progress_bar = tqdm(range(num_training_steps), disable=not accelerator.is_main_process)
    model.train()
    for epoch in range(num_epochs):
        for batch in train_dl:
            outputs = model(**batch)
            accelerator.backward(outputs.loss)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            progress_bar.update(1)

    metric = evaluate.load(course.metrics.metric_source("glue"), "mrpc")
    model.eval()
    for batch in eval_dl:
        with torch.no_grad():
            outputs = model(**batch)
        predictions = outputs.logits.argmax(dim=-1)
        predictions, references = accelerator.gather_for_metrics((predictions, batch["labels"]))
        metric.add_batch(predictions=predictions, references=references)
    result = metric.compute()
    result["num_processes"] = accelerator.num_processes
    if accelerator.is_main_process:
        with open(os.path.join(output_dir, "accelerate_result.json"), "w") as f:
            json.dump(result, f)
    return result


if __name__ == "__main__":
    print(training_function(os.environ.get("COURSE_PROFILE"), os.path.dirname(os.path.abspath(__file__))))
