"""The course's local evaluate metrics (accuracy, f1, glue) equal scikit-learn/scipy, and load offline."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
import warnings

import evaluate
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from sklearn import metrics as sk_metrics

import course.metrics as cm
from course import sources

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NO_PREDICTIONS = "got no predictions: pass at least one prediction and reference"
NOTHING_ADDED = "call `add` or `add_batch` at least once before calling `compute`"  # evaluate's own error
GLUE_CONFIGS = ["sst2", "mnli", "mnli_mismatched", "mnli_matched", "cola", "stsb", "mrpc", "qqp", "qnli", "rte",
                "wnli", "ax", "hans"]


# --- loading (each module once per test module: loading and importing evaluate cost time) ---------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """HF_METRICS_CACHE of the metrics under test."""
    return str(tmp_path_factory.mktemp("metrics_cache"))


@pytest.fixture(scope="module")
def accuracy(cache_dir):
    return evaluate.load(cm.metric_dir("accuracy"), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def f1(cache_dir):
    return evaluate.load(cm.metric_dir("f1"), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def glue(cache_dir):
    loaded = {}

    def get(config):
        if config not in loaded:
            loaded[config] = evaluate.load(cm.metric_dir("glue"), config, cache_dir=cache_dir)
        return loaded[config]

    return get


@pytest.fixture(scope="module")
def in_memory():
    """Metrics for the inputs scikit-learn refuses. Its error, raised inside evaluate's compute, leaves a
    file-backed metric's cache file locked (as with the Hub's modules): the next compute waits 1 s for it."""
    loaded = {}

    def get(name):
        if name not in loaded:
            loaded[name] = evaluate.load(cm.metric_dir(name), keep_in_memory=True)
        return loaded[name]

    return get


def assert_same(expected, actual):
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(actual, float) and math.isnan(actual)
    else:
        assert type(actual) is float
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), (actual, expected)


def sk(fn, *args, **kwargs):
    """scikit-learn's/scipy's result, or the ValueError it raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            return exc


# --- strategies ------------------------------------------------------------------------------------------

def pairs(values, min_size=1, max_size=40):
    """(predictions, references) of equal length drawn from ``values``."""
    return st.integers(min_size, max_size).flatmap(
        lambda n: st.tuples(st.lists(values, min_size=n, max_size=n), st.lists(values, min_size=n, max_size=n))
    )


def weights(n):
    return st.one_of(st.none(), st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n))


# --- accuracy ---------------------------------------------------------------------------------------------

@SETTINGS
@given(data=pairs(st.integers(0, 4)), normalize=st.booleans(), draw=st.data())
def test_accuracy_equals_sklearn(accuracy, in_memory, data, normalize, draw):
    preds, refs = data
    sample_weight = draw.draw(weights(len(preds)))
    expected = sk(sk_metrics.accuracy_score, refs, preds, normalize=normalize, sample_weight=sample_weight)
    if isinstance(expected, ValueError):  # all weights zero
        with pytest.raises(ValueError, match="non-zero"):
            in_memory("accuracy").compute(predictions=preds, references=refs, normalize=normalize,
                                          sample_weight=sample_weight)
        return
    result = accuracy.compute(predictions=preds, references=refs, normalize=normalize, sample_weight=sample_weight)
    assert list(result) == ["accuracy"]
    assert_same(float(expected), result["accuracy"])


def test_accuracy_takes_numpy_and_torch(accuracy):
    torch = pytest.importorskip("torch")
    result = accuracy.compute(predictions=torch.tensor([0, 1, 1, 2]), references=np.array([0, 1, 0, 2]))
    assert result == {"accuracy": 0.75} and type(result["accuracy"]) is float


def test_accuracy_multilabel_is_subset_accuracy():
    metric = evaluate.load(cm.metric_dir("accuracy"), "multilabel", keep_in_memory=True)
    preds, refs = [[0, 1, 1], [1, 1, 0], [0, 0, 0]], [[0, 1, 1], [0, 1, 0], [0, 0, 0]]
    expected = sk_metrics.accuracy_score(np.array(refs), np.array(preds))
    assert_same(float(expected), metric.compute(predictions=preds, references=refs)["accuracy"])


# --- f1 ---------------------------------------------------------------------------------------------------

