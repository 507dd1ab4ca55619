"""autograder/escape.py: student-controlled text in Markdown, HTML and spreadsheets."""

from __future__ import annotations

import re

from nbconvert.filters.markdown import markdown2html

from autograder.escape import csv_cell, html_text, md_text

HOSTILE = ("boom`\n\n## Next steps\n\nNothing to do <img src=http://192.0.2.1/x.png> [x](javascript:alert(1)) "
           "![i](http://192.0.2.1/i.png) | a | b |\n=HYPERLINK(\"http://192.0.2.1\") & **bold** _it_ # h")


def test_md_text_renders_as_the_same_characters_and_nothing_else():
    rendered = markdown2html(f"- {md_text(HOSTILE)}\n")
    assert "\n" not in md_text(HOSTILE)
    assert not re.search(r"<(h\d|img|a|code|strong|em|table|script)\b", rendered), rendered
    text = re.sub(r"<[^>]+>", "", rendered).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"\s+", " ", text)
    assert "boom` ## Next steps" in text and "<img src=http://192.0.2.1/x.png>" in text


def test_csv_cell_never_starts_a_formula():
    for text in ("=1+1", "+1+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "|cmd", "%x"):
        assert csv_cell(text).startswith("'"), text
    assert csv_cell("-3.5") == "-3.5" and csv_cell("+1") == "+1" and csv_cell(2) == 2 and csv_cell("ann") == "ann"
    assert "\n" not in csv_cell("a\nb")


def test_html_text_escapes_markup_and_quotes():
    assert html_text('<img src="x" onerror=\'y\'>&') == "&lt;img src=&quot;x&quot; onerror=&#x27;y&#x27;&gt;&amp;"
