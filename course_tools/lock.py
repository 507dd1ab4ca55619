"""``requirements.lock``: the versions the course was tested with, which ``bootstrap.sh`` and ``environment.yml``
install, so every student of a class gets the same libraries.

``course lock`` regenerates it with pip-tools' ``pip-compile`` from ``pyproject.toml`` (every extra), with torch
held at ``bootstrap.sh``'s pin; ``course drift`` (:mod:`course_tools.drift`) says what the newest releases would move
it to, and whether the course still works with them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK = REPO_ROOT / "requirements.lock"
BOOTSTRAP = REPO_ROOT / "bootstrap.sh"


# Releases held back in the lock, with why: the lock must install on every Python that pyproject.toml allows
# (>=3.11; Debian 12 has 3.11.2), and these releases need a newer one (tests/test_packaging.py checks each pin).
HOLDS = {"soupsieve": "<3.0.2"}  # 3.0.2 and later need Python 3.11.5 (soupsieve: beautifulsoup4 <- nbconvert)


class LockError(Exception):
    """The lock is missing or unreadable; the message says what to do."""


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a lock (local labels such as ``+cpu``
    dropped, so the lock reads the same whichever build of torch was resolved)."""
    if not path.is_file():
        raise LockError(f"{path} is missing: run `course lock` (pip-tools) to write it.")
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        spec = next(iter(req.specifier), None)
        if spec is None or spec.operator != "==" or len(req.specifier) != 1:
            raise LockError(f"{path}: {line!r} is not pinned with ==: run `course lock` again.")
        pins[canonicalize_name(req.name)] = spec.version.split("+", 1)[0]
    return pins


def torch_pin(path: Path = BOOTSTRAP) -> str:
    """The torch version ``bootstrap.sh`` installs by default (``TORCH_SPEC``'s default)."""
    found = re.search(r"TORCH_PIN=\"?torch==([\w.]+)", path.read_text())
    if not found:
        raise LockError(f"{path} names no TORCH_PIN=torch==VERSION.")
    return found.group(1)


def compile_command(output: Path, constraint: Path) -> list[str]:
    """The pip-compile command that writes the lock (also written into the lock's header)."""
    return [sys.executable, "-m", "piptools", "compile", "--quiet", "--extra", "offline", "--extra", "dev",
            "--strip-extras", "--allow-unsafe", "--no-emit-index-url", "--no-emit-find-links",
            "--constraint", str(constraint), "--output-file", str(output), "pyproject.toml"]


def write_lock(output: Path = LOCK, upgrade: bool = False) -> Path:
    """Resolve ``pyproject.toml`` with every extra into ``output`` with pip-compile (torch held at bootstrap.sh's
    pin); a lock already there is kept where it satisfies pyproject.toml unless ``upgrade``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        constraint = Path(tmp) / "torch.txt"
        constraint.write_text(f"torch=={torch_pin()}\n" + "".join(f"{n}{spec}\n" for n, spec in HOLDS.items()))
        cmd = compile_command(output, constraint) + (["--upgrade"] if upgrade else [])
        done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        if done.returncode:
            raise LockError(f"pip-compile failed (is pip-tools installed? pip install -e '.[dev]'):\n"
                            f"{done.stderr.strip()[-2000:]}")
    text = output.read_text()
    # the CPU build resolves as torch==X+cpu; the lock names the version, bootstrap.sh chooses the build
    text = re.sub(r"^(torch==[\w.]+)\+\w+$", r"\1", text, flags=re.M)
    # the header names the command to run again, not this run's temporary constraint file
    text = re.sub(r"--constraint=\S+ ", "", text)
    text = re.sub(r"-c \S+/torch\.txt", "-c course lock (torch's pin, course_tools.lock.HOLDS)", text)
    command = "#    course lock   (pip-compile of pyproject.toml; torch at bootstrap.sh's pin, course_tools.lock.HOLDS)"
    text = re.sub(r"^#    pip-compile .*$", command, text, count=1, flags=re.M)
    output.write_text(text)
    return output


def main(args) -> int:
    try:
        path = write_lock(args.output or LOCK, upgrade=args.upgrade)
    except LockError as exc:
        print(f"course lock: {exc}", file=sys.stderr)
        return 2
    pins = read_lock(path)
    print(f"course lock: {len(pins)} packages pinned in {path} (torch {pins.get('torch')}, transformers "
          f"{pins.get('transformers')}, datasets {pins.get('datasets')}).")
    return 0