@SETTINGS
@given(labels=st.sampled_from([(0, 1), (1, 2), (0, 3)]), pos_label=st.sampled_from([0, 1, 2]), draw=st.data())
def test_binary_f1_equals_sklearn(f1, in_memory, labels, pos_label, draw):
    preds, refs = draw.draw(pairs(st.sampled_from(labels)))
    sample_weight = draw.draw(weights(len(preds)))
    expected = sk(sk_metrics.f1_score, refs, preds, pos_label=pos_label, sample_weight=sample_weight,
                  zero_division=0)
    if isinstance(expected, ValueError):  # pos_label absent from two present labels, or all weights zero
        with pytest.raises(ValueError, match=re.escape(str(expected)[:20])):
            in_memory("f1").compute(predictions=preds, references=refs, pos_label=pos_label,
                                    sample_weight=sample_weight)
    else:
        result = f1.compute(predictions=preds, references=refs, pos_label=pos_label, sample_weight=sample_weight)
        assert list(result) == ["f1"]
        assert_same(float(expected), result["f1"])


@SETTINGS
@given(data=pairs(st.integers(0, 5)), average=st.sampled_from(["micro", "macro", "weighted", None]),
       labels=st.one_of(st.none(), st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True)),
       draw=st.data())
def test_multiclass_f1_equals_sklearn(f1, in_memory, data, average, labels, draw):
    preds, refs = data
    sample_weight = draw.draw(weights(len(preds)))
    expected = sk(sk_metrics.f1_score, refs, preds, labels=labels, average=average,
                  sample_weight=sample_weight, zero_division=0)
    if isinstance(expected, ValueError):  # all weights zero
        with pytest.raises(ValueError, match="non-zero"):
            in_memory("f1").compute(predictions=preds, references=refs, labels=labels, average=average,
                                    sample_weight=sample_weight)
        return
    result = f1.compute(predictions=preds, references=refs, labels=labels, average=average,
                        sample_weight=sample_weight)["f1"]
    if average is None:
        assert isinstance(result, list) and len(result) == len(expected)
        for e, r in zip(expected, result):
            assert_same(float(e), r)
    else:
        assert_same(float(expected), result)


@pytest.mark.parametrize("average", ["binary", "micro", "macro", "weighted"])
@pytest.mark.parametrize(
    "preds, refs",
    [
        ([0, 0, 0], [0, 0, 0]),  # all negative: binary F1 of class 1 is undefined -> 0.0 like sklearn
        ([1, 1, 1], [1, 1, 1]),  # all one class
        ([1], [1]),  # single example
        ([0], [1]),
        ([0, 0, 0, 0], [0, 1, 0, 1]),  # the positive class never predicted
        ([1, 1, 1, 1], [0, 0, 0, 0]),  # never true
    ],
)
def test_f1_edge_cases_equal_sklearn(f1, preds, refs, average):
    expected = sk(sk_metrics.f1_score, refs, preds, average=average, zero_division=0)
    assert_same(float(expected), f1.compute(predictions=preds, references=refs, average=average)["f1"])


def test_f1_all_negative_is_zero_as_in_sklearn(f1):
    assert f1.compute(predictions=[0, 0], references=[0, 0]) == {"f1": 0.0}
    assert sk(sk_metrics.f1_score, [0, 0], [0, 0]) == 0.0


def test_f1_labels_never_predicted_count_as_zero_in_macro(f1):
    preds, refs = [0, 1, 1, 0], [0, 1, 2, 0]
    expected = sk(sk_metrics.f1_score, refs, preds, average="macro", labels=[0, 1, 2, 9], zero_division=0)
    assert_same(float(expected), f1.compute(predictions=preds, references=refs, average="macro",
                                            labels=[0, 1, 2, 9])["f1"])


def test_binary_f1_refuses_multiclass_like_sklearn(in_memory):
    with pytest.raises(ValueError, match="average='binary'"):
        in_memory("f1").compute(predictions=[0, 1, 2], references=[0, 1, 2])


def test_f1_multilabel_equals_sklearn():
    metric = evaluate.load(cm.metric_dir("f1"), "multilabel", keep_in_memory=True)
    rng = np.random.default_rng(0)
    preds, refs = rng.integers(0, 2, (30, 4)), rng.integers(0, 2, (30, 4))
    for average in ["micro", "macro", "weighted", "samples"]:
        expected = sk(sk_metrics.f1_score, refs, preds, average=average, zero_division=0)
        got = metric.compute(predictions=preds.tolist(), references=refs.tolist(), average=average)["f1"]
        assert_same(float(expected), got)


