"""grades.csv, outcomes.json, report.md and scores.png (in ``<out>/grading/``)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .escape import csv_cell, md_text
from .gradebook import scores
from .late import format_delay
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
    "late",
    "late_penalty",
    "final_score",
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
    """The status of a gradebook row: its outcome's, or why there is none; a graded hand-in that changed no answer
    cell of the release is "not attempted" (:func:`annotate`)."""
    if not row["submitted"]:
        return Status.NOT_SUBMITTED
    status = outcome.status if outcome else Status.GRADED_ELSEWHERE
    if status == Status.OK and row.get("not_attempted"):
        return Status.NOT_ATTEMPTED
    return status


def annotate(rows: list[dict], out_dir: Path, course_id: str, course_root: Path | None, answers=None) -> None:
    """Add to each gradebook row what the class view needs besides the grades: ``late`` (its
    :class:`autograder.late.Lateness` or None), ``late_penalty``, ``final_score`` (score less the penalty, at least
    0, as nbgrader's export computes it) and ``not_attempted``."""
    from .answers import not_attempted  # nbformat: only when a report is written
    from .late import late_submissions

    db = out_dir / "gradebook.db"
    late = late_submissions(f"sqlite:///{db}", course_id) if db.exists() else {}
    submitted = [(r["student"], r["assignment"]) for r in rows if r["submitted"]]
    blank = not_attempted(out_dir, course_root, submitted, answers) if course_root is not None else set()
    for r in rows:
        lateness = late.get(f"{r['student']}/{r['assignment']}")
        r["late"] = lateness
        r["late_penalty"] = lateness.penalty if lateness else 0.0
        r["final_score"] = max(0.0, r["score"] - r["late_penalty"])
        r["not_attempted"] = (r["student"], r["assignment"]) in blank


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
            if status == Status.NOT_ATTEMPTED:
                reason = "no answer cell changed from the release"
            lateness = r.get("late")
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
                    "late": csv_cell(lateness.describe()) if lateness else "",
                    "late_penalty": f"{r.get('late_penalty', 0.0):g}",
                    "final_score": f"{r.get('final_score', r['score']):g}",
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
        draw_cell_shares(row[1], a, cell_stats(rows))
    fig.savefig(path, dpi=90)


def draw_cell_shares(ax, assignment: str, stats: dict[str, dict]) -> None:
    """One bar per cell, the mean share of its points (green: tests, red: graded by a person), and over each
    written answer that waits for a person a hatched bar, the share of the hand-ins still waiting."""
    names = [k for k, v in stats.items() if v["auto"]] + [k for k, v in stats.items() if not v["auto"]]
    fracs = [stats[k]["mean"] / stats[k]["max"] if stats[k]["max"] else 0 for k in names]
    colors = ["#55A868" if stats[k]["auto"] else "#C44E52" for k in names]
    ax.barh(range(len(names)), fracs, color=colors)
    for y, k in enumerate(names):
        waiting = stats[k]["pending"]
        if waiting:
            share = waiting / (waiting + len(stats[k]["scores"]))
            ax.barh(y, share, color="none", edgecolor="#555555", hatch="//")
            inside = share > 0.75
            ax.text(share - 0.01 if inside else share + 0.01, y, f"{waiting} pending", va="center",
                    ha="right" if inside else "left", fontsize=8, backgroundcolor="white")
    ax.set_yticks(range(len(names)), labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(f"{assignment}\nmean share of the points per cell\n(red: graded by a person; hatched: not graded "
                 "yet)", fontsize=10)


def command(name: str, out_dir: Path, course_root: Path | None) -> str:
    """``course NAME`` as the instructor types it for this output folder."""
    if course_root is not None and Path(out_dir).resolve() == Path(course_root).resolve():
        return f"course {name}"
    return f"course {name} --out {out_dir}"


def next_steps(rows: list[dict], outcomes: list[Outcome], problems: list, out_dir: Path,
               course_root: Path | None = None, similar: int = 0) -> list[str]:
    """What the instructor does next: manual grading, flagged submissions, similar pairs, files that matched
    nothing."""
    pending = [r for r in rows if r["submitted"] and r.get("pending_manual")]
    flagged = [r for r in rows if r["submitted"] and r["flagged"]]
    failed = [o for o in outcomes if o.status != Status.OK]
    blank = [r for r in rows if r.get("not_attempted")]
    steps = []
    if pending:
        points = sum(r["pending_manual"] for r in pending)
        steps.append(f"- **{len(pending)} submission(s) wait for manual grading** ({points:g} points of written "
                     f"answers): `{command('formgrader', out_dir, course_root)}` starts formgrader (see "
                     "autograder/README.md); then run "
                     f"`{command('feedback', out_dir, course_root)}` to put the grades and comments into the feedback.")
    if flagged:
        steps.append(f"- {len(flagged)} submission(s) are flagged: read *Suspicious code* and *Submissions not "
                     "(fully) graded* below.")
    if failed:
        steps.append(f"- {len(failed)} submission(s) were not (fully) graded: see the table below for why.")
    if blank:
        steps.append(f"- {len(blank)} submission(s) were not attempted (no answer cell changed from the release): "
                     "see *Students*.")
    if similar:
        steps.append(f"- {similar} pair(s) of submissions are similar: read them side by side in "
                     "[similarity.html](similarity.html) (no grade was changed).")
    if problems:
        steps.append(f"- {len(problems)} file(s) matched no student or notebook: see *Files that were not "
                     "graded*; rename them (`<student>_<notebook>.ipynb`) and grade again.")
    return ["## Next steps", "", *(steps or ["Nothing to do: every submission is graded and none is flagged."])]


def students_table(rows: list[dict], outcomes: dict[str, Outcome]) -> list[str]:
    """One line per student and assignment: score, status, lateness, flags, points still pending."""
    lines = ["## Students", "", "| student | assignment | score | status | late | flagged | pending manual points |",
             "|---|---|---:|---|---|---|---:|"]
    for r in rows:
        status = _report_status(r, outcomes.get(f"{r['student']}/{r['assignment']}"))
        late = r.get("late")
        score = f"{r['score']:g} / {r['max_score']:g}"
        if late and r.get("late_penalty"):
            score = f"{r['final_score']:g} / {r['max_score']:g} ({r['score']:g} - {r['late_penalty']:g} late)"
        lines.append(f"| {md_text(r['student'])} | {r['assignment']} | {score} | {status} | "
                     f"{format_delay(late.seconds_late) if late else ''} | {'yes' if r['flagged'] else ''} | "
                     f"{r.get('pending_manual', 0):g} |")
    return lines + [""]


def late_table(rows: list[dict], policy: str) -> list[str]:
    late = [r for r in rows if r.get("late")]
    lines = ["## Late hand-ins", "", f"Policy: {md_text(policy)}.", ""]
    if not late:
        return lines + ["None.", ""]
    lines += ["| student | assignment | due (UTC) | handed in (UTC) | late by | penalty |",
              "|---|---|---|---|---|---:|"]
    for r in late:
        x = r["late"]
        lines.append(f"| {md_text(r['student'])} | {r['assignment']} | {x.due:%Y-%m-%d %H:%M} | "
                     f"{x.submitted:%Y-%m-%d %H:%M} | {format_delay(x.seconds_late)} | {x.penalty:g} |")
    return lines + [""]


def similar_table(pairs) -> list[str]:
    lines = ["## Similar work (no grade changed)", ""]
    if not pairs:
        return lines + ["No pair of submissions is similar.", ""]
    lines += ["Side by side, shared lines highlighted: [similarity.html](similarity.html).", "",
              "| # | assignment | students | kind | shared |", "|---:|---|---|---|---|"]
    for n, p in enumerate(pairs, 1):
        a, b = (md_text(x) for x in p.students)
        lines.append(f"| {n} | {p.assignment} | {a}, {b} | {p.kind} | {p.shares[0]:.0%} / "
                     f"{p.shares[1]:.0%} ({p.shared} characters) |")
    return lines + [""]


@dataclass
class ClassReport:
    """What the reports say, computed once from the class gradebook and this run (the data; the files are its
    renderings: :func:`render_markdown`, :func:`write_csv`, :func:`write_figure`, similarity.html)."""

    rows: list[dict]  # every (student, assignment) of the gradebook, annotated
    outcomes_all: dict[str, Outcome]  # outcomes.json: the latest outcome of every submission ever graded
    latest: list[Outcome]  # of the submissions in the gradebook, and of this run
    per_assignment: dict[str, list[dict]]  # the submitted rows of each assignment
    unmatched: dict[str, list[str]]  # student -> files of theirs that matched nothing
    pairs: list  # similar pairs (autograder.similarity)
    policy: str  # the late policy, in words
    run: object  # the GradingRun
    course_root: Path | None

    @property
    def submitted(self) -> list[dict]:
        return [r for r in self.rows if r["submitted"]]


def gather(run, course_id: str, outcomes_json: Path, course_root: Path | None = None, cfg=None) -> ClassReport:
    """The :class:`ClassReport` of ``run``'s gradebook (outcomes.json updated with the run's outcomes)."""
    from .answers import class_answers
    from .late import describe_policy, late_plugin
    from .similarity import compare_class

    db = run.out_dir / "gradebook.db"
    outcomes_all = update_outcomes(outcomes_json, run.outcomes)
    rows = scores(db, course_id) if db.exists() else []
    # every graded notebook's answer cells, read once for "not attempted" and the similarity check
    answers = class_answers(run.out_dir, [(r["student"], r["assignment"]) for r in rows if r["submitted"]]) \
        if course_root is not None else {}
    annotate(rows, run.out_dir, course_id, course_root, answers)
    unmatched: dict[str, list[str]] = {}
    for r in rows:
        for p in run.problems:
            if p.origin.lower().startswith(r["student"].lower()) and p.origin[len(r["student"]):][:1] in "_/- .":
                unmatched.setdefault(r["student"], []).append(f"{p.origin} ({p.reason})")
    submitted = [r for r in rows if r["submitted"]]
    per_assignment: dict[str, list[dict]] = {}
    for r in submitted:
        per_assignment.setdefault(r["assignment"], []).append(r)
    pairs = compare_class(run.out_dir, Path(course_root), [(r["student"], r["assignment"]) for r in submitted],
                          cfg, answers) if course_root is not None else []
    # the whole gradebook: the latest outcome of every submission in it, whichever run graded it
    known = {f"{r['student']}/{r['assignment']}" for r in submitted}
    latest_by_key = {k: o for k, o in outcomes_all.items() if k in known} | {o.key: o for o in run.outcomes}
    return ClassReport(
        rows=rows, outcomes_all=outcomes_all, latest=[o for _, o in sorted(latest_by_key.items())],
        per_assignment=per_assignment, unmatched={k: sorted(set(v)) for k, v in unmatched.items()}, pairs=pairs,
        policy=describe_policy(late_plugin(cfg)) if cfg is not None else "nbgrader's default (no penalty)",
        run=run, course_root=course_root,
    )  # fmt: skip


def write_reports(run, course_id: str, course_root: Path | None = None, cfg=None) -> dict[str, Path]:
    """grades.csv, outcomes.json, report.md, scores.png and similarity.html of the whole class gradebook (every
    student and assignment in it, whichever run graded them); ``run`` adds what this run did and the files that
    matched nothing. ``course_root`` (with its release/ and source/) enables "not attempted" and the similarity
    check; ``cfg`` is the course's configuration (late policy, similarity thresholds)."""
    from .similarity import write_similarity

    gdir = run.out_dir / "grading"
    gdir.mkdir(parents=True, exist_ok=True)
    files = {name: gdir / f for name, f in (("grades_csv", "grades.csv"), ("outcomes_json", "outcomes.json"),
                                             ("report_md", "report.md"), ("scores_png", "scores.png"))}
    report = gather(run, course_id, files["outcomes_json"], course_root, cfg)
    write_csv(files["grades_csv"], report.rows, report.outcomes_all, report.unmatched)
    write_figure(files["scores_png"], report.per_assignment)
    if course_root is not None:
        files.update(write_similarity(run.out_dir, report.pairs))
    files["report_md"].write_text(render_markdown(report))
    return files


def render_markdown(report: ClassReport) -> str:
    """report.md: next steps, each assignment's cells and failed tests, the students, what was not graded."""
    run, rows, submitted = report.run, report.rows, report.submitted
    status = Counter(_report_status(r, report.outcomes_all.get(f"{r['student']}/{r['assignment']}"))
                     for r in submitted)
    this_run = (f"This run graded {len(run.outcomes)} submission(s) of {len({o.student for o in run.outcomes})} "
                f"student(s) in {run.seconds:.0f} s with {run.jobs} parallel job(s)." if run.jobs else
                "Made again from the gradebook by `course feedback` (nothing executed).")
    unsandboxed = [] if getattr(run, "sandboxed", True) else [
        "**Graded without a sandbox (`--no-sandbox`): the submissions' code could read and change anything the "
        "grader's user can, so these grades are only as trustworthy as the students.**", ""]
    lines = [
        "# Grading report", "", *unsandboxed,
        f"The class gradebook: {len(submitted)} submission(s) of {len({r['student'] for r in submitted})} "
        f"student(s), {len({r['student'] for r in rows})} student(s) in all. {this_run}", "",
        *next_steps(rows, report.latest, run.problems, run.out_dir, report.course_root, len(report.pairs)), "",
        "Status: " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items())) if status else "Nothing graded.", "",
        "![scores](scores.png)", "",
    ]  # fmt: skip
    for a, arows in sorted(report.per_assignment.items()):
        lines += assignment_section(a, arows, report.latest)
    lines += students_table(rows, report.outcomes_all)
    lines += late_table(rows, report.policy)
    lines += similar_table(report.pairs)
    lines += outcome_sections(report.latest, run.problems)
    return "\n".join(lines) + "\n"


