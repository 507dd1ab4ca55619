"""The bubblewrap sandbox of grading kernels (autograder/sandbox.py), tested from inside it.

Most tests run ``python -c`` in :func:`run_sandboxed` and check what it could see and do; one executes a
notebook in a :class:`SandboxedKernelManager` through nbclient, one interrupts a sandboxed kernel, and one
prints the start-up overhead against a plain kernel.  The whole module is skipped where bwrap cannot run
(``.ci/run`` installs bubblewrap, so CI runs it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import nbclient
import nbformat
import pytest

from autograder.policy import NEUTRAL, STUDENT_HOME, bwrap_argv
from autograder.sandbox import (
    SandboxedKernelManager,
    SandboxProvisioner,
    allocate_uid,
    generic_policy,
    run_sandboxed,
    sandbox_env,
    sandbox_problem,
)

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0

pytestmark = pytest.mark.skipif(
    sandbox_problem() is not None, reason=f"no bubblewrap sandbox here: {sandbox_problem()}"
)


def sandboxed_python(code: str, cwd: Path, **kwargs) -> dict:
    """Run ``code`` in the sandbox; it reports by assigning to the dict ``out``, which comes back."""
    script = "import json, os, sys\nout = {}\n" + textwrap.dedent(code) + "\nprint('OUT=' + json.dumps(out))\n"
    proc = run_sandboxed([sys.executable, "-c", script], cwd=str(cwd), timeout=60, **kwargs)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("OUT=")]
    assert lines, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return json.loads(lines[-1][4:])


def processes_matching(*, uid: int | None = None, text: str | None = None) -> list[int]:
    """Host pids running as ``uid`` or with ``text`` in their command line (a /proc scan)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        real_uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if (uid is not None and real_uid == uid) or (text is not None and text in cmdline):
            found.append(int(pid))
    return found


