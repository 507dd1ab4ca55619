"""Mutation testing of the graders (autograder/mutation.py): the mutants are the ones a student could write,
only the solution's lines change, every listed equivalent mutant still exists, and a sample of the real
course's mutants is graded by the real grader in CI (every one killed or listed as a correct answer)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder import mutation
from autograder.config import discover_assignments

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = discover_assignments(REPO)

CELL = '''def tokenize_function(example):
    ### BEGIN SOLUTION
    return tokenizer(example["sentence1"], example["sentence2"], truncation=True)
    ### END SOLUTION
untouched = ratio(1, 2) == 0.5
'''


def test_mutants_change_only_the_solution_lines_and_cover_the_operators():
    found = dict(mutation.Mutator(CELL).mutants())
    kinds = {label.split(":")[0] for label in found}
    assert kinds >= {"keyword dropped", "keyword flipped", "arguments swapped", "name", "statement removed"}
    assert "name: 'sentence1' -> 'sentence2' in line 3" in found
    for source in found.values():
        ast.parse(source)
        assert "untouched = ratio(1, 2) == 0.5" in source, "the lines outside the solution stay as they are"
    dropped = found["keyword dropped: truncation= in tokenizer(example['sentence1'], example['sentence2'], tru..."]
    assert "truncation" not in dropped and "example['sentence2'])" in dropped
    assert len(set(found.values())) == len(found), "no duplicates"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_equivalent_mutant_is_still_made(assignment):
    """A mutant listed as a correct answer must still exist (the listing cannot rot when a notebook changes)."""
    labels = {m.name for m in mutation.mutants_of(REPO, assignment)}
    stale = set(mutation.equivalent_mutants(REPO, assignment)) - labels
    assert not stale, f"EQUIVALENT lists mutants that are no longer made: {sorted(stale)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_exercise_has_mutants(assignment):
    cells = {c for _, c, _ in mutation.graded_answer_cells(REPO, assignment)}
    mutated = {m.cell for m in mutation.mutants_of(REPO, assignment)}
    assert cells, f"{assignment} has no graded answer cell"
    assert cells <= mutated, f"graded answer cells without a mutant: {sorted(cells - mutated)}"
    assert {m.cell for m in mutation.sample(mutation.mutants_of(REPO, assignment), 1)} == cells


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sampled_mutants_are_killed_by_the_real_grader(assignment):
    """One mutant per exercise (a stable choice), graded by nbgrader in the sandbox with the judges; the whole
    set: python -m autograder.mutation (scores in autograder/README.md)."""
    mutants = mutation.sample(mutation.mutants_of(REPO, assignment), 1)
    killed = mutation.grade_mutants(REPO, assignment, mutants)
    equivalent = mutation.equivalent_mutants(REPO, assignment)
    survivors = [m.name for m in mutants if not killed[m.key] and m.name not in equivalent]
    assert not survivors, "mutants the grader gives full marks to (add a hidden check, or list them in the " \
        "catalogue's EQUIVALENT with why they are right):\n" + "\n".join(survivors)
