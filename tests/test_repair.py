"""autograder.repair, step by step: each repair on a small released notebook and a student's copy of it.

(Whole submissions of the toy course are repaired in tests/test_autograder.py.)"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import repair as r
from course.profiles import PROFILES, notebook_parameters


def _nbgrader(cell, grade_id, **meta):
    cell.id = grade_id
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **meta}
    return cell


def _parameters(source):
    cell = new_code_cell(source)
    cell.id = "params"
    cell.metadata["tags"] = ["parameters"]
    return cell


@pytest.fixture
def release():
    """intro, parameters, answer, test, a free cell, a written answer."""
    free = new_code_cell("x = 1")
    free.id = "free"
    return new_notebook(
        cells=[
            _nbgrader(new_markdown_cell("# Intro"), "intro", locked=True, grade=False, solution=False),
            _parameters('PROFILE = "smoke"\nlearning_rate = 1.0  # the notebook\'s'),
            _nbgrader(new_code_cell("def add(a, b):\n    pass"), "add", solution=True, grade=False, locked=False),
            _nbgrader(new_code_cell("assert add(1, 2) == 3"), "test_add", grade=True, solution=False, locked=True,
                      points=2),
            free,
            _nbgrader(new_markdown_cell("YOUR ANSWER"), "explain", grade=True, solution=True, locked=False, points=2),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


@pytest.fixture
def student(release):
    """The student's copy: the answer written."""
    nb = copy.deepcopy(release)
    nb.cells[2].source = "def add(a, b):\n    return a + b"
    return nb


def _ids(nb):
    return [c.get("id") for c in nb.cells]


def _step(step, nb, release):
    ctx = r.RepairContext(release)
    step(nb, ctx)
    return ctx.notes


def test_parse_normalises_what_editors_get_wrong():
    data = (b'{"cells": [{"cell_type": "code", "source": ["a = 1\\n", "b = 2"], "outputs": [{"x": 1}], '
            b'"execution_count": 3, "metadata": null}], "metadata": [], "nbformat": 4, "nbformat_minor": 2}')
    nb = r.parse(data)
    cell = nb.cells[0]
    assert (cell.source, cell.outputs, cell.execution_count, cell.metadata) == ("a = 1\nb = 2", [], None, {})
    assert nb.metadata == {} and nb.nbformat_minor == 5
    with pytest.raises(r.InvalidNotebook, match="no text source"):
        r.parse(b'{"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4}')
    with pytest.raises(r.InvalidNotebook, match="no list of cells"):
        r.parse(b'{"cells": {}, "nbformat": 4}')


def test_set_nbformat_version(student, release):
    student.nbformat_minor = 4
    assert _step(r.set_nbformat_version, student, release) == []
    assert (student.nbformat, student.nbformat_minor) == (4, 5)


def test_drop_injected_parameters(student, release):
    injected = new_code_cell("learning_rate = 100")
    injected.metadata["tags"] = ["injected-parameters"]
    student.cells.insert(2, injected)
    assert _step(r.drop_injected_parameters, student, release) == ["removed papermill 'injected-parameters' cell"]
    assert "learning_rate = 100" not in [c.source for c in student.cells]
    assert _step(r.drop_injected_parameters, student, release) == []


def test_clear_outputs(student, release):
    student.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    student.cells[2].execution_count = 7
    student.cells[0]["outputs"] = []
    assert _step(r.clear_outputs, student, release) == []
    assert (student.cells[2].outputs, student.cells[2].execution_count) == ([], None)
    assert "outputs" not in student.cells[0]


def test_note_duplicated_and_retyped_cells(student, release):
    student.cells.insert(2, copy.deepcopy(student.cells[2]))
    test = student.cells[4]
    test.cell_type = "markdown"
    del test["outputs"], test["execution_count"]
    assert _step(r.note_duplicated_and_retyped_cells, student, release) == [
        "cell 'add' appears 2 times: only the last copy is graded",
        "cell 'test_add' was changed from code to markdown; converted back",
    ]


