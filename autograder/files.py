"""Files a student's code may have touched, handled without ever following a link.

Everything in a job's folder is hostile data once a kernel ran: a file can be a symbolic link (to ``source/``,
the class gradebook, a classmate's hand-in, ``/proc/self/cwd/...``), a FIFO that blocks whoever opens it, a
device that never ends, a directory loop, or huge. Code outside the sandbox therefore only ever:

* **reads** one named file with :func:`read_regular`: opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link or a FIFO
  never blocks or redirects the read), ``fstat`` must say it is a regular file, and at most ``limit`` bytes are
  read;
* **writes** with :func:`write_file`: into a folder it made itself (no component below the trusted root may be a
  link), replacing what is there without following links, creating the file with ``O_EXCL | O_NOFOLLOW``;
* **removes** with :func:`remove_tree`: ``shutil.rmtree`` works on directory file descriptors and never follows a
  link; a directory the kernel made unreadable is made searchable again after ``lstat`` says it is a directory
  (never ``chmod`` through a link).

Nothing is copied as a tree: what leaves a job is the list of files the grader expects, one by one.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path


class UnsafeFile(ValueError):
    """A file that is not a plain, readable, small enough regular file (the message says what it is)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (never through a link, never more than ``limit`` bytes).

    Raises :class:`UnsafeFile` for a link, FIFO, socket, device or directory, a missing file, or one larger
    than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise UnsafeFile(f"{os.fspath(path)}: missing") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafeFile(f"{os.fspath(path)}: a symbolic link, not read") from None
        raise UnsafeFile(f"{os.fspath(path)}: cannot be opened ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"{os.fspath(path)}: {_kind(st.st_mode)}, not read")
        if st.st_size > limit:
            raise UnsafeFile(f"{os.fspath(path)}: {st.st_size:,} bytes, over the limit of {limit:,}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while being read
            raise UnsafeFile(f"{os.fspath(path)}: over the limit of {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_regular(path: str | os.PathLike) -> bool:
    """Whether ``path`` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def safe_dir(root: str | os.PathLike, *parts: str) -> Path:
    """``root/parts...`` as a directory, made where missing; every component below ``root`` must be a real
    directory (a link there is removed and replaced by a directory, so nothing is ever written through it).
    ``parts`` must be single names (no ``/``, not ``.`` or ``..``)."""
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\0" in part:
            raise ValueError(f"not a plain name: {part!r}")
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            remove_tree(path)
            os.mkdir(path, 0o755)
    return path


def write_file(folder: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` as the new file ``folder/name`` (``folder`` from :func:`safe_dir`): whatever was at that name
    (a file, a link, a FIFO, a tree) is removed first, without following it."""
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"not a plain file name: {name!r}")
    path = Path(folder) / name
    remove_tree(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return path


def remove_tree(path: str | os.PathLike) -> None:
    """Remove ``path`` whatever it is (file, link, FIFO, tree of them), never following a link and never changing
    the mode of anything a link points to."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return

    def unblock(func, failed, exc_info):  # a directory the kernel made unreadable: searchable again, then retry
        try:
            if stat.S_ISDIR(os.lstat(failed).st_mode):
                os.chmod(failed, 0o700)
                parent = os.path.dirname(failed)
                if parent and stat.S_ISDIR(os.lstat(parent).st_mode):
                    os.chmod(parent, 0o700)
                shutil.rmtree(failed, ignore_errors=True) if func is not os.unlink else os.unlink(failed)
        except OSError:
            pass

    shutil.rmtree(path, onerror=unblock)
    if os.path.lexists(path):  # what the handler could not remove
        shutil.rmtree(path, ignore_errors=True)


def copy_regular_files(src: str | os.PathLike, dest: str | os.PathLike, suffixes: tuple[str, ...],
                       limit: int) -> list[str]:
    """Copy the regular files named ``*<suffix>`` of the tree ``src`` into ``dest`` (same relative paths), never
    through a link and none over ``limit`` bytes; returns what was skipped, and why."""
    skipped = []
    src = Path(src)
    for top, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(top, d)))
        rel = Path(top).relative_to(src)
        for name in sorted(names):
            if not name.endswith(suffixes):
                continue
            try:
                data = read_regular(Path(top) / name, limit)
            except UnsafeFile as e:
                skipped.append(str(e))
                continue
            write_file(safe_dir(dest, *rel.parts), name, data)
    return skipped
