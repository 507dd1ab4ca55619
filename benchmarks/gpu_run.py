"""``python -m benchmarks.gpu_run``: the whole course on one GPU, checked and measured in one run, into one JSON.

``benchmarks/gpu_run.sh`` runs it on the GPU machine after installing the carried wheels; the rehearsal
(``python -m benchmarks.gpu_rehearsal``) runs the same script on CPU; ``.github/workflows/gpu.yml`` runs this
driver on a self-hosted GPU runner. Parts, in this order (``--parts`` picks some):

* ``probe``: the device, torch and CUDA, and its matrix-multiply peak measured now (bf16 and fp32; 8192^3 on
  CUDA, 1024^3 on CPU), in a process of its own: this process never touches CUDA;
* ``grading``: the seven solutions graded by ``course grade`` (the grading profile, as for students), WITHOUT
  the bubblewrap sandbox: they are the instructor's own notebooks, and the GPU image has no bubblewrap (the JSON
  says so and whether bwrap would work here). Every autograded test must get its points, or the run is invalid;
* ``training``: the Trainer, notebook 4's pure loop and its Accelerate loop, each in fp32 and bf16
  (``benchmarks.training``, one process each, MiniLM on MRPC in the same order): examples/s, tokens/s, FLOP/s
  and its share of the bf16 matmul peak of the probe, peak CUDA memory, and a finite loss at every step;
* ``notebooks``: all seven notebooks with papermill in ``--profile`` (default ``gpu``), exactly as ``course
  run`` executes them (:func:`course_tools.runner.execute`): seconds, status, what each reports (MRPC accuracy / F1
  after 3 epochs, SST-2, Yelp), peak GPU memory in use (NVML, sampled) and peak RAM of the kernel.

The JSON (``OUT/gpu_run.json``) is rewritten after every step, so a run cut short still leaves what it
measured. ``valid`` is true only when every part that ran did what it should (full marks, every notebook ok,
finite losses); the exit status is 0 only then.
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
from importlib import metadata
from pathlib import Path

from benchmarks.__main__ import PeakTreeRss

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("probe", "grading", "training", "notebooks")
RESULT = "gpu_run.json"
# the packages whose versions the JSON records (and where each was imported from: the image or the carry)
PACKAGES = ("torch", "transformers", "accelerate", "huggingface-hub", "tokenizers", "safetensors", "numpy",
            "pandas", "pyarrow", "scikit-learn", "sentence-transformers", "datasets", "evaluate", "papermill",
            "nbclient", "nbformat", "ipykernel", "jupyter-client", "nbgrader", "sqlalchemy", "nvidia-ml-py")
NO_SANDBOX_WHY = ("the instructor's own solutions (trusted notebooks) are graded with --no-sandbox: the GPU "
                  "machine's image has no bubblewrap, and the run must be the same everywhere")


def probe(matmul_n: int | None = None, repeats: int = 10) -> dict:
    """The device and its matrix-multiply peak (FLOP/s, median of ``repeats`` after 3 warm-ups) per dtype."""
    import torch

    cuda = torch.cuda.is_available()
    found = {"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": cuda,
             "threads": torch.get_num_threads()}
    if cuda:
        props = torch.cuda.get_device_properties(0)
        found.update(device=torch.cuda.get_device_name(0), capability=list(torch.cuda.get_device_capability(0)),
                     memory_mb=props.total_memory / 1e6, multiprocessors=props.multi_processor_count,
                     bf16_supported=torch.cuda.is_bf16_supported(), cudnn=torch.backends.cudnn.version(),
                     tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    else:
        found.update(device=f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)")
    n = matmul_n or (8192 if cuda else 1024)
    from course.training import wait_for_gpu

    device = "cuda" if cuda else "cpu"
    peaks = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        wait_for_gpu()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            wait_for_gpu()
            times.append(time.perf_counter() - start)
        peaks[name] = 2 * n**3 / statistics.median(times)
        del a, b
    found["matmul"] = {"n": n, "repeats": repeats, "flops_per_s": peaks}
    return found


def package_versions(site: str | None) -> dict:
    """Installed version of each of :data:`PACKAGES` and whether it came from the carried wheels."""
    found = {}
    for name in PACKAGES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found[name] = None
            continue
        where = str(dist.locate_file(""))
        found[name] = {"version": dist.version,
                       "from": "carried" if site and where.startswith(site) else "installed"}
    return found


class PeakMemory(PeakTreeRss):
    """Peak RAM of this process's descendants (the kernel) and peak memory in use on GPU 0 (NVML), sampled every
    0.2 s while the block runs; ``gpu_mb`` counts from what was in use when the block began."""

    def __enter__(self):
        self.gpu_peak = self.gpu_base = None
        self._nvml = _nvml_handle()
        if self._nvml is not None:
            self.gpu_base = self.gpu_peak = _nvml_used(self._nvml)
        return super().__enter__()

    def _sample(self):
        import threading

        if self._nvml is not None:  # a second sampler beside the parent's RSS one
            def gpu():
                while not self._stop.wait(0.2):
                    self.gpu_peak = max(self.gpu_peak, _nvml_used(self._nvml))

            threading.Thread(target=gpu, daemon=True).start()
        super()._sample()

    @property
    def gpu_mb(self) -> float | None:
        return None if self.gpu_peak is None else (self.gpu_peak - self.gpu_base) / 1e6


def _nvml_handle():
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetHandleByIndex(0)
    except Exception:  # noqa: BLE001 - no NVIDIA driver (CPU), or no pynvml: no GPU figures
        return None


def _nvml_used(handle) -> int:
    import pynvml

    return pynvml.nvmlDeviceGetMemoryInfo(handle).used


class Run:
    """The JSON being built: parts, checks, and the time left."""

    def __init__(self, out: Path, budget_s: float | None):
        self.out, self.budget_s, self.start = out, budget_s, time.monotonic()
        self.data: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "checks": {}, "valid": None}

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def out_of_time(self) -> bool:
        return self.budget_s is not None and self.elapsed() > self.budget_s

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.data["checks"][name] = {"ok": bool(ok), "detail": detail}
        print(f"gpu_run: check {name}: {'ok' if ok else 'FAILED'} {detail}", flush=True)

    def save(self) -> None:
        checks = self.data["checks"].values()
        self.data["valid"] = bool(checks) and all(c["ok"] for c in checks)
        self.data["seconds"] = round(self.elapsed(), 1)
        tmp = self.out / (RESULT + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str) + "\n")
        tmp.replace(self.out / RESULT)


def run_probe(run: Run, args) -> None:
    code = f"import json; from benchmarks.gpu_run import probe; print(json.dumps(probe({args.matmul_n!r})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        run.data["probe"] = {"error": proc.stderr[-3000:]}
        run.check("probe", False, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
        return
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    run.data["probe"] = found
    peaks = found["matmul"]["flops_per_s"]
    run.check("probe", all(v > 0 for v in peaks.values()),
              f"{found['device']}: matmul peak {peaks['bf16'] / 1e12:.2f} TFLOP/s bf16, "
              f"{peaks['fp32'] / 1e12:.2f} TFLOP/s fp32 ({found['matmul']['n']}^3)")


def run_grading(run: Run, args) -> None:
    """Grade the seven solutions (``course grade --no-sandbox``) and check they get every autograded point."""
    from autograder.catalogue import solution_notebook, write_nbgrader_layout
    from autograder.config import discover_assignments, notebooks_of
    from autograder.grade import grade
    from autograder.outcome import Status
    from autograder.sandbox import sandbox_problem

    assignments = discover_assignments(ROOT)
    result = {"sandbox": False, "why": NO_SANDBOX_WHY, "bwrap_here": sandbox_problem() or "works",
              "jobs": args.grading_jobs, "profile": "grading", "assignments": {}}
    run.data["grading"] = result
    os.environ.pop("COURSE_PROFILE", None)  # grading runs the grading profile, as for every student
    with tempfile.TemporaryDirectory(prefix="gpu-grading-") as tmp:
        subs = Path(tmp) / "submitted"
        for a in assignments:
            solutions = {n: solution_notebook(ROOT, a, n) for n in notebooks_of(ROOT, a)}
            write_nbgrader_layout(subs, "instructor", a, solutions)
        with PeakMemory() as memory:
            start = time.perf_counter()
            graded = grade(subs, Path(tmp) / "out", jobs=args.grading_jobs, course_root=ROOT, progress=False,
                           sandbox=False, feedback=True)
            result["seconds"] = round(time.perf_counter() - start, 1)
        result.update(peak_rss_mb=round(memory.mb), peak_gpu_mb=memory.gpu_mb)
        for o in graded.outcomes:
            tests = [g for nb in o.notebooks.values() for g in nb["grades"].values() if g["kind"] != "manual"]
            manual = [g for nb in o.notebooks.values() for g in nb["grades"].values() if g["kind"] == "manual"]
            result["assignments"][o.assignment] = {
                "status": o.status.value, "seconds": o.seconds,
                "auto_score": sum(g["auto_score"] or 0 for g in tests), "auto_max": sum(g["max_score"] for g in tests),
                "manual_max": sum(g["max_score"] for g in manual), "failed_tests": o.failed_tests,
                **({"reason": o.reason} if o.reason else {})}
    scores = result["assignments"]
    short = [a for a, s in scores.items() if s["status"] != Status.OK.value or s["auto_score"] != s["auto_max"]
             or s["failed_tests"]]
    complete = set(scores) == set(assignments)
    run.check("grading_full_marks", complete and not short and bool(scores),
              f"{sum(s['auto_score'] for s in scores.values()):g}/{sum(s['auto_max'] for s in scores.values()):g} "
              f"autograded points over {len(scores)}/{len(assignments)} assignments in {result['seconds']:.0f} s"
              + (f"; short: {', '.join(short)}" if short else ""))


def run_training(run: Run, args) -> None:
    from benchmarks.training import PRECISION_VARIANTS

    peak = (run.data.get("probe") or {}).get("matmul", {}).get("flops_per_s", {})
    results = run.data.setdefault("training", {"steps": args.train_steps, "warmup": args.train_warmup,
                                               "examples": args.train_examples, "variants": {}})["variants"]
    for batch in args.train_batch_sizes:
        for variant in PRECISION_VARIANTS:
            key = f"{variant}@{batch}"
            if run.out_of_time():
                results[key] = {"skipped": "out of the time budget"}
                continue
            cmd = [sys.executable, "-m", "benchmarks.training", variant, "--steps", str(args.train_steps),
                   "--warmup", str(args.train_warmup), "--batch-size", str(batch), "--examples",
                   str(args.train_examples)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
            if proc.returncode != 0:
                results[key] = {"error": proc.stderr[-2000:]}
                run.check(f"training_{key}", False, proc.stderr.strip().splitlines()[-1] if proc.stderr else "")
                run.save()
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            for dtype, flops in peak.items():
                r[f"share_of_{dtype}_matmul_peak"] = r["flops_per_s"] / flops
            results[key] = r
            run.check(f"training_{key}", r["finite_losses"], f"{r['examples_per_s']:.1f} examples/s, "
                      f"{r['tokens_per_s']:.0f} tokens/s, loss {r['first_loss']:.3f} -> {r['last_loss']:.3f}")
            run.save()
    for batch in args.train_batch_sizes:  # bf16 against fp32, per way of training
        for way in ("trainer", "loop", "accelerate"):
            fp32, bf16 = results.get(f"{way}@{batch}", {}), results.get(f"{way}_bf16@{batch}", {})
            if "examples_per_s" in fp32 and "examples_per_s" in bf16:
                run.data["training"].setdefault("bf16_speedup", {})[f"{way}@{batch}"] = (
                    bf16["examples_per_s"] / fp32["examples_per_s"])


# What the notebooks report that the JSON's summary carries: (notebook folder, record) -> name.
METRICS = {("02_trainer", "accuracy"): "mrpc_trainer_accuracy", ("02_trainer", "train_seconds"): "mrpc_trainer_seconds",
           ("03_compute_metrics", "accuracy"): "mrpc_accuracy", ("03_compute_metrics", "f1"): "mrpc_f1",
           ("03_compute_metrics", "epochs"): "mrpc_epochs", ("04_training_loop", "loop_accuracy"): "mrpc_loop_accuracy",
           ("04_training_loop", "accelerate_accuracy"): "mrpc_accelerate_accuracy",
           ("05_sst2", "validation_accuracy"): "sst2_accuracy", ("05_sst2", "majority_share"): "sst2_majority_share",
           ("06_yelp", "accuracy"): "yelp_accuracy", ("06_yelp", "speedup_dynamic"): "yelp_dynamic_padding_speedup"}


def run_notebooks(run: Run, args) -> None:
    from course_tools.runner import execute, find_notebooks, markdown_table

    out = args.out / "notebooks"
    notebooks = find_notebooks(ROOT / "source", args.notebooks or None)
    part = run.data.setdefault("notebooks", {"profile": args.profile, "results": {}})
    results, done = part["results"], []
    # each notebook runs in a folder of its own outside OUT (notebook 7's early stopping saves a checkpoint:
    # 89 MB); only the executed notebook is kept in OUT
    work = Path(tempfile.mkdtemp(prefix="gpu-run-notebooks-"))
    for nb in notebooks:
        name = nb.parent.name
        if run.out_of_time():
            results[name] = {"status": "skipped", "error": "out of the time budget"}
            run.check(f"notebook_{name}", False, "not run: out of the time budget")
            continue
        print(f"gpu_run: {name} ({args.profile}) ...", flush=True)
        with PeakMemory() as memory:
            r = execute(nb, work, args.profile, timeout=None, progress=False)
        if Path(r.output).is_file():
            (out / name).mkdir(parents=True, exist_ok=True)
            r.output = str(shutil.copy2(r.output, out / name / nb.name))
        shutil.rmtree(work / name, ignore_errors=True)
        done.append(r)
        results[name] = {"status": r.status, "seconds": r.seconds, "error": r.error, "records": r.records,
                         "peak_gpu_mb": memory.gpu_mb, "peak_kernel_rss_mb": round(memory.mb)}
        for (folder, key), metric in METRICS.items():
            if folder == name and key in r.records:
                part.setdefault("metrics", {})[metric] = r.records[key]
        run.check(f"notebook_{name}", r.status == "ok", f"{r.seconds:.1f} s {r.error}")
        run.save()
    shutil.rmtree(work, ignore_errors=True)
    part["seconds_all"] = round(sum(r.seconds for r in done), 1)
    metrics = part.get("metrics", {})
    if metrics.get("mrpc_trainer_seconds"):  # notebook 2's Trainer: MRPC pairs per second of training
        from course.profiles import PROFILES
        from course.tasks import task

        profile = PROFILES[args.profile]
        pairs = (profile.train_size("mrpc") or task("mrpc").full_size[0]) * profile.epochs
        metrics["mrpc_trainer_examples_per_s"] = pairs / metrics["mrpc_trainer_seconds"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(markdown_table(done, args.profile))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "build" / "gpu-run"),
                        help="where gpu_run.json and the executed notebooks go (default: $OUT, else build/gpu-run)")
    parser.add_argument("--profile", default="gpu", help="the notebooks' profile (default: gpu)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to run (default: all)")
    parser.add_argument("--notebooks", nargs="*", help="assignment names or stems (default: all seven)")
    parser.add_argument("--carry", type=Path, default=None, help="the carried folder (its manifest goes in the JSON)")
    parser.add_argument("--site", default=None, help="where gpu_run.sh installed the carried wheels")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="start nothing new after this many seconds (what is left is marked skipped)")
    parser.add_argument("--grading-jobs", type=int, default=min(4, max(2, (os.cpu_count() or 2) // 4)),
                        help="submissions graded at once (default: a quarter of the CPUs, 2 to 4)")
    parser.add_argument("--train-batch-sizes", type=int, nargs="+", default=None,
                        help="batch sizes of the training comparison (default: the profile's batch size)")
    parser.add_argument("--train-steps", type=int, default=None, help="timed steps per variant (CUDA 40, CPU 4)")
    parser.add_argument("--train-warmup", type=int, default=None, help="untimed steps first (CUDA 5, CPU 1)")
    parser.add_argument("--train-examples", type=int, default=1024, help="MRPC pairs the variants draw from")
    parser.add_argument("--matmul-n", type=int, default=None, help="matrix size of the peak (CUDA 8192, CPU 1024)")
    args = parser.parse_args(argv)
    # torch.cuda.is_available() asks NVML instead of initialising CUDA, in this process and every one it starts
    # (the grader forks its workers from a process that has imported torch)
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    import torch

    from course.profiles import PROFILES
    from course_tools.runner import find_notebooks

    if args.profile not in PROFILES:
        parser.error(f"--profile must be one of {', '.join(PROFILES)}")
    if args.notebooks:
        find_notebooks(ROOT / "source", args.notebooks)  # an unknown name stops here, with the known ones
    cuda = torch.cuda.is_available()
    args.train_batch_sizes = args.train_batch_sizes or [PROFILES[args.profile].batch_size]
    args.train_steps = args.train_steps or (40 if cuda else 4)
    args.train_warmup = args.train_warmup or (5 if cuda else 1)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args.out, args.budget_s)
    site = str(Path(args.site).resolve()) if args.site else None
    run.data.update(
        command=" ".join([Path(sys.executable).name, "-m", "benchmarks.gpu_run", *(argv or sys.argv[1:])]),
        python=platform.python_version(), machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
        profile=args.profile, parts=args.parts, packages=package_versions(site),
        environment={k: os.environ.get(k) for k in ("COURSE_DATA_DIR", "COURSE_CHECKPOINT", "HF_HUB_OFFLINE",
                                                    "PYTORCH_NVML_BASED_CUDA_CHECK")},
        bwrap=shutil.which("bwrap"))
    if args.carry and (args.carry / "manifest.json").is_file():
        manifest = json.loads((args.carry / "manifest.json").read_text())
        run.data["carry"] = {k: manifest.get(k) for k in ("made", "carried_bytes", "checkpoint", "device_python")}
    run.save()
    steps = {"probe": run_probe, "grading": run_grading, "training": run_training, "notebooks": run_notebooks}
    for part in PARTS:
        if part not in args.parts:
            continue
        if run.out_of_time():
            run.data.setdefault("skipped", []).append(part)
            run.check(part, False, "not run: out of the time budget")
            continue
        print(f"gpu_run: {part} (at {run.elapsed():.0f} s)", flush=True)
        started = time.monotonic()
        try:
            steps[part](run, args)
        except Exception as exc:  # noqa: BLE001 - the JSON says what broke; the other parts still run
            import traceback

            run.data.setdefault("errors", {})[part] = traceback.format_exc()[-4000:] + (
                f"\nlog:\n{exc.log[-4000:]}" if isinstance(getattr(exc, "log", None), str) else "")
            run.check(part, False, f"{type(exc).__name__}: {exc}")
        run.data.setdefault("part_seconds", {})[part] = round(time.monotonic() - started, 1)
        run.save()
    print(f"gpu_run: {'VALID' if run.data['valid'] else 'NOT VALID'} after {run.elapsed():.0f} s; "
          f"{args.out / RESULT}", flush=True)
    return 0 if run.data["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
