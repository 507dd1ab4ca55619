"""Judges of notebook 6 (source/06_yelp): dynamic padding on Yelp reviews, compute_metrics for five classes."""

from __future__ import annotations

from course.grading import StudentError, check_answer, reference_dataset, reference_tokenizer, student

from .common import Case, answer_raised, assert_separated, rerun_or_none

TOKENS = "[[int(_i) for _i in _x] for _x in dynamic_train_dataset['input_ids']]"


def yelp(run):
    """The Yelp reviews split as the notebook splits them (the offline sample has one split)."""
    data = reference_dataset(run.dataset("Yelp/yelp_review_full"))
    if "test" not in data:
        data = data["train"].train_test_split(test_size=0.2, seed=42, stratify_by_column="label")
    return data


def subset_tokens(run, profile) -> list[list[int]]:
    """The tokens of the reviews of small_train_dataset at ``profile``'s size and max_length, tokenized here."""
    data = yelp(run)
    n_train = min(profile.train_size("yelp") or len(data["train"]), len(data["train"]))
    subset = data["train"].shuffle(seed=42).select(range(n_train))
    tok = reference_tokenizer(run.checkpoint)
    return tok(list(subset["text"]), truncation=True, max_length=profile.max_length)["input_ids"]


def _check_tokens(got, want, what: str) -> None:
    assert isinstance(got, list) and len(got) == len(want), (
        f"{what}: the same reviews as small_train_dataset ({len(want)} of them), found "
        f"{len(got) if isinstance(got, list) else got!r:.40}")
    if got == want:
        return
    if sorted(map(tuple, got)) == sorted(map(tuple, want)):
        raise AssertionError(f"{what}: the same reviews as small_train_dataset, in the same order (shuffle(seed=42), "
                             "then select)")
    if all(len(g) >= len(w) for g, w in zip(got, want)) and any(len(g) > len(w) for g, w in zip(got, want)):
        raise AssertionError(f"{what}: each review should keep exactly its real tokens (truncated to "
                             "run.profile.max_length, not padded)")
    raise AssertionError(f"{what}: the same reviews as small_train_dataset, in the same order, each tokenized with "
                         "truncation to run.profile.max_length and no padding")


def test_tokenize_dynamic(run):
    from course.profiles import get_profile

    data = yelp(run)
    examples = data["train"][:6]
    out = student.value("tokenize_dynamic(examples)", examples=examples)
    assert isinstance(out, dict) and len(out.get("input_ids", [])) == 6, "tokenize_dynamic works on a batch of examples"
    assert len({len(x) for x in out["input_ids"]}) > 1, "no padding: every review keeps its own length"
    long = student.value("tokenize_dynamic(examples)", examples={"text": ["word " * 3000]})
    assert max(len(x) for x in long["input_ids"]) == run.profile.max_length, "truncate to run.profile.max_length"
    # dynamic_train_dataset by its tokens (a data set without the text column is as right as one with it)
    _check_tokens(student.value(TOKENS), subset_tokens(run, run.profile), "dynamic_train_dataset")
    # the same cells at the cpu profile's size and max_length (1,000 reviews where there are that many)
    cpu = get_profile("cpu")
    what = (f"at the cpu profile's size ({cpu.train_size('yelp')} reviews where there are that many, "
            f"max_length {cpu.max_length})")
    got = rerun_or_none("tokenize_dynamic", TOKENS, since="run", run_changes={"profile": "cpu"},
                        hint=f"{what}: use n_train and run.profile.max_length")
    if got is not None:
        _check_tokens(got, subset_tokens(run, cpu), what)


def cases_yelp_compute_metrics(run) -> list[Case]:
    """Five-class logits on which the plausible wrong compute_metrics differ from the right one: the argmax over
    the examples, a constant prediction, the labels compared with the logits' second-best class."""
    import numpy as np

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5))
    labels = rng.integers(0, 5, size=40)
    labels[:12] = logits[:12].argmax(-1)  # some right predictions, so that a wrong axis or class shows
    right = float((logits.argmax(-1) == labels).mean())
    return [Case("40 reviews, 5 classes", right, {
        "constant class 0": float((labels == 0).mean()),
        "second-best class": float((np.argsort(logits, -1)[:, -2] == labels).mean()),
        "argmin": float((logits.argmin(-1) == labels).mean()),
    }, {}, tolerance=1e-9)]


def test_yelp_compute_metrics(run):
    import numpy as np

    cases = cases_yelp_compute_metrics(run)
    assert_separated(cases)
    got = student.value("compute_metrics((logits, labels))", logits=np.eye(5), labels=np.arange(5))
    assert isinstance(got, dict) and set(got) == {"accuracy"} and got["accuracy"] == 1.0, \
        f"expected {{'accuracy': 1.0}}, got {got!r:.80}"
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5))
    labels = rng.integers(0, 5, size=40)
    labels[:12] = logits[:12].argmax(-1)
    try:  # the argmax over the 40 examples gives 5 predictions for 40 labels: the metric raises
        got = student.value("compute_metrics((logits, labels))", logits=logits, labels=labels)
    except StudentError as e:
        raise answer_raised(e, "accuracy of the argmax over the class axis (-1), one prediction per review") from None
    assert isinstance(got, dict) and cases[0].matches(got.get("accuracy")), "accuracy of the argmax over the class axis"
    for n in (5, 7):
        logits = rng.normal(size=(n, 5))
        labels = rng.integers(0, 5, size=n)
        got = student.value("compute_metrics((logits, labels))", logits=logits, labels=labels)
        want = float((logits.argmax(-1) == labels).mean())
        assert abs(got["accuracy"] - want) < 1e-9, "accuracy of the argmax over the class axis"
    got = student.value("compute_metrics((logits, labels))",
                        logits=np.array([[0.0, 2.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 3.0]]),
                        labels=np.array([1, 4]))
    assert got["accuracy"] == 1.0, "argmax over the five classes (axis -1), not over the examples"


# ------------------------------------------------------------------------------------ the quiz
def test_quiz_1(run):
    check_answer('quiz_1', 'a',
                 "(a). Taking the first rows of a sorted data set can give one class only; shuffling with a fixed "
                 "seed gives a random but repeatable subset (it does not balance the classes exactly).")


def test_quiz_2(run):
    check_answer('quiz_2', 5,
                 "5: one per star rating, 1 to 5 stars, as the label feature's names say (labels 0 to 4).")


def test_quiz_3(run):
    check_answer('quiz_3', 'b',
                 "(b). The attention mask keeps padding out of the attention weights, but the model still computes"
                 " every position of the padded tensor; dynamic padding computes only up to each batch's longest "
                 "review (same shape every batch only pays off on compilers such as XLA).")
