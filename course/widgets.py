"""Widgets the notebooks use: interactive in JupyterLab, a static table or figure everywhere else.

Every function works in three settings, picked by :func:`_mode`:

* ``live``: an IPython kernel with a Jupyter front end open on it (see :func:`live_frontend`): ipywidgets;
* ``static``: a kernel with nobody watching (papermill, nbclient, nbgrader): an HTML table or a PNG figure
  shown with ``IPython.display``, so the executed notebook keeps it;
* ``text``: plain Python, no IPython: a text table is printed and the data returned.

``COURSE_WIDGETS=live|static|text`` forces a mode. Figures are drawn with matplotlib's object API
(``matplotlib.figure.Figure``), never through pyplot: no backend is changed and nothing blocks.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import sys
import time

__all__ = ["Rows", "TrainingView", "TrainingViewCallback", "confusion_matrix_plot", "live_frontend",  # noqa: F822
           "prediction_explorer", "tokenizer_explorer"]

_LIVE, _STATIC, _TEXT = "live", "static", "text"
_FORCE = {"live": _LIVE, "widgets": _LIVE, "interactive": _LIVE, "static": _STATIC, "html": _STATIC,
          "text": _TEXT, "plain": _TEXT}


# --------------------------------------------------------------------------------------------------- modes
def _forced() -> str | None:
    """The mode named by ``COURSE_WIDGETS`` (``live``, ``static`` or ``text``), or None for automatic."""
    return _FORCE.get(os.environ.get("COURSE_WIDGETS", "").strip().lower())


def _shell():
    """The running IPython shell, or None (without importing IPython into plain Python)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def _parent_environ_has(name: str, value: str) -> bool:
    """Whether the process that launched this kernel (``JPY_PARENT_PID``) was itself started with
    ``name=value``: then the variable was inherited, not set by a Jupyter server for this kernel.
    Linux only (``/proc``); elsewhere, or when unreadable, answers False."""
    pid = os.environ.get("JPY_PARENT_PID", "")
    if not pid.isdigit() or not sys.platform.startswith("linux"):
        return False
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            entries = fh.read().split(b"\0")
    except OSError:
        return False
    return f"{name}={value}".encode() in entries


def live_frontend() -> bool:
    """True only in an IPython kernel that a Jupyter server started for an open notebook.

    ``COURSE_WIDGETS=live`` or ``static``/``text`` force the answer. Otherwise: jupyter-server gives each
    kernel it starts for a notebook session ``JPY_SESSION_NAME`` (the notebook's path;
    ``SessionManager.get_kernel_env``); nbclient, papermill and nbgrader start kernels through
    jupyter_client alone and never set it. A value merely inherited (a batch run launched from a live
    notebook: its parent process already had the same value) does not count, nor does nbgrader's
    ``NBGRADER_EXECUTION``. VS Code (``__vsc_ipynb_file__``) and Colab notebooks count as live.
    """
    forced = _forced()
    if forced is not None:
        return forced == _LIVE
    shell = _shell()
    if shell is None or getattr(shell, "kernel", None) is None:  # plain Python or terminal IPython
        return False
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("NBGRADER_VALIDATING"):
        return False
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        return not _parent_environ_has("JPY_SESSION_NAME", session)
    if "__vsc_ipynb_file__" in (getattr(shell, "user_ns", None) or {}):
        return True
    return "google.colab" in sys.modules


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _mode() -> str:
    """``live``, ``static`` or ``text``: how the widgets show themselves here."""
    forced = _forced()
    shell = _shell()
    if forced == _LIVE:
        return _LIVE if _has_ipywidgets() else (_STATIC if shell is not None else _TEXT)
    if forced == _TEXT or shell is None:
        return _TEXT
    if forced == _STATIC:
        return _STATIC
    return _LIVE if live_frontend() and _has_ipywidgets() else _STATIC


# ------------------------------------------------------------------------------------------------ display
def _execution_count():
    shell = _shell()
    return getattr(shell, "execution_count", None) if shell is not None else None


def _display(obj) -> None:
    """``IPython.display.display`` when a shell runs; nothing otherwise."""
    if _shell() is not None:
        from IPython.display import display

        display(obj)


