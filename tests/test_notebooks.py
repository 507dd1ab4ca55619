"""The source notebooks: clean, parametrised, valid nbgrader notebooks that run and report real numbers."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_checkout, readme_commands

from course.profiles import PROFILES

NOTEBOOKS = sorted((ROOT / "source").glob("*/*.ipynb"))
SMOKE = PROFILES["smoke"]


def test_every_notebook_is_numbered_released_and_has_a_catalogue():
    """A notebook is ``source/NN_name/<notebook>.ipynb`` with its release and its catalogue, nothing else."""
    assert NOTEBOOKS, "no notebook in source/"
    for path in NOTEBOOKS:
        assignment = path.parent.name
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", assignment), f"{assignment}: name it NN_topic (course order)"
        assert (ROOT / "release" / assignment / path.name).is_file(), f"{assignment}: run `course release`"
        assert (ROOT / "autograder" / "catalogues" / f"{assignment}.py").is_file(), \
            f"{assignment}: add its wrong answers and correct alternatives (autograder/catalogues/{assignment}.py)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_source_notebook_is_clean_and_gradable(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.id for c in code if c.outputs or c.execution_count], "source notebooks are committed without outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "profile" in params[0].source and "output_dir" in params[0].source
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert graded and answers
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    for c in answers:
        if c.cell_type == "code":
            assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
    autograded_tests = [c for c in graded if c.cell_type == "code"]
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in autograded_tests), "every test cell has hidden tests"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "today" in text.lower(), "each notebook says where today's API differs from the printed course"


# what the student types, as the course and the guide write it, where a notebook has more to check than
# :func:`_library_calls` (a notebook not named here needs no entry)
CANONICAL = {
    "01_preprocessing": ['load_dataset("nyu-mll/glue", "mrpc")'],
    "02_trainer": ['TrainingArguments(\n    "test-trainer",'],
    "03_compute_metrics": ['evaluate.load("glue", "mrpc")',
                           'TrainingArguments(\n    "test-trainer",\n    eval_strategy="epoch",'],
    "04_training_loop": ['evaluate.load("glue", "mrpc")', "AdamW(model.parameters(), lr=learning_rate"],
    "05_sst2": ['load_dataset("nyu-mll/glue", "sst2")'],
    "06_yelp": ['load_dataset("Yelp/yelp_review_full")', 'evaluate.load("accuracy")',
                'TrainingArguments(\n    "test_trainer",\n    eval_strategy="epoch",'],
    "07_learning_curves": ['TrainingArguments(\n        "test-trainer",\n        eval_strategy="epoch",',
                           "EarlyStoppingCallback(early_stopping_patience=2)", "gradient_accumulation_steps=4",
                           'lr_scheduler_type="cosine"'],
}
INDIRECT = ("run.dataset(", "metric_source(", "metric_dir(", "training_kwargs", "run.profile.learning_rate",
            "run.profile.batch_size", "run.profile.epochs")


CANONICAL_CALLS = ("load_dataset", "evaluate.load", "TrainingArguments")


def _library_calls(code: str) -> list[tuple[str, ast.expr | None]]:
    """``(name, first argument)`` of every call of :data:`CANONICAL_CALLS` in ``code`` (IPython magics skipped)."""
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in CANONICAL_CALLS:
            found.append((ast.unparse(node.func), node.args[0] if node.args else None))
    return found


def _student_code(cell) -> str:
    """A source cell's code as the student sees or writes it: solutions in, hidden tests out."""
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_student_code_uses_the_canonical_calls(path):
    """Code cells (solutions included, hidden tests not) call load_dataset, evaluate.load and TrainingArguments as
    the course does, with the hyperparameters named as TrainingArguments names them, at the cpu profile's values."""
    from course.profiles import HYPERPARAMETERS, notebook_parameters

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    code = "\n".join(_student_code(c) for c in cells)
    for call in CANONICAL.get(path.parent.name, []):
        assert call in code, f"{path.parent.name} should call {call!r}"
    for cell in cells:
        for call, first in _library_calls(_student_code(cell)):
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"{path.parent.name} cell {cell.get('id')}: {call}(...) takes a literal first, as the course writes "
                f"it (a Hub id, a metric name, an output folder), not {ast.unparse(first) if first else 'nothing'}")
    for cell in cells:
        found = [name for name in INDIRECT if name in _student_code(cell)]
        assert not found, f"{path.parent.name} cell {cell.get('id')}: {found} instead of the library's own call"
    params = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    namespace = {}
    exec(params.source, namespace)  # noqa: S102 - our own parameters cell
    cpu = notebook_parameters(PROFILES["cpu"])
    given = {k: namespace[k] for k in cpu if k in namespace}
    assert given == {k: cpu[k] for k in given}, "the parameters cell holds the cpu profile's hyperparameters"
    if "TrainingArguments(" in code:
        assert set(HYPERPARAMETERS) <= set(given), "each hyperparameter is a parameter where TrainingArguments is used"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, mirror_dir):
    """The README's main job, verbatim, in a fresh copy of the repository with the mirror at the README's
    relative path (``../shared/data``), in the smoke profile (``COURSE_PROFILE``); the set-up is this
    session's environment (CI runs the README's set-up command on a fresh machine first)."""
    base = tmp_path_factory.mktemp("fresh")
    clone = copy_checkout(base / "clone")
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(mirror_dir)
    cmd = readme_commands()
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "COURSE_CHECKPOINT")}
    env.update(COURSE_PROFILE="smoke", PYTHONPATH=str(clone))  # the copy's course package, not the checkout's
    script = f". {Path(sys.executable).parent / 'activate'} && {cmd['offline']} && {cmd['main']}"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=1500, cwd=clone, env=env)
    out = clone / "build"
    assert (out / "summary.json").is_file(), f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    summary = json.loads((out / "summary.json").read_text())
    return result, {r["notebook"].split("/")[0]: r for r in summary["results"]}, out