# --- glue -------------------------------------------------------------------------------------------------

@SETTINGS
@given(data=pairs(st.integers(0, 1)))
def test_glue_mrpc_and_sst2_equal_sklearn(glue, data):
    preds, refs = data
    accuracy = float(sk_metrics.accuracy_score(refs, preds))
    f1 = float(sk(sk_metrics.f1_score, refs, preds, zero_division=0))
    mrpc = glue("mrpc").compute(predictions=preds, references=refs)
    assert list(mrpc) == ["accuracy", "f1"]
    assert_same(accuracy, mrpc["accuracy"])
    assert_same(f1, mrpc["f1"])
    assert glue("sst2").compute(predictions=preds, references=refs) == {"accuracy": accuracy}


@SETTINGS
@given(data=pairs(st.integers(0, 3)))
def test_glue_cola_equals_sklearn(glue, data):
    preds, refs = data
    expected = float(sk(sk_metrics.matthews_corrcoef, refs, preds))
    result = glue("cola").compute(predictions=preds, references=refs)
    assert list(result) == ["matthews_correlation"]
    assert_same(expected, result["matthews_correlation"])


@SETTINGS
@given(data=pairs(st.floats(0.0, 5.0, width=32), min_size=2))
def test_glue_stsb_equals_scipy(glue, data):
    preds, refs = (np.asarray(x, dtype=np.float32) for x in data)  # the metric's features are float32
    pearson = float(sk(scipy_stats.pearsonr, preds, refs)[0])
    spearman = float(sk(scipy_stats.spearmanr, preds, refs)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: nan with a warning, as in scipy
        result = glue("stsb").compute(predictions=preds, references=refs)
    assert list(result) == ["pearson", "spearmanr"]
    for expected, got in [(pearson, result["pearson"]), (spearman, result["spearmanr"])]:
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert type(got) is float and got == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("config", GLUE_CONFIGS)
def test_every_glue_config_gives_the_hub_keys(glue, config):
    keys = {"mrpc": ["accuracy", "f1"], "qqp": ["accuracy", "f1"], "cola": ["matthews_correlation"],
            "stsb": ["pearson", "spearmanr"]}.get(config, ["accuracy"])
    preds, refs = ([0.5, 1.0, 4.0], [0.0, 2.0, 3.5]) if config == "stsb" else ([0, 1, 1], [0, 1, 0])
    result = glue(config).compute(predictions=preds, references=refs)
    assert list(result) == keys and all(type(v) is float for v in result.values())


@pytest.mark.parametrize("config", [None, "mrcp", "squad"])
def test_glue_needs_a_known_config_and_lists_them(config):
    with pytest.raises(KeyError) as err:
        evaluate.load(cm.metric_dir("glue"), config)
    text = str(err.value)
    assert all(f"'{name}'" in text for name in GLUE_CONFIGS)
    assert ("needs a configuration name" in text) if config is None else (repr(config) in text)


# --- add / add_batch, empty input ---------------------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=pairs(st.integers(0, 1), max_size=30), cuts=st.lists(st.integers(0, 30), max_size=4))
def test_add_batch_in_chunks_equals_one_compute(glue, f1, data, cuts):
    preds, refs = data
    bounds = sorted({0, len(preds), *(c for c in cuts if c < len(preds))})
    for metric in (glue("mrpc"), f1):
        whole = metric.compute(predictions=preds, references=refs)
        for start, end in itertools.pairwise(bounds):
            if end - start == 1:
                metric.add(prediction=preds[start], reference=refs[start])
            else:
                metric.add_batch(predictions=preds[start:end], references=refs[start:end])
        assert metric.compute() == whole


@pytest.mark.parametrize("name, config", [("accuracy", None), ("f1", None), ("glue", "mrpc"), ("glue", "stsb")])
def test_empty_input_raises_a_clear_error(name, config, tmp_path):
    metric = evaluate.load(cm.metric_dir(name), config, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match=NO_PREDICTIONS):
        metric.compute(predictions=[], references=[])
    with pytest.raises(ValueError, match=NOTHING_ADDED):
        metric.compute()
    # both refused before evaluate wrote anything: no cache file or held lock behind, the next one works at once
    assert not [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".arrow")]
    preds = [0.0, 1.0] if config == "stsb" else [0, 1]
    assert metric.compute(predictions=preds, references=preds)


