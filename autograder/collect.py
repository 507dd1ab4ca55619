"""Finding the submissions in whatever shape students handed them in.

Accepted layouts of the SUBMISSIONS folder (they may be mixed):

1. nbgrader's own: ``<student>/<assignment>/<notebook>.ipynb`` (optionally ``timestamp.txt`` next to
   the notebooks).  A folder that has a ``submitted/`` sub-folder is read as a course directory.
2. Zip files: ``<student>.zip`` (notebooks for any assignments, at any depth) or
   ``<student>_<assignment>.zip`` (``<assignment>`` is an assignment id such as ``01_preprocessing``).
3. Loose notebooks: ``<student>_<notebook>.ipynb`` (e.g. ``alice_preprocessing.ipynb``) or
   ``<student>/<notebook>.ipynb`` (a folder per student, any depth below it).
4. A learning-management system's bulk download, unpacked into SUBMISSIONS or given as SUBMISSIONS itself
   (``course grade submissions.zip``): Canvas (``<name>[_LATE]_<user id>_<submission id>_<file>``,
   re-submissions as ``<file>-1``), Moodle (``<Full Name>_<id>_assignsubmission_file_/`` folders, or the same
   prefix on each file) and Blackboard (``<assignment>_<user>_attempt_<date>_<file>``, its ``.txt`` receipts
   skipped).  The student is the
   name the LMS put in front, see :func:`lms_export_name`.  A zip *inside* SUBMISSIONS is always one
   student's: its entries never name other students (a student who hands in ``alice.zip`` holding
   ``bob_1_2_preprocessing.ipynb`` hands in her own notebook, not Bob's).

A notebook is matched to an assignment by its file name, after removing what downloads and copies
add: a trailing `` (1)``, ``-Copy1``, ``_copy``, ``_v2`` and letter case.  When several files of one
student match the same notebook, the exact name wins, otherwise the first in sorted order, and the
choice is reported.  Files that match nothing are reported (never fatal): see :class:`Problem`.

Student ids are the file/folder names with spaces turned into ``_``; characters outside
``[A-Za-z0-9._@-]`` are dropped (reported as a note).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .outcome import Problem

IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "timestamp.txt"}
MAX_ZIP_TOTAL = 500_000_000  # bytes, uncompressed, per zip


@dataclass
class SubmittedFile:
    """Where one submitted notebook comes from (a file, or a member of a zip)."""

    origin: str  # human readable, relative to the submissions folder
    path: Path
    member: str | None = None
    size: int = 0

    def read(self, limit: int) -> bytes:
        if self.size > limit:
            raise ValueError(f"file is {self.size / 1e6:.1f} MB (limit {limit / 1e6:.0f} MB)")
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"file is larger than {limit / 1e6:.0f} MB")
        return data


@dataclass
class Job:
    student: str
    assignment: str
    notebooks: dict[str, SubmittedFile] = field(default_factory=dict)  # notebook name -> the file handed in
    timestamp: str | None = None
    notes: list[str] = field(default_factory=list)
    name: str = ""  # the name it was handed in under, before cleaning ("" = the id itself)

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


def keep_known_identities(jobs: list[Job], known: set[str], names: dict[str, list[str]]) -> tuple[list[Job], list]:
    """The jobs that may be graded under their id, and a :class:`Problem` for each that may not.

    ``known``: the students of the class gradebook (a roster, earlier runs); ``names``: id -> the names its hand-ins
    came under before (``grading/names.json``). A hand-in whose name had to be cleaned into the id of a known student
    is graded as that student only if that student's hand-ins came under that very name before; otherwise it would
    take a classmate's identity (``vic!`` graded as ``vic``), and it is reported instead."""
    kept, problems = [], []
    for job in jobs:
        cleaned = job.name and job.name != job.student
        if cleaned and job.student in known and job.name not in names.get(job.student, []):
            why = (f"handed in as {job.name!r}, which cleans to {job.student!r}, a student of the gradebook whose "
                   "hand-ins never came under that name: not graded as that student. Rename it, or add the name to "
                   "grading/names.json if it really is theirs")
            problems += [Problem(src.origin, why) for src in job.notebooks.values()] or [Problem(job.name, why)]
            continue
        kept.append(job)
    return kept, problems