def test_readme_setup_and_test_commands_are_what_ci_runs():
    cmd = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert cmd["setup"] == "bash bootstrap.sh && . .venv/bin/activate"
    assert "bash bootstrap.sh" in ci and ". .venv/bin/activate" in ci
    assert cmd["tests"] in ci.splitlines(), "CI runs the README's test command as written"
    assert cmd["main"] == "course run"


@pytest.mark.slow
def test_smoke_run_executes_every_notebook(smoke_run):
    result, by_name, out = smoke_run
    failed = {k: v["error"] for k, v in by_name.items() if v["status"] != "ok"}
    assert result.returncode == 0 and not failed, f"{failed}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert len(by_name) == len(NOTEBOOKS)
    assert "| 02_trainer/trainer.ipynb | ok |" in (out / "summary.md").read_text()
    sources = out.parent / "source"
    written = [p for p in sources.rglob("*") if p.relative_to(sources).parts[1:] and p.suffix != ".ipynb"]
    assert not written, f"running the notebooks wrote beside the sources: {written[:5]}"
    # said before it starts: how long; no transport warning from the kernels in the output
    assert 0 <= result.stdout.find("course run: about") < result.stdout.find(" ok "), result.stdout[:2000]
    assert "without encryption" not in result.stdout + result.stderr


