"""The ``course`` command: run the notebooks, mirror the data, check the machine, release and grade."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from course.profiles import PROFILES


def _run(args) -> int:
    from .runner import run

    return run(args.notebooks, profile=args.profile, source_dir=args.source, out_dir=args.out, timeout=args.timeout)


def _mirror(args) -> int:
    from course.sources import SourceError

    from .mirror import mirror

    try:
        for line in mirror(args.dest, args.source, args.checkpoint or None):
            print(line)
    except (SourceError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def _lock(args) -> int:
    from .lock import main

    return main(args)


def _drift(args) -> int:
    from .drift import main

    return main(args)


def _doctor(args) -> int:
    from .doctor import main

    return main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the course notebooks with papermill (the main job)")
    run.add_argument("notebooks", nargs="*", help="assignment names, notebook stems or paths (default: all)")
    run.add_argument("--profile", choices=list(PROFILES), help="default: COURSE_PROFILE, else automatic")
    run.add_argument("--source", type=Path, default=None, help="folder of source notebooks (default: source/)")
    run.add_argument("--out", type=Path, default=None, help="where executed notebooks go (default: ./build)")
    run.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default: none)")
    run.set_defaults(func=_run)

    data = sub.add_parser("data", help="manage the offline data mirror")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    mirror = data_sub.add_parser("mirror", help="copy data sets and checkpoints into a mirror folder")
    mirror.add_argument("dest", type=Path)
    mirror.add_argument("--from", dest="source", type=Path, default=None, help="an existing mirror to copy from")
    mirror.add_argument("--checkpoint", action="append", help="checkpoint(s) to include (repeatable)")
    mirror.set_defaults(func=_mirror)

    lock = sub.add_parser("lock", help="write requirements.lock (pip-tools) from pyproject.toml")
    lock.add_argument("--upgrade", action="store_true", help="move to the newest releases allowed")
    lock.add_argument("--output", type=Path, default=None, help="default: requirements.lock")
    lock.set_defaults(func=_lock)

    drift = sub.add_parser("drift", help="try the newest library releases in a throw-away venv; report what broke")
    drift.add_argument("--venv", type=Path, default=None, help="the environment to build (default: a temporary one)")
    drift.add_argument("--report", type=Path, default=None, help="default: benchmarks/drift.md")
    drift.add_argument("--torch", default=None, help="a torch requirement to install instead of the newest CPU build")
    drift.add_argument("--torch-index-url", default="https://download.pytorch.org/whl/cpu",
                       help="where the newest CPU build of torch comes from ('' : keep the lock's torch)")
    drift.add_argument("--no-tests", action="store_true", help="skip the quick tests")
    drift.add_argument("--no-smoke", action="store_true", help="skip course run --profile smoke")
    drift.set_defaults(func=_drift)

    doctor = sub.add_parser("doctor", help="check versions, device, profile and sources")
    doctor.set_defaults(func=_doctor)

    if importlib.util.find_spec("autograder") is not None:  # the instructor's tools, where installed; a real error
        from autograder.cli import register  # in them is raised, never hidden

        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from course.sources import pin_environment

    args = build_parser().parse_args(argv)
    pin_environment()  # relative paths mean the caller's directory, not each notebook's folder
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
