"""Memory of the classroom's servers (autograder/README.md, *How many students a machine holds*). Run as root:

    python benchmarks/classroom_memory.py [--servers 4]

For throw-away users (removed at the end) it starts each user's JupyterLab as ``course classroom``'s spawner does
(the user's bubblewrap sandbox, rlimits, a memory cgroup of its own), waits until it answers, and reads the cgroup's
resident memory (``total_rss`` of memory.stat, page cache left out) once the servers are idle; then one user's
server runs notebook 01 at the smoke size (``course run 01_preprocessing --profile smoke`` in the same sandbox and
cgroup: papermill's kernel) and the cgroup's peak is read. Bounded: a few servers, every wait with a time limit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.classroom import _cgroup_dirs, ensure_user, make_cgroups, server_sandbox_argv  # noqa: E402

MiB = 1024**2


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _joins(procs):
    def preexec():
        os.setsid()
        for p in procs:
            Path(p).write_text(str(os.getpid()))
        resource.setrlimit(resource.RLIMIT_NPROC, (512, 512))

    return preexec


def _stat(name: str, key: str) -> int:
    d = _cgroup_dirs(name).get("memory")
    for line in (d / "memory.stat").read_text().splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    return 0


def _env(user, extra=None):
    keep = ("PATH", "PYTHONPATH", "LANG", "COURSE_DATA_DIR", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "HOME": user.pw_dir, "USER": user.pw_name,
            **(extra or {})}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", type=int, default=4)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root: it makes throw-away users", file=sys.stderr)
        return 2
    tag = secrets.token_hex(2)
    names = [f"cm{tag}{i}" for i in range(args.servers)]
    procs, work = [], Path(tempfile.mkdtemp(prefix="classroom-bench-", dir="/tmp"))
    os.chmod(work, 0o755)
    try:
        for n in names:
            ensure_user(n, False)
        ports = {}
        for n in names:
            user = pwd.getpwnam(n)
            joins = make_cgroups(n, 3 * 1024**3, 1.0)
            ports[n] = _port()
            argv = server_sandbox_argv(user, [user.pw_dir], [str(ROOT)])
            cmd = [*argv, sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={ports[n]}", "--IdentityProvider.token=bench", "--ServerApp.open_browser=False"]
            procs.append(subprocess.Popen(cmd, env=_env(user), preexec_fn=_joins(joins), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        for n in names:
            deadline = time.monotonic() + 180
            while True:
                with contextlib.suppress(OSError):
                    req = urllib.request.Request(f"http://127.0.0.1:{ports[n]}/api/status",
                                                 headers={"Authorization": "token bench"})
                    if urllib.request.urlopen(req, timeout=5).status == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{n}'s server did not answer in 180 s")
                time.sleep(1)
        time.sleep(20)  # idle
        idle = [_stat(n, "total_rss") for n in names]
        print(f"idle JupyterLab servers: {len(names)}; resident memory each (MiB): "
              + ", ".join(f"{x / MiB:.0f}" for x in idle) + f"; mean {sum(idle) / len(idle) / MiB:.0f} MiB")
        # one server runs notebook 01 at the smoke size (a papermill kernel in its sandbox and cgroup)
        n = names[0]
        user = pwd.getpwnam(n)
        d = _cgroup_dirs(n)["memory"]
        (d / "memory.max_usage_in_bytes").write_text("0")
        argv = server_sandbox_argv(user, [user.pw_dir], [str(ROOT)])
        t0 = time.monotonic()
        run = subprocess.run([*argv, sys.executable, "-m", "course_tools.cli", "run", "01_preprocessing",
                              "--profile", "smoke", "--source", str(ROOT / "source"), "--out", f"{user.pw_dir}/build"],
                             env=_env(user, {"PYTHONPATH": str(ROOT)}), preexec_fn=_joins(make_cgroups(n, None, None)),
                             capture_output=True, text=True, timeout=600)
        seconds = time.monotonic() - t0
        ok = run.returncode == 0 and any(Path(user.pw_dir, "build").rglob("*.ipynb"))
        print(f"notebook 01 (smoke) in {n}'s cgroup: {'ok' if ok else 'FAILED'} in {seconds:.0f} s; cgroup peak "
              f"{int((d / 'memory.max_usage_in_bytes').read_text()) / MiB:.0f} MiB (page cache included), "
              f"resident now {_stat(n, 'total_rss') / MiB:.0f} MiB")
        if not ok:
            print(run.stdout[-2000:], run.stderr[-2000:])
        return 0 if ok else 1
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                os.killpg(p.pid, signal.SIGKILL)
        for n in names:
            with contextlib.suppress(KeyError):
                uid = pwd.getpwnam(n).pw_uid
                for proc in Path("/proc").iterdir():
                    with contextlib.suppress(OSError, ValueError):
                        if proc.name.isdigit() and proc.stat().st_uid == uid:
                            os.kill(int(proc.name), signal.SIGKILL)
            time.sleep(0.5)
            subprocess.run(["userdel", "--remove", n], capture_output=True)
            for d in _cgroup_dirs(n).values():
                with contextlib.suppress(OSError):
                    d.rmdir()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
