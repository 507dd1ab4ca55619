"""grades.csv, outcomes.json, report.md and scores.png (in ``<out>/grading/``)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from .escape import csv_cell, md_text
from .gradebook import scores
from .outcome import Outcome, Status

CSV_FIELDS = [
    "student",
    "assignment",
    "status",
    "score",
    "max_score",
    "auto_score",
    "auto_max",
    "needs_manual_grade",
    "pending_manual_points",
    "flagged",
    "reason",
]


def update_outcomes(path: Path, outcomes: list[Outcome]) -> dict[str, Outcome]:
    """outcomes.json accumulates over runs: the latest outcome of every (student, assignment)."""
    data = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    for o in outcomes:
        data[o.key] = o.record()
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1, default=str) + "\n")
    return {k: Outcome.from_json(v) for k, v in data.items()}


def _report_status(row: dict, outcome: Outcome | None) -> Status:
    """The status of a gradebook row: its outcome's, or why there is none."""
    if not row["submitted"]:
        return Status.NOT_SUBMITTED
    return outcome.status if outcome else Status.GRADED_ELSEWHERE


def write_csv(path: Path, rows: list[dict], outcomes: dict[str, Outcome], unmatched: dict | None = None) -> None:
    """One row per (student, assignment); ``unmatched``: student -> files of theirs that matched nothing."""
    unmatched = unmatched or {}
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rows:
            o = outcomes.get(f"{r['student']}/{r['assignment']}")
            status = _report_status(r, o)
            if status == Status.NOT_SUBMITTED:
                reason = "no notebook of this assignment was found"
                if unmatched.get(r["student"]):
                    reason += "; not matched: " + "; ".join(unmatched[r["student"]])
            elif o is None:
                reason = "no autograder outcome recorded (nbgrader used directly?)"
            else:
                reason = o.reason or ""
            w.writerow(
                {
                    "student": csv_cell(r["student"]),
                    "assignment": csv_cell(r["assignment"]),
                    "status": status.value,
                    "score": f"{r['score']:g}",
                    "max_score": f"{r['max_score']:g}",
                    "auto_score": f"{r['auto_score']:g}",
                    "auto_max": f"{r['auto_max']:g}",
                    "needs_manual_grade": int(r["needs_manual_grade"]),
                    "pending_manual_points": f"{r.get('pending_manual', 0.0):g}",
                    "flagged": int(r["flagged"]),
                    "reason": csv_cell(reason),
                }
            )


def cell_stats(rows: list[dict]) -> dict[str, dict]:
    """Per grade cell: points, mean, counts of full / partial / zero, list of scores."""
    stats: dict[str, dict] = {}
    for r in rows:
        for name, c in r["cells"].items():
            s = stats.setdefault(name, {"max": c["max_score"], "auto": c["auto"], "scores": [], "pending": 0})
            if c.get("pending"):  # not graded yet: neither zero nor counted in the mean
                s["pending"] += 1
            else:
                s["scores"].append(c["score"])
    for s in stats.values():
        sc, m = s["scores"], s["max"]
        s["mean"] = sum(sc) / len(sc) if sc else 0.0
        s["full"] = sum(1 for x in sc if x >= m)
        s["zero"] = sum(1 for x in sc if x <= 0)
        s["partial"] = len(sc) - s["full"] - s["zero"]
    return stats


