"""Warm sandboxed kernels (autograder/zygote.py): forked from a zygote that imported the libraries once, yet
sandboxed exactly like a cold kernel, and with no state passing from one submission to the next.

Skipped where warm kernels cannot be had (not root, or no bubblewrap); ``.ci/run`` runs as root with bwrap.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder import zygote
from autograder.policy import NEUTRAL, STUDENT_HOME
from autograder.sandbox import AsyncSandboxedKernelManager, sandbox_env, sandbox_problem

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toy_course"

pytestmark = pytest.mark.skipif(
    sandbox_problem() is not None or not zygote.available(), reason="warm kernels need root and bubblewrap"
)


@pytest.fixture(scope="module")
def warm():
    scratch = Path(tempfile.mkdtemp(prefix="zygote-test-"))
    z = zygote.Zygote.for_kernels(scratch, sandbox_env()).start()
    try:
        z.wait_ready()
        yield z
    finally:
        z.stop()
        shutil.rmtree(scratch, ignore_errors=True)


async def _run_in_kernel(z, cwd: Path, code: str, **manager) -> tuple[dict, list[str], AsyncSandboxedKernelManager]:
    km = AsyncSandboxedKernelManager(zygote_socket=z.socket_path, **manager)
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    texts: list[str] = []
    try:
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive(
            code, timeout=60, output_hook=lambda m: texts.append(m["content"].get("text", ""))
        )
    finally:
        kc.stop_channels()
    return reply, texts, km


def _in_warm_kernel(z, cwd: Path, code: str) -> dict:
    async def go():
        reply, texts, km = await _run_in_kernel(z, cwd, code)
        await km.shutdown_kernel(now=True)
        assert reply["content"]["status"] == "ok", reply["content"]
        return json.loads("".join(texts).strip().splitlines()[-1]), km

    return asyncio.run(go())


PROBE = r"""
import json, os, resource, sys
preloaded = sorted(m for m in ("torch", "transformers", "datasets", "evaluate") if m in sys.modules)
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
def readable(p):
    try:
        open(p, "rb").read(1); return True
    except OSError:
        return False
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
open("written.txt", "w").write("ok")
print(json.dumps({
    "preloaded": preloaded, "pid": os.getpid(), "ppid": os.getppid(), "uid": os.getuid(), "cwd": os.getcwd(),
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0], "home": os.environ.get("HOME"),
    "sees_source": readable(SOURCE), "fd_targets": sorted(set(fds.values())),
    "tmp": sorted(os.listdir("/tmp")),
}))
"""


def test_warm_kernel_is_sandboxed_like_a_cold_one(warm, tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()
    source = REPO / "source" / "01_preprocessing" / "preprocessing.ipynb"
    got, km = _in_warm_kernel(warm, cwd, f"SOURCE = {str(source)!r}\n" + PROBE)
    assert got["preloaded"] == ["datasets", "evaluate", "torch", "transformers"], "forked from the zygote"
    assert got["uid"] == km.sandbox_uid != 0 and got["cap_eff"] == "0000000000000000" and got["no_new_privs"] == "1"
    assert got["pids"] == [1, 2, got["pid"]], "its own PID namespace: bwrap's init, the placeholder, the kernel"
    assert got["ppid"] == 1, "a child of the sandbox's init, as a cold kernel is"
    assert got["cwd"] == f"{STUDENT_HOME}/{cwd.name}" and not (cwd / "written.txt").exists(), "a folder of its own"
    assert got["rlimit_as"] == km.memory_bytes and got["home"] == "/tmp/home"
    assert not got["sees_source"], "the course root is not in the sandbox"
    binds = (km.connection_file or "/tmp/x",)
    bound = {Path(p).relative_to("/tmp").parts[0] for p in binds if p.startswith("/tmp/")}
    assert set(got["tmp"]) <= {"home"} | bound, "a private /tmp: only its HOME and the folders bound into it"
    assert Path(warm.socket_path).parent.name not in got["tmp"]
    assert not any(str(warm.socket_path) in t or "ag-grading" in t for t in got["fd_targets"])
    own = ("/dev/", "/tmp/home/", got["cwd"])
    assert not any(t.startswith("/") and not t.startswith(own) for t in got["fd_targets"]), (
        f"no file of the zygote stays open in the kernel: {got['fd_targets']}"
    )


def test_warm_kernel_sees_the_course_only_at_neutral_paths(warm, tmp_path):
    """The zygote imported everything in the course view: a kernel forked from it finds nothing of the course
    root's path in its memory (modules, sys.path, environment) or its file system."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    code = ("import json, os, sys, course, course.metrics\n"
            "print(json.dumps({'course': course.metrics.__file__, 'prefix': sys.prefix, 'path': sys.path,\n"
            "  'env': dict(os.environ), 'modules': sorted({getattr(m, '__file__', None) or '' for m in\n"
            "  list(sys.modules.values())})}))")
    got = _in_warm_kernel(warm, cwd, code)[0]
    assert got["course"] == f"{NEUTRAL}/course/metrics/__init__.py"
    assert str(REPO) not in json.dumps(got), "the course root's path is visible in a warm kernel"


