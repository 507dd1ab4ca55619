"""Due dates, submission times and the late policy: nbgrader's own semantics, applied to the class gradebook.

* **Due dates** come from ``c.Autograder.due_dates`` in nbgrader_config.py (assignment -> time, e.g.
  ``"2027-01-15 23:59:00 Europe/Berlin"``); they are written into the gradebook's ``assignment.duedate``, where
  formgrader and ``nbgrader export`` show them. An assignment the option does not name keeps the due date its
  gradebook has (``nbgrader db assignment add A --duedate=...``), if any.
* **Submission times**: nbgrader's ``timestamp.txt`` beside a hand-in, else the time in the LMS's file name
  (Blackboard's ``_attempt_2025-01-10-12-30-00``, in ``Autograder.lms_timezone``). Canvas only marks a late file
  (``_LATE``) and gives no time: such a hand-in counts as ``Autograder.lms_late_seconds`` after the due date.
  nbgrader's extensions (``SubmittedAssignment.extension``) move a student's due date as in nbgrader.
* **The policy** is nbgrader's: ``c.AssignLatePenalties.plugin_class`` (default nbgrader's
  ``LateSubmissionPlugin``, whose ``penalty_method`` is ``'none'`` or ``'zero'``), asked for each late notebook
  with its current score, the penalty kept between 0 and that score, stored as the notebook's
  ``late_submission_penalty``. :class:`PerDayPenalty` is such a plugin (a share of the score per started day).

Unlike ``nbgrader autograde``, which sets the penalty once when it grades, :func:`apply_late_policy` runs after every
``course grade``, ``course merge`` and ``course feedback``, so a penalty follows the score a person gives later (the
``'zero'`` method stays zero after manual grading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from traitlets import Float, Integer

from .settings import autograder_settings


class PerDayPenalty(LateSubmissionPlugin):
    """A late notebook loses ``percent_per_day`` percent of its score for every started day after the due date
    (after ``grace_minutes``), at most ``max_percent`` percent. Use it with
    ``c.AssignLatePenalties.plugin_class = "autograder.late.PerDayPenalty"``."""

    percent_per_day = Float(10.0, help="Percent of the notebook's score lost per started day late.").tag(config=True)
    max_percent = Float(100.0, help="The penalty never exceeds this percent of the score.").tag(config=True)
    grace_minutes = Integer(0, help="A hand-in this many minutes after the due date is not late yet.").tag(
        config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        seconds = total_seconds_late - 60 * self.grace_minutes
        if seconds <= 0:
            return None
        days = math.ceil(seconds / 86400)
        return score * min(self.max_percent, self.percent_per_day * days) / 100

    def describe(self) -> str:
        grace = f" after {self.grace_minutes} minutes of grace" if self.grace_minutes else ""
        return f"{self.percent_per_day:g}% of the score per started day late{grace}, at most {self.max_percent:g}%"


def describe_policy(plugin) -> str:
    """One line on what a late notebook loses, for feedback and reports."""
    if hasattr(plugin, "describe"):
        return plugin.describe()
    method = getattr(plugin, "penalty_method", None)
    if method == "zero":
        return "a late notebook scores 0 (nbgrader's LateSubmissionPlugin, penalty_method 'zero')"
    if method == "none":
        return "no penalty (nbgrader's LateSubmissionPlugin, penalty_method 'none')"
    return f"{type(plugin).__name__} (c.AssignLatePenalties.plugin_class)"


def late_plugin(cfg):
    """The course's late-penalty plugin, made as nbgrader's AssignLatePenalties makes it."""
    assign = AssignLatePenalties(config=cfg)
    return assign.plugin_class(parent=assign)


def parse_time(text: str, where: str) -> datetime:
    """A time as nbgrader reads one (``"2027-01-15 23:59:00 Europe/Berlin"``, ISO 8601 with an offset; no zone:
    UTC), as naive UTC; ValueError with what to write otherwise."""
    try:
        value = parse_utc(text)
    except (ValueError, OverflowError, TypeError) as e:
        raise ValueError(f"{where}: {text!r} is not a time ({e}); write it as \"2027-01-15 23:59:00 "
                         "Europe/Berlin\" or \"2027-01-15T23:59:00+01:00\"") from None
    if value is None:
        raise ValueError(f"{where}: no time given")
    return value


def due_dates(cfg) -> dict[str, datetime]:
    """``c.Autograder.due_dates`` parsed (naive UTC)."""
    return {a: parse_time(t, f"c.Autograder.due_dates[{a!r}]") for a, t in autograder_settings(cfg).due_dates.items()}


def format_delay(seconds: float) -> str:
    """``93784`` -> ``"1 day 2 h 3 min"``."""
    minutes = max(1, math.ceil(seconds / 60))
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Lateness:
    """One late submission: how late, against which due date, and what it cost."""

    student: str
    assignment: str
    due: datetime
    submitted: datetime
    seconds_late: float
    penalty: float  # points, the sum over the assignment's notebooks

    def describe(self) -> str:
        return (f"handed in {format_delay(self.seconds_late)} after the due date ({self.due:%Y-%m-%d %H:%M} UTC): "
                f"late penalty {self.penalty:g} point(s)")


def submission_time(timestamp: str | None, lms, due: datetime | None, cfg) -> datetime | None:
    """When a hand-in was made: nbgrader's timestamp, else the LMS's time, else (Canvas ``_LATE``) just after the
    due date; None when nothing says."""
    if timestamp:
        try:
            return parse_utc(timestamp)
        except (ValueError, OverflowError, TypeError):
            return None
    if lms is not None and lms.submitted:
        return parse_time(f"{lms.submitted} {autograder_settings(cfg).lms_timezone}", f"{lms.lms} attempt time")
    if lms is not None and lms.late and due is not None:
        return due + timedelta(seconds=autograder_settings(cfg).lms_late_seconds)
    return None


def apply_due_dates(gb: Gradebook, dates: dict[str, datetime]) -> None:
    for name, due in dates.items():
        try:
            assignment = gb.find_assignment(name)
        except MissingEntry:
            continue
        if assignment.duedate != due:
            assignment.duedate = due
    gb.db.commit()


def apply_late_policy(db_url: str, course_id: str, cfg) -> list[Lateness]:
    """Write every submission's late penalty into the class gradebook (the course's due dates first); returns the
    late submissions."""
    plugin = late_plugin(cfg)
    late = []
    with Gradebook(db_url, course_id) as gb:
        apply_due_dates(gb, due_dates(cfg))
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                seconds = sub.total_seconds_late
                penalty_sum = 0.0
                for snb in sub.notebooks:
                    penalty = None
                    if seconds > 0:
                        penalty = plugin.late_submission_penalty(sub.student.id, snb.score, seconds)
                        if penalty is not None:
                            penalty = min(max(float(penalty), 0.0), float(snb.score))
                    if snb.late_submission_penalty != penalty:
                        snb.late_submission_penalty = penalty
                    penalty_sum += penalty or 0.0
                if seconds > 0:
                    late.append(Lateness(sub.student.id, assignment.name, sub.duedate, sub.timestamp, seconds,
                                         penalty_sum))
        gb.db.commit()
    return late


def late_submissions(db_url: str, course_id: str) -> dict[str, Lateness]:
    """``"student/assignment"`` -> its :class:`Lateness`, as the gradebook has them (reads only)."""
    out = {}
    with Gradebook(db_url, course_id) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                if sub.total_seconds_late > 0:
                    penalty = sum(snb.late_submission_penalty or 0.0 for snb in sub.notebooks)
                    out[f"{sub.student.id}/{assignment.name}"] = Lateness(
                        sub.student.id, assignment.name, sub.duedate, sub.timestamp, sub.total_seconds_late, penalty)
    return out


def record_submission_times(db_url: str, course_id: str, cfg, times: dict[str, tuple[str | None, object]]) -> None:
    """Set the submission time of each hand-in just graded (``"student/assignment"`` -> (nbgrader timestamp or None,
    LMS record or None)) from :func:`submission_time`; a hand-in that says no time clears the previous one (the
    latest hand-in counts). The course's due dates are written first."""
    with Gradebook(db_url, course_id) as gb:
        apply_due_dates(gb, due_dates(cfg))
        for key, (timestamp, lms) in times.items():
            student, assignment = key.split("/", 1)
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            due = sub.duedate if sub.assignment.duedate is not None else None
            sub.timestamp = submission_time(timestamp, lms, due, cfg)
        gb.db.commit()