def write_figure(path: Path, per_assignment: dict[str, list[dict]]) -> None:
    # matplotlib takes a second to import: only when a report is written
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(per_assignment))
    fig = Figure(figsize=(11, 3.4 * n), layout="constrained")  # constrained: no label or title is cut off
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 2, squeeze=False)
    if not per_assignment:
        axes[0][0].text(0.5, 0.5, "nothing graded", ha="center")
    for row, (a, rows) in zip(axes, sorted(per_assignment.items())):
        totals = [r["auto_score"] for r in rows]
        auto_max = rows[0]["auto_max"] if rows else 0
        row[0].hist(totals, bins=min(20, max(5, int(auto_max) + 1)), range=(0, max(auto_max, 1)), color="#4C72B0")
        row[0].set_title(f"{a}\nautograded score (max {auto_max:g})", fontsize=10)
        row[0].set_xlabel("score")
        row[0].set_ylabel("students")
        row[0].yaxis.set_major_locator(MaxNLocator(integer=True))  # students are counted in whole numbers
        stats = cell_stats(rows)
        names = [k for k, v in stats.items() if v["auto"]] + [k for k, v in stats.items() if not v["auto"]]
        fracs = [stats[k]["mean"] / stats[k]["max"] if stats[k]["max"] else 0 for k in names]
        colors = ["#55A868" if stats[k]["auto"] else "#C44E52" for k in names]
        row[1].barh(range(len(names)), fracs, color=colors)
        row[1].set_yticks(range(len(names)), labels=names, fontsize=8)
        row[1].invert_yaxis()
        row[1].set_xlim(0, 1)
        row[1].set_title(f"{a}\nmean share of the points per cell (red: graded by a person)", fontsize=10)
    fig.savefig(path, dpi=90)


def next_steps(rows: list[dict], run) -> list[str]:
    """What the instructor does next: manual grading, flagged submissions, files that matched nothing."""
    pending = [r for r in rows if r["submitted"] and r.get("pending_manual")]
    flagged = [r for r in rows if r["submitted"] and r["flagged"]]
    failed = [o for o in run.outcomes if o.status != Status.OK]
    steps = []
    if pending:
        points = sum(r["pending_manual"] for r in pending)
        steps.append(f"- **{len(pending)} submission(s) wait for manual grading** ({points:g} points of written "
                     "answers): grade them in formgrader (`nbgrader formgrader`, see autograder/README.md), then "
                     "run `course feedback --out OUT` to put the grades and comments into the feedback.")
    if flagged:
        steps.append(f"- {len(flagged)} submission(s) are flagged: read *Suspicious code* and *Submissions not "
                     "(fully) graded* below.")
    if failed:
        steps.append(f"- {len(failed)} submission(s) were not (fully) graded: see the table below for why.")
    if run.problems:
        steps.append(f"- {len(run.problems)} file(s) matched no student or notebook: see *Files that were not "
                     "graded*; rename them (`<student>_<notebook>.ipynb`) and grade again.")
    return ["## Next steps", "", *(steps or ["Nothing to do: every submission is graded and none is flagged."])]


def students_table(rows: list[dict], outcomes: dict[str, Outcome]) -> list[str]:
    """One line per student and assignment: score, status, flags, points still pending."""
    lines = ["## Students", "", "| student | assignment | score | status | flagged | pending manual points |",
             "|---|---|---:|---|---|---:|"]
    for r in rows:
        o = outcomes.get(f"{r['student']}/{r['assignment']}")
        status = o.status if o else _report_status(r, None)
        lines.append(f"| {md_text(r['student'])} | {md_text(r['assignment'])} | {r['score']:g} / {r['max_score']:g} | "
                     f"{status} | {'yes' if r['flagged'] else ''} | {r.get('pending_manual', 0):g} |")
    return lines + [""]


