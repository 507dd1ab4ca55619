"""One grading batch per real assignment for the slow tests that grade entries of its notebook in the focused mode.

Four tests grade entries of the same notebook: the catalogue (the solution, the untouched release, every correct
alternative and a stable sample of wrong answers: tests/test_autograder.py::test_graders_on_catalogue), the
transplants (released cells pasted in as answers: ::test_no_released_cell_passes_a_graded_exercise), a mutant per
exercise (tests/test_mutation.py) and the attacks on the judges beside their honest twins
(tests/test_redteam_judges.py). Graded separately they paid four starts of the grader and four tails in which one
job runs alone; here every entry of an assignment goes into one ``grade_catalogue`` call, the first test that asks
grades it, and the others read their results (each test still checks only its own entries). Run alone, a test
grades the whole batch of its assignment.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

from autograder import mutation
from autograder.catalogue import (
    Entry,
    EntryResult,
    baseline_entries,
    grade_catalogue,
    load_catalogue,
    transplant_entries,
)

# COURSE_CATALOGUES=full grades every entry of the catalogues (~27 min), as before a release (autograder/README.md)
FULL_CATALOGUES = os.environ.get("COURSE_CATALOGUES", "sample") == "full"
WRONG_PER_EXERCISE = 1
MUTANTS_PER_EXERCISE = 1

# The attacks on the judges (issue 28): (assignment, the attack's catalogue entry, how its honest twin, the same
# mistake without the lie, changes the solution's cell). Read by tests/test_redteam_judges.py.
JUDGE_ATTACKS = [
    # made-up samples, batch and padding_share that agree with each other, against the cell left blank
    ("01_preprocessing", "made_up_samples", dict(source="# YOUR CODE HERE\nraise NotImplementedError()\n")),
    # no training, trainer.state.epoch set and typed-in rows per epoch, against the same Trainer never trained
    ("03_compute_metrics", "no_training_typed_metrics",
     dict(replace=[("    compute_metrics=compute_metrics,\n)",
                    "    compute_metrics=compute_metrics,\n)\ntrainer.train = lambda *args, **kwargs: None\n")])),
    # no torch.no_grad() and the tiny model's call record rewritten, against no torch.no_grad() left honest
    ("04_training_loop", "rewrites_the_call_record",
     dict(replace=[("        with torch.no_grad():\n            outputs = model(**batch)",
                    "        outputs = model(**batch)")])),
    # the older variant of 04: the course's helper module patched so that its tiny models never record a gradient
    ("04_training_loop", "patches_the_course_helpers",
     dict(replace=[("        with torch.no_grad():\n            outputs = model(**batch)",
                    "        outputs = model(**batch)")])),
]


def sample_entries(entries: list[Entry], per_exercise: int) -> list[Entry]:
    """Every correct alternative and ``per_exercise`` wrong answers per exercise, chosen by a stable hash of
    their names (the same ones on every run and machine, spread over the catalogue)."""

    def rank(e):
        return hashlib.sha256(f"{e.cell}:{e.name}".encode()).hexdigest()

    wrong: dict[str, list] = {}
    for e in sorted((e for e in entries if e.kind == "wrong"), key=rank):
        wrong.setdefault(e.cell, []).append(e)
    keep = {id(e) for group in wrong.values() for e in group[:per_exercise]}
    return [e for e in entries if e.kind != "wrong" or id(e) in keep]


def honest_twin(attack: Entry, twin: dict) -> Entry:
    return dataclasses.replace(attack, name=f"{attack.name}-honest-twin", replace=twin.get("replace", []),
                               source=twin.get("source"), reason="", why="the same mistake, no lie")


@dataclasses.dataclass
class Batch:
    """What one assignment's batch graded, by purpose (entries in order), and every entry's result."""

    catalogue: list[Entry]  # the baseline (solution, release) and the catalogue's chosen entries
    transplants: list[Entry]
    mutants: list  # [(Mutant, its entry)]
    attacks: list[tuple[Entry, Entry]]  # (attack, honest twin)
    results: dict[int, EntryResult]  # id(entry) -> result

    def result(self, entry: Entry) -> EntryResult:
        return self.results[id(entry)]


@functools.cache
def graded(course: Path, assignment: str) -> Batch:
    """Grade every entry the slow tests ask of ``assignment`` of ``course`` in one batch (once per session)."""
    cat = load_catalogue(course, assignment)
    chosen = cat.entries if FULL_CATALOGUES else sample_entries(cat.entries, WRONG_PER_EXERCISE)
    catalogue = baseline_entries(course, assignment) + chosen
    transplants = transplant_entries(course, assignment)
    mutants = [(m, mutation.mutant_entry(assignment, m))
               for m in mutation.sample(mutation.mutants_of(course, assignment), MUTANTS_PER_EXERCISE)]
    attacks = []
    for _, name, twin in (a for a in JUDGE_ATTACKS if a[0] == assignment):
        (attack,) = [e for e in cat.wrong if e.name == name]
        attacks.append((attack, honest_twin(attack, twin)))
    entries = catalogue + transplants + [e for _, e in mutants] + [e for pair in attacks for e in pair]
    # the same entry object twice (an attack the catalogue sample chose too) is graded once
    unique = list({id(e): e for e in entries}.values())
    students = [e.student for e in unique if e.kind in ("wrong", "solution", "release")]
    assert len(students) == len(set(students)), "two entries of the batch share a student id"
    results = grade_catalogue(course, assignment, entries=unique, jobs=2, mode="focused")
    return Batch(catalogue, transplants, mutants, attacks, {id(e): r for e, r in zip(unique, results)})
