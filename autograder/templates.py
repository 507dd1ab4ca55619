"""Every assignment built once per run: its release notebooks and its gradebook definition (a *template*),
made by nbgrader's ``generate_assignment`` and cached beside ``source/`` until anything it is made of changes."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbgrader

from .config import course_id as get_course_id
from .config import helper_files, notebooks_of, skipped_dir
from .gradebook import read_definition
from .release import build_assignment

TEMPLATE_CACHE = ".grading-cache/templates"  # under the course root, beside source/ (gitignored)


@dataclass
class Template:
    """What every job of one assignment starts from (hidden tests included: kept in the grader's memory)."""

    assignment: str
    notebooks: list[str]
    release_dir: Path
    db_bytes: bytes  # the gradebook generate_assignment made, copied into each job's directory
    definition: dict  # cells and points, as :func:`autograder.gradebook.read_definition` reads them
    helpers: dict[str, str]  # helper file (relative to source/<assignment>) -> its path


def template_key(course_root: Path, assignment: str) -> str:
    """What a template is made of: the assignment's source files, nbgrader_config.py, nbgrader's version and
    the autograder's own code. Any change makes a new template."""
    h = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    src = course_root / "source" / assignment
    files = [(f"source/{p.relative_to(src).as_posix()}", p) for p in _walk_files(src)]
    files += [(f"autograder/{p.name}", p) for p in sorted(Path(__file__).parent.glob("*.py"))]
    config = course_root / "nbgrader_config.py"
    if config.is_file():
        files.append(("nbgrader_config.py", config))
    for rel, path in files:
        data = path.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:20]


def _walk_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(Path(dirpath) / d))
        out += [Path(dirpath) / n for n in sorted(filenames) if not n.endswith(".pyc")]
    return out


def build_templates(
    course_root: Path, assignments, cfg, scratch: Path, cache: Path | None = None
) -> dict[str, Template]:
    """Every assignment's template (release notebooks and gradebook definition, hidden tests included), made
    by nbgrader's generate_assignment (about 3 s each) or taken from ``cache`` (default: the course root's
    :data:`TEMPLATE_CACHE`; ``scratch`` when the course root is read-only), keyed by :func:`template_key`."""
    if cache is None:
        cache = course_root / TEMPLATE_CACHE
        try:
            cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            cache = scratch / "templates"
    templates = {}
    for a in sorted(assignments):
        folder = cache / f"{a}-{template_key(course_root, a)}"
        if not (folder / "gradebook.db").is_file():
            work = Path(tempfile.mkdtemp(prefix=f"tpl-{a}-", dir=scratch))
            build_assignment(course_root, a, work, cfg)
            shutil.rmtree(work / "source", ignore_errors=True)
            folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                work.rename(folder)  # atomic: a run beside this one never sees half a template
            except OSError:  # made by a run beside this one meanwhile, or another file system
                if not (folder / "gradebook.db").is_file():
                    shutil.copytree(work, folder, dirs_exist_ok=True)
                shutil.rmtree(work, ignore_errors=True)
        db = folder / "gradebook.db"
        src = course_root / "source" / a
        templates[a] = Template(
            assignment=a,
            notebooks=notebooks_of(course_root, a),
            release_dir=folder / "release" / a,
            db_bytes=db.read_bytes(),
            definition=read_definition(db, a, get_course_id(cfg)),
            helpers={p.relative_to(src).as_posix(): str(p) for p in helper_files(course_root, a)},
        )
    return templates
