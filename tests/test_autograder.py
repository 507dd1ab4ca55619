"""Tests of the autograder package (release, grading, grader validation).

Parametrised over every assignment found in ``source/`` of the real course *and* the toy fixture course
(tests/fixtures/toy_course), so the real notebooks are picked up as soon as they land.  Tests that
run nbgrader on submissions are marked ``slow``.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import nbformat
import pytest
from focused_batch import graded

from autograder import catalogue as cat_mod
from autograder.catalogue import (
    CatalogueError,
    Entry,
    baseline_entries,
    exercise_tests,
    grade_catalogue,
    load_catalogue,
    make_submission,
    read_release,
    solution_notebook,
)
from autograder.collect import discover
from autograder.config import discover_assignments, load_course_config
from autograder.release import find_leaks, release_all, release_is_up_to_date
from autograder.repair import parse, redaction_lines, repair

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy_course"
TOY_ASSIGNMENT = "00_toy"


# The real course (override with AUTOGRADER_TEST_COURSE=/path/to/a/course to try a copy).
COURSE = Path(os.environ.get("AUTOGRADER_TEST_COURSE") or REPO).resolve()


def _assignments():
    params = [pytest.param(TOY, TOY_ASSIGNMENT, id=f"toy-{TOY_ASSIGNMENT}")]
    for a in discover_assignments(COURSE):
        params.append(pytest.param(COURSE, a, id=a, marks=pytest.mark.slow))
    return params


ASSIGNMENTS = _assignments()


def copy_course(dest: Path, src: Path = TOY) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


# =============================================================================== configuration
def test_nbgrader_config_traits_exist():
    """Every trait set in nbgrader_config.py exists on the class it names (catches silent typos)."""
    import nbconvert.preprocessors
    import nbgrader.converters
    import nbgrader.coursedir
    import nbgrader.preprocessors

    from autograder import execute

    cfg = load_course_config(REPO)
    classes = {
        "CourseDirectory": nbgrader.coursedir.CourseDirectory,
        "Execute": nbgrader.preprocessors.Execute,
        "ExecutePreprocessor": nbconvert.preprocessors.ExecutePreprocessor,
        "ContainedExecute": execute.ContainedExecute,
        "ClearSolutions": nbgrader.preprocessors.ClearSolutions,
        "ClearHiddenTests": nbgrader.preprocessors.ClearHiddenTests,
        "ClearOutput": nbgrader.preprocessors.ClearOutput,
        "LimitOutput": nbgrader.preprocessors.LimitOutput,
        "OverwriteCells": nbgrader.preprocessors.OverwriteCells,
        "Autograde": nbgrader.converters.Autograde,
        "GenerateFeedback": nbgrader.converters.GenerateFeedback,
        "HTMLExporter": nbconvert.exporters.HTMLExporter,
    }
    for section, values in cfg.items():
        if section == "Autograder":
            from autograder.settings import Autograder

            assert set(values) <= set(Autograder.class_traits(config=True))
            continue
        assert section in classes, f"unexpected config section {section}"
        traits = classes[section].class_traits(config=True)
        for name in values:
            assert name in traits, f"{section}.{name} is not a configurable trait"
    assert cfg.CourseDirectory.root == str(REPO)
    ex = execute.ContainedExecute(config=cfg)
    assert ex.timeout == 240 and ex.interrupt_on_timeout and ex.startup_timeout == 120
    from autograder.feedback import HideHiddenTests, MarkPendingAnswers

    assert {HideHiddenTests, MarkPendingAnswers} <= set(cfg.GenerateFeedback.preprocessors)


def test_timeout_trait_precedence():
    """Verified nbgrader 0.9 fact: ExecutePreprocessor.timeout reaches nbgrader's Execute, and
    Execute.timeout wins when both are set."""
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    c = Config()
    c.ExecutePreprocessor.timeout = 111
    assert Execute(config=c).timeout == 111
    c.Execute.timeout = 222
    assert Execute(config=c).timeout == 222
    assert Execute().timeout == 30  # nbgrader's own default


def test_what_a_notebook_run_writes_in_its_folder_is_no_part_of_the_assignment(tmp_path):
    from autograder.config import helper_files

    folder = tmp_path / "source" / "01_a"
    (folder / "test-trainer" / "checkpoint-2").mkdir(parents=True)
    (folder / "test-trainer" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (folder / "sst2").mkdir()
    (folder / "sst2" / "training_args.bin").write_bytes(b"")
    (folder / "outputs").mkdir()
    (folder / "outputs" / "train_accelerate.py").write_text("")
    (folder / "data").mkdir()
    (folder / "data" / "words.csv").write_text("a,b\n")
    (folder / "a.ipynb").write_text("{}")
    assert [p.relative_to(folder).as_posix() for p in helper_files(tmp_path, "01_a")] == ["data/words.csv"]


def test_discover_assignments_is_dynamic(tmp_path):
    course = copy_course(tmp_path / "c")
    assert discover_assignments(course) == [TOY_ASSIGNMENT]
    shutil.copytree(course / "source" / TOY_ASSIGNMENT, course / "source" / "01_more")
    (course / "source" / "empty").mkdir()
    assert discover_assignments(course) == [TOY_ASSIGNMENT, "01_more"]


# =============================================================================== release
@pytest.mark.parametrize("course,assignment", ASSIGNMENTS)
def test_release_regeneration_is_byte_identical(course, assignment, tmp_path):
    release_all(course, tmp_path / "a", assignments=[assignment])
    release_all(course, tmp_path / "b", assignments=[assignment])
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
        committed = course / "release" / rel
        assert committed.is_file(), f"release/{rel} is not committed: run `course release`"
        assert committed.read_bytes() == (tmp_path / "a" / rel).read_bytes(), f"release/{rel} is out of date"
    assert not (tmp_path / "a" / "gradebook.db").exists()


@pytest.mark.parametrize("course,assignment", ASSIGNMENTS)
def test_release_is_leak_free(course, assignment):
    assert (course / "release" / assignment).is_dir(), f"release/{assignment} missing: run `course release`"
    from autograder.settings import autograder_settings

    allow = list(autograder_settings(load_course_config(course)).leak_allowlist)
    leaks = find_leaks(course / "release" / assignment, course / "source" / assignment, allow=allow)
    assert leaks == [], "\n".join(map(str, leaks))
    judges = course / "judges"  # the hidden tests' code (issue 28): no file of it, no function of it released
    released = [p for p in (course / "release").rglob("*") if p.is_file()]
    assert not [p for p in released if "judges" in p.relative_to(course / "release").parts], "judges/ released"
    if (judges / f"{assignment}.py").is_file():
        text = "\n".join(p.read_text(errors="replace") for p in released if p.suffix in (".ipynb", ".py"))
        judge_source = (judges / f"{assignment}.py").read_text()
        defs = [line.strip() for line in judge_source.splitlines() if line.startswith("def ")]
        assert defs and not [d for d in defs if d in text], "a judge's function is in the release"
        assert not [p for p in released if p.suffix == ".py" and p.read_text(errors="replace") == judge_source]


def test_release_check_reports_differences(tmp_path):
    course = copy_course(tmp_path / "c")
    assert release_is_up_to_date(course) == []
    nb_path = course / "release" / TOY_ASSIGNMENT / "toy.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[4].source += "\n# edited by hand"
    nbformat.write(nb, nb_path)
    (course / "release" / "99_gone").mkdir()
    (course / "release" / "99_gone" / "x.ipynb").write_text("{}")
    (course / "release" / TOY_ASSIGNMENT / "toy_helpers.py").unlink()
    diffs = release_is_up_to_date(course)
    text = "\n".join(diffs)
    assert "toy.ipynb: cell 4 (add) source differs" in text
    assert "99_gone/x.ipynb: extra file" in text
    assert "toy_helpers.py: missing" in text
    # nothing was written into the course by the check
    assert not (course / "gradebook.db").exists()


def test_find_leaks_detects_markers_hidden_tests_and_outputs(tmp_path):
    course = copy_course(tmp_path / "c")
    nb_path = course / "release" / TOY_ASSIGNMENT / "toy.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[5].source += "\nfor (a, b), want in (((1, 2), 3), ((-1, 1), 0), ((0.5, 0.25), 0.75)):"  # a hidden test
    nb.cells[4].source += "\n    ### BEGIN SOLUTION"
    nb.cells[7].outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.5")]
    nb.cells[10].source = nb.cells[10].source.replace(
        "raise NotImplementedError()", "return sum(x * x for x in xs) / len(xs)"
    )
    nbformat.write(nb, nb_path)
    leaks = find_leaks(course / "release", course / "source")
    kinds = {(l.cell, l.kind) for l in leaks}
    assert (5, "hidden test in source") in kinds
    assert (4, "marker in source") in kinds
    assert (7, "outputs") in kinds
    assert (10, "solution in source") in kinds


def test_find_leaks_finds_a_graded_solution_in_any_form_in_a_public_cell(tmp_path):
    """A script cell that does an exercise's work (reformatted, inside a function, in a %%writefile cell) gives
    the answer away even though no solution line appears verbatim; imports and tiny statements do not."""
    course = copy_course(tmp_path / "c")
    nb_path = course / "release" / TOY_ASSIGNMENT / "toy.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    script = ("%%writefile helper.py\nimport math\n\n\ndef scaled(xs):\n    total = sum(xs)\n"
              "    return [x/total for x in xs]\n")
    nb.cells.insert(8, nbformat.v4.new_code_cell(script))
    nb.cells.insert(9, nbformat.v4.new_code_cell("total = sum( xs )\nprint(total)"))
    nbformat.write(nb, nb_path)
    leaks = find_leaks(course / "release", course / "source")
    statements = [(l.cell, l.snippet) for l in leaks if l.kind == "solution statement"]
    assert statements == [(8, "return [x / total for x in xs]")]
    assert not [l for l in leaks if l.cell == 9], "tiny statements are not leaks"


@pytest.mark.slow
@pytest.mark.parametrize("course,assignment", ASSIGNMENTS)
def test_no_released_cell_passes_a_graded_exercise(course, assignment):
    """Every released code cell that binds a name an answer binds, pasted in as that answer (a %%writefile
    cell by its script; a nested function of that name on its own), fails every test of the exercise."""
    from autograder.catalogue import transplant_entries

    if course == TOY:
        entries = transplant_entries(course, assignment)
        results = grade_catalogue(course, assignment, entries=entries, jobs=2, mode="focused") if entries else []
    else:  # graded with the assignment's other focused entries, in one batch (tests/focused_batch.py)
        batch = graded(course, assignment)
        entries, results = batch.transplants, [batch.result(e) for e in batch.transplants]
    if not entries:
        pytest.skip(f"no released cell of {assignment} binds a name an answer binds")
    failures = [r.describe() for r in results if not r.ok]
    assert not failures, "\n".join(failures)


def test_transplants_cover_writefile_scripts_and_nested_functions(tmp_path):
    from autograder.catalogue import transplant_entries

    course = copy_course(tmp_path / "c")
    for folder in ("source", "release"):
        nb_path = course / folder / TOY_ASSIGNMENT / "toy.ipynb"
        nb = nbformat.read(nb_path, as_version=4)
        nb.cells.insert(8, nbformat.v4.new_code_cell(
            "%%writefile helper.py\nclass Tools:\n    def normalize(xs):\n        return xs\n"))
        nbformat.write(nb, nb_path)
    entries = [e for e in transplant_entries(course, TOY_ASSIGNMENT) if e.cell == "normalize"]
    assert [e.source for e in entries] == ["class Tools:\n    def normalize(xs):\n        return xs\n",
                                           "def normalize(xs):\n    return xs"]
    assert all(e.kind == "wrong" and e.fails == ["test_normalize"] for e in entries)


def test_cli_release_check(capsys):
    from autograder.cli import main

    assert main(["release", "--check", "--course-root", str(TOY)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_register_namespace():
    import argparse

    from autograder.cli import cmd_grade, cmd_release, register

    parser = argparse.ArgumentParser(prog="course")
    register(parser.add_subparsers(dest="command"))
    a = parser.parse_args(["grade", "subs", "--out", "o", "--jobs", "2", "--show-hidden-tests", "--assignment", "x"])
    assert a.func is cmd_grade and a.jobs == 2 and not a.hide_hidden_tests and a.assignment == "x" and a.out == "o"
    assert parser.parse_args(["grade", "subs"]).hide_hidden_tests is True
    r = parser.parse_args(["release", "--check"])
    assert r.func is cmd_release and r.check


# =============================================================================== collecting submissions
def test_discover_layouts(tmp_path):
    known = {"01_pre": ["preprocessing"], "03_metrics": ["compute_metrics"], "00_toy": ["toy"]}
    s = tmp_path / "subs"
    nb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    (s / "ann" / "01_pre").mkdir(parents=True)
    (s / "ann" / "01_pre" / "preprocessing.ipynb").write_bytes(nb)
    (s / "ann" / "01_pre" / "timestamp.txt").write_text("2025-01-01 10:00:00.000000 UTC")
    (s / "bob").mkdir()
    (s / "bob" / "compute_metrics.ipynb").write_bytes(nb)
    (s / "bob" / "notes.md").write_text("hi")
    (s / "cat_compute_metrics.ipynb").write_bytes(nb)
    (s / "dan_03_metrics.zip").write_bytes(b"")
    with zipfile.ZipFile(s / "dan_03_metrics.zip", "w") as z:
        z.writestr("dan/Compute_Metrics (2).ipynb", nb)
        z.writestr("../../evil.ipynb", nb)
    with zipfile.ZipFile(s / "Eve Lee.zip", "w") as z:
        z.writestr("preprocessing.ipynb", nb)
        z.writestr("preprocessing-Copy1.ipynb", nb)
        z.writestr("__MACOSX/._preprocessing.ipynb", b"x")
        z.writestr("toy.ipynb", nb)
    (s / "broken.zip").write_bytes(b"PK not a zip")
    (s / "frank_unknown.ipynb").write_bytes(nb)
    jobs, problems = discover(s, known)
    got = {(j.student, j.assignment): sorted(j.notebooks) for j in jobs}
    assert got == {
        ("ann", "01_pre"): ["preprocessing"],
        ("bob", "03_metrics"): ["compute_metrics"],
        ("cat", "03_metrics"): ["compute_metrics"],
        ("dan", "03_metrics"): ["compute_metrics"],
        ("Eve_Lee", "01_pre"): ["preprocessing"],
        ("Eve_Lee", "00_toy"): ["toy"],
    }
    by = {(j.student, j.assignment): j for j in jobs}
    assert by[("ann", "01_pre")].timestamp.startswith("2025-01-01")
    assert by[("Eve_Lee", "01_pre")].notebooks["preprocessing"].member == "preprocessing.ipynb"
    assert any("several files" in n for n in by[("Eve_Lee", "01_pre")].notes)
    text = "\n".join(map(str, problems))
    assert "unsafe path" in text and "unreadable zip" in text and "frank_unknown.ipynb" in text
    assert "bob/notes.md: ignored" in text
    # --assignment: every student seen gets a job (missing if nothing matched)
    jobs, _ = discover(s, known, only_assignment="00_toy")
    assert {j.student for j in jobs} >= {"ann", "bob", "Eve_Lee"}
    assert all(j.assignment == "00_toy" for j in jobs)


def test_discover_loose_download_names(tmp_path):
    """What browsers and JupyterLab make of a download: `name (1)`, `-Copy1`, `_final`, `_v2`."""
    known = {"01_pre": ["preprocessing"], "03_metrics": ["compute_metrics"]}
    nb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    for name in ("carol_preprocessing (1).ipynb", "dave_compute_metrics-Copy1.ipynb", "erin_preprocessing_final.ipynb",
                 "erin_preprocessing_v2.ipynb", "fay_compute_metrics.ipynb", "fay_compute_metrics (2).ipynb",
                 "gus_01_pre (1).ipynb"):
        (tmp_path / name).write_bytes(nb)
    jobs, problems = discover(tmp_path, known)
    got = {(j.student, j.assignment): j.notebooks for j in jobs}
    assert sorted(got) == [("carol", "01_pre"), ("dave", "03_metrics"), ("erin", "01_pre"), ("fay", "03_metrics")]
    assert got[("fay", "03_metrics")]["compute_metrics"].origin == "fay_compute_metrics.ipynb", "the exact name wins"
    assert got[("erin", "01_pre")]["preprocessing"].origin == "erin_preprocessing_final.ipynb"
    assert any("several files" in n for j in jobs if j.student == "fay" for n in j.notes)
    assert [p.origin for p in problems] == ["gus_01_pre (1).ipynb"], "an assignment id is not a notebook name"


def test_discover_lms_bulk_downloads(tmp_path):
    """Canvas, Moodle and Blackboard bulk downloads, unpacked or still zipped (SUBMISSIONS may be the zip)."""
    known = {"01_pre": ["preprocessing"], "03_metrics": ["compute_metrics"]}
    nb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    canvas = {"smithjohn_1234_5678_preprocessing.ipynb": nb,
              "leeann_LATE_2345_6789_preprocessing-1.ipynb": nb,  # Canvas numbers a re-submission's file
              "leeann_LATE_2345_6790_preprocessing.ipynb": nb,
              "kimbo_3456_7890_compute_metrics.ipynb": nb,
              "kimbo_3456_7891_notes.pdf": b"%PDF"}
    unpacked = tmp_path / "canvas"
    unpacked.mkdir()
    for name, data in canvas.items():
        (unpacked / name).write_bytes(data)
    zipped = tmp_path / "submissions.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for name, data in canvas.items():
            z.writestr(name, data)
    for where in (unpacked, zipped):
        jobs, problems = discover(where, known)
        got = {(j.student, j.assignment): j.notebooks for j in jobs}
        assert sorted(got) == [("kimbo", "03_metrics"), ("leeann", "01_pre"), ("smithjohn", "01_pre")], where
        assert got[("leeann", "01_pre")]["preprocessing"].origin.endswith("leeann_LATE_2345_6790_preprocessing.ipynb")
        assert [p.reason for p in problems] == ["ignored (not a notebook)"], problems

    moodle = tmp_path / "moodle"
    (moodle / "Ann Lee_42_assignsubmission_file_").mkdir(parents=True)
    (moodle / "Ann Lee_42_assignsubmission_file_" / "preprocessing.ipynb").write_bytes(nb)
    (moodle / "Bo Ng_43_assignsubmission_file_preprocessing (1).ipynb").write_bytes(nb)
    blackboard = "Assignment 1_dkaye_attempt_2025-01-10-12-30-00"
    (moodle / f"{blackboard}_compute_metrics.ipynb").write_bytes(nb)
    (moodle / f"{blackboard}.txt").write_text("Name: D Kaye")
    jobs, problems = discover(moodle, known)
    assert {(j.student, j.assignment) for j in jobs} == {("Ann_Lee", "01_pre"), ("Bo_Ng", "01_pre"),
                                                         ("dkaye", "03_metrics")}
    assert not problems, problems

    export = tmp_path / "moodle-export.zip"  # given as SUBMISSIONS: its entries name the students
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("Cy Dee_44_assignsubmission_file_/compute_metrics.ipynb", nb)
        z.writestr("Cy Dee_44_assignsubmission_file_/data.zip", b"PK")
        z.writestr("stray.ipynb", nb)
    jobs, problems = discover(export, known)
    assert {(j.student, j.assignment) for j in jobs} == {("Cy_Dee", "03_metrics")}
    reasons = {p.origin: p.reason for p in problems}
    inner_zip = "moodle-export.zip:Cy Dee_44_assignsubmission_file_/data.zip"
    assert set(reasons) == {inner_zip, "moodle-export.zip:stray.ipynb"}
    assert "unpack" in reasons[inner_zip]
    assert "no student in its name" in reasons["moodle-export.zip:stray.ipynb"]


def test_a_student_folder_named_like_a_canvas_file_keeps_its_name(tmp_path):
    """Canvas's bulk download is flat files: a student's folder ``ann_3_2_408`` (nbgrader layout) is Ann-3-2-408's,
    not a Canvas entry of student ``ann``."""
    known = {"01_pre": ["preprocessing"]}
    nb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    (tmp_path / "ann_3_2_408" / "01_pre").mkdir(parents=True)
    (tmp_path / "ann_3_2_408" / "01_pre" / "preprocessing.ipynb").write_bytes(nb)
    jobs, problems = discover(tmp_path, known)
    assert [(j.student, j.assignment) for j in jobs] == [("ann_3_2_408", "01_pre")] and not problems


def test_a_students_zip_never_hands_in_for_another_student(tmp_path):
    """alice.zip holding a notebook named like an LMS export entry of Bob's is Alice's notebook: Bob's own
    hand-in is graded for Bob, and nothing of Alice's reaches him."""
    known = {"01_pre": ["preprocessing"]}
    nb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "preprocessing.ipynb").write_bytes(nb)
    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as z:
        for name in ("bob_1_2_preprocessing.ipynb", "Bob_9_assignsubmission_file_/preprocessing.ipynb"):
            z.writestr(name, nb)
    jobs, _ = discover(tmp_path, known)
    by = {j.student: j for j in jobs}
    assert set(by) == {"alice", "bob"}
    assert by["bob"].notebooks["preprocessing"].origin == "bob/preprocessing.ipynb"
    assert all(src.origin.startswith("alice.zip:") for src in by["alice"].notebooks.values())


