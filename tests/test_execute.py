"""autograder/execute.py's ScrubBeforeExecute: the throw-away gradebook of a grading job keeps no source text of
the notebook being graded (the hidden tests live there), neither in its rows nor in the file's free pages."""

from __future__ import annotations

import nbformat
from nbgrader.api import Gradebook

from autograder.execute import ScrubBeforeExecute

SECRET = "assert add(2, 2) == 4  # hidden judge text"


def test_scrub_blanks_the_graded_notebooks_source_cells_and_the_file(tmp_path):
    db = tmp_path / "gradebook.db"
    url = f"sqlite:///{db}"
    with Gradebook(url, "course") as gb:
        gb.add_assignment("a1")
        for name in ("graded", "other"):
            gb.add_notebook(name, "a1")
            gb.add_source_cell("test_add", name, "a1", cell_type="code", source=SECRET + name, checksum="x",
                               locked=True)
    (tmp_path / "graded.ipynb").write_text("{}")
    resources = {"nbgrader": {"notebook": "graded", "assignment": "a1", "db_url": url},
                 "metadata": {"path": str(tmp_path)}}
    ScrubBeforeExecute(enabled=True).preprocess(nbformat.v4.new_notebook(), resources)
    with Gradebook(url, "course") as gb:
        assert gb.find_source_cell("test_add", "graded", "a1").source == ""
        assert gb.find_source_cell("test_add", "other", "a1").source == SECRET + "other"  # only the graded one
    assert (SECRET + "graded").encode() not in db.read_bytes()
    assert not (tmp_path / "graded.ipynb").exists()


def test_scrub_does_nothing_unless_enabled(tmp_path):
    resources = {"nbgrader": {"notebook": "graded", "assignment": "a1", "db_url": "sqlite:////nonexistent.db"}}
    nb = nbformat.v4.new_notebook()
    assert ScrubBeforeExecute().preprocess(nb, resources) == (nb, resources)