def clean_student_id(raw: str) -> tuple[str, str | None]:
    sid = re.sub(r"\s+", "_", raw.strip())
    sid = re.sub(r"[^A-Za-z0-9._@-]", "", sid).strip("._")
    note = None if sid == raw else f"student id {raw!r} normalised to {sid!r}"
    return sid, note


def assign_ids(names: dict[str, str | None]) -> tuple[dict[str, tuple[str, list[str]]], dict[str, str]]:
    """Student ids for the names hand-ins came under (name -> the note of its cleaning). Returns (name -> (id,
    notes), name -> why it gets no id).

    Two names that clean to the same id are a conflict, never a silent merge or replacement: a name that *is* the id
    (``vic``) keeps it, with a note; every other (``vic!``, ``vic ``) gets none and is reported, so that no hand-in
    is ever graded as another student."""
    by_id: dict[str, list[str]] = {}
    for raw in names:
        by_id.setdefault(clean_student_id(raw)[0], []).append(raw)
    ids, conflicts = {}, {}
    for sid, raws in by_id.items():
        if len(raws) == 1:
            ids[raws[0]] = (sid, [names[raws[0]]] if names[raws[0]] else [])
            continue
        others = ", ".join(repr(r) for r in sorted(raws) if r != sid)
        for raw in raws:
            if raw == sid:
                ids[raw] = (sid, [f"other hand-ins whose names clean to the same id ({others}) were not graded as "
                                  "this student: check with the teaching team who they are"])
            else:
                conflicts[raw] = (f"its student name {raw!r} cleans to {sid!r}, which another hand-in also has: not "
                                  "graded (no two hand-ins ever share an id). Rename it with letters, digits and "
                                  "._@- only, and grade again")
    return ids, conflicts


_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|[-_ ]v\d+|[-_ ]final|-\d+)+$", re.IGNORECASE)

# What learning-management systems put in front of a submitted file's name (one bulk download each).
# Canvas's bulk download is flat (files only), so a folder never matches it: ``ann_3_2_408/`` is a student's folder.
# The named groups ``user_id`` (Canvas's user id, Moodle's participant number, Blackboard's user name), ``late``
# (Canvas's marker) and ``attempt`` (Blackboard's submission time) are what :func:`lms_record` keeps.
_LMS_EXPORT_NAMES = (
    ("Canvas", re.compile(r"^(?P<student>[A-Za-z0-9.-]+?)(?P<late>_LATE)?_(?P<user_id>\d+)_\d+_(?P<file>.+)$",
                          re.IGNORECASE)),
    ("Moodle", re.compile(r"^(?P<student>.+?)_(?P<user_id>\d+)_assignsubmission_[a-z]+_(?P<file>.*)$")),
    ("Blackboard", re.compile(r"^.+?_(?P<student>(?P<user_id>[^_]+))_attempt_(?P<attempt>\d{4}(?:-\d{2}){5})"
                              r"(?:_(?P<file>.+))?$")),
)


def _lms_receipt(name: str) -> bool:
    """Blackboard's ``<assignment>_<user>_attempt_<date>.txt``: the LMS's own note, not a submission."""
    lms = lms_export_name(Path(name).stem) if name.lower().endswith(".txt") else None
    return lms is not None and lms[0] == "Blackboard" and not lms[2]


def lms_export_name(name: str, folder: bool = False) -> tuple[str, str, str] | None:
    """``(lms, student, rest)`` for a file or (``folder``) folder name from an LMS bulk download, else None.

    ``smithjohn_LATE_1234_5678_preprocessing-1.ipynb`` -> ("Canvas", "smithjohn", "preprocessing-1.ipynb");
    ``Ann Lee_42_assignsubmission_file_`` -> ("Moodle", "Ann Lee", "") (a folder of her files)."""
    for lms, pattern in _LMS_EXPORT_NAMES:
        if folder and lms == "Canvas":
            continue
        m = pattern.match(name)
        if m:
            return lms, m["student"], m["file"] or ""
    return None