# =============================================================================== repairing notebooks
def _toy_release():
    return read_release(TOY, TOY_ASSIGNMENT, "toy")


def test_repair_restores_deleted_cells_in_place_and_resets_parameters():
    rel = _toy_release()
    nb = make_submission(TOY, baseline_entries(TOY, TOY_ASSIGNMENT)[0])["toy"]
    ids_before = [c.get("id") for c in nb.cells]
    nb.cells = [c for c in nb.cells if c.get("id") not in ("test_add", "setup", "intro")]
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = 'PROFILE = "full"\nSCALE = 1000'
    nb.cells[5].metadata["nbgrader"]["points"] = 99
    nb2, notes, suspicious = repair(parse(nbformat.writes(nb).encode()), rel)
    assert [c.get("id") for c in nb2.cells] == ids_before
    assert any("restored missing cells" in n and "test_add" in n for n in notes)
    assert any("parameters" in n for n in notes)
    assert next(c for c in nb2.cells if "parameters" in c.metadata.get("tags", [])).source == rel.cells[1].source
    assert all(c.metadata.get("nbgrader", {}).get("points", 0) != 99 for c in nb2.cells)
    assert suspicious == []


def test_repair_puts_the_grading_profiles_hyperparameters_into_the_released_parameters_cell(monkeypatch):
    """A notebook whose parameters cell holds the cpu profile's hyperparameters is graded with grading's."""
    from course.profiles import PROFILES, notebook_parameters

    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    rel = _toy_release()
    released = next(c for c in rel.cells if "parameters" in c.metadata.get("tags", []))
    released.source += ("\n# These are the cpu profile's values\nlearning_rate = 5e-05  # the cpu profile's\n"
                        "num_train_epochs = 3")
    nb = copy.deepcopy(rel)
    nb2, notes, _ = repair(parse(nbformat.writes(nb).encode()), rel)
    cell = next(c for c in nb2.cells if "parameters" in c.metadata.get("tags", []))
    graded = notebook_parameters(PROFILES["grading"])
    assert f"learning_rate = {graded['learning_rate']!r}  # the cpu profile's" in cell.source
    assert f"num_train_epochs = {graded['num_train_epochs']!r}" in cell.source
    assert "These are the grading profile's values" in cell.source, "the comment names the profile it holds"
    assert not any("parameters" in n for n in notes), "an untouched parameters cell is not reported as edited"
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    nb3, _, _ = repair(parse(nbformat.writes(nb).encode()), rel)
    assert "learning_rate = 5e-05" in next(c for c in nb3.cells if "parameters" in c.metadata.get("tags", [])).source


