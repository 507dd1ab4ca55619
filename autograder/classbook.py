"""What the parent does to the class gradebook after merging a run's jobs, before feedback and reports.

:func:`after_grading` keeps the LMS ids a bulk download named (:mod:`autograder.roster`), sets each hand-in's
submission time and writes the due dates and late penalties (:mod:`autograder.late`). ``course feedback`` and
``course merge`` call :func:`autograder.late.apply_late_policy` only: they grade nothing new.
"""

from __future__ import annotations

from pathlib import Path

from .collect import Job, lms_record
from .late import apply_late_policy, record_submission_times
from .outcome import Outcome
from .roster import record_lms


def after_grading(out_dir: Path, course_id: str, cfg, jobs: list[Job], outcomes: list[Outcome],
                  submissions_dir) -> None:
    db_url = f"sqlite:///{out_dir / 'gradebook.db'}"
    if not (out_dir / "gradebook.db").is_file():
        return
    graded = {o.key for o in outcomes if o.graded}
    records = {job.key: lms_record(job, submissions_dir) for job in jobs if job.key in graded}
    record_lms(out_dir, db_url, course_id, records)
    record_submission_times(db_url, course_id, cfg,
                            {job.key: (job.timestamp, records[job.key]) for job in jobs if job.key in graded})
    apply_late_policy(db_url, course_id, cfg)
