"""``course run`` (course_tools/runner.py, estimate.py, progress.py): the estimate before a run, the line that moves
during long cells, and Ctrl-C, driven in a real terminal (a pty) on a small notebook of its own."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from course_tools import estimate as est
from course_tools.progress import Watcher, message_text, steps_in

NOTEBOOKS = sorted((ROOT / "source").glob("*/*.ipynb"))


# ------------------------------------------------------------------------------------------ step counts
@pytest.mark.parametrize("text, steps", [
    (" 23%|##3       | 105/460 [00:41<02:19,  2.55it/s]", (105, 460)),  # tqdm in text
    ("\r105/460 [00:41<02:19]\r106/460 [00:41<02:18]", (106, 460)),  # the last one counts
    ("<progress value='23' max='460' style='width:300px; height:20px; vertical-align: middle;'></progress>\n"
     "[ 23/460 00:10 < 03:00, 2.4 it/s, Epoch 0.15/3]", (23, 460)),  # the Trainer's display in a notebook
    ("Epoch 1/3", None), ("accuracy 0.75, f1 3/4", None), ("0.5/1 [", None), ("", None),
])
def test_steps_are_read_from_what_the_kernel_prints(text, steps):
    assert steps_in(text) == steps


def test_a_tqdm_bar_keeps_its_description():
    from course_tools.progress import progress_in

    assert progress_in("Loading weights:  45%|####5     | 47/103 [00:01<00:01, 40it/s]") == (47, 103, "Loading weights")
    assert progress_in(" 23%|##3       | 105/460 [00:41<02:19,  2.55it/s]") == (105, 460, "step")
    assert progress_in("[ 23/460 00:10 < 03:00, 2.4 it/s, Epoch 0.15/3]") == (23, 460, "step")


def test_steps_come_from_streams_displays_and_widgets():
    """tqdm's widget bar (tqdm.auto in a kernel) reports through widget state messages, the Trainer through
    display updates, tqdm in text through stderr."""
    widget = {"msg_type": "comm_msg",
              "content": {"data": {"method": "update", "state": {"value": " 7/90 [00:03<00:36]"}}}}
    display = {"msg_type": "update_display_data",
               "content": {"data": {"text/html": "[ 12/90 00:05 < 00:30, Epoch 0.4/3]"}}}
    stream = {"msg_type": "stream", "content": {"name": "stderr", "text": "\r 45/90 [00:20<00:20, 2.2it/s]"}}
    assert [steps_in(message_text(m)) for m in (widget, display, stream)] == [(7, 90), (12, 90), (45, 90)]
    assert message_text({"msg_type": "status", "content": {"execution_state": "busy"}}) == ""


# ------------------------------------------------------------------------------------------ the estimate
def _calibration(steps=(0.2, 0.3), flops=(1.0e11, 2.0e11), load=3.0) -> est.Calibration:
    return est.Calibration(step_seconds=list(steps), tokens_per_step=1024, flops_per_s=list(flops), load=load,
                           cores=2, checkpoint="x")


def test_calibration_measures_this_machine_now():
    cal = est.calibrate(None, multiplies=4)
    assert len(cal.flops_per_s) == 4 and min(cal.flops_per_s) > 0
    assert cal.cores >= 1 and cal.load >= 0 and not cal.step_seconds  # no checkpoint: no training steps
    lo, hi = cal.slowdown
    assert 0 < lo <= hi


def test_estimate_is_a_range_that_says_what_is_measured_and_what_is_stored(offline):
    smoke = est.estimate(NOTEBOOKS, "smoke", _calibration())
    assert smoke.low < smoke.high
    assert "stored" in smoke.how and "just now" in smoke.how and est.STORED.date in smoke.how
    # stored seconds scaled by the matrix multiplies: twice as slow as then (150 vs 299 GFLOP/s) is about 2x
    stored = sum(est.STORED.seconds["smoke"].values())
    assert smoke.high == pytest.approx(stored * est.STORED.flops_per_s / 1.0e11)
    cpu = est.estimate(NOTEBOOKS, "cpu", _calibration())
    assert "training steps" in cpu.how and "timed just now" in cpu.how and "stored" in cpu.how
    assert cpu.low < cpu.high and "load average 3.0" in cpu.machine and "other work" in cpu.machine
    # slower steps, longer run: the range follows the calibration
    slower = est.estimate(NOTEBOOKS, "cpu", _calibration(steps=(0.4, 0.6)))
    assert slower.low > cpu.low and slower.high > cpu.high


def test_remaining_time_starts_at_the_estimate_and_counts_down():
    e = est.Estimate({"01_a": (10.0, 20.0), "02_b": (100.0, 200.0)}, "how", "machine")
    assert e.remaining([]) == (e.low, e.high) == (110.0, 220.0)
    assert e.remaining([], "01_a", 5.0) == (105.0, 215.0)
    assert e.remaining(["01_a"], "02_b", 150.0) == (0.0, 50.0)
    watcher = Watcher(e, total=2, stream=io.StringIO(), tty=True)
    assert watcher.line().endswith(f"about {est.span(e.low, e.high)} left")  # the line agrees with the estimate


def test_a_long_run_suggests_the_smoke_profile(offline, monkeypatch, capsys, tmp_path):
    from course_tools.runner import say_estimate

    monkeypatch.setattr(est, "calibrate", lambda checkpoint: _calibration(steps=(2.0, 3.0)))
    forecast = say_estimate(NOTEBOOKS, "cpu", tmp_path)
    out = capsys.readouterr().out
    assert forecast.low > est.SUGGEST_SMOKE_OVER_S and "--profile smoke" in out
    assert f"about {est.span(forecast.low, forecast.high)}" in out and "calibrating" in out
    monkeypatch.setattr(est, "calibrate", lambda checkpoint: _calibration(flops=(3e11, 3e11)))
    say_estimate(NOTEBOOKS, "smoke", tmp_path)
    assert "--profile smoke" not in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ in a terminal
LONG_CELL = """import os, sys, time
open("kernel.pid", "w").write(str(os.getpid()))
for i in range(1, 601):
    time.sleep(0.1)
    print(f"\\r{i}/600 [00:{i // 10:02d}<00:59, 10.0it/s]", end="", file=sys.stderr, flush=True)"""


@pytest.fixture
def toy_course(tmp_path) -> Path:
    """A course of one notebook: parameters, a quick cell, a minute-long cell printing a tqdm-like count, and a
    cell after it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = ""\noutput_dir = "outputs"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(LONG_CELL),
                nbformat.v4.new_code_cell('print("after")')]
    for i, cell in enumerate(nb.cells):
        cell.id = f"toy-{i}"
    (tmp_path / "source" / "01_toy").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "source" / "01_toy" / "toy.ipynb")
    return tmp_path


