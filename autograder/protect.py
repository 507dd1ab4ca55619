"""Detecting (and undoing) changes a student's code makes to grading files outside its work directory.

A kernel runs as the grader's user: it can write anywhere the instructor can, e.g. the (editable)
``course`` package the test cells import, ``source/`` or a ``.pth`` file in site-packages that would run
code in every later kernel.  This cannot be prevented without an OS sandbox (see README: residual
risks), but it can be detected: :class:`Protector` keeps the bytes of the protected files in memory,
and after each job lists what changed and puts the originals back.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sysconfig
from pathlib import Path

from .policy import GRADER_PACKAGES

MAX_FILE = 5_000_000


def _walk(path: Path):
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".ipynb_checkpoints", ".git")]
        for name in filenames:
            if not name.endswith(".pyc"):
                yield Path(dirpath) / name


def _site_dirs() -> list[Path]:
    dirs = set()
    for key in ("purelib", "platlib"):
        with_key = sysconfig.get_paths().get(key)
        if with_key:
            dirs.add(Path(with_key))
    try:
        dirs.update(Path(p) for p in site.getsitepackages())
    except AttributeError:  # pragma: no cover - virtualenv's old site.py
        pass
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user:
        dirs.add(Path(user))
    return sorted(d for d in dirs if d.is_dir())


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_protected(course_root: str | os.PathLike) -> list[Path]:
    root = Path(course_root)
    paths = [root / "source", root / "nbgrader_config.py"]
    for pkg in GRADER_PACKAGES:
        d = package_dir(pkg)
        if d is not None:
            paths.append(d)
    return paths


class Protector:
    """Snapshot of protected files; ``check()`` returns what changed and restores it."""

    def __init__(self, paths, watch_site_packages: bool = True):
        self.paths = [Path(p).resolve() for p in paths]
        self.files: dict[Path, tuple[bytes, int]] = {}
        for p in self.paths:
            for f in _walk(p):
                try:
                    if f.stat().st_size <= MAX_FILE:
                        self.files[f] = (f.read_bytes(), f.stat().st_mode)
                except OSError:
                    pass
        self.site_dirs = _site_dirs() if watch_site_packages else []
        self.site_files = {f: f.read_bytes() for f in self._site_hooks()}

    def _site_hooks(self):
        for d in self.site_dirs:
            for f in sorted(d.glob("*.pth")) + [d / "sitecustomize.py", d / "usercustomize.py"]:
                if f.is_file():
                    yield f

    def check(self, restore: bool = True) -> list[str]:
        changes = []
        for f, (data, mode) in self.files.items():
            try:
                same = f.read_bytes() == data
            except OSError:
                same = False
            if not same:
                changes.append(f"modified or deleted: {f}")
                if restore:
                    f.parent.mkdir(parents=True, exist_ok=True)
                    if f.exists():
                        os.chmod(f, 0o644)
                    f.write_bytes(data)
                    os.chmod(f, mode)
        for p in self.paths:
            for f in _walk(p):
                if f not in self.files and f.stat().st_size <= MAX_FILE:
                    changes.append(f"new file: {f}")
                    if restore:
                        f.unlink()
        for f in self._site_hooks():
            if self.site_files.get(f) != f.read_bytes():
                changes.append(f"site-packages hook added or changed: {f}")
                if restore:
                    if f in self.site_files:
                        f.write_bytes(self.site_files[f])
                    else:
                        f.unlink()
        for f, data in self.site_files.items():
            if not f.exists():
                changes.append(f"site-packages hook deleted: {f}")
                if restore:
                    f.write_bytes(data)
        return changes
