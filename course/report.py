"""Numbers a notebook reports (metrics, shapes, timings), kept inside the executed notebook.

``record(accuracy=0.8, predictions_shape=(408, 2))`` shows a small table and stores the values as a display
output of the MIME type below, so ``course run`` (and the tests) can read them back from the executed
notebook alone, as scrapbook does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

MIME_TYPE = "application/vnd.course.record+json"


def _plain(value):
    """Turn numpy/torch scalars, tuples and shapes into JSON values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def record(**values) -> None:
    """Report named values from a notebook (shown once: nothing is returned for the cell to echo)."""
    plain = {k: _plain(v) for k, v in values.items()}
    text = "\n".join(f"{k}: {v}" for k, v in plain.items())
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display({MIME_TYPE: plain, "text/plain": text}, raw=True)
            return
    except ImportError:  # pragma: no cover - IPython comes with jupyter
        pass
    print(text)


def read_records(notebook: str | Path | dict) -> dict:
    """All values recorded in an executed notebook (later records win)."""
    nb = notebook if isinstance(notebook, dict) else json.loads(Path(notebook).read_text())
    found: dict = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if MIME_TYPE in data:
                found.update(data[MIME_TYPE])
    return found
