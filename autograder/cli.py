"""``course release`` and ``course grade`` (registered into the ``course`` CLI by course_tools/cli.py).

Standalone: ``python -m autograder release --check`` / ``python -m autograder grade SUBMISSIONS``.

The grading commands import their modules when they run: those import nbgrader, sqlalchemy and jupyter, which
every other ``course`` command would otherwise wait for.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from .config import find_course_root, load_course_config
from .release import find_leaks, release_all, release_is_up_to_date
from .settings import autograder_settings


def _root(args) -> Path:
    return Path(args.course_root).resolve() if getattr(args, "course_root", None) else find_course_root()


def cmd_release(args) -> int:
    root = _root(args)
    release_dir = root / "release"
    if args.check:
        diffs = release_is_up_to_date(root)
        for d in diffs:
            print(f"out of date: {d}")
    else:
        written = release_all(root)
        for w in written:
            print(f"released {w.relative_to(root)}")
        diffs = []
    allow = list(autograder_settings(load_course_config(root)).leak_allowlist)
    leaks = find_leaks(release_dir, root / "source", allow=allow)
    for leak in leaks:
        print(f"LEAK: {leak}")
    if args.check and not diffs and not leaks:
        print("release/ is up to date and leak-free")
    if diffs:
        print("run `course release` and commit release/", file=sys.stderr)
    return 1 if (diffs or leaks) else 0


def cmd_grade(args) -> int:
    from .grade import grade
    from .sandbox import SandboxUnavailable
    from .shards import parse_shard

    root = _root(args)
    try:
        run = grade(
            args.submissions,
            args.out,
            jobs=args.jobs,
            course_root=root,
            assignment=args.assignment,
            hide_hidden_tests=args.hide_hidden_tests,
            feedback=args.feedback,
            timeout=args.timeout,
            job_timeout=args.job_timeout,
            keep_workdirs=args.keep_workdirs,
            protect=[] if args.no_protect else None,
            sandbox=args.sandbox,
            shard=parse_shard(args.shard) if args.shard else None,
            engine=args.engine,
            students=args.student,
        )
    except (ValueError, FileNotFoundError, SandboxUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not run.sandboxed:
        print("WARNING: graded WITHOUT a sandbox (--no-sandbox): submissions could read and change anything you can")
    status = Counter(o.status for o in run.outcomes)
    print(
        f"graded {len(run.outcomes)} submission(s) in {run.seconds:.0f} s: "
        + (", ".join(f"{k} {v}" for k, v in sorted(status.items())) or "nothing")
    )
    for p in run.problems:
        print(f"not graded: {p}")
    for name, path in sorted(run.files.items()):
        print(f"{name}: {path}")
    print(f"gradebook: {run.gradebook}   feedback: {run.out_dir / 'feedback'}")
    failed = [o for o in run.outcomes if o.status == "error"]
    for o in failed:  # the grader could not grade these: every other submission is graded and reported
        print(f"error: {o.student}/{o.assignment}: {o.reason}", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} submission(s) could not be graded (see report.md, 'Submissions not (fully) "
              "graded'); all others are", file=sys.stderr)
        return 3
    return 0 if run.outcomes else 2


def _report_files(make, summary) -> int:
    """Run ``make()`` (a GradingRun with report files); print ``summary(run)`` and the files, or the error."""
    try:
        run = make()
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summary(run))
    for name, path in sorted(run.files.items()):
        print(f"{name}: {path}")
    return 0


def cmd_merge(args) -> int:
    from .shards import merge_shards

    return _report_files(
        lambda: merge_shards(args.shards, args.out, course_root=_root(args)),
        lambda run: f"merged {len(run.outcomes)} submission(s) from {len(args.shards)} shard(s) into {run.out_dir}",
    )


def cmd_feedback(args) -> int:
    from .feedback import refresh

    return _report_files(
        lambda: refresh(args.out or _root(args), course_root=_root(args), hide_hidden_tests=args.hide_hidden_tests),
        lambda run: f"feedback, grades and report made again from {run.gradebook} ({len(run.outcomes)} submission(s))",
    )


def cmd_export(args) -> int:
    from .config import course_id
    from .export import export

    root = _root(args)
    cfg = load_course_config(root)
    out = Path(args.out).resolve() if args.out else root
    try:
        path = export(out, args.format, course_id(cfg), root, cfg, Path(args.to) if args.to else None)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.format} export of {out / 'gradebook.db'}: {path}")
    return 0


def cmd_roster(args) -> int:
    from .config import course_id
    from .roster import import_roster, read_roster

    root = _root(args)
    out = Path(args.out).resolve() if args.out else root
    try:
        entries = read_roster(args.roster)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    added, updated, missing = import_roster(f"sqlite:///{out / 'gradebook.db'}",
                                            course_id(load_course_config(root)), entries)
    print(f"roster: {added} student(s) added, {updated} updated in {out / 'gradebook.db'}")
    if missing:
        print(f"in the gradebook but not on the roster (kept): {', '.join(missing)}")
    return 0


def cmd_formgrader(args) -> int:
    from .formgrader import serve

    root = _root(args)
    return serve(Path(args.out) if args.out else root, root, host=args.ip, port=args.port,
                 open_browser=args.browser)


def _folders(parser, out_help: str = "the folder `course grade --out` wrote (default: the course directory)"):
    parser.add_argument("--out", help=out_help)
    parser.add_argument("--course-root", help="course directory (default: found from the current directory)")


def register(subparsers) -> None:
    """Add the instructor's commands (release, grade, feedback, ...) to an argparse subparsers object."""
    for add in (_add_release, _add_grade, _add_feedback, _add_export, _add_roster, _add_formgrader, _add_merge):
        add(subparsers)