@pytest.mark.parametrize(
    "data,match",
    [
        (b'{"cells": [', "invalid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a Jupyter notebook"),
        (
            b'{"cells": [{"cell_type": "bogus", "source": ""}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
            "not a valid cell",
        ),
    ],
)
def test_parse_rejects_broken_files(data, match):
    from autograder.repair import InvalidNotebook

    with pytest.raises(InvalidNotebook, match=match):
        parse(data)


def test_redaction_lines_cover_hidden_tests_and_markers():
    src = nbformat.read(TOY / "source" / TOY_ASSIGNMENT / "toy.ipynb", as_version=4)
    lines = redaction_lines(src)
    assert "for (a, b), want in (((1, 2), 3), ((-1, 1), 0), ((0.5, 0.25), 0.75)):" in lines
    assert "BEGIN HIDDEN TESTS" in lines
    assert "assert add(1, 2) == 3" not in lines  # visible test


# =============================================================================== catalogues
def test_catalogue_patch_rot_fails_loudly():
    e = Entry(TOY_ASSIGNMENT, "wrong", "toy", "add", "gone", replace=[("return a * b", "return 0")])
    with pytest.raises(CatalogueError, match="not found"):
        make_submission(TOY, e)
    e = Entry(TOY_ASSIGNMENT, "wrong", "toy", "add", "twice", replace=[("a", "b")])
    with pytest.raises(CatalogueError, match="found"):
        make_submission(TOY, e)


