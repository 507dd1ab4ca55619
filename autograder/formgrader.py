"""``course formgrader``: the instructor's JupyterLab on the graded course folder, with nbgrader's formgrader.

nbgrader 0.9 has no ``nbgrader formgrader`` command: formgrader is a Jupyter server extension, reached at
``/formgrader`` of a JupyterLab started where ``nbgrader_config.py`` says the course is. This command starts that
JupyterLab on ``--out`` (default: the course folder), on the loopback interface with a fresh token, prints the
formgrader URL once the server answers, and stops the server (and its kernels) on Ctrl-C or SIGTERM.

For an ``--out`` folder other than the course folder, formgrader must read the gradebook and autograded notebooks
there: a temporary Jupyter configuration folder (first on ``JUPYTER_CONFIG_PATH``) holds an ``nbgrader_config.py``
that loads the course's and sets ``CourseDirectory.root`` to the folder. Nothing is written into the folder itself.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import webbrowser
from pathlib import Path

START_SECONDS = 120


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _config_dir(tmp: Path, course_root: Path, folder: Path) -> Path:
    """A Jupyter configuration folder whose nbgrader_config.py is the course's, rooted at ``folder``."""
    conf = tmp / "jupyter-config"
    conf.mkdir()
    (conf / "nbgrader_config.py").write_text(
        '"""Written by `course formgrader`: the course\'s nbgrader settings, for its graded folder."""\n'
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(course_root / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n"
    )
    return conf


def answers(url: str, token: str) -> bool:
    try:
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def serve(folder: Path, course_root: Path, host: str = "127.0.0.1", port: int | None = None,
          open_browser: bool = False, out=sys.stdout) -> int:
    """Run JupyterLab with formgrader on ``folder`` until interrupted; returns its exit status."""
    folder, course_root = folder.resolve(), course_root.resolve()
    if not (folder / "gradebook.db").is_file():
        print(f"error: {folder} has no gradebook.db: run `course grade SUBMISSIONS --out {folder}` first",
              file=sys.stderr)
        return 1
    port = port or free_port(host)
    token = secrets.token_hex(24)
    base = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory(prefix="course-formgrader-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
        env["JUPYTER_RUNTIME_DIR"] = str(Path(tmp) / "runtime")
        if folder != course_root:
            paths = [str(_config_dir(Path(tmp), course_root, folder))]
            if os.environ.get("JUPYTER_CONFIG_PATH"):
                paths.append(os.environ["JUPYTER_CONFIG_PATH"])
            env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ip={host}", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        log = Path(tmp) / "jupyterlab.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        stop = {"asked": False}

        def on_signal(signum, frame):  # SIGTERM ends us as Ctrl-C does: the server goes down with us
            stop["asked"] = True
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            deadline = time.monotonic() + START_SECONDS
            while not answers(f"{base}/api/status", token):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-3000:]
                    print(f"error: JupyterLab did not start (exit {proc.poll()}):\n{tail}", file=sys.stderr)
                    return 1
                time.sleep(0.3)
            url = f"{base}/formgrader?token={token}"
            print(f"formgrader: {url}", file=out, flush=True)
            print(f"(JupyterLab on {folder}; Ctrl-C stops it)", file=out, flush=True)
            if open_browser:
                webbrowser.open(url)
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            stop_server(proc, base, token)


def stop_server(proc: subprocess.Popen, base: str, token: str, wait_s: float = 20) -> None:
    """The server's own shutdown (kernels first), then its process group by signal."""
    if proc.poll() is None:
        try:
            req = urllib.request.Request(f"{base}/api/shutdown", method="POST", data=b"",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).read()
        except OSError:
            pass
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

