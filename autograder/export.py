"""``course export --format canvas|moodle|blackboard|csv``: the class gradebook in the layout an LMS imports.

Every format has one row per student of the gradebook (roster and graded students) and one column per assignment,
holding the assignment's score after the late penalty (nbgrader's export: ``max(0, score - penalty)``; 0 for an
assignment a student did not hand in), and the student's total. Students are matched on the LMS's own ids: the ones
``course grade`` kept from a bulk download (Canvas's user id, Blackboard's user name) or the roster's
``lms_user_id``, e-mail addresses and student ids (:mod:`autograder.roster`). An assignment's column is named as in
``c.Autograder.lms_columns`` (the LMS's existing column, with its id), else after the assignment (the LMS then
creates a column).

The layouts, as each LMS documents its gradebook import:

* **Canvas** ("How do I import grades in the Gradebook?", Canvas Instructor Guide,
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807; the columns
  of its own export, e.g. https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/
  import-csv-file-carmen-grades): ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per
  assignment (``Name (assignment id)`` for an existing one), a ``Points Possible`` row under the header; Canvas
  matches a row on ``ID`` (its user id), else ``SIS User ID`` / ``SIS Login ID``. The total goes into ``Final
  Points``, a read-only column of Canvas's export that its import ignores.
* **Moodle** ("Grade import", https://docs.moodle.org/311/en/Grade_import: the CSV import takes the layout of the
  CSV export; in its preview, map "Email address" to ``useremail`` or "ID number" to ``useridnumber``, and each
  grade column to its grade item): ``First name, Last name, ID number, Institution, Department, Email address``,
  ``Assignment: <name> (Real)`` per assignment, ``Course total (Real)``. Moodle's bulk download names only a
  per-assignment participant number, which its gradebook import cannot match, so rows carry the e-mail address and
  the student id.
* **Blackboard** Learn Grade Center ("Uploading or Downloading Grade Center Items for Working Offline",
  http://library.blackboard.com/ref/3ea64795-6ecc-4abd-b595-0a9a8dfdec94/Content/_instructor_grade_center/
  grade_center_upload_download.htm: students are matched on their user name, columns on the ``|<column id>`` of
  their header, a header without one creates a column; every field of a comma-delimited file is quoted):
  ``Last Name, First Name, Username, Student ID, Last Access, Availability``, ``<name> [Total Pts: N Score]`` per
  assignment, and ``Total [Total Pts: up to N]`` (clear its box on the upload confirmation page unless a column
  should be made for it).
* **csv**: everything, for a spreadsheet: ids, names, e-mail, and per assignment the score after the penalty, the
  status (``ok``, ``late``, ``not_attempted``, ``not_submitted``, ...) and the late penalty; total and maximum.

Every text a student controls (ids, names from a bulk download, reasons) passes :func:`autograder.escape.csv_cell`,
so no cell of an export is a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from .escape import csv_cell
from .gradebook import scores
from .outcome import Outcome
from .report import _report_status, annotate, update_outcomes
from .roster import RosterEntry
from .settings import autograder_settings

FORMATS = ("canvas", "moodle", "blackboard", "csv")


@dataclass
class ExportStudent:
    who: RosterEntry  # id, names, e-mail address, LMS id, as the gradebook has them
    final: dict[str, float] = field(default_factory=dict)  # assignment -> score after the late penalty
    status: dict[str, str] = field(default_factory=dict)
    penalty: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.final.values())

    @property
    def sortable_name(self) -> str:
        """Canvas's "Last, First" (the id when the gradebook has no name)."""
        if self.who.last_name or self.who.first_name:
            return ", ".join(x for x in (self.who.last_name, self.who.first_name) if x)
        return self.who.id


@dataclass
class ClassExport:
    assignments: dict[str, float]  # name -> max score
    students: list[ExportStudent]
    columns: dict[str, str]  # assignment -> the LMS's column name (configured)

    @property
    def max_total(self) -> float:
        return sum(self.assignments.values())


