"""Execution of student notebooks with every failure contained.

nbgrader 0.9.6 executes submissions with ``nbgrader.preprocessors.Execute`` (an nbconvert
``ExecutePreprocessor`` / nbclient ``NotebookClient``).  Three behaviours of that stack make a single
hostile or unlucky cell cost a student *all* their points, or the grader all its memory:

* a kernel that dies (``os._exit``, a segfault, the OOM killer) raises ``DeadKernelError`` out of the
  notebook: nbgrader then deletes the autograded notebook and records no grade at all;
* a kernel that ignores the timeout interrupt (a C loop, ``signal.signal(SIGINT, SIG_IGN)``) makes every
  following cell wait for the full timeout, and nbclient's "Timeout waiting for IOPub output"
  (``raise_on_iopub_timeout``) aborts the notebook the same way;
* nothing limits the size of the outputs a cell streams while it runs;
* ``timeout`` is wall-clock time: whether a slow but correct cell passes depends on how busy the machine is.

:class:`ContainedExecute` keeps nbgrader's semantics for everything else but: turns a dead or
unresponsive kernel into an error output on the cell where it happened and on every later code cell
(so tests that ran before keep their points and the rest score zero), caps the bytes a cell may
print, and counts ``Execute.timeout`` in CPU seconds of the kernel's processes (the work the cell does,
the same on an idle and on a loaded machine); a cell that is not computing (sleeping, waiting) is held to
``Execute.timeout`` seconds of the wall clock. A cell over its limit is interrupted and its error output
says which limit and how much time it used.

:class:`ScrubBeforeExecute` (used only inside the autograder's throw-away grading directories) removes the
hidden-test source from the disk before the student's kernel starts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
from queue import Empty
from time import monotonic

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Float, Integer, default

from course.text import first_line

from .cells import label
from .processes import tree_cpu_seconds

GONE_ENAME = "KernelGone"
TRUNCATED_NOTE = "\n[autograder: output truncated, this cell printed more than {limit} bytes]\n"
TOTAL_NOTE = "\n[autograder: output dropped, the notebook printed more than {limit} bytes in all]\n"


def _output_size(msg_content: dict) -> int:
    size = 0
    for key in ("text", "evalue"):
        value = msg_content.get(key)
        if isinstance(value, str):
            size += len(value)
    for value in (msg_content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(repr(value))
    for line in msg_content.get("traceback") or ():
        size += len(line)
    return size


class ContainedExecute(Execute):
    """nbgrader's Execute, but a dead/unresponsive kernel or a flood of output only affects the
    cells concerned (see module docstring)."""

    max_output_bytes = Integer(
        1_000_000, help="Maximum bytes of output kept per cell while it runs (-1: no limit)."
    ).tag(config=True)

    responsive_grace = Integer(
        10, help="Seconds a kernel has, after a timeout interrupt, to answer a kernel_info request."
    ).tag(config=True)

    cpu_limit = Bool(
        True, help="Count Execute.timeout in CPU seconds of the kernel's processes, the same on an idle and a "
        "loaded machine; a cell that is not computing (waiting, sleeping) is held to Execute.timeout wall-clock "
        "seconds. False: Execute.timeout is wall-clock seconds, as in nbgrader."
    ).tag(config=True)

    idle_share = Float(
        0.05, help="With cpu_limit: a cell using less than this share of one core over the last idle_window "
        "seconds is waiting, not computing."
    ).tag(config=True)

    idle_window = Float(10.0, help="Seconds over which idle_share is measured.").tag(config=True)

    wall_factor = Float(
        3.0, help="With cpu_limit: a cell is also interrupted after this many times its limit on the wall clock, "
        "whatever it does (a loop that keeps a tenth of a core busy is neither computing nor idle)."
    ).tag(config=True)

    max_total_output_bytes = Integer(
        20_000_000, help="Maximum bytes of output kept for the whole notebook (-1: no limit); later outputs are "
        "dropped, with a note."
    ).tag(config=True)

    cpu_poll = Float(0.25, help="Seconds between two readings of the kernel's CPU time.").tag(config=True)

    # ------------------------------------------------------------------ state per notebook
    def preprocess(self, nb, resources=None, km=None):
        self._gone_reason = None
        self._over_limit = None
        self._out_bytes = {}
        self._total_bytes = 0
        self._truncated = set()
        self._limit = None  # (seconds, what) while a question runs: see limited_to
        return super().preprocess(nb, resources, km=km)

    @contextlib.contextmanager
    def limited_to(self, seconds: float, what: str):
        """Cells executed inside hold to ``seconds`` (CPU, idle and wall rules alike) instead of ``timeout``, and
        their limit messages name them ``what``."""
        previous, self._limit = getattr(self, "_limit", None), (float(seconds), what)
        try:
            yield
        finally:
            self._limit = previous

    def _current_limit(self) -> float:
        return self._limit[0] if getattr(self, "_limit", None) else float(self.timeout)

    def _mark_gone(self, cell, reason: str, ename: str = GONE_ENAME) -> None:
        cell.setdefault("outputs", [])
        cell.outputs.append(
            new_output("error", ename=ename, evalue=reason, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {reason}"])
        )

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._gone_reason is not None:
            cell.outputs = []
            self._mark_gone(cell, f"not executed: {self._gone_reason}")
            return cell, self.resources
        self._out_bytes[index] = 0
        self._over_limit = None
        started = monotonic()
        try:
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            finally:
                self._stop_watch()
        except DeadKernelError:
            if self._over_limit and self._over_limit.get("killed"):
                self._gone_reason = f"{self._limit_message(cell, index)}; it ignored the interrupt: kernel stopped"
            else:
                self._gone_reason = f"the kernel died while executing {self._name(cell, index)}"
            self.log.error("Kernel gone in cell %s: %s", index, self._gone_reason)
            self._mark_gone(cell, self._gone_reason)
            return cell, self.resources
        except CellTimeoutError as e:  # "Timeout waiting for IOPub output"
            self.log.error("Cell %s: %s", index, first_line(e) or "timeout")
            if not self._kernel_responsive():
                self._gone_reason = (
                    f"{self._name(cell, index)} exceeded the {self.timeout} s timeout and the kernel did not "
                    "respond to the interrupt"
                )
                self._mark_gone(cell, self._gone_reason)
                self._kill_kernel()
            else:
                self._mark_gone(cell, "timeout waiting for the cell's output", ename="CellTimeoutError")
            return cell, self.resources
        timed_out = any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs)
        if timed_out or self._over_limit:
            if self._over_limit is None:  # nbclient's wall-clock limit
                self._over_limit = {"kind": "wall", "wall": monotonic() - started, "cpu": None}
            message = self._limit_message(cell, index)
            # the interrupt's KeyboardInterrupt and nbgrader's bare CellTimeoutError make way for the cause
            cell.outputs = [o for o in cell.outputs if not (
                o.get("output_type") == "error" and o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"))]
            if not self._kernel_responsive():
                self._gone_reason = f"{message}; the kernel did not respond to the interrupt"
                self._mark_gone(cell, self._gone_reason)
                self._kill_kernel()
            else:
                hint = " (an endless loop, or much more work than the exercise asks for?)"
                self._mark_gone(cell, f"{message}: interrupted" + (hint if self._over_limit["kind"] == "cpu" else ""),
                                ename="CellTimeoutError")
        return cell, self.resources

    # ------------------------------------------------------------------ time limits
    def _kernel_root_pid(self) -> int | None:
        """The host pid of the kernel's process tree: the kernel, or the bwrap that holds its sandbox."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def _cpu_limited(self) -> bool:
        return bool(self.cpu_limit and self.timeout and self.timeout > 0 and self._kernel_root_pid())

    @default("timeout_func")
    def _default_timeout_func(self):
        return self._cell_timeout

    def _cell_timeout(self, cell) -> int | None:
        """nbclient's wait for a cell's reply (its ``timeout_func`` hook): none with a CPU limit (the watcher holds
        the cell to its limits; the job's own budget backs it up), else the current limit on the wall clock."""
        if self._cpu_limited():
            return None
        return int(self._current_limit())

    async def on_cell_execute(self, cell, cell_index):
        """nbclient's hook just before a code cell runs (a method, as nbgrader's Execute defines on_cell_executed):
        starts the watcher of its time limits, cancelled when the cell is done (:meth:`preprocess_cell`)."""
        self._stop_watch()
        if self._cpu_limited() and cell.cell_type == "code":
            self._watch = asyncio.ensure_future(self._watch_cpu(self._kernel_root_pid(), self._current_limit()))

    def _stop_watch(self) -> None:
        watch, self._watch = getattr(self, "_watch", None), None
        if watch is not None:
            watch.cancel()

    async def _watch_cpu(self, pid: int, limit: float) -> None:
        """Interrupt the kernel once this cell has used ``limit`` CPU seconds, has run ``limit`` seconds and is not
        computing, or has run ``wall_factor`` times ``limit`` seconds whatever it does; stop the kernel if it then
        does not answer within ``responsive_grace`` seconds."""
        start_cpu, start = tree_cpu_seconds(pid), monotonic()
        if start_cpu is None:
            return
        window = min(self.idle_window, limit)
        recent = collections.deque([(start, start_cpu)])
        while True:
            await asyncio.sleep(self.cpu_poll)
            used, now = tree_cpu_seconds(pid), monotonic()
            if used is None:
                return
            recent.append((now, used))
            while len(recent) > 1 and now - recent[1][0] >= window:  # keep one sample >= window old
                recent.popleft()
            if used - start_cpu > limit:
                kind = "cpu"
                break
            if self.wall_factor > 0 and now - start > self.wall_factor * limit:
                kind = "wall_cap"
                break
            then, cpu_then = recent[0]
            if now - start > limit and now - then >= window * 0.9 and used - cpu_then < self.idle_share * (now - then):
                kind = "idle"
                break
        self._over_limit = {"kind": kind, "cpu": used - start_cpu, "wall": now - start}
        self.log.error("Cell over its %s limit (%.0f s CPU, %.0f s): interrupting the kernel", kind,
                       used - start_cpu, now - start)
        await ensure_async(self.km.interrupt_kernel())
        await asyncio.sleep(self.responsive_grace)
        self._over_limit["killed"] = True  # still running: the interrupt was ignored
        self.log.error("The kernel ignored the interrupt: stopping it")
        await ensure_async(self.km.shutdown_kernel(now=True))

    def _limit_message(self, cell, index) -> str:
        """What limit the cell went over, and how much time it used."""
        over, name = self._over_limit or {}, self._name(cell, index)
        limit = self._current_limit()
        if self._limit:
            name = self._limit[1]
        if over.get("kind") == "cpu":
            return f"{name} used more than its {limit:g} s of CPU time (in {over['wall']:.0f} s)"
        if over.get("kind") == "idle":
            return (f"{name} ran {over['wall']:.0f} s without computing (it used {over['cpu']:.1f} s of CPU: "
                    f"waiting or sleeping?), over the {limit:g} s limit")
        if over.get("kind") == "wall_cap":
            return (f"{name} ran {over['wall']:.0f} s, more than {self.wall_factor:g} times its {limit:g} s limit "
                    f"(it used {over['cpu']:.1f} s of CPU)")
        return f"{name} ran longer than its {limit:g} s"

    @staticmethod
    def _name(cell, index) -> str:
        return label(cell, index)

    # ------------------------------------------------------------------ kernel health
    async def _async_kernel_responsive(self) -> bool:
        if self.kc is None or not await ensure_async(self.kc.is_alive()):
            return False
        msg_id = self.kc.kernel_info()
        deadline = monotonic() + self.responsive_grace
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                return False
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=remaining))
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _kernel_responsive(self) -> bool:
        try:
            return run_sync(self._async_kernel_responsive)()
        except Exception:  # noqa: BLE001 - any failure here means "not responsive"
            return False

    def _kill_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:
            self.log.warning("could not shut the kernel down", exc_info=True)

    # ------------------------------------------------------------------ output cap
    def output(self, outs, msg, display_id, cell_index):
        limit, total_limit = self.max_output_bytes, self.max_total_output_bytes
        size = _output_size(msg.get("content", {}))
        used = self._out_bytes.get(cell_index, 0) + size
        self._out_bytes[cell_index] = used
        self._total_bytes = getattr(self, "_total_bytes", 0) + size
        over_cell = limit is not None and limit >= 0 and used > limit
        over_total = total_limit is not None and total_limit >= 0 and self._total_bytes > total_limit
        if (over_cell or over_total) and msg.get("msg_type") != "error":
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                note = TRUNCATED_NOTE.format(limit=limit) if over_cell else TOTAL_NOTE.format(limit=total_limit)
                outs.append(new_output("stream", name="stdout", text=note))
            return None
        return super().output(outs, msg, display_id, cell_index)