def test_catalogue_format_errors(tmp_path):
    course = copy_course(tmp_path / "c")
    path = course / "catalogues" / f"{TOY_ASSIGNMENT}.py"
    path.write_text("WRONG = [dict(cell='add', name='x', old='a', new='b', colour='red')]\n")
    with pytest.raises(CatalogueError, match="unknown key"):
        load_catalogue(course, TOY_ASSIGNMENT)
    path.write_text("RIGHT = [dict(cell='add', name='x', old='a', new='b', fails=['test_add'])]\n")
    with pytest.raises(CatalogueError, match="cannot have 'fails'"):
        load_catalogue(course, TOY_ASSIGNMENT)


@pytest.mark.parametrize("course,assignment", ASSIGNMENTS)
def test_catalogue_entries_apply(course, assignment):
    """Every patch still applies to the current solution and names real test cells."""
    cat = load_catalogue(course, assignment)
    if not cat.entries:
        pytest.skip(f"no catalogue for {assignment} yet (catalogues/{assignment}.py)")
    for e in cat.entries:
        subs = make_submission(course, e)
        assert e.notebook in subs
        exp = cat_mod.expected_scores(course, e)
        release = read_release(course, assignment, e.notebook)
        points = cat_mod.autograded_tests(release)
        if e.kind == "wrong":
            own = exercise_tests(release).get(e.cell, [])
            assert any(exp[t] < points[t] for t in own), f"{e}: must lose points on its own exercise {own}"
        else:
            assert exp == points, f"{e}: a correct alternative must expect full marks"
    if course != TOY:  # the course's wrong answers say what the student must read (graded: test_graders_on_catalogue)
        assert not [str(e) for e in cat.wrong if not e.reason], "every wrong answer needs reason=..."


