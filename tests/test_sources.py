"""Data and checkpoint sources: mirror, Hub, package, and the errors that say what to do."""

from __future__ import annotations

import socket

import pytest

from course import sources


@pytest.fixture(autouse=True)
def fresh_probe():
    sources._hub_reachable.cache_clear()
    yield
    sources._hub_reachable.cache_clear()


def no_network(*args, **kwargs):
    raise AssertionError("the network was probed although HF_HUB_OFFLINE=1 says not to")


def test_mirror_wins_when_set(offline):
    src = sources.dataset_source("nyu-mll/glue")
    assert src.kind == "mirror" and src.path == str(offline / "nyu-mll" / "glue")


def test_yelp_sample_stands_in_for_the_full_dataset(offline):
    src = sources.dataset_source("Yelp/yelp_review_full")
    assert src.path.endswith("Yelp/yelp_review_full_sample") and "sample" in src.reason


def test_offline_without_mirror_names_the_variable_and_the_mirror_command(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(sources.SourceError) as err:
        sources.dataset_source("nyu-mll/glue")
    text = str(err.value)
    assert "COURSE_DATA_DIR" in text and "course data mirror" in text and "HF_HUB_OFFLINE=1" in text


def test_offline_flag_skips_the_network_probe(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert sources.is_offline() and sources.offline_reason() == "HF_HUB_OFFLINE=1"


def test_unreachable_hub_counts_as_offline(monkeypatch):
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)

    def refuse(*args, **kwargs):
        raise OSError("no route")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert "cannot be reached" in sources.offline_reason()


def test_online_without_mirror_uses_the_hub_id(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(sources, "offline_reason", lambda: None)
    assert sources.dataset_source("nyu-mll/glue") == sources.Source("nyu-mll/glue", "hub", "online")


def test_offline_default_checkpoint_is_the_packaged_minilm(offline):
    src = sources.checkpoint_source(None)
    assert src.kind == "package"
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(src.path)
    assert config.model_type == "bert" and config.num_hidden_layers == 6


def test_online_default_checkpoint_is_bert_base_uncased(monkeypatch):
    monkeypatch.delenv("COURSE_CHECKPOINT", raising=False)
    monkeypatch.setattr(sources, "offline_reason", lambda: None)
    monkeypatch.setattr(sources, "_in_hf_cache", lambda name: False)
    assert sources.checkpoint_source(None) == sources.Source("bert-base-uncased", "hub", "the online default, online")


def test_environment_checkpoint_wins(offline, monkeypatch, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("COURSE_CHECKPOINT", str(tmp_path))
    src = sources.checkpoint_source("bert-base-uncased")
    assert src.path == str(tmp_path) and "COURSE_CHECKPOINT" in src.reason


def test_unavailable_profile_checkpoint_falls_back_offline_with_a_reason(offline, monkeypatch):
    monkeypatch.setattr(sources, "_in_hf_cache", lambda name: False)
    src = sources.checkpoint_source("bert-base-uncased")
    assert src.kind == "package" and "bert-base-uncased is not available offline" in src.reason


def test_unavailable_environment_checkpoint_is_an_error_not_a_fallback(offline, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT", "someone/unknown-model")
    monkeypatch.setattr(sources, "_in_hf_cache", lambda name: False)
    with pytest.raises(sources.SourceError, match="COURSE_CHECKPOINT"):
        sources.checkpoint_source(None)


def test_mirrored_checkpoint_is_found(offline, monkeypatch, tmp_path):
    (tmp_path / "bert-base-uncased").mkdir()
    (tmp_path / "bert-base-uncased" / "config.json").write_text("{}")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    src = sources.checkpoint_source("bert-base-uncased")
    assert src.kind == "mirror" and src.path == str(tmp_path / "bert-base-uncased")


def test_hub_ids_of_the_course_open_the_mirror_in_load_dataset(offline):
    """`load_dataset("nyu-mll/glue", "mrpc")`, as the course writes it, reads the mirror offline."""
    from datasets import load_dataset

    sources.resolve_hub_ids_in_datasets()
    sources.resolve_hub_ids_in_datasets()  # a second call wraps nothing twice
    import datasets.load as loader

    assert loader.dataset_module_factory.course_original.__name__ == "dataset_module_factory"
    mrpc = load_dataset("nyu-mll/glue", "mrpc")
    assert {k: len(v) for k, v in mrpc.items()} == {"train": 3668, "validation": 408, "test": 1725}
    assert mrpc["train"].features["label"].names == ["not_equivalent", "equivalent"]
    yelp = load_dataset("Yelp/yelp_review_full")
    assert len(yelp["train"]) == 1000 and yelp["train"].features["label"].num_classes == 5


def test_load_dataset_offline_without_mirror_says_what_to_do(monkeypatch, tmp_path):
    from datasets import load_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    sources.resolve_hub_ids_in_datasets()
    with pytest.raises(sources.SourceError, match="COURSE_DATA_DIR"):
        load_dataset("nyu-mll/glue", "mrpc")


def test_other_paths_and_online_ids_reach_datasets_unchanged(monkeypatch, offline):
    import datasets.load as loader

    sources.resolve_hub_ids_in_datasets()
    seen = []
    wrapper = loader.dataset_module_factory
    monkeypatch.setattr(wrapper, "course_original", lambda path, *a, **k: seen.append(path))
    mirrored = str(offline / "nyu-mll" / "glue")
    for path in ("someone/other", mirrored, "nyu-mll/glue"):
        wrapper(path)
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_hub_reachable", lambda: True)
    wrapper("nyu-mll/glue")  # online, no mirror: the Hub, as for anyone
    assert seen == ["someone/other", mirrored, mirrored, "nyu-mll/glue"]



def test_start_refuses_a_data_dir_that_does_not_exist_in_one_line_before_anything_is_fetched(monkeypatch, tmp_path):
    """The README's relative `COURSE_DATA_DIR=../shared/data`, seen from a notebook's folder: course.start stops
    with one line that says what to do, before it resolves a checkpoint or touches the network."""
    import course
    from course.runtime import SetupError

    (tmp_path / "release" / "01_preprocessing").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "release" / "01_preprocessing")
    monkeypatch.setenv("COURSE_DATA_DIR", "../shared/data")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(sources, "checkpoint_source", lambda *a, **k: pytest.fail("a checkpoint was resolved"))
    with pytest.raises(SetupError) as err:
        course.start(quiet=True)
    text = str(err.value)
    assert "\n" not in text and err.value._render_traceback_() == [f"SetupError: {text}"]
    assert str(tmp_path / "release" / "shared" / "data") in text and "does not exist" in text
    assert "relative" in text and "absolute path" in text and "restart the kernel" in text
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SetupError, match="nowhere, which does not exist"):
        course.start(quiet=True)
