"""Widgets the notebooks use: interactive in JupyterLab, a static table or figure everywhere else.

One module per widget (:mod:`.tokens`, :mod:`.training`, :mod:`.predictions`, :mod:`.confusion`); how and
where they show themselves (``live``, ``static`` or ``text``) is decided in :mod:`.frontend`. Importing the
package stays light: matplotlib, ipywidgets, IPython and transformers load when a widget needs them.
"""

from .confusion import confusion_matrix_plot
from .frontend import Rows, live_frontend
from .predictions import prediction_explorer
from .tokens import tokenizer_explorer
from .training import TrainingView

__all__ = ["Rows", "TrainingView", "TrainingViewCallback", "confusion_matrix_plot", "live_frontend",  # noqa: F822
           "prediction_explorer", "tokenizer_explorer"]


def __getattr__(name):
    if name == "TrainingViewCallback":  # built on first use
        from .training import _callback_class

        return _callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
