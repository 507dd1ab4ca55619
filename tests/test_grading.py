"""course.grading: what a judge receives from the student's namespace, and the quiz judge."""

from __future__ import annotations

import numpy as np
import pytest

from course import grading
from course.grading import StudentError, check_answer, roundtrip


class NamespaceBackend:
    """A student namespace held in a dict, answering as the grader's remote kernel does (plain data only)."""

    def __init__(self, **names):
        self.ns = names

    def value(self, expr, inputs):
        scope = dict(self.ns, **{k: roundtrip(v) for k, v in inputs.items()})
        return roundtrip(eval(expr, scope))  # noqa: S307 - the test's own expressions


@pytest.fixture
def answers():
    """Set the student's quiz variables: ``answers(quiz_1="b")``."""
    original = grading.use_backend(NamespaceBackend())

    def use(**names):
        backend = NamespaceBackend(**names)
        grading.use_backend(backend)
        return backend

    yield use
    grading.use_backend(original)


@pytest.mark.parametrize("given", ["b", "B", " b ", "b\n"])
def test_a_letter_matches_whatever_its_case_and_blanks(answers, given):
    answers(quiz_1=given)
    check_answer("quiz_1", "b", "why")


@pytest.mark.parametrize("given", ["a", "", "bb", "(b)", None, 2, ["b"]])
def test_another_letter_or_type_fails_with_the_explanation(answers, given):
    answers(quiz_1=given)
    with pytest.raises(AssertionError, match=r"^quiz_1: \(b\) because"):
        check_answer("quiz_1", "b", "(b) because")


@pytest.mark.parametrize("given", [0.81, 0.812, 0.8122, np.float64(0.815), 0.8171])
def test_a_number_matches_within_its_tolerance(answers, given):
    answers(quiz_2=given)
    check_answer("quiz_2", 0.8122, "why", tolerance=0.005)


@pytest.mark.parametrize("given", [0.82, 0.80, 0.684, "0.81", True, None, [0.81]])
def test_a_number_outside_the_tolerance_or_not_a_number_fails(answers, given):
    answers(quiz_2=given)
    with pytest.raises(AssertionError, match="quiz_2: about 0.81"):
        check_answer("quiz_2", 0.8122, "about 0.81", tolerance=0.005)


def test_an_exact_number_needs_the_exact_value(answers):
    answers(quiz_3=64)
    check_answer("quiz_3", 64, "why")
    answers(quiz_3=64.0)
    check_answer("quiz_3", 64, "why")
    for wrong in (63, 64.5, "64", True):
        answers(quiz_3=wrong)
        with pytest.raises(AssertionError):
            check_answer("quiz_3", 64, "why")


@pytest.mark.parametrize("given", [(408, 2), [408, 2], (np.int64(408), 2)])
def test_a_shape_is_a_tuple_or_list_of_the_same_numbers(answers, given):
    answers(quiz_3=given)
    check_answer("quiz_3", (408, 2), "why")


@pytest.mark.parametrize("given", [(2, 408), (408,), (408, 2, 1), "(408, 2)", (408.5, 2), (True, 2), None])
def test_another_shape_fails(answers, given):
    answers(quiz_3=given)
    with pytest.raises(AssertionError):
        check_answer("quiz_3", (408, 2), "why")


def test_an_undefined_answer_is_the_students_error_not_a_crash(answers):
    backend = answers()

    def value(expr, inputs):
        try:
            return NamespaceBackend.value(backend, expr, inputs)
        except NameError as e:
            raise StudentError(f"`{expr}` raised NameError: {e}", "NameError", str(e)) from None

    backend.value = value
    with pytest.raises(StudentError, match="NameError"):
        check_answer("quiz_1", "b", "why")


def test_training_arguments_must_carry_the_grading_profiles_hyperparameters(answers, tmp_path):
    from transformers import TrainingArguments

    from course.profiles import HYPERPARAMETERS, PROFILES, notebook_parameters

    class Run:
        profile = PROFILES["grading"]

    given = notebook_parameters(Run.profile)
    hyper = {k: given[k] for k in HYPERPARAMETERS}
    answers(training_args=TrainingArguments(str(tmp_path), save_strategy="no", **hyper))
    grading.check_hyperparameters("training_args", Run)
    for name in hyper:
        left_out = {k: v for k, v in hyper.items() if k != name}
        answers(training_args=TrainingArguments(str(tmp_path), save_strategy="no", **left_out))
        if getattr(TrainingArguments(str(tmp_path)), name) == hyper[name]:
            continue  # the library's default is the grading value: leaving it out cannot be seen
        with pytest.raises(AssertionError, match=f"{name}={name}"):
            grading.check_hyperparameters("training_args", Run)