def class_export(out_dir: Path, course_id: str, course_root: Path | None = None, cfg=None) -> ClassExport:
    """The class gradebook of ``out_dir`` as exports see it."""
    db = Path(out_dir) / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"{out_dir} has no gradebook.db: grade first (course grade SUBMISSIONS --out "
                                f"{out_dir})")
    rows = scores(db, course_id)
    annotate(rows, Path(out_dir), course_id, course_root)
    path = Path(out_dir) / "grading" / "outcomes.json"
    outcomes: dict[str, Outcome] = update_outcomes(path, []) if path.is_file() else {}
    students: dict[str, ExportStudent] = {}
    with Gradebook(f"sqlite:///{db}", course_id) as gb:
        assignments = {a.name: float(a.max_score) for a in sorted(gb.assignments, key=lambda a: a.name)}
        for st in sorted(gb.students, key=lambda s: s.id):
            students[st.id] = ExportStudent(RosterEntry(st.id, st.first_name or "", st.last_name or "",
                                                        st.email or "", st.lms_user_id or ""))
    for r in rows:
        s = students[r["student"]]
        status = _report_status(r, outcomes.get(f"{r['student']}/{r['assignment']}"))
        s.status[r["assignment"]] = "late" if r.get("late") and status == "ok" else str(status)
        s.final[r["assignment"]] = r["final_score"]
        s.penalty[r["assignment"]] = r["late_penalty"]
    columns = dict(autograder_settings(cfg).lms_columns) if cfg is not None else {}
    return ClassExport(assignments, list(students.values()), columns)


def _num(x: float) -> str:
    return f"{x:g}"


def canvas_rows(data: ClassExport) -> list[list]:
    names = [data.columns.get(a, a) for a in data.assignments]
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names, "Final Points"],
            ["    Points Possible", "", "", "", "", *(_num(m) for m in data.assignments.values()), "(read only)"]]
    for s in data.students:
        w = s.who
        rows.append([s.sortable_name, w.lms_user_id, w.id, "", "", *(_num(s.final.get(a, 0.0)) for a in
                                                                      data.assignments), _num(s.total)])
    return rows


def moodle_rows(data: ClassExport) -> list[list]:
    names = [data.columns.get(a, f"Assignment: {a} (Real)") for a in data.assignments]
    rows = [["First name", "Last name", "ID number", "Institution", "Department", "Email address", *names,
             "Course total (Real)"]]
    for s in data.students:
        w = s.who
        rows.append([w.first_name, w.last_name, w.id, "", "", w.email,
                     *(_num(s.final.get(a, 0.0)) for a in data.assignments), _num(s.total)])
    return rows


def blackboard_rows(data: ClassExport) -> list[list]:
    names = [data.columns.get(a, f"{a} [Total Pts: {_num(m)} Score]") for a, m in data.assignments.items()]
    rows = [["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability", *names,
             f"Total [Total Pts: up to {_num(data.max_total)}]"]]
    for s in data.students:
        w = s.who
        rows.append([w.last_name, w.first_name, w.lms_user_id or w.id, w.id, "", "Yes",
                     *(_num(s.final.get(a, 0.0)) for a in data.assignments), _num(s.total)])
    return rows


def plain_rows(data: ClassExport) -> list[list]:
    header = ["student_id", "first_name", "last_name", "email", "lms_user_id"]
    for a in data.assignments:
        header += [a, f"{a} status", f"{a} late penalty"]
    rows = [header + ["total", "max_total"]]
    for s in data.students:
        w = s.who
        row = [w.id, w.first_name, w.last_name, w.email, w.lms_user_id]
        for a in data.assignments:
            row += [_num(s.final.get(a, 0.0)), s.status.get(a, "not_submitted"), _num(s.penalty.get(a, 0.0))]
        rows.append(row + [_num(s.total), _num(data.max_total)])
    return rows


WRITERS = {"canvas": canvas_rows, "moodle": moodle_rows, "blackboard": blackboard_rows, "csv": plain_rows}


def render(data: ClassExport, fmt: str) -> str:
    """The export as CSV text, every cell through :func:`csv_cell` (a number stays a number, no text is a formula)."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if fmt == "blackboard" else csv.QUOTE_MINIMAL  # Blackboard: every field quoted
    writer = csv.writer(buf, quoting=quoting, lineterminator="\r\n")
    for row in WRITERS[fmt](data):
        writer.writerow([csv_cell(cell) for cell in row])
    return buf.getvalue()


def export(out_dir: Path, fmt: str, course_id: str, course_root: Path | None = None, cfg=None,
           dest: Path | None = None) -> Path:
    """Write the export (default ``<out>/grading/export-<format>.csv``); returns its path."""
    text = render(class_export(out_dir, course_id, course_root, cfg), fmt)
    dest = Path(dest) if dest else Path(out_dir) / "grading" / f"export-{fmt}.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return dest