@pytest.mark.slow
def test_smoke_run_reports_shapes_and_metrics(smoke_run, mirror_dir):
    _, by_name, _ = smoke_run
    rec = {k: v["records"] for k, v in by_name.items()}
    n_eval = SMOKE.eval_size("mrpc")
    mrpc_majority = _majority_share(mirror_dir / "nyu-mll" / "glue", "mrpc", "validation", n_eval)
    # 1: full MRPC is tokenized; the batch is 8 examples padded to the longest of them
    assert rec["01_preprocessing"]["train_examples"] == 3668 and rec["01_preprocessing"]["validation_examples"] == 408
    assert rec["01_preprocessing"]["batch_shape"][0] == 8 and 0 < rec["01_preprocessing"]["padding_share"] < 1
    # 2: predictions on the evaluated split, its real length
    assert rec["02_trainer"]["predictions_shape"] == [n_eval, 2]
    assert rec["02_trainer"]["label_ids_shape"] == [n_eval]
    # 3: one evaluation per epoch, with accuracy and F1
    assert rec["03_compute_metrics"]["epochs"] == SMOKE.epochs == len(rec["03_compute_metrics"]["per_epoch"])
    assert 0 <= rec["03_compute_metrics"]["accuracy"] <= 1 and 0 <= rec["03_compute_metrics"]["f1"] <= 1
    # 4: the loop trained (loss went down) and both loops evaluated
    loop = rec["04_training_loop"]
    assert loop["training_steps"] == SMOKE.epochs * math.ceil(SMOKE.train_size("mrpc") / SMOKE.batch_size)
    assert loop["last_steps_loss"] < loop["first_steps_loss"]  # mean loss of the first and the last tenth of the steps
    assert loop["loop_accuracy"] > mrpc_majority and loop["accelerate_accuracy"] > mrpc_majority, loop
    assert 0 <= loop["loop_accuracy"] <= 1 and 0 <= loop["accelerate_accuracy"] <= 1
    # 5: SST-2 beats the majority class
    assert rec["05_sst2"]["validation_examples"] == SMOKE.eval_size("sst2")
    assert rec["05_sst2"]["validation_accuracy"] > rec["05_sst2"]["majority_share"]
    # 6: max_length pads at least as much as dynamic padding, and grouping by length pads less
    yelp = rec["06_yelp"]
    assert yelp["max_length_padding_share"] >= yelp["dynamic_padding_share"] > yelp["grouped_padding_share"]
    assert yelp["train_examples"] == SMOKE.train_size("yelp") and 0 <= yelp["accuracy"] <= 1
    # the smoke profile learns: above the majority share of what it evaluates (so not collapsed to one class)
    assert rec["02_trainer"]["accuracy"] > mrpc_majority, (rec["02_trainer"], mrpc_majority)
    assert rec["03_compute_metrics"]["accuracy"] > mrpc_majority, (rec["03_compute_metrics"], mrpc_majority)
    assert yelp["accuracy"] > 0.2 + 0.05, f"Yelp: {yelp['accuracy']} against a chance of 0.2 (five balanced classes)"
    # 7: the small run overfits (training loss falls far below where it started, validation loss rises past its
    # minimum), the tiny learning rate does not learn, and early stopping ends on the best validation loss
    curves = rec["07_learning_curves"]
    train, evaluation = curves["overfit_train_loss"], curves["overfit_eval_loss"]
    assert train[-1] < 0.5 * train[0] and evaluation[-1] > min(evaluation)
    assert max(curves["underfit_eval_loss"]) - min(curves["underfit_eval_loss"]) < 0.01
    assert curves["early_stopping_epochs"] <= 10 and curves["early_stopping_best_loss"] > 0


def _majority_share(path: Path, config: str, split: str, n: int) -> float:
    """The share of the most frequent label among the first ``n`` examples of a split of the mirror."""
    from collections import Counter

    from datasets import load_dataset

    labels = load_dataset(str(path), config, split=split)["label"][:n]
    return max(Counter(labels).values()) / len(labels)


PYTHON_WARNING = re.compile(r"\b\w*Warning: ")  # "UserWarning: ...", "FutureWarning: ..." as warnings prints them


