"""Who the students are: the roster (``course roster students.csv``) and the LMS ids a bulk download names.

The roster is a CSV file with a header row: ``id`` (the student id hand-ins are graded under), ``first_name``,
``last_name``, ``email`` and, optionally, ``lms_user_id`` (Canvas's user id, the "ID" column of its gradebook
export; Blackboard's user name). :func:`import_roster` writes it into nbgrader's gradebook (``Student`` rows), where
formgrader shows the names and ``course export`` finds the e-mail addresses and LMS ids.

``course grade`` keeps what an LMS bulk download says about each hand-in (:class:`autograder.collect.LmsRecord`) in
``grading/lms.json`` and fills a student's ``lms_user_id`` from it when the gradebook has none (Canvas's user id,
Blackboard's user name; Moodle's download gives only a per-assignment participant number, kept in lms.json).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from .collect import LmsRecord
from .files import UnsafeFile, read_regular, safe_dir, write_file

MAX_ROSTER_BYTES = 50_000_000
LMS_FILE = "grading/lms.json"  # under --out: written by the parent only
STUDENT_ID = re.compile(r"^[A-Za-z0-9@-][A-Za-z0-9._@-]*$")  # what autograder.collect.clean_student_id leaves
# header names accepted for each field (compared lower-case, with spaces and hyphens read as underscores)
COLUMNS = {
    "id": ("id", "student_id", "student"),
    "first_name": ("first_name", "firstname", "given_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name"),
    "email": ("email", "e_mail", "email_address", "mail"),
    "lms_user_id": ("lms_user_id", "lms_id", "canvas_id", "canvas_user_id", "username"),
}


@dataclass(frozen=True)
class RosterEntry:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""


def _key(header: str) -> str:
    return re.sub(r"[\s-]+", "_", header.strip().lower())


def read_roster(path: str | Path) -> list[RosterEntry]:
    """The roster's entries; ValueError (one line, what to fix) on anything else."""
    path = Path(path)
    try:
        text = read_regular(path, MAX_ROSTER_BYTES).decode("utf-8-sig")
    except (UnsafeFile, OSError) as e:
        raise ValueError(f"cannot read the roster {path}: {e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text: save the roster as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    headers = {_key(h): h for h in reader.fieldnames or []}
    found = {field: next((headers[a] for a in aliases if a in headers), None) for field, aliases in COLUMNS.items()}
    if found["id"] is None:
        raise ValueError(f"{path}: no 'id' column; the roster's header must name id, first_name, last_name, email "
                         f"(and optionally lms_user_id); it has {', '.join(reader.fieldnames or []) or 'none'}")
    entries, seen = [], {}
    for line, row in enumerate(reader, start=2):
        values = {f: (row.get(col) or "").strip() for f, col in found.items() if col is not None}
        if not any(values.values()):
            continue
        sid = values["id"]
        if not STUDENT_ID.match(sid):
            raise ValueError(f"{path}, line {line}: {sid!r} is not a student id (letters, digits and ._@- only, as "
                             "hand-ins are graded under)")
        if sid in seen:
            raise ValueError(f"{path}, line {line}: student {sid!r} is already on line {seen[sid]}")
        seen[sid] = line
        entries.append(RosterEntry(**values))
    if not entries:
        raise ValueError(f"{path}: no student in the roster")
    return entries


def import_roster(db_url: str, course_id: str, entries: list[RosterEntry]) -> tuple[int, int, list[str]]:
    """Write the roster into the gradebook: (students added, students updated, gradebook students not on it)."""
    added = updated = 0
    with Gradebook(db_url, course_id) as gb:
        known = {s.id for s in gb.students}
        for e in entries:
            fields = {"first_name": e.first_name or None, "last_name": e.last_name or None, "email": e.email or None}
            if e.lms_user_id:
                fields["lms_user_id"] = e.lms_user_id
            gb.update_or_create_student(e.id, **fields)
            added, updated = (added + 1, updated) if e.id not in known else (added, updated + 1)
        missing = sorted(known - {e.id for e in entries})
    return added, updated, missing


def read_lms(out_dir: Path) -> dict:
    """``grading/lms.json``: {"hand_ins": {"student/assignment": LmsRecord fields}}."""
    try:
        data = json.loads(read_regular(out_dir / LMS_FILE, 50_000_000))
    except (UnsafeFile, ValueError):
        return {"hand_ins": {}}
    hand_ins = data.get("hand_ins") if isinstance(data, dict) else None
    return {"hand_ins": hand_ins if isinstance(hand_ins, dict) else {}}


def _write_lms(out_dir: Path, data: dict) -> None:
    write_file(safe_dir(out_dir, "grading"), "lms.json",
               json.dumps({"hand_ins": dict(sorted(data["hand_ins"].items()))}, indent=1).encode())


def record_lms(out_dir: Path, db_url: str, course_id: str, records: dict[str, LmsRecord | None]) -> None:
    """Keep the LMS records of the hand-ins just graded (``"student/assignment"`` -> record, None: not from an
    LMS) in ``grading/lms.json``, and fill each student's empty ``lms_user_id`` with Canvas's or Blackboard's id."""
    data = read_lms(out_dir)
    for key, record in records.items():
        if record is None:
            data["hand_ins"].pop(key, None)
        else:
            data["hand_ins"][key] = asdict(record)
    _write_lms(out_dir, data)
    ids = {key.split("/", 1)[0]: r.user_id for key, r in records.items() if r is not None and r.lms != "Moodle"}
    if not ids:
        return
    with Gradebook(db_url, course_id) as gb:
        for student in gb.students:
            if student.id in ids and not student.lms_user_id:
                student.lms_user_id = ids[student.id]
        gb.db.commit()


STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")


def copy_students(src: Gradebook, dst: Gradebook) -> None:
    """Every student of ``src`` into ``dst``, with the names, e-mail address and LMS id ``dst`` has none of
    (``course merge``: a shard's roster and LMS ids reach the class gradebook)."""
    for st in src.students:
        target = dst.update_or_create_student(st.id)
        for name in STUDENT_FIELDS:
            if getattr(st, name) and not getattr(target, name):
                setattr(target, name, getattr(st, name))
    dst.db.commit()


def merge_lms(out_dir: Path, shard_dir: Path) -> None:
    """A shard's ``grading/lms.json`` records into ``out_dir``'s."""
    theirs = read_lms(shard_dir)["hand_ins"]
    if not theirs:
        return
    data = read_lms(out_dir)
    data["hand_ins"].update(theirs)
    _write_lms(out_dir, data)