def _add_release(subparsers) -> None:
    p = subparsers.add_parser(
        "release",
        help="generate the student notebooks (release/) from source/ with nbgrader",
        description="Regenerate release/<assignment>/ for every assignment of source/ (deterministic, "
        "throw-away gradebook) and search the result for leaked solutions/hidden tests.",
    )
    p.add_argument(
        "--check", action="store_true", help="do not write: fail (exit 1) if release/ is out of date or leaks anything"
    )
    p.add_argument("--course-root", help="course directory (default: found from the current directory)")
    p.set_defaults(func=cmd_release)


def _add_grade(subparsers) -> None:
    g = subparsers.add_parser(
        "grade",
        help="autograde submissions (nbgrader layout, zips or loose notebooks), in parallel",
        description="Autograde every submission found in SUBMISSIONS into OUT (gradebook.db, autograded/, "
        "feedback/, grading/grades.csv, grading/report.md, grading/scores.png).  See autograder/README.md.",
    )
    g.add_argument(
        "submissions",
        help="folder: <student>/<assignment>/*.ipynb, <student>.zip, "
        "<student>_<assignment>.zip, <student>_<notebook>.ipynb or <student>/<notebook>.ipynb",
    )
    g.add_argument("--out", help="output folder (default: the course directory, like nbgrader)")
    g.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="submissions graded at the same time (default: half the CPU cores)",
    )
    g.add_argument("--assignment", help="grade only this assignment")
    g.add_argument("--student", action="append", metavar="ID",
                   help="re-grade only this student's hand-ins (repeatable); the reports still cover the whole class")
    g.add_argument(
        "--hide-hidden-tests",
        dest="hide_hidden_tests",
        action="store_true",
        default=True,
        help="remove hidden test source from the feedback (default)",
    )
    g.add_argument(
        "--show-hidden-tests", dest="hide_hidden_tests", action="store_false", help="keep hidden tests in the feedback"
    )
    g.add_argument("--no-feedback", dest="feedback", action="store_false", help="grades only, no feedback HTML")
    g.add_argument("--timeout", type=int, help="per-cell limit in seconds: of CPU time, or of the wall clock "
                   "while the cell is not computing (default: Execute.timeout)")
    g.add_argument("--job-timeout", type=int, help="per-submission limit in seconds (default: Autograder.job_timeout)")
    g.add_argument("--course-root", help="course directory (default: found from the current directory)")
    g.add_argument("--keep-workdirs", action="store_true", help="keep the per-submission grading folders")
    g.add_argument(
        "--no-protect",
        action="store_true",
        help="do not watch source/, the course packages and site-packages for tampering",
    )
    g.add_argument(
        "--no-sandbox",
        dest="sandbox",
        action="store_false",
        help="run the kernels without the bubblewrap sandbox (trusted notebooks only; the report says so)",
    )
    g.add_argument("--shard", metavar="K/N", help="grade only shard K of N of the class (merge with `course merge`)")
    g.add_argument(
        "--engine",
        metavar="dask|ADDRESS",
        help="run the jobs on Dask: 'dask' starts a local cluster of --jobs workers, tcp://host:8786 uses a running "
        "cluster whose workers see the course, submissions and --out at the same paths (pip install distributed)",
    )
    g.set_defaults(func=cmd_grade)