def test_reset_nbgrader_metadata(student, release):
    student.cells.insert(2, copy.deepcopy(student.cells[2]))  # an earlier draft of the answer
    student.cells[4].metadata["nbgrader"]["points"] = 99
    unknown = _nbgrader(new_code_cell("y = 2"), "mine", grade=True, points=5)
    student.cells.append(unknown)
    assert _step(r.reset_nbgrader_metadata, student, release) == ["nbgrader metadata edited in cell(s) test_add; reset"]
    assert student.cells[4].metadata["nbgrader"]["points"] == 2
    assert "nbgrader" not in student.cells[2].metadata, "the earlier copy is not graded"
    assert "nbgrader" in student.cells[3].metadata
    assert "nbgrader" not in unknown.metadata


def test_restore_missing_cells_at_their_place(student, release):
    # the test deleted; the intro and the written answer lost their nbgrader metadata
    del student.cells[3]
    del student.cells[0].metadata["nbgrader"]
    del student.cells[-1].metadata["nbgrader"]
    assert _step(r.restore_missing_cells, student, release) == [
        "restored missing cells from the release: intro, test_add, explain"]
    assert _ids(student) == ["intro", "intro", "params", "add", "test_add", "free", "explain", "explain"]
    assert student.cells[4].source == "assert add(1, 2) == 3"
    assert student.cells[3].source.endswith("return a + b"), "the student's answer stays"


def test_restore_missing_cells_before_the_next_one_when_nothing_comes_before(student, release):
    del student.cells[:2]
    assert _step(r.restore_missing_cells, student, release) == ["restored missing cells from the release: intro"]
    assert _ids(student)[:2] == ["intro", "add"]


def test_reset_parameters_cell_to_the_release_with_the_grading_profile(monkeypatch, student, release):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    graded = notebook_parameters(PROFILES["grading"])["learning_rate"]
    assert _step(r.reset_parameters_cell, student, release) == []
    assert student.cells[1].source == f'PROFILE = "smoke"\nlearning_rate = {graded!r}  # the notebook\'s'
    student.cells[1].source = 'PROFILE = "full"'
    assert _step(r.reset_parameters_cell, student, release) == [
        "the 'parameters' cell was edited; reset to the released version"]
    assert student.cells[1].source.startswith('PROFILE = "smoke"')
    del student.cells[1]
    assert _step(r.reset_parameters_cell, student, release) == ["the 'parameters' cell was missing; restored"]
    assert _ids(student)[1] == "params"


def test_renumber_cell_ids(student, release):
    student.cells[1].id = student.cells[0].id
    student.cells[2].id = "not valid!"
    assert _step(r.renumber_cell_ids, student, release) == ["2 duplicated/invalid cell id(s) renumbered"]
    assert len(set(_ids(student))) == len(student.cells) and student.cells[0].id == "intro"


def test_drop_foreign_metadata(student, release):
    ctx = r.RepairContext(release)
    student.cells[1].source = ctx.parameters_cell.source
    student.cells[2].metadata["tags"] = ["skip-execution"]
    student.cells[3].metadata["tags"] = ["raises-exception", "parameters"]  # not the parameters cell
    student.cells[4].metadata["scrolled"] = True
    student.metadata["kernelspec"] = {"name": "evil"}
    r.drop_foreign_metadata(student, ctx)
    assert ctx.notes == ["cell tags dropped before grading: parameters, raises-exception, skip-execution"]
    assert student.cells[1].metadata == {"tags": ["parameters"]}
    assert student.cells[3].metadata == {"nbgrader": release.cells[3].metadata["nbgrader"]}
    assert student.cells[4].metadata == {} and student.metadata == release.metadata


def test_note_validation_errors(student, release):
    assert _step(r.note_validation_errors, student, release) == []
    student.cells[0]["unexpected"] = 1
    assert _step(r.note_validation_errors, student, release)[0].startswith("notebook does not fully validate")


def test_repair_runs_every_step_in_order(student, release):
    assert r.REPAIRS[-1] is r.note_validation_errors and len(set(r.REPAIRS)) == len(r.REPAIRS)
    del student.cells[3]
    student.cells[2].source += "\nimport subprocess\nsubprocess.run(['ls'])"
    nb, notes, suspicious = r.repair(student, release)
    assert notes == ["restored missing cells from the release: test_add"]
    assert _ids(nb) == _ids(release)
    assert suspicious and all(s.startswith("add line") for s in suspicious), suspicious
