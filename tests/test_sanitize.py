"""autograder/sanitize.py: what a person sees of a student's notebook runs nothing."""

from __future__ import annotations

import re

from nbconvert.filters.markdown import markdown2html
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.sanitize import rendered_markdown, sanitize_notebook

SCRIPT = "document.title='x'"


def test_outputs_keep_what_renders_without_running_anything():
    nb = new_notebook(cells=[new_code_cell("x", outputs=[
        new_output("display_data", data={
            "text/html": f"<b>ok</b><img src=x onerror=\"{SCRIPT}\"><script>{SCRIPT}</script><table><tr>"
                         f"<td onclick=\"{SCRIPT}\">1</td></tr></table><a href=\"javascript:{SCRIPT}\">j</a>"
                         "<iframe src=\"http://192.0.2.1\"></iframe><a href=\"https://example.org\">e</a>",
            "text/plain": "HTML"}),
        new_output("display_data", data={"application/javascript": SCRIPT, "text/plain": "JS"}),
        new_output("display_data", data={"image/svg+xml": f"<svg onload=\"{SCRIPT}\"/>",
                                         "image/png": "iVBORw0KGgo="}),
        new_output("stream", name="stdout", text="<script>stays text</script>"),
    ])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    outputs = sanitize_notebook(nb).cells[0].outputs
    html = outputs[0]["data"]["text/html"]
    assert "<b>ok</b>" in html and '<a href="https://example.org">e</a>' in html and "<table>" in html
    assert not re.search(r"<(script|img|iframe)\b|<[^>]*\son\w+=|href=\"javascript:", html), html
    kinds = [sorted(o.get("data", {})) or o.get("text") for o in outputs]
    assert ["text/plain"] in kinds and ["image/png"] in kinds
    assert any("application/javascript" in str(k) for k in kinds) and any("image/svg+xml" in str(k) for k in kinds)
    assert outputs[-1]["text"] == "<script>stays text</script>"  # escaped by every renderer
    assert "widgets" not in nb.metadata


def test_a_written_answer_is_stored_rendered_clean_and_reads_the_same():
    answer = "The sum is **zero**: `a < b`.\n\n[ok](https://e.org)\n\n<script>x()</script> <img src=x onerror=y>"
    clean = rendered_markdown(answer)
    assert not re.search(r"<(script|iframe)\b|<[^>]*\son\w+=", clean) and "<strong>zero</strong>" in clean
    assert "<code>a &lt; b</code>" in clean and '<a href="https://e.org">ok</a>' in clean
    assert markdown2html(clean).strip() == clean, "HTML passes through Markdown unchanged (formgrader renders it)"
    assert rendered_markdown(clean) == clean
    locked = new_markdown_cell("# Locked <b>instructions</b>", metadata={"nbgrader": {"locked": True}})
    nb = new_notebook(cells=[new_markdown_cell(answer, metadata={"nbgrader": {"solution": True}}), locked])
    sanitize_notebook(nb)
    assert nb.cells[0].source == clean and nb.cells[1].source == "# Locked <b>instructions</b>"
