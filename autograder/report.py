"""grades.csv, outcomes.json, report.md and scores.png (in ``<out>/grading/``)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from .gradebook import scores

CSV_FIELDS = [
    "student",
    "assignment",
    "status",
    "score",
    "max_score",
    "auto_score",
    "auto_max",
    "needs_manual_grade",
    "flagged",
    "reason",
]
KEEP = ("status", "reason", "notes", "suspicious", "failed_tests", "merge", "seconds")


def _key(o) -> str:
    return f"{o['student']}/{o['assignment']}"


def update_outcomes(path: Path, outcomes: list[dict]) -> dict:
    """outcomes.json accumulates over runs: the latest outcome of every (student, assignment)."""
    data = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    for o in outcomes:
        data[_key(o)] = {"student": o["student"], "assignment": o["assignment"], **{k: o.get(k) for k in KEEP}}
    path.write_text(json.dumps(dict(sorted(data.items())), indent=1, default=str) + "\n")
    return data


def write_csv(path: Path, rows: list[dict], outcomes: dict) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rows:
            o = outcomes.get(f"{r['student']}/{r['assignment']}")
            if not r["submitted"]:
                status, reason = "not_submitted", ""
            elif o is None:
                status, reason = "graded_elsewhere", "no autograder outcome recorded (nbgrader used directly?)"
            else:
                status, reason = o["status"], o.get("reason") or ""
            w.writerow(
                {
                    "student": r["student"],
                    "assignment": r["assignment"],
                    "status": status,
                    "score": f"{r['score']:g}",
                    "max_score": f"{r['max_score']:g}",
                    "auto_score": f"{r['auto_score']:g}",
                    "auto_max": f"{r['auto_max']:g}",
                    "needs_manual_grade": int(r["needs_manual_grade"]),
                    "flagged": int(r["flagged"]),
                    "reason": reason,
                }
            )


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell_stats(rows: list[dict]) -> dict[str, dict]:
    """Per grade cell: points, mean, counts of full / partial / zero, list of scores."""
    stats: dict[str, dict] = {}
    for r in rows:
        for name, c in r["cells"].items():
            s = stats.setdefault(name, {"max": c["max_score"], "auto": c["auto"], "scores": []})
            s["scores"].append(c["score"])
    for s in stats.values():
        sc, m = s["scores"], s["max"]
        s["mean"] = sum(sc) / len(sc) if sc else 0.0
        s["full"] = sum(1 for x in sc if x >= m)
        s["zero"] = sum(1 for x in sc if x <= 0)
        s["partial"] = len(sc) - s["full"] - s["zero"]
    return stats


def write_figure(path: Path, per_assignment: dict[str, list[dict]]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = max(1, len(per_assignment))
    fig = Figure(figsize=(11, 3.2 * n))
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 2, squeeze=False)
    if not per_assignment:
        axes[0][0].text(0.5, 0.5, "nothing graded", ha="center")
    for row, (a, rows) in zip(axes, sorted(per_assignment.items())):
        totals = [r["auto_score"] for r in rows]
        auto_max = rows[0]["auto_max"] if rows else 0
        row[0].hist(totals, bins=min(20, max(5, int(auto_max) + 1)), range=(0, max(auto_max, 1)), color="#4C72B0")
        row[0].set_title(f"{a}: autograded score (max {auto_max:g})")
        row[0].set_xlabel("score")
        row[0].set_ylabel("students")
        stats = cell_stats(rows)
        names = [k for k, v in stats.items() if v["auto"]] + [k for k, v in stats.items() if not v["auto"]]
        fracs = [stats[k]["mean"] / stats[k]["max"] if stats[k]["max"] else 0 for k in names]
        colors = ["#55A868" if stats[k]["auto"] else "#C44E52" for k in names]
        row[1].barh(range(len(names)), fracs, color=colors)
        row[1].set_yticks(range(len(names)), labels=names, fontsize=8)
        row[1].invert_yaxis()
        row[1].set_xlim(0, 1)
        row[1].set_title(f"{a}: mean fraction of points per cell (red: manual)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


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
    write_csv(files["grades_csv"], rows, outcomes_all)

    this_run = {_key(o): o for o in run.outcomes}
    per_assignment: dict[str, list[dict]] = {}
    for r in rows:
        if f"{r['student']}/{r['assignment']}" in this_run and r["submitted"]:
            per_assignment.setdefault(r["assignment"], []).append(r)
    write_figure(files["scores_png"], per_assignment)

    status = Counter(o["status"] for o in run.outcomes)
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
            f"{len(run.outcomes)} submission(s) of {len({o['student'] for o in run.outcomes})} student(s) "
            f"graded in {run.seconds:.0f} s with {run.jobs} parallel job(s)."
        ),
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
            f"## {a}",
            "",
            f"{len(arows)} submission(s); mean autograded score {mean:.2f} / {auto_max:g}.",
            "",
            "| cell | kind | points | mean | full | partial | zero |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        stats = cell_stats(arows)
        for name, s in stats.items():
            kind = "test" if s["auto"] else "manual"
            lines.append(
                f"| {name} | {kind} | {s['max']:g} | {s['mean']:.2f} | {s['full']} | {s['partial']} | {s['zero']} |"
            )
        fails: Counter = Counter()
        errors: dict[str, Counter] = {}
        for o in run.outcomes:
            if o["assignment"] != a or not o.get(
                "graded", o["status"] not in ("invalid", "missing", "error", "timeout", "tampered")
            ):
                continue
            for test, err in (o.get("failed_tests") or {}).items():
                fails[test] += 1
                errors.setdefault(test, Counter())[err] += 1
        lines += ["", "### Most failed tests", ""]
        if fails:
            lines += ["| test | failed | most common error |", "|---|---:|---|"]
            for test, n in fails.most_common():
                err, k = errors[test].most_common(1)[0]
                lines.append(f"| {test} | {n} / {len(arows)} | {_md_escape(err)} ({k}x) |")
        else:
            lines.append("No test failed.")
        lines.append("")

    bad = [o for o in run.outcomes if o["status"] != "ok"]
    lines += ["## Submissions not (fully) graded", ""]
    if bad:
        lines += ["| student | assignment | status | reason | gradebook |", "|---|---|---|---|---|"]
        for o in sorted(bad, key=_key):
            lines.append(
                f"| {o['student']} | {o['assignment']} | {o['status']} | {_md_escape(o.get('reason', ''))} | "
                f"{_md_escape(o.get('merge', ''))} |"
            )
    else:
        lines.append("None.")
    noted = [o for o in run.outcomes if o.get("notes")]
    lines += ["", "## Notes (repairs made before grading, timeouts)", ""]
    for o in sorted(noted, key=_key):
        for n in o["notes"]:
            lines.append(f"- {o['student']} / {o['assignment']}: {_md_escape(n)}")
    if not noted:
        lines.append("None.")
    sus = [o for o in run.outcomes if o.get("suspicious")]
    lines += ["", "## Suspicious code (flagged in the gradebook; please review)", ""]
    for o in sorted(sus, key=_key):
        lines.append(f"- {o['student']} / {o['assignment']}: " + "; ".join(_md_escape(s) for s in o["suspicious"][:8]))
    if not sus:
        lines.append("None.")
    lines += ["", "## Files that were not graded", ""]
    for p in run.problems:
        lines.append(f"- `{p.origin}`: {_md_escape(p.reason)}")
    if not run.problems:
        lines.append("None.")
    files["report_md"].write_text("\n".join(lines) + "\n")
    return files
