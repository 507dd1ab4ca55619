"""How long stalling hand-ins delay a class: ``python -m benchmarks.stalls [--students 10] [--stalling 2]``.

Grades a class of the toy course twice with ``course grade --jobs 2``, side by side: every student honest (the
solution), then the same class with ``--stalling`` of them replaced by a submission whose answers to the judges'
questions never come (``course.grading._probe`` sleeps for an hour) and whose last cell loops at a tenth of a core.
Each stalling job is stopped by its budget (``Autograder.budget_factor`` times the solution's measured time, at
least ``Autograder.budget_floor``); the honest students' grades must be identical in both runs (checked before any
number is reported). Prints the two wall times and the delay, and the budget that bounds it.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "tests" / "fixtures" / "toy_course"
STALL = ("import time\nimport course.grading as g\ng._probe = lambda request: time.sleep(3600)\n"
         "def add(a, b):\n    return a + b\n")
LOOP = "import time\nwhile True:\n    end = time.perf_counter() + 0.01\n    while time.perf_counter() < end:\n" \
       "        pass\n    time.sleep(0.09)\n"


def _class(folder: Path, students: int, stalling: int) -> None:
    import nbformat

    from autograder.catalogue import solution_notebook
    from autograder.cells import grade_id

    solution = solution_notebook(TOY, "00_toy", "toy")
    folder.mkdir(parents=True)
    for i in range(students):
        nb = copy.deepcopy(solution)
        if i < stalling:
            for cell in nb.cells:
                gid = grade_id(cell)
                if gid in ("add", "mean_of_squares"):
                    cell.source = STALL if gid == "add" else LOOP
        nbformat.write(nb, folder / f"s{i:02d}_toy.ipynb")


def measure(students: int = 10, stalling: int = 2) -> dict:
    from autograder.config import course_id, load_course_config
    from autograder.grade import grade, job_budgets
    from autograder.gradebook import scores
    from autograder.settings import autograder_settings

    cid = course_id(load_course_config(TOY))
    budget = job_budgets(TOY, autograder_settings(load_course_config(TOY)), ["00_toy"]).get("00_toy")
    result = {"students": students, "stalling": stalling, "jobs": 2, "budget_s": budget[0] if budget else None}
    grades = {}
    with tempfile.TemporaryDirectory(prefix="stalls-") as tmp:
        for name, n in (("honest", 0), ("with_stalling", stalling)):
            subs = Path(tmp) / name
            _class(subs, students, n)
            start = time.perf_counter()
            run = grade(subs, Path(tmp) / f"out-{name}", jobs=2, course_root=TOY, progress=False, protect=[])
            result[f"{name}_s"] = round(time.perf_counter() - start, 1)
            grades[name] = {r["student"]: r["auto_score"] for r in scores(run.gradebook, cid)}
            if n:
                stopped = [o for o in run.outcomes if o.status == "timeout" or o.failed_tests]
                result["stalling_statuses"] = sorted({o.status.value for o in stopped if o.student < f"s{n:02d}"})
                result["stalling_seconds"] = sorted(round(o.seconds, 1) for o in run.outcomes
                                                    if o.student < f"s{n:02d}")
    honest = [f"s{i:02d}" for i in range(stalling, students)]
    if any(grades["honest"][s] != grades["with_stalling"][s] or grades["honest"][s] < 6 for s in honest):
        raise RuntimeError(f"an honest student's grade changed or is not full marks: {grades}")
    result["delay_s"] = round(result["with_stalling_s"] - result["honest_s"], 1)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stalls", description=__doc__)
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--stalling", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.students, args.stalling), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