class ScrubBeforeExecute(NbGraderPreprocessor):
    """Runs just before execution, inside a throw-away grading directory only.

    At that point nbgrader has already (a) restored the instructor's test cells, hidden tests included,
    from the gradebook into the in-memory notebook and (b) written that sanitized notebook to the
    autograded folder, where the student's kernel (whose working directory is that folder) could read
    it.  This preprocessor deletes the file (nbgrader writes the executed notebook again afterwards)
    and blanks the source of the notebook's cells in the *throw-away* gradebook (nothing after this
    point reads it).  NEVER enable it on a real gradebook.
    """

    enabled = Bool(False, help="Must be set explicitly: this edits the gradebook.").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        info = resources["nbgrader"]
        path = os.path.join(resources.get("metadata", {}).get("path", ""), info["notebook"] + ".ipynb")
        if os.path.isfile(path):
            os.remove(path)
        db_url = info["db_url"]
        assert db_url.startswith("sqlite:///"), db_url
        from nbgrader.api import Assignment, Notebook
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session

        engine = create_engine(db_url)  # nbgrader's own ORM models, no course row added to the throw-away gradebook
        try:
            with Session(engine) as session:
                defined = (session.query(Notebook).join(Assignment)
                           .filter(Notebook.name == info["notebook"], Assignment.name == info["assignment"]))
                for cell in (c for nbdef in defined for c in nbdef.source_cells):
                    cell.source = ""
                session.commit()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
                con.execute(text("VACUUM"))  # the old text leaves the file's free pages too
        finally:
            engine.dispose()
        return nb, resources
