"""Process trees (psutil): what a grading process started, killing all of it, and its CPU time."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil


def handle(pid: int) -> psutil.Process | None:
    """A handle on ``pid`` taken now: later calls through it see a reused pid as gone (None if it is gone)."""
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def descendants(process: int | psutil.Process | None) -> list[psutil.Process]:
    """Every process below ``process`` (children, grandchildren...); [] when it is gone (or None)."""
    if process is None:  # never psutil.Process(None): that is this very process, with every worker below it
        return []
    try:
        root = process if isinstance(process, psutil.Process) else psutil.Process(process)
        return root.children(recursive=True)
    except psutil.Error:
        return []


def kill(processes: list[psutil.Process]) -> None:
    """SIGKILL each of ``processes`` that still runs (psutil never signals a pid that was reused meanwhile)."""
    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.kill()


def kill_tree(proc, root: psutil.Process | None = None) -> None:
    """SIGKILL ``proc`` (a ``Popen`` or a zygote's ``ForkedProcess`` that leads its own session), its process
    group and every process below it, then wait for it. ``root``: a :func:`handle` taken when it started."""
    victims = descendants(root or proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    kill(victims)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def find_descendant(pid: int, name: str) -> int | None:
    """The pid of a process called ``name`` below ``pid``, if there is one."""
    for p in descendants(pid):
        with contextlib.suppress(psutil.Error):
            if p.name() == name:
                return p.pid
    return None


def is_running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, with reaped children) used so far by the process ``pid`` and every
    process below it (a sandbox's bwrap: everything in the sandbox); None when ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # ended meanwhile: its time is in its parent's children_* once reaped
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total