def normalise_name(stem: str) -> str:
    return _COPY_SUFFIX.sub("", stem.strip()).lower().replace(" ", "_").replace("-", "_")


class NotebookIndex:
    """The course's assignments and their notebooks, to match submitted file names against."""

    def __init__(self, notebooks_by_assignment: dict[str, list[str]]):
        self.by_assignment = notebooks_by_assignment
        self.owners: dict[str, list[tuple[str, str]]] = {}  # normalised notebook -> [(assignment, notebook)]
        for a, nbs in notebooks_by_assignment.items():
            for nb in nbs:
                self.owners.setdefault(normalise_name(nb), []).append((a, nb))

    def match_notebook(self, stem: str, assignment_hint: str | None = None) -> list[tuple[str, str]]:
        owners = self.owners.get(normalise_name(stem), [])
        if assignment_hint is not None:
            hinted = [o for o in owners if o[0] == assignment_hint]
            if hinted:
                return hinted
        return owners

    def split_suffix(self, stem: str) -> tuple[str, str, str] | None:
        """``alice_01_preprocessing`` -> ("alice", "assignment", "01_preprocessing");
        ``alice_preprocessing`` -> ("alice", "notebook", "preprocessing"); longest suffix wins."""
        stem = _COPY_SUFFIX.sub("", stem.strip())  # "alice_preprocessing (1)" is alice's preprocessing
        low = stem.lower()
        best = None
        for a in self.by_assignment:
            for kind, name in [("assignment", a)] + [("notebook", n) for n in self.by_assignment[a]]:
                for sep in ("_", "-", " ", "."):
                    suffix = (sep + name).lower()
                    longer = best is None or len(name) > len(best[2])
                    if low.endswith(suffix) and len(stem) > len(suffix) and longer:
                        best = (stem[: -len(suffix)], kind, name)
        return best


def _ignored(parts) -> bool:
    return any(p in IGNORED_PARTS or p.startswith("._") for p in parts)


def discover(
    submissions_dir: str | Path,
    notebooks_by_assignment: dict[str, list[str]],
    only_assignment: str | None = None,
) -> tuple[list[Job], list[Problem]]:
    """Turn a SUBMISSIONS folder into grading jobs (one per student and assignment) and problems."""
    root = Path(submissions_dir)
    if (root / "submitted").is_dir():
        root = root / "submitted"
    collector = Collector(NotebookIndex(notebooks_by_assignment), only_assignment)
    if root.is_file() and root.suffix.lower() == ".zip":  # the instructor's LMS download, as it came
        collector.export_zip(root)
    elif root.is_dir():
        for entry in sorted(root.iterdir()):
            collector.entry(entry)
    else:
        return [], [Problem(str(submissions_dir), "not a folder or a .zip file")]
    return collector.jobs()