# Every real submission costs 5-15 s on 2 cores (a sandboxed kernel, the imports, a little training), so by
# default the tests grade every correct alternative and one wrong answer of each exercise, a fixed sample
# (tests/focused_batch.py; COURSE_CATALOGUES=full grades all of them, ~27 min, as before a release).


@pytest.mark.slow
@pytest.mark.parametrize("course,assignment", ASSIGNMENTS)
def test_graders_on_catalogue(course, assignment):
    """Solution: full marks; untouched release: zero on autograded tests (without crashing); every wrong
    answer fails exactly its declared tests (so it loses points on its own exercise); every correct
    alternative gets full marks."""
    cat = load_catalogue(course, assignment)
    # the toy in the full mode, the real notebooks in the focused mode (what it checks: autograder/catalogue.py),
    # in one batch with the assignment's other focused entries (tests/focused_batch.py)
    if course == TOY:
        chosen = cat.entries
        entries = baseline_entries(course, assignment) + chosen
        results = grade_catalogue(course, assignment, entries=entries, jobs=2, mode="full")
    else:
        batch = graded(course, assignment)
        entries = batch.catalogue
        chosen = [e for e in entries if e.kind in ("wrong", "right")]
        results = [batch.result(e) for e in entries]
    caught = sum(r.ok for r in results if r.entry.kind == "wrong")
    print(
        f"{assignment}: catch rate {caught}/{sum(e.kind == 'wrong' for e in chosen)} wrong answers"
        f"{'' if len(chosen) == len(cat.entries) else f' (a sample of {len(cat.wrong)})'}; "
        f"{sum(r.ok for r in results if r.entry.kind == 'right')}/{len(cat.right)} alternatives with full marks"
    )
    failures = [r.describe() for r in results if not r.ok]
    assert not failures, "\n".join(failures)
    assert len(results) == len(entries)
    questions = cat_mod.judge_questions(course)  # the hidden tests' code: in no reason (issue 28)
    quoting = {f"{r.entry.name} {t}": q for r in results for t, reason in r.failed_tests.items()
               if (q := cat_mod.quoted_questions(reason, questions))}
    assert not quoting, quoting


def test_an_entry_with_the_right_score_but_another_reason_fails(tmp_path):
    """A wrong answer must lose its points *for the reason it states*: a test that fails for another reason
    (a NameError, a warning on stderr) is not a catch."""
    entry = next(e for e in load_catalogue(REPO, "04_training_loop").wrong if e.reason)
    exp = {"test_evaluate_model": 0.0}
    given = {"test_evaluate_model": f"TestFailed: the accuracy ... ({entry.reason.upper()})"}
    assert cat_mod.EntryResult(entry, exp, {"test_evaluate_model": 0.0}, "ok", "", given).ok
    other = {"test_evaluate_model": "TestFailed: the visible test failed: NameError: name 'torch' is not defined"}
    result = cat_mod.EntryResult(entry, exp, {"test_evaluate_model": 0.0}, "ok", "", other)
    assert not result.ok and "not among" in result.describe()
    bad = copy_course(tmp_path / "course")
    (bad / "catalogues" / f"{TOY_ASSIGNMENT}.py").write_text(
        'RIGHT = [dict(cell="normalize", name="x", old="a", new="b", reason="no")]\n')
    with pytest.raises(CatalogueError, match="reason"):
        load_catalogue(bad, TOY_ASSIGNMENT)


def test_focused_cut_keeps_the_exercise_and_empties_what_follows():
    cat = load_catalogue(TOY, TOY_ASSIGNMENT)
    e = cat.wrong[0]
    nb = make_submission(TOY, e)[e.notebook]
    before = [c.source for c in nb.cells]
    kept = cat_mod.cut_after_exercise(nb, e.cell)
    release = read_release(TOY, TOY_ASSIGNMENT, e.notebook)
    tests = cat_mod.autograded_tests(release)
    own = exercise_tests(release)[e.cell]
    assert set(own) <= set(kept) and kept == [t for t in tests if t in kept]
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    last = max(ids.index(t) for t in own)
    assert [c.source for c in nb.cells[: last + 1]] == before[: last + 1]
    for c, old in zip(nb.cells[last + 1 :], before[last + 1 :]):
        if c.cell_type == "code" and ids[nb.cells.index(c)] not in tests:
            assert c.source == ""
        else:
            assert c.source == old


