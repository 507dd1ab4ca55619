"""Judges of notebook 1 (source/01_preprocessing): MRPC, tokenizing pairs, map, dynamic padding."""

from __future__ import annotations

from course.grading import StudentError, check_answer, reference_dataset, reference_tokenizer, student

from .common import Case, assert_separated, rerun_or_none


def _mrpc(run):
    return reference_dataset(run.dataset("nyu-mll/glue"), "mrpc")


def test_try_labels(run):
    mrpc = _mrpc(run)
    names = mrpc["train"].features["label"].names
    got = student.value("(train_15, validation_87, train_15_label, validation_87_label, validation_87_label_name)")
    assert got[0] == mrpc["train"][15], "train_15 is not training element 15 (indexing starts at 0)"
    assert got[1] == mrpc["validation"][87], "validation_87 is not validation element 87 (indexing starts at 0)"
    assert type(got[2]) is int, \
        f"train_15_label should be an int, e.g. train_15['label'], not a {type(got[2]).__name__}"
    assert got[2] == mrpc["train"][15]["label"], "train_15_label is not the label of training element 15"
    assert got[3] == mrpc["validation"][87]["label"], "validation_87_label is not the label of validation element 87"
    assert got[4] == names[mrpc["validation"][87]["label"]], "validation_87_label_name: use the label feature's int2str"
    for split, indices in (("train", (0, 1, 2, 3, 14, 15)), ("validation", (0, 1, 86, 87, 88))):
        for i in indices:
            name = student.value(f"label_name(raw_datasets[{split!r}], {i})")
            want = names[mrpc[split][i]["label"]]
            assert name == want, f"label_name({split}, {i}) should be the name of that element's label"


def test_try_pair(run):
    tok = reference_tokenizer(run.checkpoint)
    element = _mrpc(run)["train"][15]
    encodings = student.value("(first_alone, second_alone, as_pair)")
    for name, enc in zip(("first_alone", "second_alone", "as_pair"), encodings):
        assert isinstance(enc, dict) and "input_ids" in enc, \
            f"{name} should be what the tokenizer returns (with input_ids)"
    first, second, pair = encodings
    assert first["input_ids"] == tok(element["sentence1"])["input_ids"], "first_alone: sentence1 of element 15"
    assert second["input_ids"] == tok(element["sentence2"])["input_ids"], "second_alone: sentence2 of element 15"
    assert set(first.get("token_type_ids", [0])) == {0} and set(second.get("token_type_ids", [0])) == {0}, \
        "a single sentence has token_type_ids 0 only"
    expected = tok(element["sentence1"], element["sentence2"])
    assert pair["input_ids"] == expected["input_ids"], \
        "as_pair: sentence1 and sentence2 of element 15 tokenized together, as a pair (one [CLS], a [SEP] between them)"
    assert pair.get("token_type_ids") == expected["token_type_ids"], \
        "a pair has token_type_ids 0 for sentence 1 and 1 for sentence 2"


def test_tokenize_function(run):
    tok = reference_tokenizer(run.checkpoint)
    mrpc = _mrpc(run)
    examples = mrpc["train"][:4]
    out = student.value("tokenize_function(examples)", examples=examples)
    assert isinstance(out, dict) and {"input_ids", "attention_mask"} <= set(out), "return what the tokenizer returns"
    assert len(out["input_ids"]) == 4, "with a batch of 4 examples you should get 4 encodings"
    assert len({len(ids) for ids in out["input_ids"]}) > 1, "no padding here: every encoding keeps its own length"
    assert out["input_ids"] == tok(examples["sentence1"], examples["sentence2"])["input_ids"], \
        "tokenize sentence1 and sentence2 together, as a pair"
    assert "token_type_ids" in out and all(1 in t for t in out["token_type_ids"]), \
        "sentence2 should have token_type_ids 1 (a pair)"
    long = {"sentence1": ["word " * 600], "sentence2": ["other " * 600]}
    assert len(student.value("tokenize_function(long)", long=long)["input_ids"][0]) <= tok.model_max_length, \
        "truncate to the model's maximum length (truncation=True)"
    one = mrpc["validation"][0]
    assert student.value("tokenize_function(one)", one=one)["input_ids"] == \
        tok(one["sentence1"], one["sentence2"])["input_ids"], "tokenize_function should work on a single example too"


# ------------------------------------------------------------------------------------ exercise 4: a padded batch
def samples_of(run, indices) -> dict:
    """What the notebook's ``samples`` holds for these training examples: the tokenized pairs as a dict of lists,
    with ``label`` and without ``idx``, ``sentence1``, ``sentence2`` (made here, with the judge's tokenizer)."""
    tok = reference_tokenizer(run.checkpoint)
    rows = _mrpc(run)["train"].select(list(indices))
    encoded = tok(list(rows["sentence1"]), list(rows["sentence2"]), truncation=True)
    return {"label": list(rows["label"]), **{k: list(v) for k, v in encoded.items()}}


def judge_samples(run) -> dict:
    """The judge's own samples: 5 training pairs of very different lengths (the shortest and longest of the first
    60, and three between), so that padding, its share and every wrong way to count it differ."""
    tok = reference_tokenizer(run.checkpoint)
    first = _mrpc(run)["train"].select(range(60))
    lengths = [len(ids) for ids in tok(list(first["sentence1"]), list(first["sentence2"]))["input_ids"]]
    order = sorted(range(60), key=lambda i: (lengths[i], i))
    return samples_of(run, [order[0], order[-1], order[30], order[1], order[-2]])


