"""Autograding for the course: release, parallel grading, grader validation.

Public API (see autograder/README.md)::

    from autograder import release_all, release_is_up_to_date, find_leaks, grade
    from autograder.catalogue import load_catalogue, make_submission, grade_catalogue
"""

from .release import find_leaks, release_all, release_is_up_to_date


def grade(*args, **kwargs):
    """See :func:`autograder.grade.grade` (imported lazily: it pulls in nbgrader and sqlalchemy)."""
    from .grade import grade as _grade

    return _grade(*args, **kwargs)


__all__ = ["find_leaks", "grade", "release_all", "release_is_up_to_date"]