def test_alternatives_are_graded_in_rounds_of_different_cells():
    right = load_catalogue(TOY, TOY_ASSIGNMENT).right
    rounds = cat_mod.right_rounds(right)
    assert sorted(map(str, (e for r in rounds for e in r))) == sorted(map(str, right))
    for r in rounds:
        assert len({e.cell for e in r}) == len(r)
        nb = cat_mod.combined_submission(TOY, r)[r[0].notebook]
        for e in r:
            alone = make_submission(TOY, e)[e.notebook]
            src = next(c.source for c in alone.cells if c.metadata.get("nbgrader", {}).get("grade_id") == e.cell)
            assert src in [c.source for c in nb.cells]
    with pytest.raises(CatalogueError, match="twice"):
        cat_mod.combined_submission(TOY, [right[0], right[0]])


# =============================================================================== grading a class
@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The toy class from class_fixtures (>= 30 submissions incl. broken/hostile), graded with jobs=2 (cold
    kernels) and, separately, sequentially (warm kernels, the default): one pair of runs compares parallel
    with sequential and warm with cold (the cold, slower kernels run two at a time)."""
    from class_fixtures import make_fixtures

    from autograder.grade import grade

    base = tmp_path_factory.mktemp("class")
    scratch_before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ag-grading-*"))  # e.g. of a killed run
    course = copy_course(base / "course")
    data = make_fixtures(base / "class", course, [TOY_ASSIGNMENT], hostile_paths=True)
    config_before = (course / "nbgrader_config.py").read_bytes()
    protect = [course / "source", course / "nbgrader_config.py"]
    par = grade(  # with cold kernels: warm ones (forked from the zygote) must not change any grade
        base / "class" / "submissions", base / "out2", jobs=2, course_root=course, protect=protect, progress=False,
        warm_kernels=False,
    )
    seq = grade(
        base / "class" / "submissions", base / "out1", jobs=1, course_root=course, protect=protect, progress=False
    )
    return {"base": base, "course": course, "expected": data, "par": par, "seq": seq, "config_before": config_before,
            "scratch_before": scratch_before}


@pytest.mark.slow
def test_class_has_at_least_30_submissions(graded_class):
    """At least 30 different students came out of collection and grading, each with an outcome of its own in
    both runs and a row in the class's grades.csv (not only 30 fixtures written)."""
    expected = set(graded_class["expected"]["submissions"])
    for run in ("par", "seq"):
        graded = {f"{o.student}/{o.assignment}" for o in graded_class[run].outcomes}
        assert graded == expected, sorted(graded ^ expected)
        with open(graded_class[run].out_dir / "grading" / "grades.csv") as fh:
            rows = {f"{r['student']}/{r['assignment']}" for r in csv.DictReader(fh)}
        assert expected <= rows, sorted(expected - rows)
    assert len({key.split("/")[0] for key in expected}) >= 30


@pytest.mark.slow
@pytest.mark.parametrize("run", ["par", "seq"])
def test_class_scores_match_expected(graded_class, run):
    out = graded_class[run].out_dir
    with open(out / "grading" / "grades.csv") as fh:
        rows = {f"{r['student']}/{r['assignment']}": r for r in csv.DictReader(fh)}
    wrong = []
    for key, e in graded_class["expected"]["submissions"].items():
        r = rows.get(key)
        got = None if r is None else (r["status"], float(r["auto_score"]), float(r["auto_max"]))
        if got != (e["status"], e["auto_score"], e["auto_max"]):
            wrong.append(f"{key} ({e['description']}): expected {(e['status'], e['auto_score'])}, got {got}")
    assert not wrong, "\n".join(wrong)
    assert set(rows) == set(graded_class["expected"]["submissions"])


@pytest.mark.slow
def test_parallel_gradebook_equals_sequential(graded_class):
    from autograder import zygote
    from autograder.gradebook import snapshot

    if zygote.available():
        assert (graded_class["par"].kernels, graded_class["seq"].kernels) == ("cold", "warm")
    par = snapshot(graded_class["par"].gradebook)
    seq = snapshot(graded_class["seq"].gradebook)
    assert par and par == seq
    students = {k[1] for k in par}
    assert len(students) == len(graded_class["expected"]["submissions"])
    po = {(o.student, o.status) for o in graded_class["par"].outcomes}
    so = {(o.student, o.status) for o in graded_class["seq"].outcomes}
    assert po == so


@pytest.mark.slow
@pytest.mark.parametrize("run", ["par", "seq"])
def test_hostile_submissions_are_contained(graded_class, run):
    g, graded = graded_class, graded_class[run]
    # the course file is not even visible to the sandboxed kernel: unchanged, the write flagged, answers graded
    assert (g["course"] / "nbgrader_config.py").read_bytes() == g["config_before"]
    o = graded.outcome("hostile-writes-course-files", TOY_ASSIGNMENT)
    assert o.status == "ok" and o.suspicious, o
    # nothing under the grading directory exposes the hidden tests to the student's kernel
    nb = nbformat.read(graded.out_dir / "autograded" / "hostile-reads-hidden-tests" / TOY_ASSIGNMENT / "toy.ipynb", 4)
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "hidden-test probe found 0 file(s)" in outputs
    # output floods are capped
    size = (graded.out_dir / "autograded" / "hostile-big-output" / TOY_ASSIGNMENT / "toy.ipynb").stat().st_size
    assert size < 200_000
    # every failure has a reason and a feedback page
    for o in graded.outcomes:
        if o.status != "ok":
            assert o.reason, o
        fb = graded.out_dir / "feedback" / o.student / TOY_ASSIGNMENT / "toy.html"
        assert fb.is_file(), o.student
    # no work directories or kernels left behind
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("ag-grading-*")) <= g["scratch_before"]


@pytest.mark.slow
@pytest.mark.parametrize("run", ["par", "seq"])
def test_feedback_hides_hidden_tests(graded_class, run):
    hidden = redaction_lines(nbformat.read(graded_class["course"] / "source" / TOY_ASSIGNMENT / "toy.ipynb", 4))
    fb_dir = graded_class[run].out_dir / "feedback"
    for html in fb_dir.rglob("*.html"):
        if "hostile-reads-hidden-tests" in str(html):
            continue  # that student pasted (hex-encoded) test text into their own cell
        text = html.read_text()
        import html as html_mod

        plain = html_mod.unescape(__import__("re").sub(r"<[^>]+>", "", text))
        leaked = [h for h in hidden if len(h) > 12 and h in plain]
        assert not leaked, (html, leaked)
    # ...but the autograded notebooks (for the instructor) keep them
    nb = (graded_class[run].out_dir / "autograded" / "sol-nbgrader" / TOY_ASSIGNMENT / "toy.ipynb").read_text()
    assert "((0.5, 0.25), 0.75)" in nb