def test_no_state_passes_from_one_kernel_to_the_next(warm, tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()
    plant = (
        "import builtins, os, sys, torch, transformers\n"
        "torch.planted = True; builtins.planted = True; os.environ['PLANTED'] = '1'\n"
        "transformers.AutoTokenizer.from_pretrained = None\n"
        "open('/tmp/planted', 'w').write('x')\n"
        "import json; print(json.dumps('planted'))\n"
    )
    assert _in_warm_kernel(warm, cwd, plant)[0] == "planted"
    check = (
        "import builtins, os, sys, json, torch, transformers\n"
        "print(json.dumps([hasattr(torch, 'planted'), hasattr(builtins, 'planted'), 'PLANTED' in os.environ,\n"
        "    transformers.AutoTokenizer.from_pretrained is None, os.path.exists('/tmp/planted')]))\n"
    )
    assert _in_warm_kernel(warm, cwd, check)[0] == [False] * 5


def test_a_dying_warm_kernel_ends_its_sandbox(warm, tmp_path):
    cwd = tmp_path / "work"
    cwd.mkdir()

    async def go():
        km = AsyncSandboxedKernelManager(zygote_socket=warm.socket_path)
        await km.start_kernel(cwd=str(cwd))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            kc.execute("import os; os._exit(3)")
            deadline = time.monotonic() + 10
            while await km.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            alive = await km.is_alive()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return alive, km

    alive, km = asyncio.run(go())
    assert not alive, "the kernel's keeper ends bwrap, so the manager sees the death at once"


def test_zygote_refuses_a_broken_request(warm):
    with pytest.raises(zygote.ZygoteError):
        zygote.request_fork(warm.socket_path, {"bwrap_pid": 1, "holder_pid": "not a pid", "uid": 0}, timeout=10)
    time.sleep(0.5)
    assert warm.proc.poll() is None, "one bad request does not stop the zygote"


@pytest.mark.slow
def test_planted_state_does_not_reach_the_next_submission(tmp_path):
    """Two submissions graded one after the other by the same warm zygote: the first plants state everywhere a
    fork could carry it; the second would lose points if any of it reached its kernel, and must not."""
    from autograder.catalogue import baseline_entries, make_submission, write_nbgrader_layout
    from autograder.grade import grade

    course = Path(shutil.copytree(TOY, tmp_path / "course", ignore=shutil.ignore_patterns("__pycache__")))
    solution = make_submission(course, baseline_entries(course, "00_toy")[0])["toy"]

    def with_add(source: str):
        nb = nbformat.from_dict(json.loads(json.dumps(solution)))
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "add")
        cell.source = source
        return {"toy": nb}

    planter = with_add(
        "import builtins, os, sys, torch\n"
        "torch.planted = True\nbuiltins.planted = True\nos.environ['PLANTED'] = '1'\n"
        "sys.modules['json'].planted = True\nopen('/tmp/planted', 'w').write('x')\n"
        "def add(a, b):\n    return a + b\n"
    )
    affected = with_add(
        "import builtins, json, os, sys\n"
        "LEAKED = [hasattr(sys.modules['torch'], 'planted') if 'torch' in sys.modules else False,\n"
        "          hasattr(builtins, 'planted'), 'PLANTED' in os.environ, hasattr(json, 'planted'),\n"
        "          os.path.exists('/tmp/planted')]\n"
        "print('warm:', 'transformers' in sys.modules, 'leaked:', LEAKED)\n"
        "def add(a, b):\n    return a + b + sum(LEAKED)\n"
    )
    subs = tmp_path / "subs"
    write_nbgrader_layout(subs, "a_planter", "00_toy", planter)
    write_nbgrader_layout(subs, "b_affected", "00_toy", affected)
    run = grade(subs, tmp_path / "out", jobs=1, course_root=course, protect=[], progress=False, feedback=False)
    assert run.kernels == "warm"
    scores = {
        o.student: sum(g["auto_score"] or 0 for g in o.notebooks["toy"]["grades"].values()) for o in run.outcomes
    }
    assert scores["a_planter"] == scores["b_affected"] == 6, scores
    graded = nbformat.read(tmp_path / "out" / "autograded" / "b_affected" / "00_toy" / "toy.ipynb", as_version=4)
    add_cell = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "add")
    printed = "".join(o.get("text", "") for o in add_cell.outputs)
    assert "warm: True leaked: [False, False, False, False, False]" in printed, printed


def test_a_zygote_ends_when_the_process_that_started_it_is_gone(tmp_path):
    """A killed ``course grade``, or an engine's worker process that ends, leaves no zygote behind."""
    import subprocess
    import sys

    from autograder import processes

    starter = ("import sys, pathlib; from autograder import zygote; from autograder.sandbox import sandbox_env\n"
               "z = zygote.Zygote.for_kernels(pathlib.Path(sys.argv[1]), sandbox_env()).start(); z.wait_ready()\n"
               "print(z.proc.pid, flush=True)\n")  # ends without stopping it, as a killed process would
    out = subprocess.run([sys.executable, "-c", starter, str(tmp_path)], capture_output=True, text=True, timeout=300,
                         cwd=REPO, check=True).stdout
    pid = int(out.split()[0])
    deadline = time.monotonic() + 10 * zygote.ORPHAN_CHECK_SECONDS
    while processes.is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes.is_running(pid), "the orphaned zygote is still running"
