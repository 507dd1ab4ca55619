"""course.data is notebook 1's code: the cells it was saved from give the same tokenized MRPC."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT

import course
from course import data
from course.tasks import TASKS


def _saved_cells() -> list[str]:
    """The code of the notebook cells course.data was saved from, solutions in, in notebook order."""
    notebook, ids = data.SAVED_FROM
    nb = nbformat.read(next((ROOT / "source" / notebook).glob("*.ipynb")), as_version=4)
    cells = {c.get("id"): c.source for c in nb.cells if c.cell_type == "code"}
    missing = [i for i in ids if i not in cells]
    assert not missing, f"course.data names cells {missing} that {notebook} no longer has: update SAVED_FROM"
    return ["\n".join(line for line in cells[i].splitlines() if "### BEGIN SOLUTION" not in line
                      and "### END SOLUTION" not in line) for i in ids]


def test_prepare_mrpc_gives_what_notebook_1_gives(offline):
    from transformers import AutoTokenizer

    run = course.start(profile="cpu", quiet=True)  # the whole data set, as notebook 1 loads it
    tokenizer = AutoTokenizer.from_pretrained(run.checkpoint)
    namespace = {"tokenizer": tokenizer}
    for code in _saved_cells():
        exec(compile(code, "notebook 1", "exec"), namespace)  # noqa: S102 - the course's own notebook
    raw, tokenized = data.prepare_mrpc(run, tokenizer)
    assert list(raw) == list(namespace["raw_datasets"])
    for split, part in namespace["tokenized_datasets"].items():
        assert part.column_names == tokenized[split].column_names, split
        assert part["input_ids"] == tokenized[split]["input_ids"], split
        assert part["token_type_ids"] == tokenized[split]["token_type_ids"], split


def test_load_task_cuts_each_split_to_the_profile(offline):
    run = course.start(profile="smoke", quiet=True)
    for name in ("mrpc", "sst2"):
        raw = data.load_task(run, name)
        eval_split = TASKS[name].eval_split
        assert (len(raw["train"]), len(raw[eval_split])) == TASKS[name].sizes["smoke"]
        assert set(TASKS[name].text_columns) <= set(raw["train"].column_names)
        assert raw["train"].features["label"].num_classes == TASKS[name].num_labels


def test_an_unknown_task_names_the_known_ones(offline):
    run = course.start(profile="smoke", quiet=True)
    with pytest.raises(ValueError, match="mrpc, sst2, yelp"):
        data.load_task(run, "imdb")