@pytest.mark.slow
def test_reports_written(graded_class):
    out = graded_class["par"].out_dir / "grading"
    report = re.sub(r"\\(.)", r"\1", (out / "report.md").read_text())  # as it reads, Markdown escapes undone
    for needle in (
        "## 00_toy",
        "| test_add | test | 2 |",
        "### Most failed tests",
        "broken-invalid-json",
        "invalid JSON",
        "kernel_died",
        "eve_homework.ipynb",
    ):
        assert needle in report, needle
    assert (out / "scores.png").read_bytes()[:4] == b"\x89PNG"
    outcomes = json.loads((out / "outcomes.json").read_text())
    assert f"sol-nbgrader/{TOY_ASSIGNMENT}" in outcomes
    with sqlite3.connect(graded_class["par"].gradebook) as con:
        n = con.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert n == len(graded_class["expected"]["submissions"])


# =============================================================================== regrading
@pytest.mark.slow
def test_regrading_keeps_manual_grades_and_previous_results(tmp_path):
    from nbgrader.api import Gradebook

    from autograder.grade import grade

    subs = tmp_path / "subs"
    sol = make_submission(TOY, baseline_entries(TOY, TOY_ASSIGNMENT)[0])
    cat_mod.write_nbgrader_layout(subs, "ann", TOY_ASSIGNMENT, sol)
    cat_mod.write_nbgrader_layout(subs, "bob", TOY_ASSIGNMENT, sol)
    out = tmp_path / "out"
    run = grade(subs, out, jobs=2, course_root=TOY, protect=[], progress=False, report=False)
    assert {o.status for o in run.outcomes} == {"ok"}
    url = f"sqlite:///{out / 'gradebook.db'}"
    cid = load_course_config(TOY).CourseDirectory.course_id
    with Gradebook(url, cid) as gb:
        g = gb.find_grade("explain", "toy", TOY_ASSIGNMENT, "ann")
        g.manual_score = 1.5
        gb.db.commit()
    # ann resubmits a wrong answer, bob resubmits a broken file
    wrong = load_catalogue(TOY, TOY_ASSIGNMENT).wrong[0]
    cat_mod.write_nbgrader_layout(subs, "ann", TOY_ASSIGNMENT, make_submission(TOY, wrong))
    (subs / "bob" / TOY_ASSIGNMENT / "toy.ipynb").write_text("{ not json")
    run2 = grade(subs, out, jobs=1, course_root=TOY, protect=[], progress=False)
    assert run2.outcome("bob", TOY_ASSIGNMENT).merge == "kept previous grades"
    with Gradebook(url, cid) as gb:
        assert gb.find_grade("explain", "toy", TOY_ASSIGNMENT, "ann").manual_score == 1.5
        assert gb.find_grade("test_add", "toy", TOY_ASSIGNMENT, "ann").auto_score == 0
        assert gb.find_grade("test_add", "toy", TOY_ASSIGNMENT, "bob").auto_score == 2
    with open(out / "grading" / "grades.csv") as fh:
        ann = next(r for r in csv.DictReader(fh) if r["student"] == "ann")
    # a written answer a person has graded stays graded (no second review asked for)
    assert float(ann["score"]) == 4 + 1.5 and ann["needs_manual_grade"] == "0"