def _add_feedback(subparsers) -> None:
    f = subparsers.add_parser(
        "feedback",
        help="make feedback, grades.csv and the report again from the gradebook (after manual grading)",
        description="Rebuild OUT/feedback/ (manual scores and comments included, hidden tests removed), "
        "OUT/grading/grades.csv, report.md and scores.png from OUT/gradebook.db.  Executes nothing.",
    )
    f.add_argument("--out", help="the folder `course grade --out` wrote (default: the course directory)")
    f.add_argument("--course-root", help="course directory (default: found from the current directory)")
    f.add_argument(
        "--show-hidden-tests", dest="hide_hidden_tests", action="store_false", help="keep hidden tests in the feedback"
    )
    f.set_defaults(func=cmd_feedback)


def _add_export(subparsers) -> None:
    e = subparsers.add_parser(
        "export",
        help="the class grades in an LMS's gradebook import format (Canvas, Moodle, Blackboard) or as plain CSV",
        description="Write OUT/grading/export-FORMAT.csv from OUT/gradebook.db: one row per student, one column per "
        "assignment (its score after the late penalty) and the total, matched on the LMS's ids (see "
        "autograder/export.py for each layout).",
    )
    e.add_argument("--format", required=True, choices=["canvas", "moodle", "blackboard", "csv"])
    e.add_argument("--to", help="the file to write (default: OUT/grading/export-FORMAT.csv)")
    _folders(e)
    e.set_defaults(func=cmd_export)


def _add_roster(subparsers) -> None:
    r = subparsers.add_parser(
        "roster",
        help="put the students' names and e-mail addresses (and LMS ids) into the gradebook",
        description="Read a CSV file with the header id,first_name,last_name,email[,lms_user_id] into "
        "OUT/gradebook.db (formgrader then shows the names; course export matches on them).",
    )
    r.add_argument("roster", help="CSV file: id, first_name, last_name, email, optionally lms_user_id")
    _folders(r, "the grading folder (default: the course directory)")
    r.set_defaults(func=cmd_roster)


def _add_formgrader(subparsers) -> None:
    fg = subparsers.add_parser(
        "formgrader",
        help="start the instructor's JupyterLab with nbgrader's formgrader on the graded folder; prints the URL",
        description="Start JupyterLab on OUT (default: the course directory) on the loopback interface with a "
        "fresh token and print the formgrader URL; Ctrl-C stops it.",
    )
    fg.add_argument("--port", type=int, help="port (default: a free one)")
    fg.add_argument("--ip", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    fg.add_argument("--browser", action="store_true", help="open the URL in the default web browser")
    _folders(fg)
    fg.set_defaults(func=cmd_formgrader)


def _add_merge(subparsers) -> None:
    m = subparsers.add_parser(
        "merge",
        help="merge the --out folders of sharded `course grade` runs into one class gradebook and report",
    )
    m.add_argument("shards", nargs="+", help="the --out folders of `course grade --shard K/N` runs")
    m.add_argument("--out", required=True, help="the class folder to write")
    m.add_argument("--course-root", help="course directory (default: found from the current directory)")
    m.set_defaults(func=cmd_merge)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)
