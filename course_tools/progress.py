"""What ``course run`` shows while it runs: one moving line in the terminal, and the papermill engine that feeds it.

The line says where the run is (notebook, cell), how long the current cell has run, for a training cell the step
count the kernel reports (the Trainer's progress display, a tqdm bar in text or widget form) and how long is
left by the estimate printed before the run. It moves every second, also during a single long cell. Where the
output is not a terminal (CI logs) it prints a line a minute instead, during long cells only.

The engine (``engine_name="course"``) is papermill's nbclient engine with a client that hands every kernel
message to a :class:`Watcher` (:meth:`PapermillNotebookClient.process_message`, nbclient's hook for each
message) and tells it when a cell starts (nbclient's ``on_cell_start``).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TextIO

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from course.text import first_line

ENGINE = "course"


class RunInterrupted(Exception):
    """Ctrl-C arrived while no cell was running: the notebook stops before its next cell."""

# "23/460 [00:10<03:00" (tqdm), "[ 23/460 00:10 < 03:00" (the Trainer in a notebook), <progress value='23' max='460'
STEP = re.compile(r"(?<![\d./])(\d+)/(\d+) ?\[|\[\s*(\d+)/(\d+)\s|<progress value='(\d+)' max='(\d+)'")


# a tqdm bar's description: "Loading weights:  45%|####5     | 47/103 ["
LABEL = re.compile(r"([A-Za-z][\w .-]{0,40}?):\s+\d+%\|[^|\r\n]*\|\s*$")


def steps_in(text: str) -> tuple[int, int] | None:
    """The last ``(done, total)`` progress count in ``text`` (a tqdm bar, the Trainer's display), or None."""
    found = progress_in(text)
    return found[:2] if found else None


def progress_in(text: str) -> tuple[int, int, str] | None:
    """The last ``(done, total, label)`` in ``text``: the label is a tqdm bar's description ("Loading weights")
    where it has one, else "step"."""
    found = None
    for match in STEP.finditer(text):
        done, total = (int(g) for g in match.groups() if g is not None)
        if 0 <= done <= total and total > 1:
            line = re.split(r"[\r\n]", text[:match.start()])[-1]
            label = LABEL.search(line)
            found = (done, total, label.group(1).strip() if label else "step")
    return found


def message_text(msg: dict) -> str:
    """The text a kernel message carries: a stream's text, a display's plain text or HTML, a widget's string
    state (tqdm's widget bar sends its "23/460 [00:10<03:00]" that way)."""
    content = msg.get("content", {})
    kind = msg.get("msg_type", msg.get("header", {}).get("msg_type", ""))
    if kind == "stream":
        return content.get("text", "")
    if kind in ("display_data", "update_display_data", "execute_result"):
        data = content.get("data", {})
        return str(data.get("text/html", "")) + str(data.get("text/plain", ""))
    if kind in ("comm_msg", "comm_open"):
        state = (content.get("data") or {}).get("state") or {}
        return " ".join(v for v in state.values() if isinstance(v, str))
    return ""


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class Watcher:
    """Where the run is, fed by the engine; draws the moving line from a thread of its own."""

    def __init__(self, estimate=None, total: int = 1, stream: TextIO | None = None, tty: bool | None = None,
                 interval: float = 1.0, log_every: float = 60.0):
        self.estimate = estimate  # course_tools.estimate.Estimate, or None
        self.total = total
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval, self.log_every = interval, log_every
        self.done: list[str] = []
        self.notebook: str | None = None
        self.cells = 0
        self.cell_index: int | None = None
        self.cell_id: str | None = None
        self.cell_code = ""
        self.cell_start = self.notebook_start = time.monotonic()
        self.step: tuple[int, int, str] | None = None  # (done, total, label) of the last progress count
        self.client = None  # the notebook client of the running notebook (its kernel manager, for Ctrl-C)
        self.interrupted: float | None = None  # when Ctrl-C asked the kernel to stop
        self.running = False  # the notebooks have started (before: Ctrl-C simply ends the command)
        self.before_cell = False  # Ctrl-C came between two cells: the run stopped before cell_index
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_log = 0.0
        self._shown = False

    # ------------------------------------------------------------------------------------ fed by the run
    def notebook_started(self, name: str, cells: int) -> None:
        with self._lock:
            self.notebook, self.cells, self.cell_index, self.cell_id, self.step = name, cells, None, None, None
            self.notebook_start = self.cell_start = time.monotonic()
            self.client = None

    def notebook_finished(self, name: str) -> None:
        with self._lock:
            self.done.append(name)
            self.notebook, self.client = None, None

    def cell_started(self, cell, cell_index: int, **_) -> None:
        """nbclient's ``on_cell_start`` hook."""
        with self._lock:
            if self.interrupted:  # Ctrl-C between two cells: the kernel had nothing to stop
                self.cell_index, self.cell_id, self.before_cell = cell_index, cell.get("id"), True
                self.cell_code = first_line(cell.source)
                raise RunInterrupted
            self.cell_index, self.cell_id, self.step = cell_index, cell.get("id"), None
            self.cell_code = next((line.strip() for line in cell.source.splitlines() if line.strip()
                                   and not line.lstrip().startswith("#")), "")
            self.cell_start = time.monotonic()

    def message(self, msg: dict) -> None:
        text = message_text(msg)
        found = progress_in(text) if text else None
        if found:
            with self._lock:
                self.step = found

    def kernel_pid(self) -> int | None:
        km = getattr(self.client, "km", None)
        provisioner = getattr(km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    # ------------------------------------------------------------------------------------ the line
    def line(self) -> str:
        """The moving line as it reads now."""
        with self._lock:
            now = time.monotonic()
            parts = [f"course run {len(self.done) + (1 if self.notebook else 0)}/{self.total}"]
            if self.notebook:
                where = f"{self.notebook}"
                if self.cell_index is not None:
                    where += f" cell {self.cell_index + 1}/{self.cells}"
                parts.append(where)
                if self.cell_index is not None:
                    parts.append(f"{clock(now - self.cell_start)} in this cell")
                if self.step:
                    done, total, label = self.step
                    parts.append(f"{label} {done}/{total}")
            if self.estimate is not None:
                from .estimate import span

                low, high = self.estimate.remaining(self.done, self.notebook, now - self.notebook_start)
                parts.append(f"about {span(low, high)} left" if high >= 1 else "finishing")
            return " · ".join(parts)

    def write(self, text: str) -> None:
        """A line that stays (the live line is redrawn under it)."""
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\r\x1b[K")
            self.stream.write(text + "\n")
            self.stream.flush()
            self._shown = False

    def draw(self) -> None:
        text = self.line()
        if self.tty:
            with self._lock:
                self.stream.write("\r\x1b[K" + text[:_width() - 1])
                self.stream.flush()
                self._shown = True
        elif self.cell_index is not None and time.monotonic() - self.cell_start >= self.log_every \
                and time.monotonic() - self._last_log >= self.log_every:
            self._last_log = time.monotonic()
            self.write(text)

    def clear(self) -> None:
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.draw()
            except (OSError, ValueError):  # the terminal went away
                return

    def __enter__(self) -> Watcher:
        self._thread = threading.Thread(target=self._loop, name="course-run-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        self.clear()


def _width() -> int:
    import shutil

    return max(40, shutil.get_terminal_size((100, 20)).columns)


class WatchedClient(PapermillNotebookClient):
    """papermill's notebook client, telling a :class:`Watcher` about each kernel message."""

    def __init__(self, nb_man, watcher: Watcher | None = None, **kw):
        super().__init__(nb_man, **kw)
        self.watcher = watcher
        if watcher is not None:
            watcher.client = self
            watcher.cells = len(self.nb.cells)  # with the cell papermill adds for the injected parameters

    def process_message(self, msg, cell, cell_index):
        if self.watcher is not None:
            self.watcher.message(msg)
        return super().process_message(msg, cell, cell_index)


class WatchedEngine(NBClientEngine):
    """papermill's nbclient engine (same arguments) with :class:`WatchedClient`; ``watcher=`` feeds the line."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, watcher: Watcher | None = None, **kwargs):
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        if watcher is not None:
            safe_kwargs["on_cell_start"] = watcher.cell_started
        final_kwargs = merge_kwargs(
            safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout, kernel_name=kernel_name, log=logger, log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        return WatchedClient(nb_man, watcher=watcher, **final_kwargs).execute()


papermill_engines.register(ENGINE, WatchedEngine)