def wait_until_gone(**match) -> list[int]:
    deadline = time.monotonic() + 5
    while (left := processes_matching(**match)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def cwd(tmp_path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_command_line_binds_only_what_is_asked(tmp_path):
    argv = bwrap_argv(generic_policy(str(tmp_path), readonly=[str(REPO / "course"), "/no/such/path"]), ["true"])
    pairs = {(argv[i], argv[i + 1]) for i in range(len(argv) - 1)}
    assert ("--ro-bind", str(REPO / "course")) in pairs and ("--bind", str(tmp_path)) in pairs
    sources = {argv[i + 1] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")}
    assert str(REPO) not in sources and str(REPO / "source") not in sources and "/no/such/path" not in sources
    assert not any(s in ("/", "/root", "/home", "/tmp") for s in sources)
    for flag in ("--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv


def test_cannot_see_or_signal_host_processes(cwd):
    out = sandboxed_python(
        f"""
        out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        try:
            os.kill({os.getpid()}, 0)
            out["kill"] = "delivered"
        except OSError as exc:
            out["kill"] = type(exc).__name__
        """,
        cwd,
    )
    assert len(out["pids"]) <= 3 and os.getpid() not in out["pids"], out
    assert out["kill"] == "ProcessLookupError"


def test_cannot_read_unbound_files(tmp_path, cwd, tmp_path_factory):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "secret.txt").write_text("the answers")
    other = tmp_path_factory.mktemp("other") / "secret.txt"
    other.write_text("another grader's data")
    bound = [sys.base_prefix, sys.prefix]  # /root may hold the Python installation, nothing else of it
    hidden_root = [f"/root/{n}" for n in os.listdir("/root") if not any(p.startswith(f"/root/{n}") for p in bound)]
    probes = [
        str(tmp_path / "source" / "secret.txt"),
        str(other),
        str(REPO / "README.md"),
        str(REPO / "source"),
        str(REPO / "autograder" / "__init__.py"),
        *hidden_root,
        *[f"/home/{n}" for n in os.listdir("/home")],
    ]
    out = sandboxed_python(
        f"""
        out["visible"] = [p for p in {probes!r} if os.path.lexists(p)]
        out["next_to_cwd"] = os.listdir({str(tmp_path)!r})
        try:
            out["read"] = open({str(tmp_path / "source" / "secret.txt")!r}).read()
        except OSError as exc:
            out["read"] = type(exc).__name__
        """,
        cwd,
    )
    assert out == {"visible": [], "next_to_cwd": ["work"], "read": "FileNotFoundError"}


def test_no_network_to_the_host(cwd):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        out = sandboxed_python(
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
                out["connect"] = "connected"
            except OSError as exc:
                out["connect"] = type(exc).__name__
            """,
            cwd,
        )
        assert out["connect"] in ("ConnectionRefusedError", "OSError", "TimeoutError"), out
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


def test_writes_only_to_cwd_and_private_tmp(tmp_path, cwd):
    data = tmp_path / "data"
    data.mkdir()
    marker = f"sandbox-{uuid.uuid4().hex}"
    targets = [f"{sys.prefix}/x", str(data / "x"), "/etc/x", "/usr/x", "/x", str(REPO / "x")]
    out = sandboxed_python(
        f"""
        out["denied"] = []
        for path in {targets!r}:
            try:
                open(path, "w").write("x")
            except OSError:
                out["denied"].append(path)
        open("result.txt", "w").write("written")
        open("/tmp/{marker}", "w").write("private")
        open(os.path.join(os.environ["HOME"], "x"), "w").write("home")
        out["home"] = os.environ["HOME"]
        import multiprocessing
        multiprocessing.Lock()  # a semaphore in the private /dev/shm
        """,
        cwd,
        readonly=[str(data)],
    )
    assert out["denied"] == targets
    assert not (data / "x").exists() and not (REPO / "x").exists()
    assert (cwd / "result.txt").read_text() == "written"
    assert not Path(tempfile.gettempdir(), marker).exists() and not Path("/tmp", marker).exists()
    assert out["home"].startswith("/tmp/")
    (cwd / "result.txt").unlink()  # what the sandbox wrote, the caller can remove


def test_detached_daemon_dies_with_the_sandbox(cwd):
    mark = f"{time.time() % 1000:.0f}.{uuid.uuid4().int % 10**8}"  # `sleep 123.45678901`: findable by cmdline
    out = sandboxed_python(
        f"""
        import time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "{mark}"])
            os._exit(0)
        time.sleep(0.5)
        cmdlines = [open(f"/proc/{{p}}/cmdline").read() for p in os.listdir("/proc") if p.isdigit()]
        out["daemon_running"] = any("{mark}" in c for c in cmdlines)
        """,
        cwd,
    )
    assert out["daemon_running"]
    assert wait_until_gone(text=mark) == []


@pytest.mark.skipif(not IS_ROOT, reason="RLIMIT_NPROC needs a uid of the sandbox's own (grader running as root)")
def test_fork_bomb_is_bounded(cwd):
    uid = allocate_uid()
    out = sandboxed_python(
        """
        import time
        out["forked"] = 0
        try:
            for _ in range(2000):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                out["forked"] += 1
        except OSError as exc:
            out["error"] = type(exc).__name__
        """,
        cwd,
        uid=uid,
        max_processes=50,
    )
    assert out.get("error") == "BlockingIOError" and out["forked"] < 50, out
    assert wait_until_gone(uid=uid) == []


def test_memory_bomb_fails(cwd):
    out = sandboxed_python(
        """
        try:
            block = bytearray(2 * 2**30)
            out["allocated"] = len(block)
        except MemoryError:
            out["allocated"] = "MemoryError"
        """,
        cwd,
        memory_bytes=2**30,
    )
    assert out["allocated"] == "MemoryError"


def test_file_size_is_limited(cwd):
    out = sandboxed_python(
        """
        try:
            with open("big.bin", "wb") as f:
                for _ in range(20):
                    f.write(b"x" * 10**6)
            out["written"] = "all"
        except OSError as exc:
            out["written"] = exc.errno
        """,
        cwd,
        max_file_bytes=10**7,
    )
    assert out["written"] == 27  # EFBIG
    assert (cwd / "big.bin").stat().st_size <= 10**7


def test_environment_is_filtered(cwd):
    host = {
        **os.environ,
        "GITHUB_TOKEN": "t",
        "HF_TOKEN": "t",
        "MY_API_KEY": "k",
        "DB_PASSWORD": "p",
        "AWS_SECRET_ACCESS_KEY": "s",
        "PROXY_AUTH": "a",
        "GOOGLE_APPLICATION_CREDENTIALS": "/root/key.json",
        "HOME": "/root",
        "COURSE_PROFILE": "ci",
        "TOKENIZERS_PARALLELISM": "false",
        "UNRELATED_SETTING": "x",
    }
    out = sandboxed_python(
        """
        out["env"] = dict(os.environ)
        open(os.path.join(os.environ["HOME"], "probe"), "w").write("x")
        """,
        cwd,
        env=host,
        extra_env={"COURSE_CHECKPOINT": "/ckpt", "COURSE_API_KEY": "k"},
    )
    env = out["env"]
    for name in ("GITHUB_TOKEN", "HF_TOKEN", "MY_API_KEY", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "PROXY_AUTH"):
        assert name not in env
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env and "COURSE_API_KEY" not in env
    assert "UNRELATED_SETTING" not in env and env["JPY_PARENT_PID"] == "1"
    assert env["COURSE_PROFILE"] == "ci" and env["TOKENIZERS_PARALLELISM"] == "false"
    assert env["COURSE_CHECKPOINT"] == "/ckpt"
    assert env["HOME"] == "/tmp/home" and env["HF_HOME"].startswith("/tmp/home/")
    assert sandbox_env({"HOME": "/root", "SSH_AUTH_SOCK": "/x"})["HOME"] == "/tmp/home"


class RecordingKernelManager(SandboxedKernelManager):
    """Keeps the managers nbclient creates, to look at them after it has shut them down."""

    made: list[SandboxedKernelManager] = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.made.append(self)


def test_notebook_runs_in_a_sandboxed_kernel(tmp_path, cwd):
    """The kernel works in a private folder of its own: the helper files of the folder it is started in are there
    (read-only), what it writes there never reaches the host, and the course's files are at neutral paths only."""
    (cwd / "helper.py").write_text("VALUE = 42\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import course, numpy, torch\nprint(1 + 1)"),
        nbformat.v4.new_code_cell("import autograder"),
        nbformat.v4.new_code_cell("import os, helper\nopen('made-by-kernel.txt', 'w').write('x')\n"
                                  "print(os.getuid(), os.getcwd(), helper.VALUE)"),
        nbformat.v4.new_code_cell("open('helper.py', 'a').write('VALUE = 0')"),
        nbformat.v4.new_code_cell("import sys, json\nprint(json.dumps({'course': course.__file__, 'prefix': sys.prefix,"
                                  " 'path': sys.path, 'env': dict(os.environ)}))"),
    ]
    RecordingKernelManager.made.clear()
    client = nbclient.NotebookClient(
        nb,
        kernel_manager_class=RecordingKernelManager,
        resources={"metadata": {"path": str(cwd)}},
        allow_errors=True,
        timeout=120,
    )
    client.execute()
    assert nb.cells[0].outputs[0]["text"] == "2\n"
    assert nb.cells[1].outputs[0]["ename"] == "ModuleNotFoundError"
    kernel_uid, kernel_cwd, value = nb.cells[2].outputs[0]["text"].split()
    assert kernel_cwd == f"{STUDENT_HOME}/{cwd.name}" and value == "42"
    assert nb.cells[3].outputs[0]["ename"] in ("OSError", "PermissionError")  # helpers are read-only
    assert not (cwd / "made-by-kernel.txt").exists() and (cwd / "helper.py").read_text() == "VALUE = 42\n"
    seen = json.loads(nb.cells[4].outputs[0]["text"])
    assert seen["course"] == f"{NEUTRAL}/course/__init__.py"
    everything = json.dumps(seen)
    assert str(REPO) not in everything, "the course root's path is visible in the kernel"
    (km,) = RecordingKernelManager.made
    assert km.transport == "ipc"
    if IS_ROOT:
        assert int(kernel_uid) == km.sandbox_uid != 0
        assert wait_until_gone(uid=km.sandbox_uid) == []
    assert wait_until_gone(text=km.connection_file) == []
    assert not os.path.exists(os.path.dirname(km.connection_file))  # the ipc folder is cleaned up


def test_a_kernel_cannot_read_the_judges(cwd, monkeypatch):
    """The hidden tests' code (judges/) is bound into the grading worker only: a kernel finds no judges folder at the
    course's neutral path nor at the host's, none by $JUDGES_DIR (it does not pass), and course.grading.judge there
    says the hidden tests run in the grader."""
    from course import grading

    judges = REPO / "judges"
    assert (judges / "common.py").is_file()
    monkeypatch.setenv(grading.JUDGES_ENV, str(judges))
    probes = [str(judges), str(judges / "common.py"), f"{NEUTRAL}/judges", f"{NEUTRAL}/judges/common.py"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(f"""
        import json, os
        from course import grading
        seen = [p for p in {probes!r} if os.path.lexists(p)]
        found = [os.path.join(top, d) for top, dirs, _ in os.walk({NEUTRAL!r}) for d in dirs if d == "judges"]
        try:
            grading.judge("01_preprocessing", "test_tokenize_function", None)
            verdict = "ran"
        except Exception as e:
            verdict = f"{{type(e).__name__}}: {{e}}"
        print(json.dumps({{"seen": seen, "found": found, "env": os.environ.get({grading.JUDGES_ENV!r}),
                          "verdict": verdict}}))
        """))]
    nbclient.NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, resources={"metadata": {"path": str(cwd)}},
                            timeout=120).execute()
    out = json.loads(nb.cells[0].outputs[0]["text"])
    assert out["seen"] == [] and out["found"] == [] and out["env"] is None, out
    assert out["verdict"].startswith("StudentError: no judges here"), out