@pytest.mark.slow
def test_no_python_warning_in_what_students_see(smoke_run):
    """No library warning (a red stderr box) in any executed notebook of the smoke run: a student cannot act on
    them. transformers' report of the new classification head is allowed: the notebooks explain it."""
    _, _, out = smoke_run
    found = []
    for path in sorted(out.glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for o in cell.get("outputs", []):
                text = o.get("text", "") if o.get("output_type") == "stream" and o.get("name") == "stderr" else ""
                found += [f"{path.parent.name}: {line.strip()[:160]}" for line in text.splitlines()
                          if PYTHON_WARNING.search(line)]
    assert not found, "\n".join(found)


# What `nbgrader validate` would prove here is proved by nbgrader itself elsewhere, so CI does not execute the
# notebooks again for it: the solutions get full marks and the untouched student notebooks zero under
# `nbgrader autograde` (the solution and release baselines of every catalogue, tests/test_autograder.py),
# and the browser test clicks Validate in JupyterLab on a solved and on an unanswered student notebook.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_points_shown_to_students_match_the_grading(path):
    """Every exercise heading states the points of its graded cells (written answers: graded by a person), the
    introduction the total; every graded cell belongs to a heading. Change a cell's points and this fails until
    the headings say so too (`python -m autograder.points --write` rewrites them)."""
    from autograder.points import INTRO_MARK, exercise_points, heading_points, intro_points_line, total_points

    nb = nbformat.read(path, as_version=4)
    exercises = exercise_points(nb)
    assert exercises, "the notebook has exercise headings"
    for index, (points, manual) in exercises.items():
        heading = next(line for line in nb.cells[index].source.split("\n") if line.startswith("### "))
        assert heading_points(heading) == (points, manual), f"{heading!r}: its cells are worth {points:g}"
    first = min(exercises)
    graded_before = [c for c in nb.cells[:first] if c.metadata.get("nbgrader", {}).get("points")]
    assert not graded_before, "every graded cell comes after an exercise heading"
    assert sum(p for p, _ in exercises.values()) == sum(total_points(nb))
    intro = nb.cells[0].source
    assert intro[intro.index(INTRO_MARK):] == intro_points_line(nb)


def test_long_cells_say_how_long_beforehand():
    """Every cell measured over 30 s in the cpu profile (benchmarks/cpu_long_cells.json) is announced by the
    markdown cell right above it, and every "Time:" note announces the very next code cell, with the time
    measured for it: a student learns how long to wait before starting it. The notes are written from the
    measurement by `python -m benchmarks.long_cells notes` (never by hand)."""
    from benchmarks.long_cells import NOTE, note_text

    data = json.loads((ROOT / "benchmarks" / "cpu_long_cells.json").read_text())
    assert data["seconds"], "no measurement"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        measured = data["seconds"].get(path.parent.name, {})
        ids = [c.get("id") for c in nb.cells]
        for cell_id, seconds in measured.items():
            assert cell_id in ids, f"{path.parent.name}: measured cell {cell_id} is gone: measure again"
            above = nb.cells[ids.index(cell_id) - 1]
            assert above.cell_type == "markdown" and NOTE.search(above.source), \
                f"{path.parent.name}: cell {cell_id} took {seconds:.0f} s in the cpu profile; say so right above it"
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown" or not NOTE.search(cell.source):
                continue
            following = next(c for c in nb.cells[index + 1:] if c.cell_type == "code")
            assert following.id in measured, (
                f"{path.parent.name}: the note in {cell.id} announces {following.id}, a cell measured under 30 s "
                f"(the slow ones: {sorted(measured) or 'none'})")
            assert NOTE.search(cell.source).group(0) == note_text(measured[following.id], data), \
                f"{path.parent.name}: the note above {following.id} is not the measurement's: " \
                "python -m benchmarks.long_cells notes"


def _free_names(source: str) -> set[str]:
    """Names a cell reads but neither binds nor imports (nor are builtins); scopes are not told apart, which is
    enough for test cells."""
    import ast
    import builtins

    bound, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return {n for n in read - bound if not hasattr(builtins, n)}


def _variables(source: str) -> set[str]:
    """Top-level names a notebook cell defines, other than by importing a module."""
    import ast

    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        targets = list(getattr(node, "targets", []))
        targets += [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)) else []
        if isinstance(node, ast.With):
            targets += [item.optional_vars for item in node.items if item.optional_vars]
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_every_test_cell_imports_what_it_uses(path):
    """A test cell reads the notebook's variables (the student's answers, the data) and imports every library it
    uses, so that it stands alone; its hidden part (run by the judge, outside the kernel) uses nothing but its
    own imports and the judge's trusted ``run`` and ``student``."""
    from autograder.judge import is_test_cell, split_hidden

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and not c.source.startswith("%%")]  # cell magics
    variables = set().union(*(
        _variables("\n".join(line for line in c.source.split("\n") if not line.lstrip().startswith(("%", "!"))))
        for c in code if not is_test_cell(c)
    ))
    for cell in filter(is_test_cell, code):
        visible, hidden = split_hidden(cell.source)
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert _free_names(visible) <= variables, f"{gid} uses {sorted(_free_names(visible) - variables)}"
        assert _free_names(hidden) <= {"run", "student"}, f"hidden tests of {gid} use {_free_names(hidden)}"


def test_the_sst2_bar_the_notebook_states_is_the_one_grading_applies():
    """Notebook 5 states the accuracy its model must reach in every profile: the task registry's targets."""
    from course.tasks import TASKS

    nb = nbformat.read(ROOT / "source" / "05_sst2" / "sst2_exercise.ipynb", as_version=4)
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown").replace("\n", " ")
    targets = TASKS["sst2"].target_accuracy
    stated = re.search(r"with the `cpu` and `gpu` profiles it must reach ([\d.]+) and ([\d.]+)", text)
    assert stated, "notebook 5 says what accuracy the cpu and gpu profiles must reach"
    assert (float(stated.group(1)), float(stated.group(2))) == (targets["cpu"], targets["gpu"])
    assert "smoke" not in targets and "grading" not in targets and "beat always predicting the majority class" in text


@pytest.mark.slow
def test_a_new_notebook_on_an_existing_task_needs_no_edit_elsewhere(tmp_path):
    """A course maintainer adds notebook 8 with only its own files: the source notebook (here notebook 1's
    exercises under a title of its own), its release (made by `course release`) and its catalogue. The unchanged
    quick tests of the notebooks and the autograder take it in, run tests of their own on it, and pass."""
    clone = copy_checkout(tmp_path / "clone")
    (clone / "source" / "08_extra").mkdir()
    nb = nbformat.read(ROOT / "source/01_preprocessing/preprocessing.ipynb", as_version=4)
    title = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# "))
    title.source = "# 8. Extra practice: MRPC pairs again\n" + title.source.split("\n", 1)[1]
    nbformat.write(nb, clone / "source/08_extra/extra.ipynb")
    shutil.copy2(ROOT / "autograder/catalogues/01_preprocessing.py", clone / "autograder/catalogues/08_extra.py")
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_TEST_COURSE"} | {"PYTHONPATH": str(clone)}
    subprocess.run([sys.executable, "-m", "course_tools.cli", "release"], cwd=clone, env=env, check=True,
                   capture_output=True)
    released = nbformat.read(clone / "release" / "08_extra" / "extra.ipynb", as_version=4)
    assert released.cells[[c.source for c in nb.cells].index(title.source)].source.startswith("# 8. Extra practice")
    tests = ["tests/test_notebooks.py", "tests/test_autograder.py", "tests/test_mutation.py", "tests/test_profiles.py"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-m", "not slow",
                             *tests], cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:]
    ran = [line for line in result.stdout.splitlines() if line.startswith("PASSED") and "08_extra" in line]
    assert len(ran) >= 5, result.stdout[-4000:]  # the new notebook's own checks ran, not only the old ones


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_headings_say_each_thing_once_and_nothing_is_a_bonus_that_counts(path):
    """One "Quiz" heading (with its points), no "Bonus" exercise inside the notebook's total, a helper introduced
    where the notebook first names it, and run files kept out of the assignment's folder."""
    nb = nbformat.read(path, as_version=4)
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("#")]
    assert len([h for h in headings if "Quiz" in h]) == 1, [h for h in headings if "Quiz" in h]
    assert not [h for h in headings if "Bonus" in h], "a bonus exercise counts in the total: call it an exercise"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    if "course.data.sized" in text:
        first = text[text.index("course.data.sized"):][:400]
        assert "course.data.sized(" in first and "returns" in first, "say what course.data.sized does where named"
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r'^output_dir = ""', params.source, re.MULTILINE), "run files go to a temporary folder"
