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