def test_a_mirror_reached_through_a_link_is_seen_by_the_kernel(tmp_path, cwd, monkeypatch):
    """COURSE_DATA_DIR may be a symbolic link (a mirror on another disk): the kernel sees the data all the same."""
    from course import sources

    real = sources.data_dir()
    if real is None or not real.is_dir():
        pytest.skip("no data mirror")
    link = tmp_path / "mirror-link"
    link.symlink_to(real)
    monkeypatch.setenv(sources.DATA_DIR_ENV, str(link))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\nprint(os.environ['COURSE_DATA_DIR'], sorted(os.listdir(os.environ['COURSE_DATA_DIR'])))")]
    nbclient.NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, resources={"metadata": {"path": str(cwd)}},
                            timeout=120).execute()
    text = nb.cells[0].outputs[0]["text"]
    assert text.startswith(f"{NEUTRAL}/data ") and "nyu-mll" in text, text


def test_interrupt_reaches_the_kernel(cwd):
    km = SandboxedKernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
        deadline = time.monotonic() + 60  # interrupt once the cell runs (not before it starts, on a loaded machine)
        while time.monotonic() < deadline:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                break
        assert isinstance(km.provisioner, SandboxProvisioner), "started by the course-sandbox kernel provisioner"
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert wait_until_gone(text=km.connection_file) == []


def test_kernel_start_benchmark_checks_what_it_times():
    """benchmarks/kernel_start.py times only kernels that answered right: the plain kernel sees the course's
    folder, the sandboxed one does not (and a run where that is not so raises instead of reporting a number)."""
    from benchmarks import kernel_start

    runs = kernel_start.measure(repeats=1)
    assert [r.answer for r in runs["plain"]] == ["2 True"]
    assert [r.answer for r in runs["sandboxed"]] == ["2 False"]
    assert all(0 < r.ready_s <= r.total_s for rs in runs.values() for r in rs)