@pytest.mark.slow
def test_changed_assignment_is_refused_not_mixed(tmp_path):
    from autograder.grade import grade

    course = copy_course(tmp_path / "c")
    subs = tmp_path / "subs"
    cat_mod.write_nbgrader_layout(
        subs, "ann", TOY_ASSIGNMENT, make_submission(course, baseline_entries(course, TOY_ASSIGNMENT)[0])
    )
    out = tmp_path / "out"
    grade(subs, out, course_root=course, protect=[], progress=False, report=False)
    src = course / "source" / TOY_ASSIGNMENT / "toy.ipynb"
    nb = nbformat.read(src, 4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_add":
            c.metadata["nbgrader"]["points"] = 5
    nbformat.write(nb, src)
    before = (out / "gradebook.db").read_bytes()
    run = grade(subs, out, course_root=course, protect=[], progress=False, report=False)
    o = run.outcome("ann", TOY_ASSIGNMENT)
    assert o.status == "error" and "differs" in o.reason
    from autograder.gradebook import snapshot

    (tmp_path / "before.db").write_bytes(before)
    assert snapshot(out / "gradebook.db") == snapshot(tmp_path / "before.db")


@pytest.mark.slow
def test_no_feedback_grades_only(tmp_path):
    from autograder.grade import grade

    subs = tmp_path / "subs"
    sol = make_submission(TOY, baseline_entries(TOY, TOY_ASSIGNMENT)[0])
    cat_mod.write_nbgrader_layout(subs, "ann", TOY_ASSIGNMENT, sol)
    course = copy_course(tmp_path / "c")
    run = grade(subs, tmp_path / "out", course_root=course, protect=[], progress=False, feedback=False)
    o = run.outcome("ann", TOY_ASSIGNMENT)
    assert o.status == "ok" and o.phases["autograde"] > 0
    assert (tmp_path / "out" / "autograded" / "ann" / TOY_ASSIGNMENT).is_dir()
    assert not (tmp_path / "out" / "feedback").exists()


# =============================================================================== sharding a class
@pytest.mark.slow
def test_sharded_grading_merges_to_the_same_gradebook(tmp_path):
    """Two shards graded separately (as on two machines) and merged equal one run over the whole class."""
    from autograder.catalogue import write_nbgrader_layout
    from autograder.grade import grade
    from autograder.gradebook import snapshot
    from autograder.shards import merge_shards, shard_of

    course = copy_course(tmp_path / "course")
    entries = baseline_entries(course, TOY_ASSIGNMENT)[:1] + load_catalogue(course, TOY_ASSIGNMENT).wrong[:5]
    subs = tmp_path / "submitted"
    for i, entry in enumerate(entries):
        write_nbgrader_layout(subs, f"student{i}", TOY_ASSIGNMENT, make_submission(course, entry))
    students = [f"student{i}" for i in range(len(entries))]
    assert {shard_of(s, 2) for s in students} == {1, 2}, "both shards get students"

    whole = grade(subs, tmp_path / "whole", jobs=2, course_root=course, progress=False)
    for k in (1, 2):
        grade(subs, tmp_path / f"shard{k}", jobs=1, course_root=course, progress=False, shard=(k, 2))
    merged = merge_shards([tmp_path / "shard1", tmp_path / "shard2"], tmp_path / "merged", course_root=course)

    assert snapshot(merged.gradebook) == snapshot(whole.gradebook)
    assert {o.student for o in merged.outcomes} == set(students)
    rows = list(csv.DictReader(open(tmp_path / "merged" / "grading" / "grades.csv")))
    assert sorted(r["student"] for r in rows) == sorted(students)
    with pytest.raises(ValueError, match="must not overlap"):
        merge_shards([tmp_path / "shard1", tmp_path / "shard1"], tmp_path / "again", course_root=course)


@pytest.mark.slow
def test_dask_engine_gives_the_gradebook_of_a_sequential_run(tmp_path):
    """The same small class graded sequentially and on a local Dask cluster of 2 workers (the parent still the
    only writer of the gradebook): identical gradebooks, outcomes and feedback files. (jobs=2 against a
    sequential run: test_parallel_gradebook_equals_sequential.)"""
    pytest.importorskip("distributed")
    from autograder.catalogue import write_nbgrader_layout
    from autograder.grade import grade
    from autograder.gradebook import snapshot

    course = copy_course(tmp_path / "course")
    entries = baseline_entries(course, TOY_ASSIGNMENT) + load_catalogue(course, TOY_ASSIGNMENT).wrong[:4]
    subs = tmp_path / "submitted"
    for i, entry in enumerate(entries):
        write_nbgrader_layout(subs, f"student{i}", TOY_ASSIGNMENT, make_submission(course, entry))
    runs = {
        "seq": grade(subs, tmp_path / "seq", jobs=1, course_root=course, progress=False),
        "dask": grade(subs, tmp_path / "dask", jobs=2, course_root=course, progress=False, engine="dask"),
    }
    assert runs["dask"].engine == "dask" and runs["dask"].kernels == "warm"
    # each Dask worker process forked its kernels from zygotes of its own (a warm kernel records bwrap's set-up)
    assert all("sandbox_setup" in o.autograde_parts for o in runs["dask"].outcomes if o.status == "ok")
    snapshots = {k: snapshot(r.gradebook) for k, r in runs.items()}
    assert snapshots["seq"] and snapshots["seq"] == snapshots["dask"]
    statuses = {k: sorted((o.student, o.status, o.merge) for o in r.outcomes) for k, r in runs.items()}
    assert statuses["seq"] == statuses["dask"]
    files = {k: sorted(str(p.relative_to(r.out_dir)) for p in (r.out_dir / "feedback").rglob("*.html"))
             for k, r in runs.items()}
    assert files["seq"] and files["seq"] == files["dask"]
    autograded = sorted(p.relative_to(tmp_path / "dask") for p in (tmp_path / "dask" / "autograded").rglob("*.ipynb"))
    assert len(autograded) == len(entries)
    with pytest.raises(ValueError, match="scheduler address"):
        grade(subs, tmp_path / "bad", course_root=course, progress=False, engine="yarn")


# =============================================================================== manual grading, end to end
def _feedback_text(path: Path) -> str:
    import html as html_mod
    import re

    return html_mod.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


@pytest.mark.slow
def test_manual_grade_reaches_feedback_csv_and_survives_a_regrade(tmp_path):
    """Grade, grade the written answer by hand through nbgrader's API, `course feedback`: the score and the
    comment reach the feedback and grades.csv; a re-grade keeps them; nbgrader's own generate_feedback in the
    course folder shows no hidden test either."""
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    from autograder.cli import main as autograder_main
    from autograder.config import course_id
    from autograder.grade import grade

    course = copy_course(tmp_path / "course")
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(solution_notebook(course, TOY_ASSIGNMENT, "toy"), subs / "mia_toy.ipynb")
    out = course  # like nbgrader: the course folder holds gradebook.db, autograded/ and feedback/
    grade(subs, out, jobs=1, course_root=course, progress=False, protect=[])
    html = out / "feedback" / "mia" / TOY_ASSIGNMENT / "toy.html"
    hidden = [h for h in redaction_lines(nbformat.read(course / "source" / TOY_ASSIGNMENT / "toy.ipynb", 4))
              if len(h) > 12]

    def check_feedback(expect_pending: bool):
        text = _feedback_text(html)
        assert ("Pending: a person grades this answer" in text) == expect_pending
        assert not [h for h in hidden if h in text]
        return text

    check_feedback(expect_pending=True)
    cid = course_id(load_course_config(course))
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", cid) as gb:
        grade_row = gb.find_grade("explain", "toy", TOY_ASSIGNMENT, "mia")
        grade_row.manual_score, grade_row.needs_manual_grade = 1.5, False  # what formgrader's Save does
        gb.find_comment("explain", "toy", TOY_ASSIGNMENT, "mia").manual_comment = "Right idea; say why it is faster."
        gb.db.commit()

    def csv_row():
        with open(out / "grading" / "grades.csv") as fh:
            return next(r for r in csv.DictReader(fh) if r["student"] == "mia")

    assert autograder_main(["feedback", "--out", str(out), "--course-root", str(course)]) == 0
    text = check_feedback(expect_pending=False)
    assert "Right idea; say why it is faster." in text
    row = csv_row()
    assert (float(row["score"]), row["needs_manual_grade"], row["pending_manual_points"]) == (7.5, "0", "0")
    assert "wait for manual grading" not in (out / "grading" / "report.md").read_text()

    grade(subs, out, jobs=1, course_root=course, progress=False, protect=[])  # a re-grade keeps the manual grade
    assert "Right idea; say why it is faster." in check_feedback(expect_pending=False)
    assert float(csv_row()["score"]) == 7.5 and csv_row()["needs_manual_grade"] == "0"

    # nbgrader's own route, in the course folder with its nbgrader_config.py
    nb_feedback = course / "feedback" / "mia" / TOY_ASSIGNMENT / "toy.html"
    nb_feedback.unlink()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", TOY_ASSIGNMENT, "--force"],
                          cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = _feedback_text(nb_feedback)
    assert "Right idea; say why it is faster." in text and not [h for h in hidden if h in text]
