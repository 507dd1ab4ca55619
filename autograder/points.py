"""Points as students see them: each exercise's heading says what it is worth, the introduction the total.

An exercise is a markdown heading ``### Exercise ...``, ``### Bonus exercise ...``, ``### Written answer``
or ``### Quiz``; its points are those of the graded cells (nbgrader ``points``) up to the next such heading.
``course release`` keeps the headings as the source has them; ``tests/test_notebooks.py`` checks that they
agree with the metadata, so a changed ``points`` value cannot leave a stale heading behind.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

import nbformat

from .cells import is_grade, nbgrader_metadata

HEADING = re.compile(r"^### (Exercise|Bonus exercise|Written answer|Quiz)\b")
POINTS = re.compile(r" — (?:\d+(?:\.\d+)? points?(?:, graded by a person)?|not graded)$")
INTRO_MARK = "**Points:**"


def _points(cell) -> float:
    return float(nbgrader_metadata(cell).get("points") or 0) if is_grade(cell) else 0.0


def _is_manual(cell) -> bool:
    return is_grade(cell) and cell.cell_type == "markdown"


def exercise_points(nb) -> dict[int, tuple[float, bool]]:
    """{index of the heading cell: (points, graded by a person)} for every exercise heading of ``nb``."""
    found: dict[int, tuple[float, bool]] = {}
    current = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and any(HEADING.match(line) for line in cell.source.split("\n")):
            current = index
            found[current] = (0.0, False)
        if current is not None and _points(cell):
            points, manual = found[current]
            found[current] = (points + _points(cell), manual or _is_manual(cell))
    return found


def _number(points: float) -> str:
    return f"{points:g}"


def heading_with_points(line: str, points: float, manual: bool) -> str:
    """``### Exercise 2: the Trainer — 3 points`` (an older suffix is replaced)."""
    line = POINTS.sub("", line.rstrip())
    if not points:
        return f"{line} — not graded"
    unit = "point" if points == 1 else "points"
    return f"{line} — {_number(points)} {unit}" + (", graded by a person" if manual else "")


def heading_points(line: str) -> tuple[float, bool] | None:
    """The points a heading states (None if it states none)."""
    if line.rstrip().endswith(" — not graded"):
        return 0.0, False
    match = re.search(r" — (\d+(?:\.\d+)?) points?(, graded by a person)?$", line.rstrip())
    return (float(match.group(1)), bool(match.group(2))) if match else None


def total_points(nb) -> tuple[float, float]:
    """(points graded automatically, points graded by a person) of the whole notebook."""
    auto = sum(_points(c) for c in nb.cells if not _is_manual(c))
    manual = sum(_points(c) for c in nb.cells if _is_manual(c))
    return auto, manual


def intro_points_line(nb) -> str:
    """The sentence of the introduction that states the notebook's points and how grading runs it."""
    auto, manual = total_points(nb)
    parts = f"{_number(auto + manual)} in all"
    if manual:
        parts += f": {_number(auto)} graded automatically, {_number(manual)} by a person (the written answer)"
    return textwrap.fill(
        f"{INTRO_MARK} {parts}; each exercise's heading says what it is worth. Grading runs your whole notebook "
        "again, from the top, at the small `grading` size (a few dozen examples, seconds per cell), so a cell that "
        "only works at the size you ran it with loses the points of the tests after it. Hidden tests check what "
        "your code computes, with data and models of their own.",
        width=110,
    )


def write_points(path) -> bool:
    """Rewrite the exercise headings and the introduction's points line of the notebook at ``path`` from its
    metadata; returns whether anything changed."""
    nb = nbformat.read(path, as_version=4)
    before = [c.source for c in nb.cells]
    for index, (points, manual) in exercise_points(nb).items():
        lines = nb.cells[index].source.split("\n")
        k = next(i for i, line in enumerate(lines) if HEADING.match(line))
        lines[k] = heading_with_points(lines[k], points, manual)
        nb.cells[index].source = "\n".join(lines)
    intro = nb.cells[0].source
    if INTRO_MARK in intro:
        intro = intro[: intro.index(INTRO_MARK)]
    nb.cells[0].source = intro.rstrip("\n") + "\n\n" + intro_points_line(nb)
    if [c.source for c in nb.cells] == before:
        return False
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    """``python -m autograder.points --write [NOTEBOOK ...]`` (default: every notebook of ``source/``)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.points", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the headings (otherwise: list them)")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path("source").glob("*/*.ipynb"))
    for path in paths:
        if args.write:
            print(f"{path}: {'updated' if write_points(path) else 'up to date'}")
        else:
            nb = nbformat.read(path, as_version=4)
            for index, (points, manual) in exercise_points(nb).items():
                print(f"{path} cell {index}: {points:g} point(s){' (by a person)' if manual else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
