"""``python -m benchmarks [--quick] [--only PART ...]``: measure the kit and write results.json / results.md.

Parts: ``matmul`` (this machine's matrix-multiply peak), ``training`` (Trainer vs pure loop vs Accelerate,
dynamic vs max_length padding, grouping by length: throughput, padding, peak memory, FLOP/s and its ratio to
the peak), ``notebooks`` (wall time of ``course run --profile smoke``), ``grading`` (seconds per submission,
sequential vs ``--jobs 2``). Each training variant runs in its own process (so peak memory is its own), the
variants are interleaved over ``--repeats`` rounds, and each figure is the median over rounds of a median over
timed steps after warm-up steps. Ratios are computed within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def matmul_peak(n: int = 1024, repeats: int = 10) -> dict:
    """Median FLOP/s of an n x n float32 matrix multiply (2 n^3 FLOPs) with torch's default threads."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return {"n": n, "flops_per_s": 2 * n**3 / statistics.median(times), "threads": torch.get_num_threads()}


def training(args) -> dict:
    from benchmarks.training import VARIANTS

    rounds: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for repeat in range(args.repeats):
        for variant in VARIANTS:
            steps, warmup = args.steps, args.warmup
            if variant == "loop_max_length_model":  # 512-token batches: ~10 s a step here, so fewer, once
                if repeat:
                    continue
                steps, warmup = max(2, args.steps // 5), 1
            cmd = [sys.executable, "-m", "benchmarks.training", variant, "--steps", str(steps),
                   "--warmup", str(warmup), "--batch-size", str(args.batch_size), "--examples",
                   str(args.examples)]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
            if out.returncode != 0:
                raise RuntimeError(f"{variant} failed:\n{out.stderr[-2000:]}")
            rounds[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    summary = {}
    for variant, results in rounds.items():
        summary[variant] = {k: statistics.median(r[k] for r in results) for k in results[0]
                            if isinstance(results[0][k], (int, float))}
    return summary


def where_the_time_goes(executed: Path, seconds: float, top: int = 3) -> dict:
    """Profile of one executed notebook from papermill's per-cell durations: the kernel's start-up and
    papermill's own work (wall time minus the cells) and the slowest cells."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    cells = [(c.metadata.get("papermill", {}).get("duration") or 0.0,
              c.source.strip().splitlines()[0][:60].replace("|", "/").replace("`", "'"))
             for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    in_cells = sum(d for d, _ in cells)
    return {"cells_s": in_cells, "startup_and_papermill_s": max(0.0, seconds - in_cells),
            "slowest": [[round(d, 2), first] for d, first in sorted(cells, reverse=True)[:top]]}


def notebooks(args) -> dict:
    times: dict[str, list[float]] = {}
    profiles = {}
    for _ in range(args.notebook_repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "course_tools.cli", "run", "--profile", "smoke", "--out", tmp]
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
            total = time.perf_counter() - start
            summary = json.loads((Path(tmp) / "summary.json").read_text())
            for r in summary["results"]:
                if r["status"] == "ok":
                    profiles[r["notebook"]] = where_the_time_goes(Path(r["output"]), r["seconds"])
        for r in summary["results"]:
            times.setdefault(r["notebook"], []).append(r["seconds"] if r["status"] == "ok" else float("nan"))
        times.setdefault("all notebooks (course run)", []).append(total)
    return {"seconds": {k: statistics.median(v) for k, v in times.items()}, "profile": profiles}


# Variants of `course grade` measured side by side: (key, sandbox, warm kernels, engine, with these --jobs).
# (name, sandboxed, warm kernels, engine, with --jobs): the engine's workers keep warm kernels of their own
GRADING_VARIANTS = (("warm", True, True, None, (1, 2)), ("cold", True, False, None, (1, 2)),
                    ("no-sandbox", False, False, None, (1, 2)), ("dask", True, True, "dask", (2,)))


class PeakTreeRss:
    """Peak resident memory of this process's descendants (workers, kernels, zygotes, Dask workers), sampled
    every 0.2 s while the block runs."""

    def __enter__(self):
        import threading

        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for proc in me.children(recursive=True):
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 1e6


def with_grading_parameters(nb_path: Path) -> None:
    """Set the notebook's ``parameters`` cell to the grading profile's hyperparameters (what `course grade`'s
    repair step does; plain nbgrader would otherwise run the notebook at the cpu profile's values)."""
    import nbformat

    from course.profiles import PROFILES, grading_profile_name, notebook_parameters, parameterize_notebook

    nb = nbformat.read(nb_path, as_version=4)
    name = grading_profile_name()
    parameterize_notebook(nb, notebook_parameters(PROFILES[name]), profile=name)
    nbformat.write(nb, nb_path)


def plain_nbgrader(subs: Path, tmp: Path, assignments: list[str]) -> dict:
    """The same submissions graded by plain `nbgrader autograde` (one assignment after the other, in a copy of
    the course with its nbgrader_config.py: hidden tests in the student's kernel, no sandbox, no parallelism)."""
    course = tmp / "plain-nbgrader"
    course.mkdir()
    shutil.copytree(ROOT / "source", course / "source")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(subs, course / "submitted")
    for nb_path in (course / "submitted").glob("*/*/*.ipynb"):  # the grading profile's hyperparameters, as
        with_grading_parameters(nb_path)                         # `course grade` sets them
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for a in assignments:  # the gradebook's assignment definitions (course grade's templates)
        subprocess.run([*nbgrader, "generate_assignment", a, "--force"], cwd=course, env=env, check=True,
                       capture_output=True)
    n = sum(1 for _ in (course / "submitted").glob("*/*"))
    with PeakTreeRss() as rss:
        start = time.perf_counter()
        for a in assignments:
            subprocess.run([*nbgrader, "autograde", a, "--force", "--create"], cwd=course, env=env, check=True,
                           capture_output=True)
        seconds = time.perf_counter() - start
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        full = sum(1 for a in assignments for sub in gb.assignment_submissions(a)
                   if sub.code_score == sub.max_code_score)  # every autograded test passed
    return {"seconds": seconds, "submissions": n, "graded": full, "variant": "plain nbgrader autograde",
            "seconds_per_submission": seconds / n, "seconds_per_student_all_assignments": seconds / max(
                1, len({p.parent.name for p in (course / "submitted").glob("*/*")})),
            "peak_rss_mb": rss.mb, "rss_per_job_mb": rss.mb}

# Grades one student's solutions with the autograder of the checkout ROOT (argv[1]) and prints one JSON line:
# how a baseline checkout (an older commit, `--grading-baseline`) is measured in the same run.
BASELINE_SCRIPT = """
import json, sys, tempfile, time
from pathlib import Path
root, jobs = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, str(root))
from autograder.catalogue import solution_notebook, write_nbgrader_layout
from autograder.config import discover_assignments, notebooks_of
from autograder.grade import grade
with tempfile.TemporaryDirectory() as tmp:
    for a in discover_assignments(root):
        write_nbgrader_layout(Path(tmp) / "s", "student0", a,
                              {n: solution_notebook(root, a, n) for n in notebooks_of(root, a)})
    start = time.perf_counter()
    run = grade(Path(tmp) / "s", Path(tmp) / "out", jobs=jobs, course_root=root, progress=False)
    seconds = time.perf_counter() - start
    from autograder.config import course_id, load_course_config
    from autograder.gradebook import scores
    rows = scores(run.gradebook, course_id(load_course_config(root)))
    print(json.dumps({"seconds": seconds, "submissions": len(run.outcomes),  # graded: with full marks
                      "graded": sum(r["auto_score"] >= r["auto_max"] for r in rows if r["submitted"])}))
"""


def full_marks(run, n: int, variant: str) -> int:
    """How many of the run's submissions got full marks; a run in which not all ``n`` did timed something else
    (a grader that saw no data grades fast): it is reported as broken, never timed."""
    from autograder.config import course_id, load_course_config
    from autograder.gradebook import scores

    rows = [r for r in scores(run.gradebook, course_id(load_course_config(ROOT))) if r["submitted"]]
    full = sum(r["auto_score"] >= r["auto_max"] for r in rows)
    if full < n:
        wrong = [f"{r['assignment']}: {r['auto_score']:g}/{r['auto_max']:g}" for r in rows
                 if r["auto_score"] < r["auto_max"]]
        raise RuntimeError(f"{variant}: only {full} of {n} solutions got full marks ({'; '.join(wrong)}): the run is "
                           "broken, so its time is not reported")
    return full


def grading(args) -> dict:
    from autograder.catalogue import solution_notebook, write_nbgrader_layout
    from autograder.config import discover_assignments, notebooks_of
    from autograder.grade import grade

    assignments = discover_assignments(ROOT)
    if args.assignments:
        unknown = set(args.assignments) - set(assignments)
        if unknown:
            raise SystemExit(f"--assignments: no such assignment {sorted(unknown)}; the course has {assignments}")
        assignments = [a for a in assignments if a in args.assignments]
    if args.quick:
        assignments = assignments[:1]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "submitted"
        for s in range(args.students):
            for a in assignments:
                write_nbgrader_layout(subs, f"student{s}", a,
                                      {n: solution_notebook(ROOT, a, n) for n in notebooks_of(ROOT, a)})
        n = args.students * len(assignments)
        # side by side, interleaved: the differences between neighbouring runs are the costs and savings
        for jobs in (1, 2):
            if args.grading_baseline:
                proc = subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, str(args.grading_baseline), str(jobs)],
                                      capture_output=True, text=True, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                if r["graded"] < r["submissions"]:
                    raise RuntimeError(f"baseline {args.grading_baseline}: {r['graded']} of {r['submissions']} "
                                       "solutions got full marks: not timed")
                results[f"jobs={jobs},baseline"] = {**r, "seconds_per_submission": r["seconds"] / r["submissions"],
                                                    "seconds_per_student_all_assignments": r["seconds"],
                                                    "variant": f"baseline {args.grading_baseline}"}
            if jobs == 1 and "plain-nbgrader" in args.variants:  # plain nbgrader grades one at a time
                results["jobs=1,plain-nbgrader"] = plain_nbgrader(subs, Path(tmp), assignments)
            for name, sandbox, warm, engine, with_jobs in GRADING_VARIANTS:
                if jobs not in with_jobs or name not in args.variants:
                    continue
                key = f"jobs={jobs},{name}"
                with PeakTreeRss() as rss:
                    start = time.perf_counter()
                    run = grade(subs, Path(tmp) / key, jobs=jobs, course_root=ROOT, progress=False,
                                sandbox=sandbox, warm_kernels=warm, engine=engine)
                    seconds = time.perf_counter() - start
                graded = full_marks(run, n, key)
                results[key] = {"seconds": seconds, "template_seconds": run.template_seconds,
                                "submissions": n, "graded": graded, "sandbox": sandbox,
                                "kernels": run.kernels, "variant": name, "seconds_per_submission": seconds / n,
                                "seconds_per_student_all_assignments": seconds / args.students,
                                "peak_rss_mb": rss.mb, "rss_per_job_mb": rss.mb / jobs}
                if jobs == 1 and name == "warm":  # where the time goes, per submission: the worker's phases
                    # (autograde = nbgrader executing the notebook, split into its parts), the rest is the
                    # worker process starting and importing
                    results["phases"] = {
                        o.assignment: {"seconds": o.seconds, **o.phases,
                                       **{f"part_{k}": v for k, v in o.autograde_parts.items()},
                                       "worker_startup": o.seconds - sum(v for k, v in o.phases.items()
                                                                         if k != "start_worker")}
                        for o in run.outcomes if o.student == "student0"}
    results["assignments"] = assignments
    return results


def markdown(results: dict) -> str:
    lines = [f"# Benchmarks ({results['machine']})", "", f"Run {results['date']}; `python -m benchmarks"
             f"{' --quick' if results['quick'] else ''}`.", ""]
    measured = results.get("measured", {})
    if len(set(measured.values())) > 1:  # parts kept from earlier runs (--only) say when they were measured
        lines += ["Measured: " + "; ".join(f"{part} {when}" for part, when in measured.items()) + ".", ""]
    if "matmul" in results:
        m = results["matmul"]
        lines += [f"Matrix-multiply peak: {m['flops_per_s'] / 1e9:.1f} GFLOP/s (float32, {m['n']}x{m['n']}, "
                  f"{m['threads']} threads).", ""]
    for part, render in (("training", _training_md), ("notebooks", _notebooks_md), ("grading", _grading_md)):
        if part in results:
            lines += render(results)
    return "\n".join(lines)


def _training_md(results: dict) -> list[str]:
    """The training throughput table."""
    lines: list[str] = []
    t = results["training"]
    peak = results.get("matmul", {}).get("flops_per_s")
    lines += ["## Training throughput (MRPC, same model, data and batch size)", "",
              "| variant | examples/s | real tokens/s | padding share | step (median s) | peak RSS MB | "
              "GFLOP/s | of matmul peak |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in t.items():
        ratio = f"{r['flops_per_s'] / peak:.0%}" if peak else "-"
        lines.append(f"| {name} | {r['examples_per_s']:.1f} | {r['tokens_per_s']:.0f} | "
                     f"{r['padding_share']:.2f} | {r['median_step_s']:.3f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['flops_per_s'] / 1e9:.1f} | {ratio} |")
    loop, trainer = t["loop"]["examples_per_s"], t["trainer"]["examples_per_s"]
    lines += ["", f"Pure loop / Trainer: {loop / trainer:.2f}x (with the course's unfused AdamW: "
              f"{t['loop_foreach']['examples_per_s'] / trainer:.2f}x); Accelerate / Trainer: "
              f"{t['accelerate']['examples_per_s'] / trainer:.2f}x; dynamic / max_length padding: "
              f"{loop / t['loop_max_length']['examples_per_s']:.2f}x (max_length 128), "
              f"{loop / t['loop_max_length_model']['examples_per_s']:.2f}x (the tokenizer's maximum); "
              f"bf16 autocast / fp32 loop: {t['loop_bf16']['examples_per_s'] / loop:.2f}x; "
              f"group_by_length / in order: {t['trainer_group_by_length']['examples_per_s'] / trainer:.2f}x.", ""]
    return lines


def _notebooks_md(results: dict) -> list[str]:
    """Where the smoke run's time goes."""
    lines: list[str] = []
    nbs = results["notebooks"]
    lines += ["## `course run --profile smoke`: where the time goes", "",
              "| notebook | seconds | kernel start-up + papermill | in cells | slowest cells (s) |",
              "|---|---:|---:|---:|---|"]
    for k, v in nbs["seconds"].items():
        p = nbs["profile"].get(k)
        extra = (f"{p['startup_and_papermill_s']:.1f} | {p['cells_s']:.1f} | "
                 + "; ".join(f"{d:.1f} `{first}`" for d, first in p["slowest"]) if p else " | | ")
        lines.append(f"| {k} | {v:.1f} | {extra} |")
    lines.append("")
    return lines


def _grading_md(results: dict) -> list[str]:
    """The grading table, the sandbox's cost and where a submission's time goes."""
    lines: list[str] = []
    g = results["grading"]
    lines += ["## Grading (solutions of " + ", ".join(g["assignments"]) + ")", "",
              "Seconds include making the templates (about 3.5 s per assignment) where they were not cached "
              "(`--no-sandbox` never caches them). Measured in one run, interleaved: warm = sandboxed kernels "
              "forked from the run's zygote (the default), cold = sandboxed kernels that start Python and "
              "import everything themselves, no-sandbox = `--no-sandbox` (cold), dask = `--engine dask` (a "
              "local Dask cluster of --jobs workers, each forking warm sandboxed kernels from its own zygote), "
              "plain nbgrader autograde = `nbgrader autograde` of each assignment in turn (hidden tests in the "
              "kernel, no sandbox; its templates made beforehand, not counted; the grading profile's "
              "hyperparameters put in the parameters cell, as `course grade` does), baseline = another "
              "checkout of the autograder. Graded = submissions with full marks. Memory: the peak resident "
              "memory of "
              "all grading processes together (workers, kernels, zygotes), and that divided by --jobs.", "",
              "| jobs | variant | submissions | graded | seconds | s/submission | s/student (all assignments) | "
              "peak MB | MB per job |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k, r in g.items():
        if not k.startswith("jobs="):
            continue
        lines.append(f"| {k[5]} | {r.get('variant', k[7:])} | {r['submissions']} | "
                     f"{r['graded']} | {r['seconds']:.1f} | {r['seconds_per_submission']:.1f} | "
                     f"{r['seconds_per_student_all_assignments']:.1f} | {r.get('peak_rss_mb', 0):.0f} | "
                     f"{r.get('rss_per_job_mb', 0):.0f} |")
    per_student = [f"{r['seconds_per_student_all_assignments']:.1f} s {k[7:]} with {k[5]} job(s)"
                   for k, r in g.items() if k.startswith("jobs=")]
    if per_student:
        lines += ["", f"One student's {len(g['assignments'])} assignments, in this run: "
                  + ", ".join(per_student) + "."]
    for jobs in (1, 2):
        warm, cold, off = (g.get(f"jobs={jobs},{v}") for v in ("warm", "cold", "no-sandbox"))
        if cold and off:
            n = cold["submissions"]

            def net(r):  # without making the templates: cached when sandboxed, never with --no-sandbox
                return r["seconds"] - r.get("template_seconds", 0.0)

            line = (f"\nWith {jobs} job(s), templates excluded: the sandbox costs "
                    f"{(net(cold) - net(off)) / n:+.2f} s per submission (cold sandboxed vs no sandbox)")
            if warm:
                line += (f"; warm kernels and workers save {(net(cold) - net(warm)) / n:.2f} s per submission, "
                         f"so the default (sandboxed, warm) costs {(net(warm) - net(off)) / n:+.2f} s against no "
                         "sandbox")
            lines.append(line + ".")
    if g.get("phases"):
        lines += ["", "Where one submission's grading time goes (jobs=1, sandboxed, warm kernels, seconds; the "
                  "parent makes the feedback; kernel = the student's cells and visible tests, judges = the hidden "
                  "parts run by the grader, questions to the kernel included):",
                  "", "| assignment | total | worker start-up | prepare | autograde | of which sandbox set-up | "
                  "of which kernel cells | of which judges | questions | read grades |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for a, p in g["phases"].items():
            lines.append(f"| {a} | {p['seconds']:.1f} | {p['worker_startup']:.1f} | {p.get('prepare', 0):.1f} | "
                         f"{p.get('autograde', 0):.1f} | "
                         f"{p.get('part_sandbox_setup', 0):.3f} | {p.get('part_kernel_cells', 0):.1f} | "
                         f"{p.get('part_judges', 0):.1f} | {p.get('part_probes', 0):.0f} | "
                         f"{p.get('read_grades', 0):.1f} |")
        setups = [p["part_sandbox_setup"] for p in g["phases"].values() if "part_sandbox_setup" in p]
        if setups:
            lines += ["", f"The sandbox's own cost per submission (bwrap building the namespaces, mounts and uid "
                      f"around a warm kernel, measured in the worker): {sum(setups) / len(setups):.3f} s on "
                      f"average, {max(setups):.3f} s at most."]
    lines.append("")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the suite runs")
    parser.add_argument("--only", nargs="*", choices=["matmul", "training", "notebooks", "grading"],
                        help="measure these parts; the other parts of an existing results.json are kept")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--assignments", nargs="*", metavar="ASSIGNMENT",
                        help="grading: these assignments only (default: all of the course's)")
    variants = ["plain-nbgrader", *(v[0] for v in GRADING_VARIANTS)]
    parser.add_argument("--variants", nargs="*", choices=variants, default=variants,
                        help="grading: these ways of grading only (default: all)")
    parser.add_argument("--grading-baseline", type=Path, metavar="CHECKOUT",
                        help="also grade with the autograder of this checkout (e.g. a `git worktree` of an older "
                             "commit), in the same run")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.json and results.md")
    args = parser.parse_args(argv)
    args.steps, args.warmup = (3, 1) if args.quick else (20, 3)
    args.batch_size, args.examples = (8, 64) if args.quick else (16, 1024)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.notebook_repeats, args.students = 1, 1  # one student: the time an instructor waits for them
    parts = args.only or ["matmul", "training", "notebooks", "grading"]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = {}
    previous = args.out / "results.json"
    if args.only and previous.is_file():  # --only re-measures some parts and keeps the others
        results = json.loads(previous.read_text())
    results.update({"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "quick": args.quick,
                    "date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version()})
    for part in parts:
        print(f"benchmark: {part} ...", flush=True)
        results[part] = {"matmul": lambda: matmul_peak(), "training": lambda: training(args),
                         "notebooks": lambda: notebooks(args), "grading": lambda: grading(args)}[part]()
        results.setdefault("measured", {})[part] = time.strftime("%Y-%m-%d %H:%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
