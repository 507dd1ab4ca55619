"""Course discovery and configuration shared by release and grade."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
SKIP_DIRS = {"outputs", ".ipynb_checkpoints", "__pycache__"}  # outputs/: what a notebook writes when run in its folder
# What the Trainer writes into its output folder ("test-trainer"...) when a notebook runs in its own folder
RUN_OUTPUT_MARKERS = ("trainer_state.json", "training_args.bin", "checkpoint-*", "runs")


def skipped_dir(path: Path) -> bool:
    """A folder of an assignment that is no part of it: caches, checkpoints of notebooks, and whatever a run of a
    notebook wrote there (a Trainer's output folder, found by what it holds). Release, templates and grading skip
    it, so that running a source notebook in its own folder changes nothing the students get or are graded on."""
    if path.name in SKIP_DIRS:
        return True
    return any(next(path.rglob(marker), None) is not None for marker in RUN_OUTPUT_MARKERS)

# Markers nbgrader uses in source notebooks: the one home of the delimiters. nbgrader_config.py configures
# nbgrader with SOLUTION_DELIMITERS / HIDDEN_DELIMITERS (ClearSolutions, ClearHiddenTests); the grader splits test
# cells and find_leaks searches with the "### " lines written in the notebooks.
SOLUTION_DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_DELIMITERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SOLUTION_BEGIN, SOLUTION_END = (f"### {d}" for d in SOLUTION_DELIMITERS)
HIDDEN_BEGIN, HIDDEN_END = (f"### {d}" for d in HIDDEN_DELIMITERS)
MARK_SCHEME_BEGIN = "=== BEGIN MARK SCHEME ==="
MARK_SCHEME_END = "=== END MARK SCHEME ==="


def find_course_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder, from ``start`` (default: cwd) upwards, holding nbgrader_config.py and source/."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / "source").is_dir():
            return folder
    raise FileNotFoundError(f"no course directory ({CONFIG_FILE} + source/) at or above {here}")


def load_course_config(course_root: str | os.PathLike) -> Config:
    """The course's nbgrader_config.py as a traitlets Config (empty Config if there is none), with
    ``CourseDirectory.root`` forced to ``course_root``."""
    course_root = Path(course_root).resolve()
    cfg = Config()
    if (course_root / CONFIG_FILE).is_file():
        cfg = PyFileConfigLoader(CONFIG_FILE, path=str(course_root)).load_config()
    cfg.CourseDirectory.root = str(course_root)
    return cfg


def course_id(cfg: Config) -> str:
    return cfg.get("CourseDirectory", {}).get("course_id", "default_course")


def discover_assignments(course_root: str | os.PathLike) -> list[str]:
    """Assignments = folders of ``source/`` that contain at least one notebook, sorted by name."""
    src = Path(course_root) / "source"
    if not src.is_dir():
        return []
    return sorted(
        d.name
        for d in src.iterdir()
        if d.is_dir() and d.name not in SKIP_DIRS and not d.name.startswith(".") and notebooks_of(course_root, d.name)
    )


def notebooks_of(course_root: str | os.PathLike, assignment: str) -> list[str]:
    """Notebook names (without .ipynb) of a source assignment, sorted."""
    folder = Path(course_root) / "source" / assignment
    return sorted(p.stem for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def helper_files(course_root: str | os.PathLike, assignment: str) -> list[Path]:
    """Non-notebook files of a source assignment (nbgrader copies them next to the graded notebook)."""
    folder = Path(course_root) / "source" / assignment
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(Path(dirpath) / d) and d != "feedback")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix in (".ipynb", ".pyc"):
                continue
            out.append(p)
    return out
