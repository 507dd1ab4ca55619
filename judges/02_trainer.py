"""Judges of notebook 2 (source/02_trainer): the model, the Trainer, predictions."""

from __future__ import annotations

from course.grading import check_answer, reference_tokenizer, student

from .common import check_trainer_data, logits_and_loss, student_model, tokenized_mrpc


def test_load_model(run):
    import secrets

    import torch
    from transformers import AutoModel

    num_labels, class_name = student.value("(model.config.num_labels, type(model).__name__)")
    assert num_labels == 2, f"MRPC has two labels, the model has {num_labels}"
    assert isinstance(class_name, str) and class_name.endswith("ForSequenceClassification"), \
        "use AutoModelForSequenceClassification"
    reference = AutoModel.from_pretrained(run.checkpoint).get_input_embeddings().weight.detach()
    rows = sorted(secrets.SystemRandom().sample(range(reference.shape[0]), 32))
    got = student.value("model.get_input_embeddings().weight.detach()[rows]", rows=rows)
    assert isinstance(got, torch.Tensor) and got.shape == (32, reference.shape[1]) \
        and torch.equal(got.float(), reference[rows].float()), \
        "the model's body should hold the pretrained weights of run.checkpoint (from_pretrained), not random ones"


def test_make_trainer(run):
    same_model, same_tokenizer, same_args = student.value(
        "(trainer.model is model, trainer.processing_class is tokenizer, trainer.args is training_args)")
    assert same_model, "train the model of exercise 1"
    assert same_tokenizer, "pass the tokenizer as processing_class (it used to be tokenizer=)"
    assert same_args, "use training_args"
    check_trainer_data("trainer", tokenized_mrpc(run))


def test_predict(run):
    import numpy as np

    import course.data
    from course.checks import check_labels, check_logits

    labels = np.array(course.data.load_mrpc(run)["validation"]["label"])
    n = len(labels)
    logits, label_ids, predicted = student.value("(predictions.predictions, predictions.label_ids, preds)")
    check_logits(logits, n, 2, "predictions.predictions")
    check_labels(predicted, n, "preds")
    assert isinstance(logits, np.ndarray) and logits.shape == (n, 2), \
        f"predictions.predictions should have shape ({n}, 2)"
    assert isinstance(label_ids, np.ndarray) and label_ids.shape == (n,), \
        f"predictions.label_ids should have shape ({n},)"
    assert np.array_equal(label_ids, labels), "predict on the validation split, in its order"
    assert np.array_equal(predicted, logits.argmax(axis=1)), "preds: the argmax over the class axis"
    # the logits are the trained model's, computed here from its weights on the judge's validation split
    validation = tokenized_mrpc(run)["validation"]
    want, _ = logits_and_loss(student_model(run, "trainer.model"), reference_tokenizer(run.checkpoint),
                              [validation[i] for i in range(len(validation))])
    assert np.allclose(logits, want, atol=1e-3), \
        "predictions.predictions are not the logits of trainer.predict(tokenized_datasets['validation'])"


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'b',
                 "(b). The pretraining head (if any) is dropped and a fresh head for the new task is added; "
                 "loading reports the head's weights as missing and newly initialized. Fine-tuning trains that "
                 "head (and adjusts the body).")


def test_quiz_2(run):
    check_answer('quiz_2', 'a',
                 "(a). TrainingArguments gathers everything about how to train (and evaluate); the model's "
                 "architecture lives in its config, padding in the tokenizer and the collator.")


def test_quiz_3(run):
    check_answer('quiz_3', (408, 2),
                 "(408, 2): one row per validation pair, one logit per class. The predicted class is the argmax "
                 "over the last axis.")
