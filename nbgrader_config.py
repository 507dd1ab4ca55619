"""nbgrader configuration for the course (the repository root is the nbgrader course directory).

Used by plain ``nbgrader ...`` commands run from the repository root *and* by the ``autograder``
package (``course release`` / ``course grade``), which loads this file and then overrides only the
directory and database settings for its throw-away grading directories (see autograder/README.md).

Everything here was checked against the installed nbgrader 0.9.6 source (site-packages/nbgrader).
"""

import os

from autograder.config import HIDDEN_DELIMITERS, SOLUTION_DELIMITERS

c = get_config()  # noqa: F821  (injected by traitlets when the file is loaded)

# --------------------------------------------------------------------------- course layout
c.CourseDirectory.course_id = "hf-finetuning-course"
# Always the folder of this file, whatever the current directory is.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"  # instructor notebooks: solutions + hidden tests
c.CourseDirectory.release_directory = "release"  # generated student versions (committed)
c.CourseDirectory.submitted_directory = "submitted"  # git-ignored
c.CourseDirectory.autograded_directory = "autograded"  # git-ignored
c.CourseDirectory.feedback_directory = "feedback"  # git-ignored
# The default gradebook is <root>/gradebook.db (git-ignored).  `course grade --out DIR` writes
# DIR/gradebook.db instead; the test-suite always works in temporary directories.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# --------------------------------------------------------------------------- generate_assignment
# Student versions: the code between "### BEGIN SOLUTION" / "### END SOLUTION" is replaced by the stub,
# markdown answer cells by the text stub; "### BEGIN HIDDEN TESTS" ... "### END HIDDEN TESTS" blocks are
# removed from test cells (they stay in the gradebook and are put back at autograde time).
c.ClearSolutions.begin_solution_delimeter, c.ClearSolutions.end_solution_delimeter = SOLUTION_DELIMITERS  # (sic)
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True  # markers outside solution cells are an error, not a silent leak
c.ClearHiddenTests.begin_test_delimeter, c.ClearHiddenTests.end_test_delimeter = HIDDEN_DELIMITERS
c.ClearHiddenTests.enforce_metadata = True
c.ClearOutput.remove_metadata_fields = {"collapsed", "scrolled", "execution"}

