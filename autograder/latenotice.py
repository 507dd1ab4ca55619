"""The feedback says when a hand-in was late, and what it cost (nbgrader's template shows a penalty only above 0)."""

from __future__ import annotations

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import Gradebook, MissingEntry
from traitlets import Bool

from .escape import md_text
from .late import describe_policy, format_delay, late_plugin


class LateNotice(Preprocessor):
    """A first cell "Late: handed in 1 day 2 h after the due date ...; late penalty N points (the policy)" when the
    gradebook's submission is later than its due date (extensions included)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        if not info.get("db_url"):
            return nb, resources
        with Gradebook(info["db_url"]) as gb:
            try:
                sub = gb.find_submission(info["assignment"], info["student"])
                snb = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return nb, resources
            seconds = sub.total_seconds_late
            if seconds <= 0:
                return nb, resources
            due, penalty = sub.duedate, snb.late_submission_penalty or 0.0
        text = (f"**Late:** handed in {format_delay(seconds)} after the due date ({due:%Y-%m-%d %H:%M} UTC). "
                f"Late penalty on this notebook: {penalty:g} point(s); the course's policy: "
                f"{md_text(describe_policy(late_plugin(self.config)))}.")
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(text, metadata={"course": {"late_notice": True}}))
        return nb, resources