class Collector:
    """The files handed in, gathered per (name they came under, assignment) by one method per layout (see the module
    docstring); :meth:`jobs` then assigns student ids (:func:`assign_ids`) and picks one file per notebook."""

    def __init__(self, index: NotebookIndex, only_assignment: str | None = None):
        self.index, self.only = index, only_assignment
        self.problems: list[Problem] = []
        # keyed by the name a hand-in came under (raw), until ids are assigned:
        # candidates[(raw, assignment)][notebook] -> list[(exact, SubmittedFile)]
        self.candidates: dict[tuple[str, str], dict[str, list[tuple[bool, SubmittedFile]]]] = {}
        self.timestamps: dict[tuple[str, str], str] = {}
        self.names: dict[str, str | None] = {}  # raw name -> note about its cleaning
        self.explicit: set[tuple[str, str]] = set()  # (raw, assignment) named by a folder / zip name

    # ------------------------------------------------------------------ names and files
    def student(self, raw: str, origin: str) -> str | None:
        """The hand-in's name as it came (its files stay apart from any other name's until ids are assigned)."""
        sid, note = clean_student_id(raw)
        if not sid:
            self.problems.append(Problem(origin, f"cannot derive a student id from {raw!r}"))
            return None
        self.names.setdefault(raw, note)
        return raw

    def add(self, raw: str, stem: str, src: SubmittedFile, hint: str | None) -> None:
        owners = self.index.match_notebook(stem, hint)
        if not owners:
            self.problems.append(Problem(src.origin, "does not match any notebook of the course"))
            return
        if len(owners) > 1:
            self.problems.append(Problem(src.origin, f"ambiguous: matches {owners}; put it in an assignment folder"))
            return
        a, nb = owners[0]
        self.candidates.setdefault((raw, a), {}).setdefault(nb, []).append((stem == nb, src))

    def _hint(self, parts, hint: str | None) -> str | None:
        """The assignment a folder on the way names (the deepest one), else ``hint``."""
        for part in parts:
            if part in self.index.by_assignment:
                hint = part
        return hint

    # ------------------------------------------------------------------ layouts
    def entry(self, entry: Path) -> None:
        """One top-level entry of SUBMISSIONS, by its layout."""
        if entry.name in IGNORED_NAMES or _ignored([entry.name]) or entry.name.startswith(".") or \
                _lms_receipt(entry.name):
            return
        lms = lms_export_name(entry.name, entry.is_dir())
        if lms is not None:
            self.lms_entry(entry, lms)
        elif entry.is_dir():
            self.student_folder(entry)
        elif entry.suffix.lower() == ".zip":
            self.zip_file(entry)
        elif entry.suffix.lower() == ".ipynb":
            self.loose_notebook(entry)
        else:
            self.problems.append(Problem(entry.name, "ignored (expected a folder, .zip or .ipynb)"))

    def lms_entry(self, entry: Path, lms: tuple[str, str, str]) -> None:
        """One student's file or folder of an unpacked LMS bulk download."""
        raw = self.student(lms[1], entry.name)
        if raw is None:
            return
        if entry.is_dir():
            self.scan_tree(raw, entry, entry.name, None)
        elif entry.suffix.lower() == ".ipynb":
            self.add(raw, Path(lms[2]).stem, SubmittedFile(entry.name, entry, size=entry.stat().st_size), None)
        elif entry.suffix.lower() == ".zip":
            self.scan_zip(raw, entry, entry.name, None)
        else:
            self.problems.append(Problem(entry.name, "ignored (not a notebook)"))

    def export_zip(self, path: Path) -> None:
        """An LMS bulk download given as SUBMISSIONS: its entries name their students (a zip inside SUBMISSIONS
        never does)."""
        infos = self.zip_members(path, path.name)
        if infos is not None:
            self.scan_zip(None, path, path.name, None, infos)

    def student_folder(self, entry: Path) -> None:
        """``<student>/<assignment>/...`` (nbgrader's layout, with timestamp.txt) or ``<student>/...`` (any depth)."""
        raw = self.student(entry.name, entry.name)
        if raw is None:
            return
        subdirs = [d for d in sorted(entry.iterdir()) if d.is_dir() and d.name in self.index.by_assignment]
        for d in subdirs:
            if self.only and d.name != self.only:
                continue
            self.explicit.add((raw, d.name))
            ts = d / "timestamp.txt"
            if ts.is_file():
                self.timestamps[(raw, d.name)] = ts.read_text(errors="replace").strip()
            self.scan_tree(raw, d, f"{entry.name}/{d.name}", d.name)
        for p in (p for p in sorted(entry.iterdir()) if p not in subdirs):
            origin = f"{entry.name}/{p.name}"
            if p.is_dir():
                if not _ignored([p.name]):
                    self.scan_tree(raw, p, origin, None)
            elif p.name in IGNORED_NAMES or p.name.startswith("."):
                continue
            elif p.suffix.lower() == ".ipynb":
                self.add(raw, p.stem, SubmittedFile(origin, p, size=p.stat().st_size), None)
            elif p.suffix.lower() == ".zip":
                self.scan_zip(raw, p, origin, None)
            else:
                self.problems.append(Problem(origin, "ignored (not a notebook)"))

    def zip_file(self, entry: Path) -> None:
        """``<student>_<assignment>.zip`` or ``<student>.zip``."""
        split = self.index.split_suffix(entry.stem)
        if split and split[1] == "assignment":
            raw = self.student(split[0], entry.name)
            if raw is None or (self.only and split[2] != self.only):
                return
            self.explicit.add((raw, split[2]))
            self.scan_zip(raw, entry, entry.name, split[2])
        elif (raw := self.student(entry.stem, entry.name)) is not None:
            self.scan_zip(raw, entry, entry.name, None)

    def loose_notebook(self, entry: Path) -> None:
        """``<student>_<notebook>.ipynb``."""
        split = self.index.split_suffix(entry.stem)
        if not split or split[1] != "notebook":
            self.problems.append(Problem(entry.name, "loose notebook name must be <student>_<notebook>.ipynb with "
                                         "a known notebook"))
            return
        raw = self.student(split[0], entry.name)
        if raw is not None:  # the notebook part keeps its copy suffix: an exact name wins over a copy
            stem = entry.stem.strip()[len(split[0]) + 1:]
            self.add(raw, stem, SubmittedFile(entry.name, entry, size=entry.stat().st_size), None)

    # ------------------------------------------------------------------ inside folders and zips
    def scan_tree(self, raw: str, base: Path, origin_base: str, hint: str | None) -> None:
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base)
            if not p.is_file() or _ignored(rel.parts) or p.name in IGNORED_NAMES:
                continue
            origin = f"{origin_base}/{rel.as_posix()}"
            if p.suffix.lower() == ".ipynb":
                self.add(raw, p.stem, SubmittedFile(origin, p, size=p.stat().st_size), self._hint(rel.parts[:-1], hint))
            elif p.suffix.lower() == ".zip":
                self.scan_zip(raw, p, origin, hint)
            else:
                self.problems.append(Problem(origin, "ignored (not a notebook)"))

    def zip_members(self, path: Path, origin: str) -> list[zipfile.ZipInfo] | None:
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError) as e:
            self.problems.append(Problem(origin, f"unreadable zip file ({e})"))
            return None
        if sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
            self.problems.append(Problem(origin, "zip expands to more than 500 MB; not opened"))
            return None
        return sorted(infos, key=lambda i: i.filename)

    def scan_zip(self, raw: str | None, path: Path, origin: str, hint: str | None, infos=None) -> None:
        """The notebooks in a zip: of ``raw``, or (``raw`` None) of the students an LMS export names."""
        infos = self.zip_members(path, origin) if infos is None else infos
        if infos is None:
            return
        found = False
        for info in infos:
            member = self._zip_member(raw, info, origin)
            if member is not None:
                owner, stem, parts = member
                found = True
                src = SubmittedFile(f"{origin}:{info.filename}", path, member=info.filename, size=info.file_size)
                self.add(owner, stem, src, self._hint(parts[:-1], hint))
        if not found and hint is None:
            self.problems.append(Problem(origin, "no notebook in the zip"))

    def _zip_member(self, raw: str | None, info: zipfile.ZipInfo, origin: str) -> tuple[str, str, list] | None:
        """(owner, notebook stem, path parts) of a notebook in a zip, or None (a problem noted where it is one)."""
        name = info.filename
        parts = [x for x in name.replace("\\", "/").split("/") if x]
        where = f"{origin}:{name}"
        if info.is_dir() or not parts or _ignored(parts) or parts[-1] in IGNORED_NAMES:
            return None
        if name.startswith("/") or ".." in parts:
            self.problems.append(Problem(where, "unsafe path in zip; ignored"))
            return None
        owner, stem = raw, Path(parts[-1]).stem
        if raw is None:  # an LMS export: the first part names the student (a folder, or the file itself)
            top_folder = len(parts) > 1
            lms = lms_export_name(parts[0], top_folder) or lms_export_name(Path(parts[0]).stem, top_folder)
            if lms is None:
                self.problems.append(Problem(where, "not named like the rest of this LMS export (no student in its "
                                             "name); ignored"))
                return None
            if _lms_receipt(parts[-1]) or (owner := self.student(lms[1], where)) is None:
                return None
            if len(parts) == 1:
                stem = Path(lms[2]).stem
        if parts[-1].lower().endswith(".zip"):
            self.problems.append(Problem(where, "a zip inside a zip is not opened; unpack the outer one into "
                                         "SUBMISSIONS and grade again"))
            return None
        if not parts[-1].lower().endswith(".ipynb"):
            self.problems.append(Problem(where, "ignored (not a notebook)"))
            return None
        return owner, stem, parts

    # ------------------------------------------------------------------ the jobs
    def jobs(self) -> tuple[list[Job], list[Problem]]:
        """One job per (student, assignment): ids assigned, one file per notebook (the exact name first)."""
        ids, conflicts = assign_ids(self.names)
        for (raw, a), cands in self.candidates.items():
            for src in (src for lst in cands.values() for _, src in lst):
                if raw in conflicts:
                    self.problems.append(Problem(src.origin, conflicts[raw]))
                elif self.only and a != self.only:
                    self.problems.append(Problem(src.origin, f"belongs to {a}, not graded (--assignment {self.only})"))
        keys = {k for k in set(self.candidates) | self.explicit if k[0] in ids}
        if self.only:
            keys = {k for k in keys if k[1] == self.only} | {(raw, self.only) for raw in ids}
        jobs = []
        for key in sorted(keys):
            (raw, a), (sid, notes) = key, ids[key[0]]
            job = Job(sid, a, timestamp=self.timestamps.get(key), notes=list(notes), name=raw)
            for nb, cands in sorted(self.candidates.get(key, {}).items()):
                cands = sorted(cands, key=lambda c: (not c[0], c[1].origin))
                job.notebooks[nb] = cands[0][1]
                if len(cands) > 1:
                    others = ", ".join(c[1].origin for c in cands[1:])
                    job.notes.append(f"several files for {nb}.ipynb: graded {cands[0][1].origin}, ignored {others}")
            jobs.append(job)
        return jobs, self.problems


