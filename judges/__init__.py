"""The judges: the hidden tests of every notebook, as code (never released, never in a student's kernel).

``judges/NN_topic.py`` holds one function per hidden test of ``source/NN_topic``, named like the test cell
(``test_collate_batch(run)``); the test cell's hidden part is one call,
``judge("01_preprocessing", "test_collate_batch", run)`` (:func:`course.grading.judge`). A judge raises
``AssertionError`` with the reason the student reads, or returns.

**The judges' rule** (autograder/README.md): a judge decides only from values it computes itself, here, from plain
data it asked for (``student.value``, ``student.tensors``, ``student.rerun``). Nothing recorded inside the kernel
(a model's call log, ``trainer.state``, the student's own inputs, a metric the student reports) is evidence unless
the judge recomputes it from inputs it chose. Each judge whose test data could let a wrong answer pass lists the
plausible wrong answers and asserts that its data tells every one of them from the right one (``cases_*``
functions, checked without a kernel by ``tests/test_judges.py``).

The grader binds this folder read-only into the grading worker's sandbox; the kernel's sandbox never sees it
(``tests/test_sandbox.py``). ``course release`` copies nothing of it and ``find_leaks`` searches the release for
its lines.
"""
