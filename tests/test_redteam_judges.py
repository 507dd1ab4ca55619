"""Red-team test of the judges (issue 28): the three attacks that gained points by making the kernel lie about
itself, graded through the whole sandboxed pipeline beside the same mistake made honestly.

Each attack is a catalogue entry of the real notebook (catalogues/NN_topic.py); here every one of them is graded
on every run, never sampled, with its honest twin (the same mistake without the lie; the pairs are listed in
tests/focused_batch.py, which grades them with the notebook's other focused entries), and must score no more
than the twin on every test: a lie the kernel tells about its samples (01), its training (03) or its model's calls
(04) earns nothing. The judges decide from values they compute themselves (autograder/README.md, section 4).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from focused_batch import JUDGE_ATTACKS, graded

from autograder.catalogue import Status

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
IDS = [f"{a}-{n}" for a, n, _ in JUDGE_ATTACKS]


def _pair(assignment: str, name: str):
    batch = graded(REPO, assignment)
    (attack, twin) = next(pair for pair in batch.attacks if pair[0].name == name)
    return batch.result(attack), batch.result(twin)


@pytest.mark.parametrize("assignment,name,twin", JUDGE_ATTACKS, ids=IDS)
def test_a_lie_told_by_the_kernel_earns_nothing(assignment, name, twin):
    attack, honest = _pair(assignment, name)
    assert attack.status == honest.status == Status.OK, (attack.describe(), honest.describe())
    assert set(attack.actual) == set(honest.actual) and attack.actual
    gained = {t: (attack.actual[t], honest.actual[t]) for t in attack.actual if attack.actual[t] > honest.actual[t]}
    assert not gained, f"{name} scored more than the same mistake made honestly: {gained}"


@pytest.mark.parametrize("assignment,name,twin", JUDGE_ATTACKS, ids=IDS)
def test_the_attack_loses_its_points_for_the_reason_it_states(assignment, name, twin):
    """The catalogue's own verdict: the tests it declares fail, and the reason names what to fix."""
    attack, _ = _pair(assignment, name)
    assert attack.ok, attack.describe()