# --------------------------------------------------------------------------- autograde: execution
# nbgrader 0.9 executes submissions with nbgrader.preprocessors.Execute, a subclass of nbconvert's
# ExecutePreprocessor (itself an nbclient.NotebookClient).  Traits that really apply (verified):
#   * Execute.timeout (nbgrader's own default: 30 s) -- per *cell*.  Setting ExecutePreprocessor.timeout
#     also works (traitlets applies parent-class sections), but Execute.timeout wins if both are set.
#   * Execute.interrupt_on_timeout (nbgrader default True): on timeout the kernel gets SIGINT, the cell
#     records a CellTimeoutError and grading continues with the next cell -- so an infinite loop costs
#     one timeout and zero points for the tests that need that cell, nothing more.
#   * NotebookClient.startup_timeout (default 60 s): kernel start.  The kernel imports nothing heavy at
#     start, but two grading jobs on a 2-core laptop can make it slow, hence 120.
#   * Execute.execute_retries exists in 0.9.6 but is NOT used anywhere (dead trait) -- don't rely on it.
#   * UnresponsiveKernelError is declared but never raised in 0.9.6: a kernel that ignores SIGINT is
#     only bounded by the per-cell timeout (each following cell times out in turn).  The autograder's
#     execute preprocessor (autograder.execute.ContainedExecute) detects that and stops early.
# The autograder counts Execute.timeout in CPU seconds of the kernel's processes (ContainedExecute.cpu_limit),
# so a correct cell passes on an idle and on a busy machine alike; a cell that is not computing (sleeping,
# waiting) is held to the same number of wall-clock seconds.  Plain nbgrader counts wall-clock seconds.
# Why 240 s: under NBGRADER_EXECUTION the course notebooks run their "grading" profile (10-30 s for a
# whole notebook incl. ~7 s of imports; the slowest solution cell is a few seconds of tiny training).  A
# correct but slower answer must pass too: SST-2 trained with every batch padded to 128 tokens takes more
# than 120 CPU seconds (2 cores busy for a minute).  240 CPU seconds is two minutes of a 2-core machine, what
# the former 120 wall-clock seconds allowed on an idle one, and bounds an endless loop to 4 minutes of one core.
c.Execute.timeout = 240
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.shutdown_kernel = "immediate"  # don't wait for a graceful shutdown after the last cell
# Outputs: LimitOutput trims stream outputs to max_lines lines and tracebacks to max_traceback lines.
# (It counts lines, not bytes; ContainedExecute additionally caps the bytes a cell may print.)
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Students sometimes delete test cells: put them back (with the instructor's source) and run them,
# instead of leaving the grade empty.  (autograder also restores them itself, before nbgrader sees the
# notebook, because nbgrader 0.9.6's own restore raises KeyError in some layouts.)
c.OverwriteCells.add_missing_cells = True

# Contain crashes: use the autograder's execute preprocessor for plain `nbgrader autograde` too, so that
# a kernel killed by the student's code (os._exit, segfault) still yields grades for the cells that ran
# before, like `course grade` does.  Falls back to nbgrader's defaults if the package is not installed.
try:
    from autograder.judge import autograde_preprocessors as _autograde_preprocessors
except ImportError:  # pragma: no cover - only without `pip install -e .`
    pass
else:
    c.Autograde.autograde_preprocessors = _autograde_preprocessors()
    # nbgrader's own Generate Feedback (formgrader button, `nbgrader generate_feedback`): hidden tests removed,
    # unmarked written answers shown as pending -- the same HTML as `course grade` / `course feedback`
    from autograder.feedback import feedback_preprocessors as _feedback_preprocessors

    c.GenerateFeedback.preprocessors = _feedback_preprocessors()

# What students write and print is shown to people (formgrader's manual grading, the feedback HTML): rendered
# with nbconvert's sanitizer, so no script, event handler or iframe in a written answer or an output runs there.
# (The autograder also sanitizes the outputs of every notebook it stores: autograder/sanitize.py.)
c.HTMLExporter.sanitize_html = True

# --------------------------------------------------------------------------- autograder (course grade)
# Read by the autograder package only (nbgrader ignores unknown sections).
c.ContainedExecute.max_output_bytes = 1_000_000  # per cell; more is dropped while it streams in
c.ContainedExecute.responsive_grace = 10  # after a timeout interrupt, seconds to answer kernel_info
c.Autograder.job_timeout = 1800  # wall-clock backstop for one (student, assignment), far above its cells' limits
c.Autograder.max_notebook_bytes = 50_000_000  # larger submitted files are rejected as "invalid"
# Secret lines (solution / hidden test) that may appear in release/ on purpose, e.g. a hint in an assert
# message; `course release` reports every other occurrence as a leak.
c.Autograder.leak_allowlist = []

# --------------------------------------------------------------------------- the running course
# Due dates (written into the gradebook; a later hand-in is late) and the late policy: nbgrader's own plugin hook,
# applied after every `course grade`, `course merge` and `course feedback` (autograder/late.py). For example:
#   c.Autograder.due_dates = {"01_preprocessing": "2027-01-15 23:59:00 Europe/Berlin"}   # no zone: UTC
#   c.AssignLatePenalties.plugin_class = "autograder.late.PerDayPenalty"   # default: nbgrader's LateSubmissionPlugin
#   c.PerDayPenalty.percent_per_day = 10   # of the notebook's score per started day late (grace_minutes, max_percent)
#   c.LateSubmissionPlugin.penalty_method = "zero"   # nbgrader's own: a late notebook scores 0 ("none": no penalty)
# `course export --format canvas|moodle|blackboard` names new columns after the assignments; an LMS's existing
# column (with its id) instead:  c.Autograder.lms_columns = {"01_preprocessing": "Preprocessing (123456)"}
# Similar work (autograder/similarity.py): c.Similarity.min_share, min_shared, max_class_share, ignore_reference.
