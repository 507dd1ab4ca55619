"""Escaping what students control (ids, file names, exception texts, reasons) for each place a person reads it.

A student's code chooses the text of its exceptions, the names of the files and zip members it hands in, and
whatever it prints; the grader passes some of that on (a failed test's reason, a note, a file that matched
nothing). Every such string is escaped where it is written, for the format it is written in:

* :func:`md_text` for Markdown (``report.md``): one line, no Markdown or HTML syntax left active;
* :func:`html_text` for HTML (feedback pages, the similarity page);
* :func:`csv_cell` for spreadsheets (``grades.csv``, LMS exports): no formula (OWASP's CSV injection advice:
  a cell starting with ``= + - @``, a tab or a carriage return is prefixed with ``'``).
"""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&\"'=^$-])")
_AUTOLINK = re.compile(r"[A-Za-z][A-Za-z0-9+.\\-]*:(?=//)|www\.", re.IGNORECASE)  # GFM's extended autolinks
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def one_line(text, limit: int = 500) -> str:
    """``text`` as one line: newlines become spaces, control characters are dropped, at most ``limit`` characters."""
    text = _CONTROL.sub("", str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_text(text, limit: int = 500) -> str:
    """``text`` for a Markdown document: one line, every Markdown and HTML character backslash-escaped, so it
    renders as the same characters and nothing else (no link, autolink, image, code span, heading, table cell or
    tag)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(text, limit))
    return _AUTOLINK.sub(lambda m: m.group(0).replace(":", "\\:").replace("www.", "www\\."), escaped)


def html_text(text) -> str:
    """``text`` for HTML (element content or a quoted attribute)."""
    return html.escape(str(text), quote=True)


def csv_cell(value):
    """A value for a spreadsheet cell: numbers as they are; text one line, and never read as a formula."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = one_line(value, 2000)
    if text.lstrip().startswith(_FORMULA_START) and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
