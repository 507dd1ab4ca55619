"""What grading a (student, assignment) ended with (:class:`Outcome`), and a whole run's outcomes
(:class:`GradingRun`).

A worker writes its outcome as JSON (:meth:`Outcome.to_json`); the parent reads it back
(:meth:`Outcome.from_json`), merges it into the gradebook and keeps :meth:`Outcome.record` of it in
``grading/outcomes.json``. The status names are those of :class:`Status` only.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum, auto
from pathlib import Path


class Status(StrEnum):
    """How grading one submission ended; the value (the lower-case name) is what outcomes.json, grades.csv
    and the report say."""

    OK = auto()  # executed and scored
    KERNEL_DIED = auto()  # the student's code killed the kernel: later cells score 0
    KERNEL_UNRESPONSIVE = auto()  # a cell ignored the interrupt after its time limit: later cells score 0
    INVALID = auto()  # a notebook could not be read
    MISSING = auto()  # a notebook was not handed in
    ERROR = auto()  # the grader could not grade
    TIMEOUT = auto()  # the whole submission took longer than Autograder.job_timeout
    TAMPERED = auto()  # the code modified grading files
    NOT_SUBMITTED = auto()  # report only: the student handed in nothing for this assignment
    NOT_ATTEMPTED = auto()  # report only: graded, but no answer cell differs from the release
    GRADED_ELSEWHERE = auto()  # report only: in the gradebook, but no outcome of ours (nbgrader used directly)

    @property
    def graded(self) -> bool:
        """Whether the submission has grades, for an outcome that does not say (one read from outcomes.json)."""
        return self in (Status.OK, Status.KERNEL_DIED, Status.KERNEL_UNRESPONSIVE, Status.GRADED_ELSEWHERE,
                        Status.NOT_ATTEMPTED)



@dataclass(frozen=True)
class Problem:
    """A file or folder collection could not turn into a job, and why (reported, never fatal)."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"

@dataclass
class Outcome:
    """One (student, assignment) as graded: a worker's result, completed by the parent."""

    student: str
    assignment: str
    status: Status = Status.OK
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # repairs, cell timeouts, re-grading
    suspicious: list[str] = field(default_factory=list)  # code that reaches into the grading machinery
    graded: bool = False  # grades were read back (merged into the gradebook); False: the previous ones stay
    notebooks: dict[str, dict] = field(default_factory=dict)  # notebook -> grades, comments, penalty, flagged
    failed_tests: dict[str, str] = field(default_factory=dict)  # test cell -> why it failed
    seconds: float | None = None
    merge: str | None = None  # what merging into the class gradebook did
    log: str = ""  # nbgrader's log (the worker's, for an error); dropped once merged
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of the worker
    autograde_parts: dict[str, float] = field(default_factory=dict)  # seconds within the "autograde" phase
    protected_changes: list[str] = field(default_factory=list)  # protected files changed while it ran
    workdir: str | None = None  # kept with keep_workdirs

    # what outcomes.json keeps of an outcome, besides student and assignment (in this order)
    RECORDED = ("status", "reason", "notes", "suspicious", "failed_tests", "merge", "seconds")

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"

    def to_json(self) -> dict:
        """Every field, as plain JSON data."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"status": self.status.value}

    def record(self) -> dict:
        """The outcomes.json entry."""
        data = self.to_json()
        return {"student": self.student, "assignment": self.assignment, **{k: data[k] for k in self.RECORDED}}

    @classmethod
    def from_json(cls, data: dict) -> Outcome:
        """An outcome from :meth:`to_json` or :meth:`record` data; missing (or null) fields take their defaults,
        ``graded`` its status's. Raises ValueError on anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("student"), str) or \
                not isinstance(data.get("assignment"), str):
            raise ValueError("an outcome needs a student and an assignment")
        status = Status(data.get("status"))
        values = {"status": status, "graded": status.graded}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name == "status" or value is None:
                continue
            if f.default_factory is not MISSING and not isinstance(value, type(f.default_factory())):
                raise ValueError(f"outcome field {f.name} is a {type(value).__name__}")
            values[f.name] = value
        return cls(**values)


@dataclass
class GradingRun:
    """What ``course grade`` (or ``course merge``, ``course feedback``) did: the outcomes and the files written."""

    out_dir: Path
    outcomes: list[Outcome]
    problems: list[Problem]  # files that matched no student or notebook
    seconds: float
    jobs: int  # 0: nothing executed (made again from the gradebook)
    files: dict[str, Path] = field(default_factory=dict)
    sandboxed: bool = True
    kernels: str = "cold"  # "warm": forked by the run's zygote (autograder.zygote); "cold": a fresh Python each
    template_seconds: float = 0.0  # of ``seconds``: making the assignments' templates (none when cached)
    engine: str = "threads"  # or "dask", or a Dask scheduler's address (grade's ``engine``)

    @property
    def gradebook(self) -> Path:
        return self.out_dir / "gradebook.db"

    def outcome(self, student: str, assignment: str) -> Outcome:
        for o in self.outcomes:
            if o.student == student and o.assignment == assignment:
                return o
        raise KeyError((student, assignment))
