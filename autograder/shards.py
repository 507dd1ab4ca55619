"""Grading beyond one machine: split the class into shards, grade each anywhere, merge the results.

``course grade SUBMISSIONS --shard K/N --out shard-K`` grades only the students of shard K (a stable hash
of the student id, so every machine agrees without talking to the others). ``course merge shard-1 ...
shard-N --out class`` then writes one class gradebook (a single writer again), copies the autograded
notebooks and the feedback, and writes grades.csv, report.md and scores.png for the whole class.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy import exc as sa_exc

from .config import course_id as get_course_id
from .config import find_course_root, load_course_config
from .files import copy_regular_files
from .gradebook import ensure_assignment, merge_result, read_definition
from .late import apply_late_policy
from .outcome import GradingRun, Outcome, Status
from .report import write_reports
from .roster import copy_students, merge_lms

MAX_SHARD_FILE = 200_000_000


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); shards are numbered from 1."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes K/N, for example 1/4 (got {text!r})") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text}: K must be between 1 and N")
    return k, n


def shard_of(student: str, n: int) -> int:
    """The shard (1..n) of a student: the same on every machine."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n + 1


def _from_gradebook(sub, outcome: Outcome | None) -> Outcome:
    """A shard's submission as an outcome to merge: its grades, with the status its outcome recorded."""
    status = outcome.status if outcome else Status.OK
    notebooks = {}
    for snb in sub.notebooks:
        notebooks[snb.name] = {
            "grades": {g.cell.name: {"auto_score": g.auto_score} for g in snb.grades},
            "comments": {c.cell.name: c.auto_comment for c in snb.comments},
            "late_submission_penalty": snb.late_submission_penalty,
        }
    return Outcome(sub.student.id, sub.assignment.name, status, graded=status.graded,
                   suspicious=outcome.suspicious if outcome else [], notebooks=notebooks)


def merge_shards(shard_dirs, out_dir, course_root=None) -> GradingRun:
    """Merge the outputs of ``course grade --shard`` runs into ``out_dir``."""
    start = time.monotonic()
    course_root = Path(course_root).resolve() if course_root else find_course_root()
    cfg = load_course_config(course_root)
    cid = get_course_id(cfg)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes, seen = [], {}
    target_url = f"sqlite:///{out_dir / 'gradebook.db'}"
    for shard in map(Path, shard_dirs):
        db = shard / "gradebook.db"
        if not db.is_file():
            raise FileNotFoundError(f"{shard} has no gradebook.db: is it the --out folder of a `course grade` run?")
        shard_outcomes = {}
        path = shard / "grading" / "outcomes.json"
        if path.is_file():
            shard_outcomes = {k: Outcome.from_json(v) for k, v in json.loads(path.read_text()).items()}
        with Gradebook(f"sqlite:///{db}", cid) as src, Gradebook(target_url, cid) as dst, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", category=sa_exc.SAWarning)
            for assignment in src.assignments:
                definition = read_definition(db, assignment.name, cid)
                ensure_assignment(dst, definition)
                for sub in assignment.submissions:
                    key = f"{sub.student.id}/{assignment.name}"
                    if key in seen:
                        raise ValueError(f"{key} was graded in both {seen[key]} and {shard}: shards must not overlap")
                    seen[key] = shard
                    outcome = shard_outcomes.get(key)
                    merge_result(dst, definition, _from_gradebook(sub, outcome), sub.timestamp)
                    if outcome:
                        outcomes.append(outcome)
            copy_students(src, dst)
        merge_lms(out_dir, shard)
        for folder, suffix in (("autograded", ".ipynb"), ("feedback", ".html")):  # notebooks and pages, no link
            if (shard / folder).is_dir() and not (shard / folder).is_symlink():
                copy_regular_files(shard / folder, out_dir / folder, (suffix,), MAX_SHARD_FILE)
    apply_late_policy(target_url, cid, cfg)
    run = GradingRun(out_dir, outcomes, [], time.monotonic() - start, 1)
    run.files = write_reports(run, cid, course_root, cfg)
    return run
