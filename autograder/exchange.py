"""The loop through nbgrader's exchange (``course classroom``'s): nbgrader's own apps, run on the course folder.

* ``course release --exchange``: ``nbgrader release_assignment`` of each assignment of ``release/`` (the kit's
  generated student versions) into ``<exchange>/<course>/outbound/``; students fetch it in their Assignment List.
* ``course collect ASSIGNMENT``: ``nbgrader collect --update`` of the students' hand-ins in ``inbound/`` into
  ``submitted/<student>/<assignment>/`` with nbgrader's ``timestamp.txt``, the layout ``course grade submitted``
  grades (and whose timestamps the late policy reads, autograder/late.py). A hand-in is collected only when the
  student it names made it (:class:`OwnerCheckedCollect`): every student may write into ``inbound/`` (0733), so
  one could put a folder named after another there by hand, and nbgrader's collect only warns about its owner.
* ``course feedback --release ASSIGNMENT``: ``nbgrader release_feedback`` of ``feedback/<student>/<assignment>/``
  (what ``course grade`` and ``course feedback`` write) into ``feedback/`` of the exchange, each page under the hash
  of its hand-in's secret, so only that student finds it (``Fetch Feedback`` in the Assignment List).

The exchange's root comes from ``--exchange``, else ``c.Exchange.root`` of ``classroom/instructor``'s config, else
nbgrader's default ``/srv/nbgrader/exchange``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from .classroom import CLASSROOM, DEFAULT_EXCHANGE, seal
from .config import course_id, discover_assignments, load_course_config
from .files import copy_regular_files

REFUSED = "\0refused"  # the user name given to a hand-in its maker did not make (never a real user's)


class OwnerCheckedCollect(ExchangeCollect):
    """nbgrader's collect, which takes a hand-in only from the user it names (the owner of its folder)."""

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        try:
            owner = pwd.getpwuid(os.stat(path).st_uid).pw_name
        except KeyError:
            owner = "unknown uid"
        if owner != record["username"]:
            self.log.error("NOT collected: %s names student %s but %s made it", os.path.basename(path),
                           record["username"], owner)
            record["username"] = f"{REFUSED}:{owner}:{record['username']}"
        return record

    def init_src(self):
        super().init_src()
        self.src_records = [r for r in self.src_records if not r["username"].startswith(REFUSED)]

    def do_copy(self, src, dest, log=None):
        """nbgrader copies a hand-in with ``shutil.copytree``, which follows links, and collect runs as root: a link
        in a hand-in to the solutions, a classmate's hand-in or ``/dev/zero`` would come back as the student's work.
        Here only regular files leave a hand-in, opened without following links and capped at nbgrader's
        ``max_file_size``; a hand-in that is itself a link is refused; whatever is skipped is logged."""
        if os.path.islink(src):
            self.log.error("NOT collected: %s is a link", os.path.basename(src))
            return
        limit = 1000 * int(self.coursedir.max_file_size or 100_000)
        for why in copy_regular_files(src, dest, ("",), limit):
            self.log.error("NOT collected from %s: %s", os.path.basename(src), why)


def exchange_root(course_root: Path, given: str | None = None) -> str:
    if given:
        return str(Path(given).resolve())
    cfg = course_root / CLASSROOM / "instructor" / "nbgrader_config.py"
    if cfg.is_file():
        from traitlets.config.loader import PyFileConfigLoader

        root = PyFileConfigLoader(cfg.name, path=str(cfg.parent)).load_config().get("Exchange", {}).get("root")
        if root:
            return str(root)
    return DEFAULT_EXCHANGE


def nbgrader(course_root: Path, app: str, *args: str, exchange: str | None = None) -> int:
    """Run ``nbgrader APP ARGS`` on the course folder with its exchange; its exit status."""
    cfg = load_course_config(course_root)
    cmd = [sys.executable, "-m", "nbgrader", app, *args, f"--Exchange.root={exchange_root(course_root, exchange)}",
           f"--CourseDirectory.root={course_root}", f"--CourseDirectory.course_id={course_id(cfg)}"]
    status = subprocess.call(cmd, cwd=course_root)
    seal(course_root)  # submitted/ (collect) and what nbgrader made beside it: the instructor's alone
    return status


def release_to_exchange(course_root: Path, assignments: list[str] | None, exchange: str | None = None) -> int:
    missing = [a for a in assignments or [] if not (course_root / "release" / a).is_dir()]
    if missing:
        print(f"error: not in release/: {', '.join(missing)} (run `course release` first)", file=sys.stderr)
        return 1
    status = 0
    for a in assignments or discover_assignments(course_root):
        status = max(status, nbgrader(course_root, "release_assignment", a, "--force", exchange=exchange))
    return status


def collect(course_root: Path, assignment: str, exchange: str | None = None) -> int:
    return nbgrader(course_root, "collect", assignment, "--update",
                    "--ExchangeFactory.collect=autograder.exchange.OwnerCheckedCollect", exchange=exchange)


def release_feedback(course_root: Path, assignment: str, exchange: str | None = None) -> int:
    """nbgrader's release_feedback of ``feedback/*/ASSIGNMENT``; each folder first gets its hand-in's
    ``timestamp.txt`` and ``submission_secret.txt`` from ``submitted/`` (which nbgrader's own generate_feedback
    copies, and the hash of the released page is made of)."""
    found, without = 0, []
    for folder in sorted((course_root / "feedback").glob(f"*/{assignment}")):
        hand_in = course_root / "submitted" / folder.parent.name / assignment
        for name in ("timestamp.txt", "submission_secret.txt"):
            if (hand_in / name).is_file() and not (hand_in / name).is_symlink():
                shutil.copyfile(hand_in / name, folder / name)
        if (folder / "submission_secret.txt").is_file():
            found += 1
        else:
            without.append(folder.parent.name)  # not handed in through the exchange: nothing to release to
    if not found:
        print(f"error: no feedback of collected hand-ins of {assignment} in {course_root / 'feedback'}: run "
              f"`course collect {assignment}` and `course grade submitted` first", file=sys.stderr)
        return 1
    if without:
        print(f"not released (not handed in through the exchange): {', '.join(without)}")
    exclude = [f"--CourseDirectory.student_id_exclude={','.join(without)}"] if without else []
    return nbgrader(course_root, "release_feedback", assignment, *exclude, exchange=exchange)