@dataclass(frozen=True)
class LmsRecord:
    """What a learning-management system's bulk download says about one hand-in, besides the student's name."""

    lms: str  # "Canvas", "Moodle" or "Blackboard"
    user_id: str  # Canvas's user id (its gradebook's "ID"), Moodle's participant number, Blackboard's user name
    late: bool = False  # Canvas put "_LATE" into the file name (it gives no time)
    submitted: str | None = None  # Blackboard's attempt time, "YYYY-MM-DD HH:MM:SS" (the LMS server's clock)


def lms_record(job: Job, submissions_dir: str | Path) -> LmsRecord | None:
    """The LMS record of a job's hand-in, read from the name the LMS gave it (None: not from an LMS download).

    Only names the LMS wrote are read: a top-level entry of SUBMISSIONS, or the first part of an entry of the
    export zip given as SUBMISSIONS; never a name inside a student's own zip or folder, so a student cannot make up
    another student's LMS id or lateness."""
    export_zip = Path(submissions_dir).is_file()
    for src in job.notebooks.values():
        top, _, member = src.origin.partition(":")
        name = member.replace("\\", "/").lstrip("/") if export_zip else top
        if not name:
            continue
        first, _, rest = name.partition("/")
        folder = bool(rest)
        found = lms_export_name(first, folder) or lms_export_name(Path(first).stem, folder)
        if found is None:
            continue
        lms = found[0]
        pattern = dict(_LMS_EXPORT_NAMES)[lms]
        m = pattern.match(first) or pattern.match(Path(first).stem)
        attempt = m.groupdict().get("attempt")
        when = None
        if attempt:
            d = attempt.split("-")
            when = f"{d[0]}-{d[1]}-{d[2]} {d[3]}:{d[4]}:{d[5]}"
        return LmsRecord(lms, m["user_id"], late=bool(m.groupdict().get("late")), submitted=when)
    return None