def assignment_section(a: str, arows: list[dict], latest: list[Outcome]) -> list[str]:
    """One assignment: its cells' scores and its most failed tests."""
    auto_max = arows[0]["auto_max"]
    mean = sum(r["auto_score"] for r in arows) / len(arows)
    lines = [f"## {a}", "",  # the course's own names (assignments, cells): no student text
             f"{len(arows)} submission(s); mean autograded score {mean:.2f} / {auto_max:g}.", "",
             "| cell | kind | points | mean | full | partial | zero | pending |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in cell_stats(arows).items():
        lines.append(f"| {name} | {'test' if s['auto'] else 'manual'} | {s['max']:g} | {s['mean']:.2f} | "
                     f"{s['full']} | {s['partial']} | {s['zero']} | {s['pending']} |")
    fails: Counter = Counter()
    errors: dict[str, Counter] = {}
    for o in (o for o in latest if o.assignment == a and o.graded):
        for test, err in o.failed_tests.items():
            fails[test] += 1
            errors.setdefault(test, Counter())[err] += 1
    lines += ["", "### Most failed tests", ""]
    if not fails:
        return lines + ["No test failed.", ""]
    lines += ["| test | failed | most common error |", "|---|---:|---|"]
    for test, n in fails.most_common():
        err, k = errors[test].most_common(1)[0]
        lines.append(f"| {md_text(test)} | {n} / {len(arows)} | {md_text(err)} ({k}x) |")
    return lines + [""]


def outcome_sections(latest: list[Outcome], problems) -> list[str]:
    """What was not (fully) graded, the notes, the suspicious code and the files that matched nothing."""
    lines = ["## Submissions not (fully) graded", ""]
    if failed := [o for o in latest if o.status != Status.OK]:
        lines += ["| student | assignment | status | reason | gradebook |", "|---|---|---|---|---|"]
        lines += [f"| {md_text(o.student)} | {md_text(o.assignment)} | {o.status} | {md_text(o.reason)} | "
                  f"{md_text(o.merge or '')} |" for o in failed]
    else:
        lines.append("None.")
    lines += ["", "## Notes (repairs made before grading, timeouts)", ""]
    lines += [f"- {md_text(o.student)} / {md_text(o.assignment)}: {md_text(n)}" for o in latest for n in o.notes] \
        or ["None."]
    lines += ["", "## Suspicious code (flagged in the gradebook; please review)", ""]
    lines += [f"- {md_text(o.student)} / {md_text(o.assignment)}: " + "; ".join(md_text(x) for x in o.suspicious[:8])
              for o in latest if o.suspicious] or ["None."]
    lines += ["", "## Files that were not graded (this run)", ""]
    lines += [f"- {md_text(p.origin)}: {md_text(p.reason)}" for p in problems] or ["None."]
    return lines