# --- metric_dir / metric_source -----------------------------------------------------------------------

def test_metric_dir_is_an_absolute_folder_named_like_its_script():
    for name in ("accuracy", "f1", "glue"):
        path = cm.metric_dir(name)
        assert os.path.isabs(path) and os.path.isfile(os.path.join(path, f"{name}.py"))
        assert os.path.isfile(os.path.join(path, "README.md"))
    with pytest.raises(ValueError, match="accuracy, f1, glue"):
        cm.metric_dir("rouge")


def test_metric_source_is_local_offline_and_the_hub_name_online(monkeypatch):
    monkeypatch.delenv("COURSE_METRICS_LOCAL", raising=False)
    monkeypatch.setattr(sources, "is_offline", lambda: True)
    assert cm.metric_source("glue") == cm.metric_dir("glue")
    with pytest.raises(ValueError, match="accuracy, f1, glue"):
        cm.metric_source("rouge")
    monkeypatch.setattr(sources, "is_offline", lambda: False)
    assert cm.metric_source("glue") == "glue"
    assert cm.metric_source("rouge") == "rouge"
    monkeypatch.setenv("COURSE_METRICS_LOCAL", "1")
    assert cm.metric_source("f1") == cm.metric_dir("f1")


def test_fresh_process_loads_offline_into_a_fresh_modules_cache(tmp_path):
    """No network, no hang: evaluate copies the scripts into HF_MODULES_CACHE and imports them from there."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"),
               HF_METRICS_CACHE=str(tmp_path / "metrics"), COURSE_METRICS_LOCAL="1")
    code = (
        "import evaluate, course.metrics as cm\n"
        "m = evaluate.load(cm.metric_source('glue'), 'mrpc')\n"
        "print(m.compute(predictions=[0, 1, 1], references=[0, 1, 0]))\n"
        "print(evaluate.load(cm.metric_source('f1')).compute(predictions=[1], references=[1]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["{'accuracy': 0.6666666666666666, 'f1': 0.6666666666666666}", "{'f1': 1.0}"]
    copies = list((tmp_path / "modules" / "evaluate_modules" / "metrics").glob("*/*/*.py"))
    assert {p.name for p in copies} >= {"glue.py", "f1.py"}


def test_evaluate_load_by_hub_name_gives_the_course_module_offline(monkeypatch, tmp_path):
    """`evaluate.load("glue", "mrpc")`, as the course writes it, works offline."""
    import evaluate.loading as loading

    monkeypatch.setattr(sources, "is_offline", lambda: True)
    cm.resolve_metric_names_in_evaluate()
    cm.resolve_metric_names_in_evaluate()  # a second call wraps nothing twice
    assert loading.evaluation_module_factory.course_original.__name__ == "evaluation_module_factory"
    glue = evaluate.load("glue", "mrpc", cache_dir=str(tmp_path))
    assert glue.compute(predictions=[0, 1, 1], references=[0, 1, 0]) == {"accuracy": 2 / 3, "f1": 2 / 3}
    assert evaluate.load("evaluate-metric/accuracy", cache_dir=str(tmp_path)).compute(
        predictions=[1, 1], references=[1, 0]) == {"accuracy": 0.5}


def test_evaluate_load_passes_other_names_and_online_names_through(monkeypatch):
    import evaluate.loading as loading

    cm.resolve_metric_names_in_evaluate()
    seen = []
    wrapper = loading.evaluation_module_factory
    monkeypatch.setattr(wrapper, "course_original", lambda path, *a, **k: seen.append(path))
    monkeypatch.delenv("COURSE_METRICS_LOCAL", raising=False)
    monkeypatch.setattr(sources, "is_offline", lambda: True)
    for name in ("rouge", "glue", cm.metric_dir("f1")):
        wrapper(name)
    monkeypatch.setattr(sources, "is_offline", lambda: False)
    wrapper("glue")
    assert seen == ["rouge", cm.metric_dir("glue"), cm.metric_dir("f1"), "glue"]
