"""The training view: loss and evaluation metrics drawn while training runs, and its ``Trainer`` callback."""

from __future__ import annotations

import math
import time

from .frontend import _LIVE, _STATIC, _display, _display_bundle, _figure_bundle, _fmt, _mode


def _number(value) -> float | None:
    """A float for ints, floats, numpy and 0-d torch values; None for anything else."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


class TrainingView:
    """Loss and evaluation metrics drawn while training runs.

    ``update(step, loss=..., eval_accuracy=...)`` records a point in ``history``. Live: the figure is redrawn
    in an ``ipywidgets.Output`` at most every ``every`` seconds. Static: one figure at ``show()``/``close()``.
    Text: ``close()`` prints the last values.
    """

    _NOT_PLOTTED = ("step", "epoch")

    def __init__(self, title: str = "Training", every: float = 2.0, figsize=(9.0, 3.4)):
        self.title = title
        self.every = float(every)
        self.figsize = figsize
        self.history: list[dict] = []
        self.closed = False
        self.mode = _mode()
        self._last_draw = -math.inf
        self.draws = 0  # live redraws so far
        self._out = None
        if self.mode == _LIVE:
            import ipywidgets as widgets

            self._out = widgets.Output()
            _display(self._out)

    @property
    def widget(self):
        """The live ``ipywidgets.Output`` (None outside live mode)."""
        return self._out

    def update(self, step: int, **values) -> dict:
        """Record ``values`` (numbers) at ``step``; redraw if live and ``every`` seconds have passed."""
        entry: dict = {"step": int(step)}
        for key, value in values.items():
            number = _number(value)
            if number is None:
                raise TypeError(f"TrainingView.update: {key}={value!r} is not a number")
            entry[key] = number
        self.history.append(entry)
        if self._out is not None and time.monotonic() - self._last_draw >= self.every:
            self._redraw()
        return entry

    def series(self) -> dict[str, list[tuple[int, float]]]:
        """``{name: [(step, value), ...]}`` for every plotted quantity."""
        out: dict[str, list[tuple[int, float]]] = {}
        for entry in self.history:
            for key, value in entry.items():
                if key not in self._NOT_PLOTTED:
                    out.setdefault(key, []).append((entry["step"], value))
        return out

    def figure(self):
        """A new matplotlib figure of the history: losses on the left, other metrics on the right."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        series = self.series()
        losses = {k: v for k, v in series.items() if "loss" in k}
        metrics = {k: v for k, v in series.items() if "loss" not in k}
        panels = [(name, group) for name, group in (("loss", losses), ("metrics", metrics)) if group]
        fig = Figure(figsize=self.figsize if len(panels) > 1 else (self.figsize[0] * 0.6, self.figsize[1]))
        axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
        for ax, (name, group) in zip(axes, panels):
            for key, points in group.items():
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=4, label=key)
            ax.set_xlabel("step")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title("loss" if name == "loss" else "evaluation metrics", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        if not panels:
            axes[0].text(0.5, 0.5, "no values yet", ha="center", va="center")
            axes[0].set_axis_off()
        fig.suptitle(self.title)
        fig.tight_layout()
        return fig

    def _summary(self) -> str:
        last: dict = {}
        for entry in self.history:
            last.update(entry)
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in last.items() if k != "step")
        return f"{self.title}: {len(self.history)} updates, last step {last.get('step', '—')}: {values or '—'}"

    def _bundle(self) -> dict:
        return _figure_bundle(self.figure(), self._summary())

    def _redraw(self) -> None:
        self._last_draw = time.monotonic()
        self.draws += 1
        data = self._bundle()
        self._out.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def show(self) -> None:
        """Draw now: redraw the live figure, show a static figure, or print the summary."""
        if self.mode == _LIVE:
            self._redraw()
        elif self.mode == _STATIC:
            _display_bundle(self._bundle())
        else:
            print(self._summary())

    def close(self) -> list[dict]:
        """Training is over: final drawing (once). Returns ``history``."""
        if not self.closed:
            self.closed = True
            self.show()
        return self.history

    def _ipython_display_(self):
        if self._out is not None:
            _display(self._out)
        else:
            _display_bundle(self._bundle())


_CALLBACK_CLASS = None


def _callback_class():
    """Build ``TrainingViewCallback`` on first use (``course.widgets.__getattr__``): importing transformers
    takes seconds."""
    global _CALLBACK_CLASS
    if _CALLBACK_CLASS is not None:
        return _CALLBACK_CLASS
    from transformers import TrainerCallback

    class TrainingViewCallback(TrainerCallback):
        """Feeds a :class:`TrainingView` from ``Trainer`` logs (training ``loss`` and ``eval_*`` metrics)
        and closes it when training ends: ``trainer.add_callback(TrainingViewCallback(view))``."""

        _SKIP = ("_runtime", "_per_second")

        def __init__(self, view: TrainingView):
            self.view = view

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or not getattr(state, "is_world_process_zero", True):
                return
            values = {k: v for k, v in logs.items()
                      if (k == "loss" or (k.startswith("eval_") and not k.endswith(self._SKIP)))
                      and _number(v) is not None}
            if values:
                if _number(logs.get("epoch")) is not None:
                    values["epoch"] = logs["epoch"]
                self.view.update(state.global_step, **values)

        def on_train_end(self, args, state, control, **kwargs):
            if getattr(state, "is_world_process_zero", True):
                self.view.close()

    TrainingViewCallback.__module__ = __package__  # the public name: course.widgets.TrainingViewCallback
    TrainingViewCallback.__qualname__ = "TrainingViewCallback"
    _CALLBACK_CLASS = TrainingViewCallback
    return TrainingViewCallback
