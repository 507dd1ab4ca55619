"""The autograder's own options: section ``c.Autograder`` of nbgrader_config.py, a traitlets ``Configurable``.

Read with :func:`autograder_settings` (``Autograder(config=cfg)``): a misspelt option is reported by traitlets
("Config option `job_timout` not recognized by `Autograder`. Did you mean `job_timeout`?"), every option has its
help text (``course grade --help-config``), and its value is checked against its type.
"""

from __future__ import annotations

import warnings

from traitlets import Dict, Float, Integer, List, Unicode
from traitlets.config import Config, Configurable


class Autograder(Configurable):
    """How ``course grade`` grades a class (the parts nbgrader has no option for)."""

    job_timeout = Integer(
        1800, help="Wall-clock backstop, in seconds, for one (student, assignment), kernel included; the job budget "
        "(budget_factor) is usually much lower."
    ).tag(config=True)
    budget_factor = Float(
        10.0, help="A submission may take this many times the solution's measured grading time (wall clock, "
        "<course>/benchmarks/grading_seconds.json, written by `python -m benchmarks --only reference`); then it is "
        "stopped and the report says so. 0: only job_timeout."
    ).tag(config=True)
    budget_floor = Integer(
        300, help="The job budget is never below this many seconds (a slow or loaded grading machine)."
    ).tag(config=True)
    max_notebook_bytes = Integer(50_000_000, help="Larger submitted files are rejected as 'invalid'.").tag(config=True)
    max_extra_cells = Integer(
        200, help="A submitted notebook may have this many cells more than the released one; more is 'invalid' "
        "(10,000 empty cells would make every step after it slow)."
    ).tag(config=True)
    max_graded_notebook_bytes = Integer(
        60_000_000, help="The largest executed notebook taken back from a job (outputs are capped per cell and per "
        "notebook while they stream in: ContainedExecute.max_output_bytes, max_total_output_bytes)."
    ).tag(config=True)
    max_result_bytes = Integer(16_000_000, help="The largest result (outcome JSON) read back from a job.").tag(
        config=True
    )
    leak_allowlist = List(
        Unicode(), help="Secret lines (solution / hidden test) that may appear in release/ on purpose, e.g. a hint in "
        "an assert message; `course release` reports every other occurrence as a leak."
    ).tag(config=True)

    due_dates = Dict(
        value_trait=Unicode(), per_key_traits=None, help="Due date per assignment, as nbgrader writes times: "
        "{'01_preprocessing': '2027-01-15 23:59:00 Europe/Berlin'} (no zone: UTC). Written into the gradebook; a "
        "later hand-in is late and gets the penalty of c.AssignLatePenalties.plugin_class (autograder/late.py)."
    ).tag(config=True)
    lms_timezone = Unicode(
        "UTC", help="The time zone of times in an LMS's file names (Blackboard's _attempt_YYYY-MM-DD-HH-MM-SS)."
    ).tag(config=True)
    lms_late_seconds = Integer(
        1, help="Canvas marks a late file _LATE but gives no time: it counts as this many seconds after the due date."
    ).tag(config=True)
    lms_columns = Dict(
        value_trait=Unicode(), help="The LMS's own column per assignment for `course export` (Canvas: 'Preprocessing "
        "(123456)', Blackboard: 'Preprocessing [Total Pts: 17 Score] |123456'); default: the assignment's name, "
        "which makes the LMS create a new column."
    ).tag(config=True)


def autograder_settings(cfg: Config) -> Autograder:
    """The course's ``c.Autograder`` options (defaults where it sets none); a misspelt option is warned about."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return Autograder(config=cfg)
