"""What the kernel sandbox costs a kernel's start: ``python -m benchmarks.kernel_start [--repeats 3]``.

Starts a kernel, runs one cell, shuts it down: a plain jupyter_client ``KernelManager`` against the grader's
``SandboxedKernelManager``, ``--repeats`` times each. Before reporting a number it checks that each kernel ran the
cell right and that the sandboxed one really was contained (it cannot see the course's folder, the plain one can).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = f"import os\nprint(1 + 1, os.path.exists({str(ROOT / 'course')!r}))"


@dataclass(frozen=True)
class KernelRun:
    ready_s: float  # start, connect and run the cell
    total_s: float  # with the shutdown
    answer: str  # what the cell printed: "2 True" for a kernel that sees the course folder, "2 False" if not


def start_run_stop(manager_class, cwd: Path) -> KernelRun:
    start = time.perf_counter()
    km = manager_class(kernel_name="python3")
    km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    printed = []
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(PROBE, timeout=30, output_hook=lambda msg: printed.append(
            msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""))
        ready = time.perf_counter() - start
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    return KernelRun(ready, time.perf_counter() - start, "".join(printed).strip())


def measure(repeats: int = 3) -> dict[str, list[KernelRun]]:
    """``{"plain": [...], "sandboxed": [...]}``; raises when a kernel answered wrong or was not (un)contained."""
    from jupyter_client.manager import KernelManager

    from autograder.sandbox import SandboxedKernelManager

    expected = {"plain": "2 True", "sandboxed": "2 False"}
    with tempfile.TemporaryDirectory() as cwd:
        runs = {name: [start_run_stop(cls, Path(cwd)) for _ in range(repeats)]
                for name, cls in (("plain", KernelManager), ("sandboxed", SandboxedKernelManager))}
    for name, rs in runs.items():
        wrong = [r.answer for r in rs if r.answer != expected[name]]
        if wrong:
            raise RuntimeError(f"the {name} kernel printed {wrong[0]!r}, expected {expected[name]!r}: not timed")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernel_start", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = parser.parse_args(argv)
    runs = measure(args.repeats)
    if args.json:
        print(json.dumps({k: [asdict(r) for r in v] for k, v in runs.items()}, indent=1))
        return 0
    for name, rs in runs.items():
        ready = ", ".join(f"{r.ready_s:.2f}" for r in rs)
        total = ", ".join(f"{r.total_s:.2f}" for r in rs)
        print(f"{name:>9} kernel: start + one cell in {ready} s; with shutdown {total} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