def write_reports(run, course_id: str) -> dict[str, Path]:
    gdir = run.out_dir / "grading"
    gdir.mkdir(parents=True, exist_ok=True)
    files = {
        "grades_csv": gdir / "grades.csv",
        "outcomes_json": gdir / "outcomes.json",
        "report_md": gdir / "report.md",
        "scores_png": gdir / "scores.png",
    }
    db = run.out_dir / "gradebook.db"
    outcomes_all = update_outcomes(files["outcomes_json"], run.outcomes)
    rows = scores(db, course_id) if db.exists() else []
    unmatched: dict[str, list[str]] = {}
    for r in rows:
        for p in run.problems:
            if p.origin.lower().startswith(r["student"].lower()) and p.origin[len(r["student"]):][:1] in "_/- .":
                unmatched.setdefault(r["student"], []).append(f"{p.origin} ({p.reason})")
    unmatched = {k: sorted(set(v)) for k, v in unmatched.items()}
    write_csv(files["grades_csv"], rows, outcomes_all, unmatched)

    this_run = {o.key: o for o in run.outcomes}
    per_assignment: dict[str, list[dict]] = {}
    for r in rows:
        if f"{r['student']}/{r['assignment']}" in this_run and r["submitted"]:
            per_assignment.setdefault(r["assignment"], []).append(r)
    write_figure(files["scores_png"], per_assignment)

    status = Counter(o.status for o in run.outcomes)
    lines = [
        "# Grading report",
        "",
        *(
            []
            if getattr(run, "sandboxed", True)
            else [
                "**Graded without a sandbox (`--no-sandbox`): the submissions' code could read and change anything "
                "the grader's user can, so these grades are only as trustworthy as the students.**",
                "",
            ]
        ),
        (
            f"{len(run.outcomes)} submission(s) of {len({o.student for o in run.outcomes})} student(s) "
            + (f"graded in {run.seconds:.0f} s with {run.jobs} parallel job(s)." if run.jobs else
               "made again from the gradebook by `course feedback` (nothing executed).")
        ),
        "",
        *next_steps(rows, run),
        "",
        "Status: " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items())) if status else "Nothing graded.",
        "",
        "![scores](scores.png)",
        "",
    ]
    for a, arows in sorted(per_assignment.items()):
        auto_max = arows[0]["auto_max"]
        mean = sum(r["auto_score"] for r in arows) / len(arows)
        lines += [
            f"## {a}",  # the course's own names (assignments, cells): no student text
            "",
            f"{len(arows)} submission(s); mean autograded score {mean:.2f} / {auto_max:g}.",
            "",
            "| cell | kind | points | mean | full | partial | zero | pending |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        stats = cell_stats(arows)
        for name, s in stats.items():
            kind = "test" if s["auto"] else "manual"
            lines.append(
                f"| {name} | {kind} | {s['max']:g} | {s['mean']:.2f} | {s['full']} | {s['partial']} | "
                f"{s['zero']} | {s['pending']} |"
            )
        fails: Counter = Counter()
        errors: dict[str, Counter] = {}
        for o in run.outcomes:
            if o.assignment != a or not o.graded:
                continue
            for test, err in o.failed_tests.items():
                fails[test] += 1
                errors.setdefault(test, Counter())[err] += 1
        lines += ["", "### Most failed tests", ""]
        if fails:
            lines += ["| test | failed | most common error |", "|---|---:|---|"]
            for test, n in fails.most_common():
                err, k = errors[test].most_common(1)[0]
                lines.append(f"| {md_text(test)} | {n} / {len(arows)} | {md_text(err)} ({k}x) |")
        else:
            lines.append("No test failed.")
        lines.append("")

    lines += students_table(rows, outcomes_all)
    lines += ["## Submissions not (fully) graded", ""]
    if failed := [o for o in run.outcomes if o.status != Status.OK]:
        lines += ["| student | assignment | status | reason | gradebook |", "|---|---|---|---|---|"]
        for o in sorted(failed, key=lambda o: o.key):
            lines.append(
                f"| {md_text(o.student)} | {md_text(o.assignment)} | {o.status} | {md_text(o.reason)} | "
                f"{md_text(o.merge or '')} |"
            )
    else:
        lines.append("None.")
    noted = [o for o in run.outcomes if o.notes]
    lines += ["", "## Notes (repairs made before grading, timeouts)", ""]
    for o in sorted(noted, key=lambda o: o.key):
        for n in o.notes:
            lines.append(f"- {md_text(o.student)} / {md_text(o.assignment)}: {md_text(n)}")
    if not noted:
        lines.append("None.")
    sus = [o for o in run.outcomes if o.suspicious]
    lines += ["", "## Suspicious code (flagged in the gradebook; please review)", ""]
    for o in sorted(sus, key=lambda o: o.key):
        lines.append(f"- {md_text(o.student)} / {md_text(o.assignment)}: "
                     + "; ".join(md_text(s) for s in o.suspicious[:8]))
    if not sus:
        lines.append("None.")
    lines += ["", "## Files that were not graded", ""]
    for p in run.problems:
        lines.append(f"- {md_text(p.origin)}: {md_text(p.reason)}")
    if not run.problems:
        lines.append("None.")
    files["report_md"].write_text("\n".join(lines) + "\n")
    return files
