"""autograder/collect.py: identities. Two hand-ins never share an id, and a name that had to be cleaned never
grades as a student the gradebook already knows (issue 27)."""

from __future__ import annotations

import json
import zipfile

from autograder.collect import Job, assign_ids, discover, keep_known_identities

KNOWN = {"01_preprocessing": ["preprocessing"]}
NB = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_names_that_clean_to_the_same_id_are_a_conflict_for_both(tmp_path):
    (tmp_path / "vic").mkdir()
    (tmp_path / "vic" / "preprocessing.ipynb").write_text(NB)
    (tmp_path / "vic!").mkdir()
    (tmp_path / "vic!" / "preprocessing.ipynb").write_text(NB)
    (tmp_path / "vic!_preprocessing.ipynb").write_text(NB)
    with zipfile.ZipFile(tmp_path / "vic!.zip", "w") as zf:
        zf.writestr("preprocessing.ipynb", NB)
    (tmp_path / "ann!_preprocessing.ipynb").write_text(NB)
    (tmp_path / "ann?_preprocessing.ipynb").write_text(NB)
    jobs, problems = discover(tmp_path, KNOWN)
    by_student = {j.student: j for j in jobs}
    assert set(by_student) == {"vic"}, "ann! and ann? both clean to 'ann': neither is graded as ann"
    assert by_student["vic"].notebooks["preprocessing"].origin == "vic/preprocessing.ipynb"
    assert any("not graded as this student" in n for n in by_student["vic"].notes)
    refused = {p.origin for p in problems if "cleans to" in p.reason}
    assert refused == {"vic!/preprocessing.ipynb", "vic!_preprocessing.ipynb", "vic!.zip:preprocessing.ipynb",
                       "ann!_preprocessing.ipynb", "ann?_preprocessing.ipynb"}


def test_a_single_cleaned_name_is_graded_under_its_id():
    ids, conflicts = assign_ids({"Ann Lee": "student id 'Ann Lee' normalised to 'Ann_Lee'", "bob": None})
    assert ids == {"Ann Lee": ("Ann_Lee", ["student id 'Ann Lee' normalised to 'Ann_Lee'"]), "bob": ("bob", [])}
    assert conflicts == {}


def test_a_cleaned_name_never_grades_as_a_known_student_unless_it_did_before():
    impostor = Job("vic", "01_preprocessing", name="vic!")
    returning = Job("Ann_Lee", "01_preprocessing", name="Ann Lee")
    new = Job("zoe", "01_preprocessing", name="zoe!")
    plain = Job("vic", "02_trainer", name="vic")
    kept, problems = keep_known_identities([impostor, returning, new, plain], known={"vic", "Ann_Lee"},
                                           names={"Ann_Lee": ["Ann Lee"]})
    assert kept == [returning, new, plain]
    assert [p.origin for p in problems] == ["vic!"] and "a student of the gradebook" in problems[0].reason
