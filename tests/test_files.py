"""autograder/files.py and what leaves a job (autograder.jobs.take_files): never through a link, never blocked by a
FIFO or a device, never more than a size cap, nothing but the files the grader expects."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from autograder.collect import Job
from autograder.files import UnsafeFile, read_regular, remove_tree, safe_dir, write_file
from autograder.jobs import take_files
from autograder.templates import Template


def _finishes(fn, seconds=10):
    """Run ``fn`` in a thread; fail if it has not returned within ``seconds`` (a FIFO would block forever)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", _call(fn)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    value = result["value"]
    if isinstance(value, BaseException):
        raise value
    return value


def _call(fn):
    try:
        return fn()
    except BaseException as e:  # noqa: BLE001 - handed back to the test
        return e


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("the class gradebook")
    path.chmod(0o600)
    return path


def test_read_regular_refuses_links_fifos_devices_folders_and_big_files(tmp_path, secret):
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "big").write_bytes(b"x" * 1001)
    (tmp_path / "ok").write_bytes(b"x" * 1000)
    for name, what in (("link", "symbolic link"), ("fifo", "FIFO"), ("folder", "directory"), ("big", "limit"),
                       ("missing", "missing")):
        with pytest.raises(UnsafeFile, match=what):
            _finishes(lambda n=name: read_regular(tmp_path / n, 1000))
    with pytest.raises(UnsafeFile, match="character device"):
        _finishes(lambda: read_regular("/dev/zero", 1000))
    assert read_regular(tmp_path / "ok", 1000) == b"x" * 1000


def test_remove_tree_never_follows_a_link_nor_changes_what_it_points_to(tmp_path, secret):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    (victim_dir / "keep.txt").write_text("keep")
    victim_dir.chmod(0o700)
    job = tmp_path / "job"
    (job / "deep").mkdir(parents=True)
    (job / "deep" / "to-file").symlink_to(secret)
    (job / "deep" / "to-dir").symlink_to(victim_dir)
    (job / "loop").symlink_to(job)
    os.mkfifo(job / "fifo")
    locked = job / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "f").write_text("x")
    (locked / "inner").chmod(0)
    locked.chmod(0)
    _finishes(lambda: remove_tree(job))
    assert not os.path.lexists(job)
    assert secret.read_text() == "the class gradebook" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert (victim_dir / "keep.txt").read_text() == "keep" and stat.S_IMODE(victim_dir.stat().st_mode) == 0o700


def test_write_file_replaces_a_link_instead_of_writing_through_it(tmp_path, secret):
    folder = safe_dir(tmp_path, "feedback", "alice")
    (folder / "page.html").symlink_to(secret)
    write_file(folder, "page.html", b"<p>feedback</p>")
    assert not (folder / "page.html").is_symlink() and (folder / "page.html").read_bytes() == b"<p>feedback</p>"
    assert secret.read_text() == "the class gradebook"
    # a folder of the path that is a link is replaced by a real folder, never written through
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "feedback").symlink_to(secret.parent)
    made = safe_dir(tmp_path / "out", "feedback", "bob")
    assert not (tmp_path / "out" / "feedback").is_symlink() and made.is_dir()
    with pytest.raises(ValueError):
        safe_dir(tmp_path, "..", "x")


def test_a_job_hands_back_only_the_expected_regular_notebooks(tmp_path, secret):
    tpl = Template("00_toy", ["toy", "other", "third"], tmp_path, b"", {}, {})
    job = Job("alice", "00_toy")
    graded = tmp_path / "autograded" / "alice" / "00_toy"
    graded.mkdir(parents=True)
    (graded / "toy.ipynb").write_text('{"cells": []}')
    (graded / "other.ipynb").symlink_to(secret)
    os.mkfifo(graded / "third.ipynb")
    (graded / "extra.txt").write_text("a file the kernel left")
    (graded / "source-link").symlink_to(tmp_path)
    submitted = tmp_path / "submitted" / "alice" / "00_toy"
    submitted.mkdir(parents=True)
    (submitted / "toy.ipynb").write_bytes(b"x" * 2000)
    files, refused = _finishes(lambda: take_files(job, tpl, tmp_path, limit=1000))
    assert files == {"autograded/toy.ipynb": b'{"cells": []}'}
    assert sorted(refused) == ["autograded/other.ipynb not taken: a symbolic link, not read",
                               "autograded/third.ipynb not taken: a FIFO, not read",
                               "submitted/toy.ipynb not taken: 2,000 bytes, over the limit of 1,000"]