def _display_bundle(bundle: dict) -> None:
    """Show a MIME bundle (``{"text/html": ..., "text/plain": ...}``) in IPython, else print its text."""
    if _shell() is not None:
        from IPython.display import display

        display(bundle, raw=True)
    else:
        print(bundle.get("text/plain", ""))


def _png(fig) -> str:
    """The figure as base64 PNG (what a notebook's ``image/png`` output holds)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_bundle(fig, text: str) -> dict:
    return {"image/png": _png(fig), "text/plain": text}


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return " ‖ ".join(str(v) for v in value)
    return str(value)


def _short(text, limit: int = 160) -> str:
    text = _fmt(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_table(rows: list[dict], columns: list[str], caption: str | None = None) -> str:
    cells = [[_short(row.get(c), 60) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [caption] if caption else []
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _html_table(rows: list[dict], columns: list[str], caption: str | None = None) -> str:
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left;padding:2px 8px'>{html.escape(_short(row.get(c)))}</td>"
                         for c in columns) + "</tr>"
        for row in rows)
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='course-widget'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Rows(list):
    """The rows a widget shows: a list of dicts, also as ``.rows``.

    In live mode ``.widget`` is the ipywidget and ``.controls`` names its inputs; the list is updated in
    place when they change. As a cell's last expression it is not shown a second time.
    """

    def __init__(self, rows=(), *, widget=None, controls=None, static=None):
        super().__init__(rows)
        self.widget = widget
        self.controls = dict(controls or {})
        self._static = static  # () -> MIME bundle, for static display
        self._shown_in = None

    @property
    def rows(self) -> list[dict]:
        return self

    def _show(self) -> None:
        if self.widget is not None:
            _display(self.widget)
        elif self._static is not None:
            _display_bundle(self._static())
        self._shown_in = _execution_count()

    def _ipython_display_(self):
        if self._shown_in is not None and self._shown_in == _execution_count():
            return  # already shown by the call in this very cell
        self._show()


# ------------------------------------------------------------------------------------- 1. tokenizer explorer
_TOKEN_COLUMNS = ["position", "token", "input_id", "token_type_id", "attention_mask"]


def _token_rows(tokenizer, first: str, second: str | None) -> list[dict]:
    encoding = tokenizer(first, second) if second else tokenizer(first)
    ids = list(encoding["input_ids"])
    tokens = tokenizer.convert_ids_to_tokens(ids)
    types = encoding.get("token_type_ids")
    mask = encoding.get("attention_mask")
    return [{"position": i, "token": tok, "input_id": int(ids[i]),
             "token_type_id": None if types is None else int(types[i]),
             "attention_mask": None if mask is None else int(mask[i])}
            for i, tok in enumerate(tokens)]


def _token_caption(rows, second) -> str:
    return f"{len(rows)} tokens, {'a pair of sentences' if second else 'one sentence'}"


def tokenizer_explorer(tokenizer, first: str, second: str | None = None) -> Rows:
    """Tokens, ids, ``token_type_ids`` and attention mask of one text or a pair, as a table.

    Live: two text boxes re-render the table as you type. Returns the rows (a :class:`Rows` list).
    """
    mode = _mode()
    rows = Rows(_token_rows(tokenizer, first, second))

    def bundle(current=rows, pair=second):
        caption = _token_caption(current, pair)
        return {"text/html": _html_table(current, _TOKEN_COLUMNS, caption),
                "text/plain": _text_table(current, _TOKEN_COLUMNS, caption)}

    if mode == _TEXT:
        print(bundle()["text/plain"])
        return rows
    if mode == _STATIC:
        rows._static = bundle
        rows._show()
        return rows

    import ipywidgets as widgets

    first_box = widgets.Text(value=first, description="first", layout=widgets.Layout(width="95%"))
    second_box = widgets.Text(value=second or "", description="second", placeholder="(optional) a second text",
                              layout=widgets.Layout(width="95%"))
    table = widgets.HTML(value=bundle()["text/html"])

    def refresh(_change=None):
        pair = second_box.value or None
        try:
            rows[:] = _token_rows(tokenizer, first_box.value, pair)
            table.value = bundle(rows, pair)["text/html"]
        except Exception as exc:  # noqa: BLE001 - keep the widget alive while the student types
            table.value = f"<pre>{html.escape(repr(exc))}</pre>"

    first_box.observe(refresh, names="value")
    second_box.observe(refresh, names="value")
    rows.widget = widgets.VBox([first_box, second_box, table])
    rows.controls = {"first": first_box, "second": second_box, "table": table}
    rows._static = bundle
    rows._show()
    return rows


# ------------------------------------------------------------------------------------------ 2. training view
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
    """Build ``TrainingViewCallback`` on first use: importing transformers takes seconds."""
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

    TrainingViewCallback.__module__ = __name__
    TrainingViewCallback.__qualname__ = "TrainingViewCallback"
    _CALLBACK_CLASS = TrainingViewCallback
    return TrainingViewCallback


def __getattr__(name):
    if name == "TrainingViewCallback":
        return _callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------ 3. prediction explorer
_PREDICTION_COLUMNS = ["index", "text", "label", "predicted", "probability", "correct"]


def _as_array(values, dtype=float):
    import numpy as np

    if hasattr(values, "detach"):  # torch tensors
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def _softmax(logits):
    import numpy as np

    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _prediction_rows(texts, labels, logits, label_names) -> list[dict]:
    logits = _as_array(logits)
    labels = _as_array(labels, dtype=int).ravel()
    texts = [tuple(t) if isinstance(t, (list, tuple)) else t for t in texts]
    if logits.ndim != 2 or logits.shape[0] != len(texts) or len(labels) != len(texts):
        raise ValueError(f"expected logits of shape ({len(texts)}, {len(label_names)}) for {len(texts)} texts and "
                         f"{len(labels)} labels, got {logits.shape}")
    if logits.shape[1] != len(label_names):
        raise ValueError(f"{logits.shape[1]} logits per example but {len(label_names)} label names")
    probs = _softmax(logits)
    predicted = probs.argmax(axis=-1)
    rows = []
    for i, (text, label, pred, p) in enumerate(zip(texts, labels, predicted, probs)):
        rows.append({"index": i, "text": text, "label": label_names[int(label)], "label_id": int(label),
                     "predicted": label_names[int(pred)], "predicted_id": int(pred),
                     "probability": float(p[pred]), "probabilities": [float(x) for x in p],
                     "correct": bool(label == pred)})
    return rows


def _prediction_caption(shown: list[dict], all_rows: list[dict], only_mistakes: bool, limit: int) -> str:
    mistakes = sum(not r["correct"] for r in all_rows)
    what = f"{len(shown)} mistakes" if only_mistakes else f"{len(shown)} examples"
    return (f"First {min(limit, len(shown))} of {what} ({mistakes} mistakes in {len(all_rows)} examples, "
            f"accuracy {1 - mistakes / max(len(all_rows), 1):.3f})")


def _prediction_card(row: dict | None, position: int, total: int, label_names) -> str:
    if row is None:
        return "<p><b>No mistakes:</b> every prediction is right.</p>"
    text = row["text"]
    if isinstance(text, tuple):
        body = "".join(f"<p><b>text {i + 1}:</b> {html.escape(str(t))}</p>" for i, t in enumerate(text))
    else:
        body = f"<p>{html.escape(str(text))}</p>"
    mark = "✓" if row["correct"] else "✗"
    bars = "".join(
        f"<div style='display:flex;align-items:center;gap:6px'><span style='width:9em'>{html.escape(str(name))}"
        f"</span><span style='display:inline-block;height:0.8em;width:{100 * p:.1f}px;background:#4878d0'></span>"
        f"<span>{p:.3f}</span></div>" for name, p in zip(label_names, row["probabilities"]))
    return (f"<div><p><b>example {row['index']}</b> ({position + 1} of {total})</p>{body}"
            f"<p>true: <b>{html.escape(row['label'])}</b> · predicted: <b>{html.escape(row['predicted'])}</b> "
            f"({row['probability']:.3f}) {mark}</p>{bars}</div>")


def prediction_explorer(texts, labels, logits, label_names, only_mistakes: bool = False, *, limit: int = 10) -> Rows:
    """Step through validation examples: text, true label, predicted label and its softmax probability.

    ``texts`` are strings or (text, text) pairs. Live: a slider, previous/next buttons and an
    "only mistakes" checkbox. Static: an HTML table of the first ``limit`` rows. Returns the rows (only the
    mistakes when ``only_mistakes``).
    """
    label_names = [str(n) for n in label_names]
    all_rows = _prediction_rows(texts, labels, logits, label_names)

    def select(mistakes_only: bool) -> list[dict]:
        return [r for r in all_rows if not r["correct"]] if mistakes_only else list(all_rows)

    rows = Rows(select(only_mistakes))
    state = {"only_mistakes": only_mistakes}

    def bundle():
        caption = _prediction_caption(rows, all_rows, state["only_mistakes"], limit)
        return {"text/html": _html_table(rows[:limit], _PREDICTION_COLUMNS, caption),
                "text/plain": _text_table(rows[:limit], _PREDICTION_COLUMNS, caption)}

    mode = _mode()
    if mode == _TEXT:
        print(bundle()["text/plain"])
        return rows
    if mode == _STATIC:
        rows._static = bundle
        rows._show()
        return rows

    import ipywidgets as widgets

    checkbox = widgets.Checkbox(value=only_mistakes, description="only mistakes", indent=False)
    slider = widgets.IntSlider(value=0, min=0, max=max(len(rows) - 1, 0), description="example",
                               continuous_update=True)
    previous = widgets.Button(description="◀ previous", layout=widgets.Layout(width="auto"))
    following = widgets.Button(description="next ▶", layout=widgets.Layout(width="auto"))
    card = widgets.HTML()

    def render(_change=None):
        slider.disabled = previous.disabled = following.disabled = not rows
        position = min(slider.value, max(len(rows) - 1, 0))
        card.value = _prediction_card(rows[position] if rows else None, position, len(rows), label_names)

    def toggle(change):
        state["only_mistakes"] = bool(change["new"])
        rows[:] = select(state["only_mistakes"])
        slider.value = 0
        slider.max = max(len(rows) - 1, 0)
        render()

    def step(delta):
        def click(_button):
            slider.value = min(max(slider.value + delta, slider.min), slider.max)
        return click

    checkbox.observe(toggle, names="value")
    slider.observe(render, names="value")
    previous.on_click(step(-1))
    following.on_click(step(+1))
    render()
    rows.widget = widgets.VBox([widgets.HBox([previous, slider, following, checkbox]), card])
    rows.controls = {"slider": slider, "previous": previous, "next": following, "only_mistakes": checkbox,
                     "card": card}
    rows._static = bundle
    rows._show()
    return rows


# ---------------------------------------------------------------------------------------- 4. confusion matrix
def confusion_matrix_plot(labels, predictions, label_names, *, title: str = "Confusion matrix"):
    """Counts of (true label, predicted label) as an annotated matplotlib figure, displayed.

    Returns ``(matrix, figure)``; ``matrix[i, j]`` counts examples of true label ``i`` predicted as ``j``.
    """
    import numpy as np

    label_names = [str(n) for n in label_names]
    k = len(label_names)
    true = _as_array(labels, dtype=np.int64).ravel()
    pred = _as_array(predictions, dtype=np.int64).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"{true.size} labels but {pred.size} predictions")
    if true.size and (min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= k):
        raise ValueError(f"labels and predictions must lie in [0, {k}) for {k} label names")
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)

    from matplotlib.figure import Figure

    side = max(3.2, 0.7 * k + 2.0)
    fig = Figure(figsize=(side + 0.8, side))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), label_names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), label_names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > threshold else "black")
    fig.tight_layout()

    rows = [{"true \\ predicted": name, **{label_names[j]: int(matrix[i, j]) for j in range(k)}}
            for i, name in enumerate(label_names)]
    text = _text_table(rows, ["true \\ predicted", *label_names],
                       f"{title}: {int(np.trace(matrix))} of {true.size} on the diagonal")
    if _mode() == _TEXT:
        print(text)
    else:  # a figure is static anyway: the same PNG live and in executed notebooks
        _display_bundle(_figure_bundle(fig, text))
    return matrix, fig
