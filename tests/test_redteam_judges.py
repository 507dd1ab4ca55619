"""Red-team test of the judges (issue 28): the three attacks that gained points by making the kernel lie about
itself, graded through the whole sandboxed pipeline beside the same mistake made honestly.

Each attack is a catalogue entry of the real notebook (catalogues/NN_topic.py, where its reason is checked
too); here every one of them is graded on every run, never sampled, and must score no more than its honest twin
(the same mistake without the lie) on every test: a lie the kernel tells about its samples (01), its training
(03) or its model's calls (04) earns nothing. The judges decide from values they compute themselves
(autograder/README.md, section 4).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from autograder.catalogue import Status, grade_catalogue, load_catalogue

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# (assignment, the attack's catalogue entry, its honest twin: how the solution's cell changes, what it costs)
ATTACKS = [
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


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every attack and its honest twin, graded once per notebook (focused: the notebook up to the exercise)."""
    out = {}
    for assignment in sorted({a for a, _, _ in ATTACKS}):
        cat = load_catalogue(REPO, assignment)
        entries = []
        for _, name, twin in (t for t in ATTACKS if t[0] == assignment):
            (attack,) = [e for e in cat.wrong if e.name == name]
            honest = dataclasses.replace(attack, name=f"{name}-honest-twin", replace=twin.get("replace", []),
                                         source=twin.get("source"), reason="", why="the same mistake, no lie")
            entries += [attack, honest]
        results = grade_catalogue(REPO, assignment, entries=entries, jobs=2, mode="focused",
                                  out_dir=tmp_path_factory.mktemp(assignment))
        out.update({(assignment, r.entry.name): r for r in results})
    return out


@pytest.mark.parametrize("assignment,name,twin", ATTACKS, ids=[f"{a}-{n}" for a, n, _ in ATTACKS])
def test_a_lie_told_by_the_kernel_earns_nothing(graded, assignment, name, twin):
    attack, honest = graded[(assignment, name)], graded[(assignment, f"{name}-honest-twin")]
    assert attack.status == honest.status == Status.OK, (attack.describe(), honest.describe())
    assert set(attack.actual) == set(honest.actual) and attack.actual
    gained = {t: (attack.actual[t], honest.actual[t]) for t in attack.actual if attack.actual[t] > honest.actual[t]}
    assert not gained, f"{name} scored more than the same mistake made honestly: {gained}"


@pytest.mark.parametrize("assignment,name,twin", ATTACKS, ids=[f"{a}-{n}" for a, n, _ in ATTACKS])
def test_the_attack_loses_its_points_for_the_reason_it_states(graded, assignment, name, twin):
    """The catalogue's own verdict: the tests it declares fail, and the reason names what to fix."""
    result = graded[(assignment, name)]
    assert result.ok, result.describe()
