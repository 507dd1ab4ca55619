"""Mutation testing of the graders (autograder/mutation.py): the mutants are the ones a student could write,
only the solution's lines change, every listed equivalent mutant still exists, and a sample of the real
course's mutants is graded by the real grader in CI (every one killed or listed as a correct answer)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from focused_batch import graded

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
    batch = graded(REPO, assignment)  # with the assignment's other focused entries (tests/focused_batch.py)
    assert {m.cell for m, _ in batch.mutants} == {c for _, c, _ in mutation.graded_answer_cells(REPO, assignment)}
    equivalent = mutation.equivalent_mutants(REPO, assignment)
    survivors = [m.name for m, entry in batch.mutants
                 if not mutation.is_killed(REPO, assignment, batch.result(entry)) and m.name not in equivalent]
    assert not survivors, "mutants the grader gives full marks to (add a hidden check, or list them in the " \
        "catalogue's EQUIVALENT with why they are right):\n" + "\n".join(survivors)


LOOPS = '''def evaluate(model, dataloader, metric):
    ### BEGIN SOLUTION
    model.eval()
    for batch in dataloader:
        metric.add_batch(predictions=model(batch), references=batch["labels"])
    return metric.compute()
    ### END SOLUTION


def rates(optimizer, scheduler, steps):
    ### BEGIN SOLUTION
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out
    ### END SOLUTION


### BEGIN SOLUTION
tokenized = raw.map(lambda b: tokenizer(b["text"]), batched=True)
trainer = Trainer(model, args, train_dataset=tokenized["train"], eval_dataset=tokenized["validation"])
early = Trainer(model, args, train_dataset=small_train)
### END SOLUTION
'''


def _run(source: str, **names) -> dict:
    namespace = dict(names)
    exec(source, namespace)  # noqa: S102 - the test's own code
    return namespace


def test_the_issue_28_operators_shuffle_drop_average_and_step_once():
    """Shuffled training data, dropped text columns, removed model.eval(), a metric averaged per batch and a
    scheduler stepped once after its loop: each a mutant of its own, and each does what its label says."""
    found = dict(mutation.Mutator(LOOPS).mutants())
    by_kind = {}
    for label, source in found.items():
        by_kind.setdefault(label.split(":")[0], []).append((label, source))
    assert {"shuffled", "columns dropped", "averaged per batch", "stepped once"} <= set(by_kind)
    assert "statement removed: model.eval()" in found
    shuffled = [s for _, s in by_kind["shuffled"]]
    assert any("train_dataset=tokenized['train'].shuffle(seed=42)" in s for s in shuffled)
    assert any("train_dataset=small_train.shuffle(seed=42)" in s for s in shuffled)
    assert all("tokenized['validation'].shuffle" not in s for s in shuffled), "only the training split"
    ((_, dropped),) = by_kind["columns dropped"]
    assert "batched=True, remove_columns=['text'])" in dropped

    class Metric:  # accuracy, pooled over the batches or per batch
        def __init__(self):
            self.pairs = []

        def add_batch(self, predictions, references):
            self.pairs += list(zip(predictions, references))

        def compute(self, predictions=None, references=None):
            pairs = self.pairs if predictions is None else list(zip(predictions, references))
            return {"accuracy": sum(p == r for p, r in pairs) / len(pairs)}

    class Model:
        def eval(self):
            pass

        def __call__(self, batch):
            return [1] * len(batch["labels"])

    batches = [{"labels": [1, 0, 0, 0]}, {"labels": [1]}]  # uneven: pooled 2/5, per batch (1/4 + 1) / 2
    ((_, averaged),) = by_kind["averaged per batch"]
    right, mutant = _run(LOOPS.split("def rates")[0]), _run(averaged.split("def rates")[0])
    assert right["evaluate"](Model(), batches, Metric()) == {"accuracy": 0.4}
    assert mutant["evaluate"](Model(), batches, Metric()) == {"accuracy": 0.625}

    import torch

    ((_, stepped),) = by_kind["stepped once"]

    def schedule(namespace):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
        return namespace["rates"](optimizer, scheduler, 3)

    rates_only = "def rates" + LOOPS.split("def rates")[1].split("### BEGIN SOLUTION\ntokenized")[0]
    assert schedule(_run(rates_only)) == [1.0, 0.5, pytest.approx(1 / 3)]
    assert schedule(_run("def rates" + stepped.split("def rates")[1].split("tokenized =")[0])) == [1.0, 1.0, 1.0]
