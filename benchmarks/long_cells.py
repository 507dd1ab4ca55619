"""``python -m benchmarks.long_cells``: the cells over 30 s in the ``cpu`` profile, and the "Time:" notes about them.

    python -m benchmarks.long_cells measure               # course run --profile cpu, then write the JSON
    python -m benchmarks.long_cells measure --from build  # the per-cell durations of notebooks already executed
    python -m benchmarks.long_cells notes                 # rewrite the notes in source/ from the JSON
    python -m benchmarks.long_cells notes --check         # exit 1 when a note is missing, stale or misplaced

The measurement (``benchmarks/cpu_long_cells.json``) is papermill's duration of each cell in the executed
notebooks, with the machine it ran on (cores, load). Each note is a markdown cell of its own (id
``time-<cell id>``) immediately above the slow cell, written from that measurement: never edit one by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ROOT / "benchmarks" / "cpu_long_cells.json"
SOURCE = ROOT / "source"
THRESHOLD_S = 30
NOTE = re.compile(r"^\*\*Time:\*\* the next code cell takes about .*$", re.M)


def long_cells(build: Path, threshold: float = THRESHOLD_S) -> dict[str, dict[str, float]]:
    """``{assignment: {cell id: seconds}}`` of the cells papermill timed over ``threshold`` in ``build``."""
    found: dict[str, dict[str, float]] = {}
    for path in sorted(build.glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            seconds = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0
            if cell.cell_type == "code" and seconds > threshold:
                found.setdefault(path.parent.name, {})[cell.id] = round(float(seconds), 1)
    return found


def measure(build: Path | None) -> dict:
    """Run the cpu profile (unless ``build`` holds executed notebooks already) and write the JSON."""
    how = "papermill's per-cell durations"
    load = os.getloadavg()[0]
    if build is None:
        from course_tools.runner import run

        build = Path(tempfile.mkdtemp(prefix="long-cells-")) / "build"
        start = time.time()
        if run(profile="cpu", out_dir=build, estimate=False):
            raise SystemExit(f"the cpu run failed: see {build}")
        how += f" of `course run --profile cpu` ({(time.time() - start) / 60:.0f} min)"
        load = max(load, os.getloadavg()[1])
    else:
        how += f" of the notebooks executed in {build}"
    cores = os.cpu_count() or 1
    data = {"how": how, "date": time.strftime("%Y-%m-%d"), "cores": cores, "load": round(load, 1),
            "shared": load >= 0.5 * cores, "seconds": long_cells(build)}
    MEASURED.write_text(json.dumps(data, indent=1) + "\n")
    return data


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60))} minute{'s' if round(seconds / 60) > 1 else ''}"


def note_text(seconds: float, data: dict) -> str:
    """The note above a cell that took ``seconds``: what a student waits, and on what machine it was measured."""
    machine = f"{data.get('cores', '?')} CPU cores" + (" shared with other work" if data.get("shared") else "")
    return (f"**Time:** the next code cell takes about {_minutes(seconds)} in the `cpu` profile (measured "
            f"{seconds:.0f} s on {machine}, {data.get('date', 'date unknown')}); seconds in the `smoke` profile.")


def _notebook(assignment: str) -> Path:
    return next((SOURCE / assignment).glob("*.ipynb"))


def write_notes(data: dict, check: bool = False) -> list[str]:
    """Put each measured cell's note in a markdown cell of its own right above it, and take every other "Time:"
    note out. Returns what changed (with ``check``: what would change, nothing written)."""
    changes = []
    notebooks = sorted({p.parent.name for p in SOURCE.glob("*/*.ipynb")})
    for assignment in notebooks:
        path = _notebook(assignment)
        nb = nbformat.read(path, as_version=4)
        measured = data["seconds"].get(assignment, {})
        cells = []
        for cell in nb.cells:
            if cell.cell_type == "markdown" and NOTE.search(cell.source):
                kept = NOTE.sub("", cell.source).strip("\n")
                kept = re.sub(r"\n{3,}", "\n\n", kept)
                if cell.id.startswith("time-") or not kept:
                    continue  # a note cell of its own: written again below, above its cell
                cell.source = kept
            if cell.cell_type == "code" and cell.id in measured:
                note = nbformat.v4.new_markdown_cell(note_text(measured[cell.id], data))
                note.id = f"time-{cell.id}"
                cells.append(note)
            cells.append(cell)
        missing = set(measured) - {c.id for c in cells}
        if missing:
            raise SystemExit(f"{assignment}: measured cells {sorted(missing)} are gone: measure again.")
        before = nbformat.writes(nbformat.read(path, as_version=4))
        nb.cells = cells
        after = nbformat.writes(nb)
        if after != before:
            changes.append(assignment)
            if not check:
                path.write_text(after if after.endswith("\n") else after + "\n")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.long_cells", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="time the cells of the cpu profile and write the JSON, then the notes")
    m.add_argument("--from", dest="build", type=Path, default=None, help="a folder of executed notebooks")
    n = sub.add_parser("notes", help="rewrite the notes from the JSON")
    n.add_argument("--check", action="store_true", help="only say what would change (exit 1 if anything)")
    args = parser.parse_args(argv)
    if args.command == "measure":
        data = measure(args.build)
        print(f"{MEASURED}: {sum(len(c) for c in data['seconds'].values())} cells over {THRESHOLD_S} s")
    else:
        data = json.loads(MEASURED.read_text())
    changed = write_notes(data, check=getattr(args, "check", False))
    print(("would change: " if getattr(args, "check", False) else "notes rewritten in: ") + (", ".join(changed) or
                                                                                             "nothing"))
    return 1 if changed and getattr(args, "check", False) else 0


if __name__ == "__main__":
    sys.exit(main())
