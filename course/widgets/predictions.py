"""The prediction explorer: validation examples with their true and predicted labels."""

from __future__ import annotations

import html

from .frontend import _LIVE, Rows, _as_array, _mode, _show_rows, _table_bundle

_PREDICTION_COLUMNS = ["index", "text", "label", "predicted", "probability", "correct"]


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
        return _table_bundle(rows[:limit], _PREDICTION_COLUMNS, caption)

    mode = _mode()
    if mode != _LIVE:
        return _show_rows(rows, bundle, mode)

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
    return _show_rows(rows, bundle, mode)
