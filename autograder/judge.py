"""Verdicts decided outside the student's kernel.

nbgrader scores a test cell by looking at what the kernel sent back: no error output means full marks. The
kernel runs the student's code, so it can send back anything (an input transformer that rewrites the tests, a
custom exception handler, ``__eq__`` that is always true...). :class:`JudgedExecute` therefore runs each graded
test cell in two parts:

1. the **visible** part (what students see) runs in the kernel, as before; if it raises, the test fails;
2. the **hidden** part (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``) is the *judge*: it runs
   here, in the grader's process, with fresh trusted objects (``run``, the data, the tokenizer it loads itself)
   and :data:`course.grading.student`, which asks the kernel questions and receives plain data only
   (:mod:`course.grading`).

The test cell's outputs are then replaced by the verdict: nothing the kernel printed can give points (nbgrader's
partial credit from an ``execute_result`` included). A test cell without a hidden part has no judge and scores 0.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from nbformat.v4 import new_code_cell, new_output
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

import course
from course import grading
from course.text import first_line

from .causes import defined_names
from .cells import grade_id, is_test
from .config import HIDDEN_BEGIN, HIDDEN_END
from .execute import GONE_ENAME, ContainedExecute, ScrubBeforeExecute
from .files import UnsafeFile, is_regular, read_regular, remove_tree
from .policy import JUDGE_EXCHANGE, CourseView
from .sandbox import AsyncSandboxedKernelManager
from .sanitize import SanitizeOutputs

BEGIN, END = HIDDEN_BEGIN, HIDDEN_END
VERDICT_ENAME = "TestFailed"
MAX_TENSOR_FILE = 2 * 1024**3

# Seconds spent, in this process, per part of grading (read by the worker after nbgrader has run): starting
# kernels, the student's cells and visible tests in the kernel, judges (probes included) and their probes.
TIMINGS: Counter = Counter()


def split_hidden(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines(keepends=True):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "".join(visible), "".join(hidden)


is_test_cell = is_test


class RemoteBackend:
    """``course.grading.student`` in the judge: each question is one request executed in the kernel. A reason names
    the student's names a question read (:func:`course.grading.names_in`), never the question's code."""

    def __init__(self, executor: JudgedExecute):
        self.executor = executor

    def _ask(self, op: str, code: str, inputs: dict | None = None, what: str | None = None, **extra):
        inputs = {k: self.executor.kernel_path(v) for k, v in (inputs or {}).items()}
        what = what or grading.names_in(code, inputs)
        request = {"op": op, "code": code, "inputs": {k: grading.to_plain(v) for k, v in inputs.items()}}
        request.update(extra)
        stalled = self.executor.stalled_questions
        if stalled >= self.executor.max_stalled_questions:
            raise grading.StudentError(f"{what} was not asked: the kernel did not answer {stalled} earlier "
                                       "questions in time")
        cell = self.executor.run_probe(
            f"import course.grading as _course_grading\n_course_grading._probe({json.dumps(request)!r})\n"
        )
        gone = [o for o in cell.outputs if o.get("output_type") == "error" and o.get("ename") in
                (GONE_ENAME, "CellTimeoutError")]
        if gone:
            self.executor.stalled_questions += 1
            raise grading.StudentError(f"{what} did not finish: {first_line(gone[0].get('evalue', ''))}")
        replies = [o["data"][grading.MIME] for o in cell.outputs
                   if o.get("output_type") == "display_data" and grading.MIME in o.get("data", {})]
        if len(replies) != 1 or not isinstance(replies[0], dict):
            limit = self.executor.max_answer_mb()
            raise grading.StudentError(f"{what} gave no answer (the kernel answered {len(replies)} times; an answer "
                                       f"over {limit} MB is not read)")
        try:  # nbformat hands back NotebookNode (a dict subclass): plain built-in JSON first
            reply = json.loads(json.dumps(replies[0]))
        except (TypeError, ValueError):
            raise grading.StudentError(f"{what} gave an answer that is not JSON") from None
        if reply.get("ok") is not True:
            ename, evalue = str(reply.get("ename", "Error"))[:60], first_line(reply.get("evalue", ""))
            raise grading.StudentError(f"{what} raised {ename}" + (f": {evalue}" if evalue else ""), ename, evalue)
        return grading.from_plain(reply.get("value"))

    def value(self, expr: str, inputs: dict):
        return self._ask("value", expr, inputs)

    def run(self, code: str, inputs: dict) -> None:
        self._ask("run", code, inputs)

    def rerun(self, sources: list[str] | None, values: str, inputs: dict, prelude: str, run_changes: dict):
        if sources is None:
            return None
        run_changes = {k: self.executor.kernel_path(v) for k, v in run_changes.items()}
        return self._ask("rerun", "", inputs, what="your answer, run again on the judge's inputs,",
                         sources=sources, values=values, prelude=prelude, run=run_changes)

    def answer_sources(self, cell: str, since: str | None) -> list[str] | None:
        """The source of answer cell ``cell`` as submitted (the grader's copy of the notebook, not the kernel's),
        preceded, with ``since``, by every code cell after the last one that binds that name (tests excepted)."""
        cells = [c for c in self.executor.nb.cells if c.cell_type == "code"]
        at = next((i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution")
                   and c.metadata.get("nbgrader", {}).get("grade_id") == cell), None)
        if at is None:
            return None
        start = at
        if since:
            binding = [i for i in range(at) if since in (defined_names(cells[i].source) or set())]
            start = binding[-1] + 1 if binding else 0
        return [c.source for c in cells[start : at + 1] if c is cells[at] or not is_test_cell(c)]

    def kernel_path(self, path: str) -> str:
        return self.executor.kernel_path(path)

    def scratch(self) -> tuple[str, str]:
        here, there = self.executor.exchange_paths()
        name = secrets.token_hex(8)
        os.makedirs(os.path.join(here, name))
        return os.path.join(here, name), f"{there}/{name}"

    def tensors(self, expr: str) -> dict:
        from safetensors.torch import load

        name = f"{secrets.token_hex(8)}.safetensors"
        here, there = self.executor.exchange_paths()
        path = Path(here) / name
        what = grading.names_in(expr)
        try:
            self._ask("tensors", expr, path=f"{there}/{name}")
            try:
                data = read_regular(path, MAX_TENSOR_FILE)
            except UnsafeFile:
                raise grading.StudentError(f"{what} gave no tensors") from None
            try:
                return load(data)
            except Exception as e:  # noqa: BLE001 - a malformed file is the student's answer
                raise grading.StudentError(f"{what} gave unreadable tensors ({type(e).__name__})") from None
        finally:
            remove_tree(path)


class JudgedExecute(ContainedExecute):
    """:class:`ContainedExecute` whose test cells are scored by their judges (see the module docstring)."""

    sandbox = Bool(
        False, help="Start the kernel in a bubblewrap sandbox (autograder.sandbox.SandboxedKernelManager)."
    ).tag(config=True)

    helper_dir = Unicode(
        "", help="A trusted folder holding the assignment's helper files (importable by judges); never the "
        "kernel's folder, which the student's code can write."
    ).tag(config=True)

    judges_dir = Unicode(
        "", help="The course's judges/ folder (judges/<assignment>.py, one function per test), which the hidden "
        "tests call with course.grading.judge(...). Read by the grader only: never released, never in the "
        "kernel's sandbox. Empty: judges/ beside the course package."
    ).tag(config=True)

    kernel_dir = Unicode(
        "", help="The folder the kernel is started in (made empty, holding copies of the helper files of the "
        "notebook's folder). nbgrader's own folders are never the kernel's, so nothing the kernel leaves there (a "
        "link, a FIFO, a huge file, a notebook replaced by a link) is ever read or written by the grader. Empty: "
        "the notebook's folder, as in nbgrader."
    ).tag(config=True)

    exchange_dir = Unicode(
        "", help="A folder shared with the kernel, where it writes what a judge asks for as a file (tensors); seen "
        "by a sandboxed kernel at autograder.policy.JUDGE_EXCHANGE. Empty: a private temporary folder."
    ).tag(config=True)

    question_timeout = Integer(
        60, help="Each question a judge asks the kernel has this many CPU seconds (or wall-clock seconds while it "
        "is not computing): a stalling or slow answer costs its test, not the class's time."
    ).tag(config=True)

    max_stalled_questions = Integer(
        3, help="After this many questions that did not finish in time, the judges ask the kernel nothing more (the "
        "tests that need it fail): a submission that stalls every answer cannot hold its job for long."
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.sandbox:  # after __init__: nbgrader's Execute passes its own kernel_manager_class
            self.kernel_manager_class = AsyncSandboxedKernelManager

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        meta = resources.setdefault("metadata", {})
        notebook_dir = meta.get("path") or os.getcwd()
        self.kernel_cwd = self._make_kernel_dir(notebook_dir) if self.kernel_dir else notebook_dir
        self._judge_run = None
        self._view = None
        self.stalled_questions = 0
        self._judge_outputs = tempfile.TemporaryDirectory(prefix="judge-")
        self._exchange = self.exchange_dir or tempfile.mkdtemp(prefix="exchange-", dir=self._judge_outputs.name)
        meta["path"] = self.kernel_cwd  # where nbclient starts the kernel
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            meta["path"] = notebook_dir
            self._judge_outputs.cleanup()

    def _make_kernel_dir(self, notebook_dir: str) -> str:
        """:attr:`kernel_dir`, made afresh with copies of the regular files of ``notebook_dir`` (helper files that
        nbgrader copied there; notebooks excepted)."""
        remove_tree(self.kernel_dir)
        os.makedirs(self.kernel_dir)
        for top, dirs, names in os.walk(notebook_dir):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
            for name in names:
                src = os.path.join(top, name)
                if name.endswith(".ipynb") or not is_regular(src):
                    continue
                dest = os.path.join(self.kernel_dir, os.path.relpath(src, notebook_dir))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(src, dest, follow_symlinks=False)
        return self.kernel_dir

    def kernel_path(self, value):
        """A path of the judge's (a checkpoint, the data) as the sandboxed kernel sees it (the course's files are at
        neutral paths there, :class:`autograder.policy.CourseView`); any other value as it is."""
        if not self.sandbox or not isinstance(value, str) or not value.startswith("/"):
            return value
        if self._view is None:
            self._view = CourseView.here()
        for bind in self._view.binds:
            if value == bind.source or value.startswith(bind.source.rstrip("/") + "/"):
                return bind.dest + value[len(bind.source):]
        real = os.path.realpath(value)
        return self.kernel_path(real) if real != value else value

    def exchange_paths(self) -> tuple[str, str]:
        """The exchange folder as (this process sees it, the kernel sees it)."""
        return self._exchange, (JUDGE_EXCHANGE if self.sandbox else self._exchange)

    def max_answer_mb(self) -> int:
        limit = getattr(self.km, "max_message_bytes", None) if self.km is not None else None
        return int(limit // 1_000_000) if limit else 0

    async def async_start_new_kernel(self, **kwargs):
        start = time.perf_counter()
        try:
            return await super().async_start_new_kernel(**kwargs)
        finally:
            TIMINGS["kernel_start"] += time.perf_counter() - start

    async def async_start_new_kernel_client(self):
        start = time.perf_counter()
        try:
            return await super().async_start_new_kernel_client()
        finally:
            TIMINGS["kernel_start"] += time.perf_counter() - start

    def run_probe(self, source: str):
        """Execute one question in the kernel as a cell of its own, within :attr:`question_timeout`; returns that
        cell with its outputs."""
        TIMINGS["probes"] += 1
        cell = new_code_cell(source)
        self.nb.cells.append(cell)
        index = len(self.nb.cells) - 1
        try:
            with self.limited_to(self.question_timeout, "a judge's question"):
                cell, _ = ContainedExecute.preprocess_cell(self, cell, self.resources, index)
        finally:
            del self.nb.cells[index:]
        return cell

    def trusted_run(self):
        """The judge's own ``run`` (profile, checkpoint, data), made here and never by the kernel."""
        if self._judge_run is None:
            self._judge_run = course.start(quiet=True, output_dir=self._judge_outputs.name)
        return self._judge_run

    def preprocess_cell(self, cell, resources, index):
        start = time.perf_counter()
        if not is_test_cell(cell):
            try:
                return super().preprocess_cell(cell, resources, index)
            finally:
                TIMINGS["kernel_cells"] += time.perf_counter() - start
        full = cell.source
        visible, hidden = split_hidden(full)
        cell.source = visible
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = full
            TIMINGS["kernel_cells"] += time.perf_counter() - start
        kernel_outputs = list(cell.get("outputs", []))
        reason = self._kernel_failure(kernel_outputs)
        # a visible test that fails on a missing name (an earlier cell raised) is judged all the same: the test fails
        # either way, and the judge's reason (which may run the answer again on its own inputs) names the cause
        if reason is None or (" NameError: " in reason and self.stalled_questions < self.max_stalled_questions):
            start = time.perf_counter()
            try:
                judged = self.judge(cell, hidden)
            finally:
                TIMINGS["judges"] += time.perf_counter() - start
            reason = judged if reason is None else (judged or reason)
        kept = [o for o in kernel_outputs if o.get("output_type") in ("stream", "display_data")
                and o.get("name") != "stderr" and grading.MIME not in o.get("data", {})]
        if reason is not None:
            kept.append(
                new_output("error", ename=VERDICT_ENAME, evalue=reason, traceback=[f"{VERDICT_ENAME}: {reason}"])
            )
        cell.outputs = kept
        return cell, self.resources

    @staticmethod
    def _kernel_failure(outputs) -> str | None:
        for out in outputs:
            if out.get("output_type") == "error":
                ename, evalue = str(out.get("ename", "Error"))[:60], first_line(out.get("evalue", ""), 200)
                if ename in (GONE_ENAME, "CellTimeoutError"):
                    return evalue or ename
                return f"the visible test failed: {ename}" + (f": {evalue}" if evalue else "")
        return None

    def judge(self, cell, hidden: str) -> str | None:
        """Run the hidden part here; None when it passed, else the reason."""
        gid = grade_id(cell) or "?"
        if not hidden.strip():
            return "this test has no hidden part to decide it (an instructor error): scored 0"
        namespace = {"__name__": "__judge__", "run": self.trusted_run(), "student": grading.student}
        previous = grading.use_backend(RemoteBackend(self))
        previous_judges = grading.use_judges(self.judges_dir or None)
        added = self.helper_dir and self.helper_dir not in sys.path
        if added:
            sys.path.insert(0, self.helper_dir)
        try:
            exec(compile(hidden, f"<hidden tests of {gid}>", "exec"), namespace)  # noqa: S102 - instructor code
        except AssertionError as e:
            return first_line(e) or "a hidden check failed"
        except Exception as e:  # noqa: BLE001 - e.g. comparing an answer of the wrong type
            detail = first_line(e)
            return f"checking the answer raised {type(e).__name__}" + (f": {detail}" if detail else "")
        finally:
            grading.use_backend(previous)
            grading.use_judges(previous_judges)
            if added:
                sys.path.remove(self.helper_dir)
        return None


def autograde_preprocessors(scrub: bool = False) -> list:
    """nbgrader's ``Autograde.autograde_preprocessors`` with Execute replaced by :class:`JudgedExecute` followed by
    :class:`~autograder.sanitize.SanitizeOutputs` (and, for throw-away grading directories,
    :class:`~autograder.execute.ScrubBeforeExecute` inserted before it)."""
    result = []
    for pp in Autograde.class_traits()["autograde_preprocessors"].default():
        if pp is Execute:
            if scrub:
                result.append(ScrubBeforeExecute)
            result += [JudgedExecute, SanitizeOutputs]  # what a person will look at runs no student code
        else:
            result.append(pp)
    if JudgedExecute not in result:  # pragma: no cover - nbgrader changed its pipeline
        raise RuntimeError("nbgrader's autograde pipeline has no Execute step; update autograder.judge")
    return result
