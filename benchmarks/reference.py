"""The solutions' grading time, the measure of every job's budget: ``python -m benchmarks.reference [COURSE]``.

Grades each assignment's solution notebooks once (``course grade``, sandboxed, warm kernels, one job at a time, the
grading profile), checks that every one gets full marks (a time measured on a wrong grade is no reference), and
writes the wall-clock seconds of each job into ``COURSE/benchmarks/grading_seconds.json``. ``course grade`` then
stops a submission after ``Autograder.budget_factor`` times that (at least ``Autograder.budget_floor`` seconds), so
a stalling submission costs its own slot that long and no longer (autograder/README.md, *Budgets*).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(course_root: Path, assignments: list[str] | None = None) -> dict:
    """{"assignments": {assignment: seconds}, ...} for the solutions of ``course_root``; raises RuntimeError when a
    solution does not get full marks."""
    from autograder.catalogue import solution_notebook, write_nbgrader_layout
    from autograder.config import course_id, discover_assignments, load_course_config, notebooks_of
    from autograder.grade import grade
    from autograder.gradebook import scores

    assignments = assignments or discover_assignments(course_root)
    with tempfile.TemporaryDirectory(prefix="reference-") as tmp:
        subs = Path(tmp) / "submitted"
        for a in assignments:
            write_nbgrader_layout(subs, "reference", a,
                                  {n: solution_notebook(course_root, a, n) for n in notebooks_of(course_root, a)})
        run = grade(subs, Path(tmp) / "out", jobs=1, course_root=course_root, progress=False, feedback=False,
                    report=False, protect=[])
        rows = {r["assignment"]: r for r in scores(run.gradebook, course_id(load_course_config(course_root)))}
        broken = [f"{a}: {rows[a]['auto_score']:g} / {rows[a]['auto_max']:g} ({run.outcome('reference', a).status})"
                  for a in assignments if rows[a]["auto_score"] < rows[a]["auto_max"]]
        if broken:
            raise RuntimeError("a solution did not get full marks, so its time is no reference: " + "; ".join(broken))
        return {
            "assignments": {o.assignment: round(o.seconds, 1)
                            for o in sorted(run.outcomes, key=lambda o: o.assignment)},
            "measured": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "how": "python -m benchmarks.reference: each solution graded once (sandboxed, warm kernels, --jobs 1), "
                   "full marks checked; seconds of wall clock per job",
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference", description=__doc__)
    parser.add_argument("course", nargs="?", type=Path, default=ROOT, help="the course folder (default: this one)")
    parser.add_argument("--assignments", nargs="*", help="only these (the others' numbers are kept)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    result = measure(course, args.assignments)
    path = course / "benchmarks" / "grading_seconds.json"
    if args.assignments and path.is_file():
        kept = json.loads(path.read_text()).get("assignments", {})
        result["assignments"] = {**kept, **result["assignments"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