def collate(run, samples) -> dict:
    """The batch ``DataCollatorWithPadding`` makes of ``samples`` here."""
    from transformers import DataCollatorWithPadding

    return dict(DataCollatorWithPadding(tokenizer=reference_tokenizer(run.checkpoint))(samples))


SHARE_WHY = {
    "real tokens": "count the positions whose attention mask is 0, over all positions (not the real tokens)",
    "count": "padding_share is a share: between 0 and 1 (the padding positions over all positions, not their number)",
    "per example": "padding_share is a share: between 0 and 1 (the padding positions over all positions, not per "
                   "example)",
    "first example": "count the positions whose attention mask is 0 over all positions of the batch",
    "padded to 512": "dynamic padding pads to the longest of the examples, not to a fixed length",
}


def cases_collate_batch(run) -> list[Case]:
    """padding_share of the notebook's samples and of the judge's own: the right one and the plausible wrong ones."""
    cases = []
    for k, samples in enumerate((samples_of(run, range(8)), judge_samples(run))):
        lengths = [len(x) for x in samples["input_ids"]]
        n, longest = len(lengths), max(lengths)
        pads = n * longest - sum(lengths)
        cases.append(Case(
            f"samples {k + 1}", pads / (n * longest),
            {"real tokens": sum(lengths) / (n * longest), "count": float(pads), "per example": pads / n,
             "first example": (longest - lengths[0]) / longest, "padded to 512": 1 - sum(lengths) / (n * 512)},
            SHARE_WHY, tolerance=1e-6, separation=1e-3))
    return cases


def _check_batch(collated, share, want: dict, n: int, what: str) -> None:
    import torch

    assert isinstance(collated, dict) and isinstance(collated.get("input_ids"), torch.Tensor), \
        f"{what}: the collator returns tensors: call data_collator(samples)"
    lengths = [int(x) for x in want["attention_mask"].sum(dim=1)]
    mask = collated.get("attention_mask")
    got_lengths = [int(x) for x in mask.sum(dim=1)] if isinstance(mask, torch.Tensor) and mask.dim() == 2 else None
    assert got_lengths == lengths, (
        f"{what} should be data_collator(samples) of these {n} examples: each keeps its own tokens (lengths "
        f"{lengths}), found {got_lengths}")
    assert tuple(collated["input_ids"].shape) == (n, max(lengths)), \
        f"{what}: dynamic padding pads to the longest of these {n} examples, not to a fixed length"
    assert "labels" in collated and tuple(collated["labels"].shape) == (n,), \
        f"{what}: the collator renames label to labels"
    for key, tensor in want.items():
        got = collated.get(key)
        assert isinstance(got, torch.Tensor) and got.shape == tensor.shape and torch.equal(got.long(), tensor.long()), \
            f"{what}: each example keeps its own tokens; the rest is padding ({key} is not the collator's)"


def _check_share(share, case: Case, what: str) -> None:
    assert isinstance(share, float), f"{what}: padding_share is a share: a float between 0 and 1"
    if case.matches(share):
        return
    why = case.diagnosis(share)
    if why is None and not 0.0 <= share < 1.0:
        why = "padding_share is a share: between 0 and 1"
    raise AssertionError(f"{what}: {why or 'count the positions whose attention mask is 0, over all positions'} "
                         f"(expected {case.right:.4f}, got {share:.4f})")


def test_collate_batch(run):
    notebook_samples, own_samples = samples_of(run, range(8)), judge_samples(run)
    cases = cases_collate_batch(run)
    assert_separated(cases)
    try:
        collated, share = student.value("(batch, padding_share)")
        missing = None
    except StudentError as e:
        missing = e
    # the answer again, on the judge's own samples: the batch and share must come from these, not from numbers
    # that fit the notebook's samples (its error, if it raises, is the reason: it says why there is no batch)
    rerun = rerun_or_none("collate_batch", "(batch, padding_share)", samples=own_samples,
                          hint="call data_collator on samples as they are: a dict of lists, one list per column")
    if missing is not None:
        raise AssertionError(str(missing))
    _check_batch(collated, share, collate(run, notebook_samples), 8, "batch")
    _check_share(share, cases[0], "padding_share")
    if rerun is not None:
        what = "with other samples (5 examples of the judge's)"
        _check_batch(rerun[0], rerun[1], collate(run, own_samples), 5, what)
        _check_share(rerun[1], cases[1], what)


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'b',
                 "(b). The tokenizer puts [CLS] first and a [SEP] after each sentence; token_type_ids are 0 for "
                 "[CLS] sentence1 [SEP] and 1 for sentence2 [SEP]. The attention mask only tells real tokens from "
                 "padding.")


def test_quiz_2(run):
    check_answer('quiz_2', 'c',
                 "(c). map() adds the tokenizer's columns to every split, keeps the data set on disk (Arrow), "
                 "caches the result and can use several processes; it pads nothing unless tokenize_function asks "
                 "for it. Padding is left to the collator, batch by batch.")


def test_quiz_3(run):
    check_answer('quiz_3', 'b',
                 "(b). A collate function turns a list of examples into one batch; this one pads each batch only "
                 "to its own longest example (dynamic padding), so short batches stay short.")
