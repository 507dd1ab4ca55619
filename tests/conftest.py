"""Shared fixtures: the repository root, the offline data mirror, an environment without surprises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("COURSE_DATA_DIR") or ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    if not (SHARED_DATA / "nyu-mll" / "glue").is_dir():
        pytest.fail(f"The course data mirror is missing at {SHARED_DATA}: set COURSE_DATA_DIR (see README).")
    return SHARED_DATA


@pytest.fixture
def offline(monkeypatch, mirror_dir):
    """Offline, with the mirror: what CI and this workplace look like."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror_dir))
    monkeypatch.delenv("COURSE_CHECKPOINT", raising=False)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return mirror_dir


def readme_commands() -> dict[str, str]:
    """The commands of README.md's "On a fresh machine" section: setup, main job, tests, offline export."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```bash\n")[1:]]
    lines = [line.split("  #")[0].strip() for b in blocks for line in b.splitlines() if line.strip()]
    found = {
        "setup": next(c for c in lines if "bootstrap.sh" in c),
        "main": next(c for c in lines if c.startswith("course run")),
        "tests": next(c for c in lines if "pytest" in c),
        "offline": next(c for c in lines if c.startswith("export COURSE_DATA_DIR")),
    }
    return found



def copy_checkout(dest: Path) -> Path:
    """The checkout's files as a fresh clone has them (tracked, and untracked but not ignored), copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest
