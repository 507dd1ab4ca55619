"""The judges (judges/NN_topic.py) without a kernel: every hidden test is one call to its judge, every judge's test
data separates the wrong answers it lists, the judges of the pure-function exercises decide the catalogue right on
the notebook's own namespace, reasons never quote a question's code, and later tests name the root cause.

The grading pipeline (a sandboxed kernel, nbgrader) runs the same judges in tests/test_autograder.py."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.catalogue import apply_patch, judge_questions, load_catalogue, quoted_questions, strip_solution_markers
from autograder.causes import root_causes
from autograder.config import discover_assignments
from autograder.judge import is_test_cell, split_hidden
from course import grading

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = discover_assignments(REPO)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import course

    return course.start(profile="grading", quiet=True, output_dir=str(tmp_path_factory.mktemp("judges")))


def notebook(assignment: str):
    (path,) = sorted((REPO / "source" / assignment).glob("*.ipynb"))
    return nbformat.read(path, as_version=4)


def module(assignment: str):
    previous = grading.use_judges(REPO / "judges")
    try:
        return grading.judges_module(assignment)
    finally:
        grading.use_judges(previous)


# ------------------------------------------------------------------------------------ where the judges live
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hidden_test_is_one_call_to_its_judge(assignment):
    judges = module(assignment)
    tests = [c for c in notebook(assignment).cells if is_test_cell(c)]
    assert tests
    for cell in tests:
        gid = cell.metadata["nbgrader"]["grade_id"]
        hidden = split_hidden(cell.source)[1]
        assert hidden.strip() == f'from course.grading import judge\n\njudge("{assignment}", "{gid}", run)', gid
        assert callable(getattr(judges, gid, None)), f"judges/{assignment}.py has no {gid}(run)"
    defined = {n for n, f in inspect.getmembers(judges, inspect.isfunction) if n.startswith("test_")
               and f.__module__ == judges.__name__}
    assert defined == {c.metadata["nbgrader"]["grade_id"] for c in tests}, "a judge without its test cell"


def test_the_judges_are_found_beside_the_course_package_or_where_the_grader_says(tmp_path):
    assert grading.judges_dir() == REPO / "judges"
    (tmp_path / "judges").mkdir()
    (tmp_path / "judges" / "__init__.py").write_text("")
    (tmp_path / "judges" / "99_x.py").write_text("def test_y(run):\n    assert run == 1, 'the reason'\n")
    previous = grading.use_judges(tmp_path / "judges")
    try:
        grading.judge("99_x", "test_y", 1)
        with pytest.raises(AssertionError, match="the reason"):
            grading.judge("99_x", "test_y", 2)
        with pytest.raises(AssertionError, match="no judge for test_z"):
            grading.judge("99_x", "test_z", 1)
    finally:
        grading.use_judges(previous)
    assert grading.judges_module("01_preprocessing").__file__ == str(REPO / "judges" / "01_preprocessing.py")


def test_the_worker_reads_the_judges_and_the_kernel_never_binds_them(tmp_path):
    from autograder.jobs import worker_readonly
    from autograder.policy import kernel_policy, worker_policy

    judges = str((REPO / "judges").resolve())
    readonly = worker_readonly(str(REPO))
    assert judges in readonly
    worker = worker_policy(str(tmp_path), readonly=readonly, env={}, uid=None)
    assert [b.writable for b in worker.binds if b.source == judges] == [False]
    kernel = kernel_policy(str(tmp_path))
    exposing = [b for b in kernel.binds if judges == b.source or judges.startswith(b.source.rstrip("/") + "/")]
    assert not exposing, f"the kernel's sandbox binds the judges: {exposing}"
    assert grading.JUDGES_ENV not in kernel.environment


# ------------------------------------------------------------------------------------ test data that separates
def _cases_functions():
    for assignment in ASSIGNMENTS:
        judges = module(assignment)
        for name, function in inspect.getmembers(judges, inspect.isfunction):
            if name.startswith("cases_") and function.__module__ == judges.__name__:
                yield pytest.param(assignment, name, id=f"{assignment}-{name}")


CASES = list(_cases_functions())
# the judges whose inputs a plausible wrong answer could pass unnoticed: each lists those answers (issue 28)
MUST_SEPARATE = {
    "01_preprocessing": {"test_collate_batch"},
    "03_compute_metrics": {"test_compute_metrics", "test_precision_recall"},
    "04_training_loop": {"test_training_step", "test_evaluate_model"},
    "05_sst2": {"test_sst2_train"},
    "06_yelp": {"test_yelp_compute_metrics"},
    "07_learning_curves": {"test_accumulation", "test_schedules"},
}


def test_the_judges_that_need_it_list_their_wrong_answers_and_assert_the_separation():
    for assignment, tests in MUST_SEPARATE.items():
        judges = module(assignment)
        for test in tests:
            cases = f"cases_{test.removeprefix('test_')}"
            assert callable(getattr(judges, cases, None)), f"{assignment}: {test} lists no wrong answers ({cases})"
            source = inspect.getsource(getattr(judges, test))
            assert f"{cases}(run)" in source and "assert_separated(" in source, \
                f"{assignment}: {test} must assert its separation before it asks anything"


@pytest.mark.parametrize("assignment,name", CASES)
def test_every_judges_test_data_separates_its_wrong_answers(run, assignment, name):
    cases = getattr(module(assignment), name)(run)
    assert cases and all(case.wrong for case in cases)
    problems = [p for case in cases for p in case.problems()]
    assert not problems, problems
    for case in cases:  # the right answer matches itself, and no wrong one is taken for it
        assert case.matches(case.right)
        assert not any(case.matches(value) for value in case.wrong.values())


def test_a_case_that_cannot_tell_fails_the_instructor_check():
    from judges.common import Case, assert_separated

    same = Case("equal batches", (0.5, 0.5), {"mean of the batches": (0.5, 0.5), "always 0": (0.25, 0.0)})
    with pytest.raises(AssertionError, match="instructor check.*mean of the batches"):
        assert_separated([same])


def test_wrong_answers_the_inputs_cannot_tell_apart_get_every_reason():
    """Issue 28: on [1, 1, 1, 0] against [1, 0, 0, 0] the swapped arguments and class 0 as the positive class both
    give (1.0, 1/3): the student with class 0 read only the swapped arguments' reason. Both reasons now (and notebook
    03's judge uses inputs that tell them apart)."""
    from judges.common import Case

    old = Case("[1, 1, 1, 0] against [1, 0, 0, 0]", (1 / 3, 1.0),
               {"arguments swapped": (1.0, 1 / 3), "class 0 positive": (1.0, 1 / 3), "all zeros": (0.0, 0.0)},
               {"arguments swapped": "swapped", "class 0 positive": "class 1 is the positive class"})
    assert old.diagnosis((1.0, 1 / 3)) == "swapped or class 1 is the positive class"
    assert old.diagnosis((0.0, 0.0)) is None and old.diagnosis((0.5, 0.5)) is None
    (case,) = module("03_compute_metrics").cases_precision_recall(None)
    assert case.diagnosis(case.wrong["class 0 positive"]) == "count with class 1 as the positive class"


# ------------------------------------------------------------------------------------ judges on the catalogue
PURE = {  # answer cells that define functions the judges call on their own inputs: what the notebook imports
    ("03_compute_metrics", "compute_metrics"): "import numpy as np\nimport evaluate\n"
                                               "metric = evaluate.load('glue', 'mrpc')\n",
    ("03_compute_metrics", "precision_recall"): "import numpy as np\n",
    ("04_training_loop", "training_step"): "import torch\n",
    ("04_training_loop", "evaluate_model"): "import torch\n",
    ("06_yelp", "yelp_compute_metrics"): "",
    ("07_learning_curves", "loss_curves"): "",
    ("07_learning_curves", "accumulation"): "",
    ("07_learning_curves", "schedules"): "",
}


def _answer_and_tests(assignment: str, cell: str) -> tuple[str, list[str]]:
    nb = notebook(assignment)
    cells = nb.cells
    at = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == cell)
    tests = []
    for c in cells[at + 1:]:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution") and c.cell_type == "code":
            break
        if is_test_cell(c):
            tests.append(meta["grade_id"])
    return cells[at].source, tests


def _judge_locally(run, assignment: str, tests: list[str], prelude: str, answer: str) -> str | None:
    """Run the answer in a namespace of its own and its judges on it; the first reason, or None."""
    namespace: dict = {"run": run}
    exec(compile(textwrap.dedent(prelude), "<the notebook>", "exec"), namespace)  # noqa: S102
    try:
        exec(compile(answer, "<the answer>", "exec"), namespace)  # noqa: S102
    except Exception as e:  # noqa: BLE001 - a wrong answer may raise; its tests then fail on the missing names
        namespace.pop("__builtins__", None)
        del e
    previous = grading.use_backend(grading.LocalBackend(namespace))
    try:
        for test in tests:
            try:
                getattr(module(assignment), test)(run)
            except AssertionError as e:
                return str(e) or type(e).__name__
        return None
    finally:
        grading.use_backend(previous)


@pytest.mark.parametrize("assignment,cell", sorted(PURE), ids=[f"{a}-{c}" for a, c in sorted(PURE)])
def test_the_judges_decide_the_catalogue_without_a_kernel(run, assignment, cell):
    """The solution passes; every wrong answer of the catalogue fails (its reason, where it states one the judge
    gives, is the judge's); every correct alternative passes."""
    source, tests = _answer_and_tests(assignment, cell)
    solution = strip_solution_markers(source)
    prelude = PURE[(assignment, cell)]
    assert _judge_locally(run, assignment, tests, prelude, solution) is None
    catalogue = load_catalogue(REPO, assignment)
    missed = []
    for entry in catalogue.wrong:
        if entry.cell != cell:
            continue
        reason = _judge_locally(run, assignment, tests, prelude, apply_patch(solution, entry))
        if reason is None:
            missed.append(f"{entry.name}: passed")
        else:
            assert not quoted_questions(reason, QUESTIONS), f"{entry.name}: the reason quotes the judge: {reason}"
    for entry in catalogue.right:
        if entry.cell == cell:
            reason = _judge_locally(run, assignment, tests, prelude, apply_patch(solution, entry))
            assert reason is None, f"{entry.name}: {reason}"
    # a wrong answer only the visible part catches (the kernel runs it) is a gap in the judge
    assert not missed, missed


def test_the_collate_judge_runs_the_answer_again_on_its_own_samples(run):
    """A batch and a share that fit samples of the student's own do not pass: the judge runs the answer on its
    samples (issue 28: made-up samples, batch and padding_share got the points)."""
    from transformers import AutoTokenizer, DataCollatorWithPadding

    judges = module("01_preprocessing")
    source, _ = _answer_and_tests("01_preprocessing", "collate_batch")
    solution = strip_solution_markers(source)
    namespace = {"data_collator": DataCollatorWithPadding(tokenizer=AutoTokenizer.from_pretrained(run.checkpoint)),
                 "samples": judges.samples_of(run, range(8))}
    exec(solution, namespace)  # noqa: S102

    def verdict(answer: str) -> str | None:
        previous = grading.use_backend(grading.LocalBackend(namespace, answers={"collate_batch": answer}))
        try:
            judges.test_collate_batch(run)
        except AssertionError as e:
            return str(e)
        finally:
            grading.use_backend(previous)
        return None

    assert verdict(solution) is None
    # right for the notebook's samples, computed from them rather than from the samples it is given
    fixed = f"padding_share = {namespace['padding_share']!r}\nbatch = data_collator(samples)\n"
    assert "with other samples" in verdict(fixed)
    pairs = "data_collator(list(zip(samples['input_ids'], samples['label'])))"
    paired = solution.replace("data_collator(samples)", pairs)
    assert "call data_collator on samples as they are" in verdict(paired)


# ------------------------------------------------------------------------------------ reasons
def test_a_reason_names_the_students_names_never_the_question():
    assert grading.names_in("tokenize_function(examples)", {"examples": 1}) == "`tokenize_function`"
    question = "(list(dynamic_train_dataset['text']), [len(_x) for _x in dynamic_train_dataset['input_ids']])"
    assert grading.names_in(question) == "`dynamic_train_dataset`"
    assert grading.names_in("[_t for _t in globals().values() if isinstance(_t, __import__('x').T)]") == "your code"
    namespace = {"dynamic_train_dataset": {"input_ids": [[1]]}}
    backend = grading.LocalBackend(namespace)
    with pytest.raises(grading.StudentError) as caught:
        backend.value(question, {})
    assert str(caught.value) == "`dynamic_train_dataset` raised KeyError: 'text'"
    assert "list(" not in str(caught.value)


def test_a_remote_reason_names_the_students_names_never_the_question():
    from autograder.judge import RemoteBackend

    class Executor:
        stalled_questions, max_stalled_questions = 0, 3

        def kernel_path(self, value):
            return value

        def run_probe(self, source):
            reply = {"ok": False, "ename": "KeyError", "evalue": "'text'"}
            return nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
                "display_data", data={grading.MIME: reply})])

        def max_answer_mb(self):
            return 64

    question = "(list(dynamic_train_dataset['text']), [len(_x) for _x in dynamic_train_dataset['input_ids']])"
    with pytest.raises(grading.StudentError) as caught:
        RemoteBackend(Executor()).value(question, {})
    assert str(caught.value) == "`dynamic_train_dataset` raised KeyError: 'text'"


QUESTIONS = judge_questions(REPO)


def test_the_question_code_is_known():
    assert any("dynamic_train_dataset['input_ids']" in q for q in QUESTIONS)
    assert any("class _JudgeClassifier" in q for q in QUESTIONS)


def test_a_reason_that_quotes_a_question_is_found():
    question = next(q for q in QUESTIONS if "dynamic_train_dataset['input_ids']" in q)
    assert quoted_questions(f"`x` raised KeyError on {question}", QUESTIONS) == [question]
    assert quoted_questions("`dynamic_train_dataset` raised KeyError: 'text'", QUESTIONS) == []


def test_root_causes_follow_the_names_a_test_uses():
    def code(source, **nbgrader):
        cell = nbformat.v4.new_code_cell(source)
        if nbgrader:
            cell.metadata["nbgrader"] = nbgrader
        return cell

    cells = [
        code("run = start()"),
        code("raw = load(run)", solution=True, grade_id="data"),
        code("assert raw", grade=True, grade_id="test_data"),
        code("tokenized = raw.map(f)", solution=True, grade_id="tokenize"),
        code("assert tokenized", grade=True, grade_id="test_tokenize"),
        code("loader = make(tokenized)"),
        code("model = train(loader)", solution=True, grade_id="train"),
        code("assert model", grade=True, grade_id="test_train"),
        code("quiz_1 = 'b'", solution=True, grade_id="quiz"),
        code("assert quiz_1", grade=True, grade_id="test_quiz_1"),
    ]
    failed = {"test_data": "x", "test_tokenize": "y", "test_train": "z", "test_quiz_1": "w"}
    assert root_causes(cells, failed) == {"test_tokenize": "test_data", "test_train": "test_data"}
    assert root_causes(cells, {"test_tokenize": "y", "test_train": "z"}) == {"test_train": "test_tokenize"}
    assert root_causes(cells, {"test_train": "z", "test_quiz_1": "w"}) == {}
