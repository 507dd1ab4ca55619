"""Wrong answers and correct alternatives for 02_trainer (format: autograder/catalogue.py)."""
# ruff: noqa: C408
from autograder.catalogue import quiz_mistakes

WRONG = [
    # ------------------------------------------------------------------------------------------ load_model
    dict(
        cell="load_model",
        name="three_labels",
        old="num_labels=2",
        new="num_labels=3",
        why="MRPC has two classes; the predictions then have three columns too",
        fails=["test_load_model", "test_predict"],
        reason="MRPC has two labels, the model has 3",
    ),
    dict(
        cell="load_model",
        name="random_weights",
        old="model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)",
        new=(
            "from transformers import AutoConfig\n"
            "model = AutoModelForSequenceClassification.from_config(\n"
            "    AutoConfig.from_pretrained(run.checkpoint, num_labels=2))"
        ),
        why="from_config builds the architecture with random weights: no transfer learning",
        reason="not random ones",
    ),
    dict(
        cell="load_model",
        name="body_without_head",
        old="model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)",
        new="from transformers import AutoModel\nmodel = AutoModel.from_pretrained(run.checkpoint, num_labels=2)",
        why="AutoModel has no classification head: no logits, no loss, training fails",
        fails=["test_load_model", "test_predict"],
        reason="use AutoModelForSequenceClassification",
    ),
    dict(
        cell="load_model",
        name="one_label",
        old="num_labels=2",
        new="num_labels=1",
        why="one output for a binary task turns it into a regression (MSE on integer labels fails)",
        fails=["test_load_model", "test_predict"],
        reason="MRPC has two labels, the model has 1",
    ),
    dict(
        cell="load_model",
        name="token_classification",
        old="model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)",
        new=(
            "from transformers import AutoModelForTokenClassification\n"
            "model = AutoModelForTokenClassification.from_pretrained(run.checkpoint, num_labels=2)"
        ),
        why="one label per token, not per sentence pair",
        fails=["test_load_model", "test_predict"],
        reason="use AutoModelForSequenceClassification",
    ),
    dict(
        cell="load_model",
        name="course_checkpoint_name",
        old="from_pretrained(run.checkpoint, num_labels=2)",
        new='from_pretrained("bert-base-uncased", num_labels=2)',
        why="hard-codes the course's checkpoint instead of run.checkpoint (offline: not found; online: "
        "another model than the tokenizer's)",
        fails=["test_load_model", "test_make_trainer", "test_predict"],
        reason="cell load_model raised OSError",
    ),
    # ------------------------------------------------------------------------------------------ make_trainer
    dict(
        cell="make_trainer",
        name="raw_train_split",
        old='train_dataset=tokenized_datasets["train"]',
        new='train_dataset=raw_datasets["train"]',
        why="trains on text, not on token ids",
        reason="train on the tokenized data set, not the raw one",
    ),
    dict(
        cell="make_trainer",
        name="no_processing_class",
        old="    processing_class=tokenizer,\n",
        new="",
        why="the tokenizer is not saved with the model",
        reason="pass the tokenizer as processing_class",
    ),
    dict(
        cell="make_trainer",
        name="old_tokenizer_keyword",
        old="processing_class=tokenizer",
        new="tokenizer=tokenizer",
        why="Trainer(tokenizer=...) was removed in transformers 5: TypeError, no trainer",
        fails=["test_make_trainer", "test_predict"],
        reason="got an unexpected keyword argument 'tokenizer'",
    ),
    dict(
        cell="make_trainer",
        name="no_eval_dataset",
        old='    eval_dataset=tokenized_datasets["validation"],\n',
        new="",
        why="the Trainer cannot evaluate",
        reason="evaluate on the tokenized validation split",
    ),
    dict(
        cell="make_trainer",
        name="evaluates_on_train",
        old='eval_dataset=tokenized_datasets["validation"]',
        new='eval_dataset=tokenized_datasets["train"]',
        why="evaluation on the training data says nothing about generalisation",
        reason="evaluate on the tokenized validation split",
    ),
    dict(
        cell="make_trainer",
        name="trains_on_validation",
        old='train_dataset=tokenized_datasets["train"]',
        new='train_dataset=tokenized_datasets["validation"]',
        why="trains on the data it is evaluated on",
        reason="train on the tokenized train split",
    ),
    dict(
        cell="make_trainer",
        name="fresh_model",
        old="    model,\n",
        new="    AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2),\n",
        why="trains a second model: `model` of exercise 1 stays untrained",
        reason="train the model of exercise 1",
    ),
    dict(
        cell="make_trainer",
        name="default_training_args",
        old="    training_args,\n",
        new='    TrainingArguments("test-trainer"),\n',
        why="ignores training_args (the run's epochs, batch size, learning rate, seed)",
        reason="use training_args",
    ),
    # ------------------------------------------------------------------------------------------ predict
    dict(
        cell="predict",
        name="argmax_over_examples",
        old="axis=-1",
        new="axis=0",
        why="argmax over the examples instead of the classes",
        reason="the argmax was taken over the wrong axis",
    ),
    dict(
        cell="predict",
        name="predicts_on_train",
        old='trainer.predict(tokenized_datasets["validation"])',
        new='trainer.predict(tokenized_datasets["train"])',
        why="predictions on the training split",
        reason="did you predict on the right split?",
    ),
    dict(
        cell="predict",
        name="keeps_logits",
        old="preds = np.argmax(predictions.predictions, axis=-1)",
        new="preds = predictions.predictions",
        why="logits, not class ids",
        reason="these are still logits: take the argmax over the class axis",
    ),
    dict(
        cell="predict",
        name="probabilities",
        old="preds = np.argmax(predictions.predictions, axis=-1)",
        new="from scipy.special import softmax\npreds = softmax(predictions.predictions, axis=-1)",
        why="probabilities, not class ids",
        reason="expected one class id per example",
    ),
    dict(
        cell="predict",
        name="positive_logit",
        old="preds = np.argmax(predictions.predictions, axis=-1)",
        new="preds = predictions.predictions[:, 1]",
        why="the score of class 1, not a class id",
        reason="class ids are integers",
    ),
    dict(
        cell="predict",
        name="raw_validation",
        old='trainer.predict(tokenized_datasets["validation"])',
        new='trainer.predict(raw_datasets["validation"])',
        why="the raw split has no input_ids",
        reason="cell predict raised ValueError",
    ),
    dict(
        cell="predict",
        name="argmax_of_prediction_output",
        old="np.argmax(predictions.predictions, axis=-1)",
        new="np.argmax(predictions, axis=-1)",
        why="argmax of the PredictionOutput tuple, not of its logits",
        reason="cell predict raised ValueError",
    ),
    dict(
        cell="predict",
        name="label_ids_as_preds",
        old="preds = np.argmax(predictions.predictions, axis=-1)",
        new="preds = predictions.label_ids",
        why="the true labels, not the model's predictions",
        reason="preds: the argmax over the class axis",
    ),
] + quiz_mistakes({
    "quiz_1": ('"b"', ['"a"', '"c"'], "(b). The pretraining head"),
    "quiz_2": ('"a"', ['"b"', '"c"'], "(a). TrainingArguments gathers"),
    "quiz_3": ("(408, 2)", ["(2, 408)", ("(408,)", "a tuple of two numbers"), ("816", "a tuple of two numbers")], "(408, 2): one row per validation pair"),
})

