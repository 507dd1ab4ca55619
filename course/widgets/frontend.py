"""Where the widgets show themselves, and how: front-end detection, display, tables.

Every widget works in three settings, picked by :func:`_mode`:

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
import os
import sys

__all__ = ["Rows", "live_frontend"]

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


def _table_bundle(rows: list[dict], columns: list[str], caption: str | None = None) -> dict:
    """The same table as HTML (notebooks) and as text (plain Python)."""
    return {"text/html": _html_table(rows, columns, caption), "text/plain": _text_table(rows, columns, caption)}


def _show_rows(rows: Rows, bundle, mode: str) -> Rows:
    """Show ``rows``: print ``bundle()``'s text in text mode, else display the live widget (when
    ``rows.widget`` is set) or ``bundle()``, the tables that ``rows`` also shows when displayed again."""
    if mode == _TEXT:
        print(bundle()["text/plain"])
    else:
        rows._static = bundle
        rows._show()
    return rows


# ------------------------------------------------------------------------------------------------- values
def _as_array(values, dtype=float):
    """``values`` (a list, numpy array or torch tensor, on any device) as a numpy array of ``dtype``."""
    import numpy as np

    if hasattr(values, "detach"):  # torch tensors
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)