def _read_until(fd: int, buffer: bytearray, done, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done(buffer.decode(errors="replace")):
            return True
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return done(buffer.decode(errors="replace"))
            if not chunk:
                return done(buffer.decode(errors="replace"))
            buffer.extend(chunk)
    return done(buffer.decode(errors="replace"))


def test_ctrl_c_in_a_terminal_stops_cleanly_and_says_where(toy_course):
    """`course run` in a real terminal: the line moves during the long cell (elapsed time, the step count the
    kernel prints); Ctrl-C (the terminal's ^C, to the whole foreground process group) stops the run with one
    line saying what was interrupted and where the partial notebook is, no traceback; the summary says
    interrupted; the partial notebook marks the interrupted cell and the one after it as never run; no kernel
    is left."""
    out = toy_course / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_PROFILE", "NBGRADER_EXECUTION")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="200", LINES="40", TERM="xterm")
    pid, fd = pty.fork()
    if pid == 0:  # the child: `course run` with the pty as its controlling terminal
        os.chdir(toy_course)
        os.execve(sys.executable, [sys.executable, "-m", "course_tools.cli", "run", "--profile", "smoke", "--source",
                                   str(toy_course / "source"), "--out", str(out)], env)
    buffer = bytearray()
    try:
        moving = re.compile(r"0:0([3-9]) in this cell · step (\d+)/600")
        assert _read_until(fd, buffer, lambda t: moving.search(t), 180), buffer.decode(errors="replace")[-3000:]
        seen = buffer.decode(errors="replace")
        assert len(set(re.findall(r"(\d:\d\d) in this cell", seen))) >= 2, "the line moves during the cell"
        os.write(fd, b"\x03")  # Ctrl-C, as typed
        _read_until(fd, buffer, lambda t: False, 60)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = buffer.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 130, text[-3000:]
    assert "Traceback" not in text and "Error" not in text, text[-3000:]
    final = [line for line in re.split(r"[\r\n]+", text) if "interrupted (Ctrl-C)" in line]
    assert len(final) == 1, text[-3000:]
    assert "01_toy/toy.ipynb, cell 4/5 (import os, sys, time)" in final[0]
    assert str(out / "01_toy" / "toy.ipynb") in final[0]
    summary = (out / "summary.md").read_text()
    assert "**Interrupted**" in summary and "| 01_toy/toy.ipynb | interrupted |" in summary
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True
    nb = nbformat.read(out / "01_toy" / "toy.ipynb", as_version=4)
    status_of = {c.id: c.metadata.get("papermill", {}).get("status") for c in nb.cells}
    assert status_of["toy-1"] == "completed" and status_of["toy-2"] == "interrupted"
    assert status_of["toy-3"] == "pending", "the cell after the interrupted one never ran"
    assert nb.metadata["course"]["interrupted"]["cell_id"] == "toy-2"
    long_cell = next(c for c in nb.cells if c.id == "toy-2")
    assert any("Interrupted (Ctrl-C" in o.get("text", "") for o in long_cell.outputs)
    kernel = int((out / "01_toy" / "kernel.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(kernel):
        time.sleep(0.2)
    assert not _alive(kernel), "the kernel was left running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_without_a_terminal_long_cells_print_a_line_a_minute():
    """In CI logs (no terminal) nothing is redrawn; a long cell reports itself every log_every seconds."""
    stream = io.StringIO()
    watcher = Watcher(None, total=1, stream=stream, tty=False, log_every=0.0)
    watcher.notebook_started("02_trainer", 27)
    watcher.cell_started(nbformat.v4.new_code_cell("train_result = trainer.train()"), 14)
    watcher.message({"msg_type": "stream", "content": {"text": "230/690 [01:00<02:00]"}})
    watcher.draw()
    assert stream.getvalue() == "course run 1/1 · 02_trainer cell 15/27 · 0:00 in this cell · step 230/690\n"
    signal.getsignal(signal.SIGINT)  # the runner restores the handler it replaced (checked in the pty test)


def test_ctrl_c_between_two_cells_stops_before_the_next(tmp_path):
    """Ctrl-C while no cell runs (the kernel has nothing to stop): the notebook stops before its next cell, which
    the partial notebook marks, with the cells after it never run."""
    from course_tools.progress import RunInterrupted
    from course_tools.runner import mark_interrupted

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in ("a = 1", "b = 2", "c = 3")]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
        cell.metadata["papermill"] = {"status": "completed" if i == 0 else "pending"}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    watcher = Watcher(None, total=1, stream=io.StringIO(), tty=False)
    watcher.notebook_started("01_n", 3)
    watcher.cells = 3
    watcher.cell_started(nb.cells[0], 0)
    watcher.interrupted = time.monotonic()
    with pytest.raises(RunInterrupted):
        watcher.cell_started(nb.cells[1], 1)
    assert mark_interrupted(path, watcher) == "before cell 2/3 (b = 2)"
    done = nbformat.read(path, as_version=4)
    assert [c.metadata["papermill"]["status"] for c in done.cells] == ["completed", "interrupted", "pending"]
    assert done.metadata["course"]["interrupted"]["cell_id"] == "c1"