RIGHT = [
    dict(
        cell="make_trainer",
        name="shuffled_train_split",
        old='train_dataset=tokenized_datasets["train"],',
        new='train_dataset=tokenized_datasets["train"].shuffle(seed=42),',
        why="the same training examples in another order (the Trainer shuffles them anyway): a correct answer the "
            "judge rejected when it recognised the split by its first row (issue 28)",
    ),
    dict(
        cell="load_model",
        name="keyword_checkpoint",
        old="from_pretrained(run.checkpoint, num_labels=2)",
        new="from_pretrained(pretrained_model_name_or_path=run.checkpoint, num_labels=2)",
    ),
    dict(
        cell="load_model",
        name="config_with_label_names",
        old="model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, num_labels=2)",
        new=(
            "from transformers import AutoConfig\n"
            "config = AutoConfig.from_pretrained(run.checkpoint, id2label={0: \"not_equivalent\", 1: \"equivalent\"},\n"
            "                                    label2id={\"not_equivalent\": 0, \"equivalent\": 1})\n"
            "model = AutoModelForSequenceClassification.from_pretrained(run.checkpoint, config=config)"
        ),
    ),
    dict(
        cell="make_trainer",
        name="keyword_arguments",
        replace=[("    model,\n", "    model=model,\n"), ("    training_args,\n", "    args=training_args,\n")],
    ),
    dict(
        cell="make_trainer",
        name="default_collator",
        old="    data_collator=data_collator,\n",
        new="",
    ),
    dict(
        cell="predict",
        name="argmax_method",
        old="np.argmax(predictions.predictions, axis=-1)",
        new="predictions.predictions.argmax(axis=1)",
    ),
    dict(
        cell="predict",
        name="torch_argmax_tuple_index",
        old="preds = np.argmax(predictions.predictions, axis=-1)",
        new="import torch\npreds = torch.from_numpy(predictions[0]).argmax(dim=-1).numpy()",
    ),
    dict(
        cell="quiz",
        name="written_otherwise",
        replace=[('quiz_1 = "b"', 'quiz_1 = "B"'), ("quiz_3 = (408, 2)", "quiz_3 = [408, 2]")],
    ),
]

# Mutants (autograder/mutation.py) that are correct answers: "<answer cell>: <mutant label>" -> why.
EQUIVALENT = {
    "make_trainer: shuffled: tokenized_datasets['train'] -> tokenized_datasets['train'].shuffle(seed=42)": (
        "the same training examples in another order: the Trainer shuffles them every epoch anyway (issue 28)"
    ),
    "load_model: keyword dropped: num_labels= in AutoModelForSequenceClassification.from_pretrained(run.ch...": (
        "num_labels defaults to 2 in transformers' PretrainedConfig: MRPC's two classes either way"
    ),
    "make_trainer: keyword dropped: data_collator= in Trainer(model, training_args, train_dataset=tokenized_dat...": (
        "without a data_collator the Trainer builds DataCollatorWithPadding from processing_class"
    ),
    "predict: unary removed: -1": "axis=1 is the last axis of the (examples, 2) logits, like axis=-1",
}
