"""autograder.processes: a grading process's whole tree is found and killed, and its CPU time counted."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from autograder import processes

# A process that starts a child, which starts a grandchild in a session of its own (as a daemon would), then
# prints the pids and waits.
TREE = """
import subprocess, sys, time
grandchild = "import subprocess, sys, time; p = subprocess.Popen(['sleep', '60'], start_new_session=True); " \
             "print(p.pid, flush=True); time.sleep(60)"
child = subprocess.Popen([sys.executable, "-c", grandchild], stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


@pytest.fixture
def tree():
    """A process tree of three levels, in a session of its own: (Popen, [its descendants' pids])."""
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    yield proc, pids
    for pid in [proc.pid, *pids]:  # whatever a failed test left
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    proc.wait()


def _gone(pids, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_descendants_are_the_whole_tree(tree):
    proc, pids = tree
    assert len(pids) == 2
    assert sorted(p.pid for p in processes.descendants(proc.pid)) == sorted(pids)
    assert processes.find_descendant(proc.pid, "sleep") == pids[1]
    assert processes.find_descendant(proc.pid, "no-such-program") is None


def test_kill_tree_kills_every_process_of_the_tree(tree):
    proc, pids = tree
    processes.kill_tree(proc, processes.handle(proc.pid))
    assert proc.returncode is not None
    assert _gone(pids), [p for p in pids if psutil.pid_exists(p)]


def test_kill_descendants_leaves_the_root(tree):
    proc, pids = tree
    processes.kill(processes.descendants(proc.pid))
    assert _gone(pids)
    assert proc.poll() is None


def test_a_gone_process_has_no_tree():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    handle = processes.handle(proc.pid)
    proc.wait()
    assert processes.descendants(handle) == [] and processes.descendants(proc.pid) == []
    assert processes.tree_cpu_seconds(proc.pid) is None


def test_no_handle_means_no_tree(tree):
    """A pid that was gone when its handle was taken: nothing to kill, not this process's children."""
    proc, _ = tree
    assert processes.handle(proc.pid) is not None and processes.descendants(None) == []


def test_tree_cpu_seconds_counts_the_children():
    busy = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    code = f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {busy!r}]); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while (processes.tree_cpu_seconds(proc.pid) or 0) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes.tree_cpu_seconds(proc.pid) >= 0.5  # the reaped child's time included
    finally:
        proc.kill()
        proc.wait()
