"""The tokenizer explorer: tokens, ids, token types and attention mask of a text or a pair."""

from __future__ import annotations

import html

from .frontend import _LIVE, Rows, _mode, _show_rows, _table_bundle

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
        return _table_bundle(current, _TOKEN_COLUMNS, _token_caption(current, pair))

    if mode != _LIVE:
        return _show_rows(rows, bundle, mode)

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
    return _show_rows(rows, bundle, mode)
