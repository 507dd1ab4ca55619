"""Student outputs made safe for the instructor's screens (formgrader, the feedback HTML, JupyterLab).

A student's code can display anything: ``display(HTML('<img src=x onerror=...>'))``, ``Javascript(...)``, an SVG
with a script, a widget that loads code, Markdown with raw HTML. formgrader renders autograded notebooks in the
instructor's logged-in browser, where a script could call Jupyter's API as the instructor. :class:`SanitizeOutputs`
(an nbconvert preprocessor, used in the grading worker's autograde pipeline, again when the parent takes a
notebook out of a job, and in feedback generation) keeps of every output only what renders without running
anything:

* ``text/plain``, ``image/png``, ``image/jpeg``, ``image/gif`` and ``application/json`` as they are;
* ``text/html`` through nbconvert's :class:`~nbconvert.preprocessors.SanitizeHTML` (bleach: tags and attributes
  outside a safe list, ``script``, ``iframe``, event handlers, ``javascript:`` links and remote loads are escaped
  into visible text);
* everything else (``application/javascript``, ``image/svg+xml``, ``text/markdown``, ``text/latex``, widget views,
  custom MIME types) is removed, with a one-line note saying what was removed;
* the notebook's ``widgets`` metadata (which makes nbconvert load widget code from a CDN) is removed.

Markdown cells a student could write (written answers, cells they added) are stored *rendered*: their Markdown
turned into HTML by nbconvert's own ``markdown2html`` and then cleaned like an HTML output (links only to http(s)
and mailto, images only from data or attachments, no remote load). nbgrader's formgrader and feedback templates
render Markdown cells without nbconvert's ``sanitize_html`` switch, so only a clean source is safe there; HTML
passes through Markdown unchanged, so the person grading sees the answer as the student saw it.
"""

from __future__ import annotations

from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.v4 import new_output
from traitlets import Any, List, Set, Unicode

from .cells import is_locked, is_solution

# What a table, a DataFrame, formatted text and a link need; no img (a remote load), no style (url() loads), no id
# (it could clobber the ids of the page that shows it), no form or input.
HTML_TAGS = [
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "samp", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
]  # fmt: skip
HTML_ATTRIBUTES = {"*": ["class", "title"], "a": ["href"], "td": ["colspan", "rowspan", "align"],
                   "th": ["colspan", "rowspan", "align"], "table": ["border"]}
KEPT_AS_IS = {"text/plain", "image/png", "image/jpeg", "image/gif", "application/json"}
REMOVED_NOTE = "[removed by the grader: {mimes} output is not shown to the people grading]"


class SanitizeOutputs(SanitizeHTML):
    """Outputs that render without running anything (see the module docstring); one preprocessor, one rule."""

    tags = List(Unicode(), default_value=HTML_TAGS, help="HTML tags kept in text/html outputs.").tag(config=True)
    attributes = Any(default_value=HTML_ATTRIBUTES, help="HTML attributes kept, per tag.").tag(config=True)
    safe_output_keys = Set(KEPT_AS_IS, help="Output MIME types kept as they are.").tag(config=True)
    sanitized_output_types = Set({"text/html"}, help="Output MIME types kept after bleach has escaped what is "
                                 "unsafe in them.").tag(config=True)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                cell.outputs = self.sanitize_code_outputs(cell.get("outputs", []))
            elif cell.cell_type == "raw":
                cell.source = self.sanitize_html_tags(cell.source)
            elif cell.cell_type == "markdown" and _student_writable(cell):
                cell.source = rendered_markdown(cell.source)
            nb.cells[index] = cell
        return nb, resources

    def sanitize_code_outputs(self, outputs):
        kept = []
        for output in outputs:
            if output.get("output_type") not in ("display_data", "execute_result"):
                kept.append(output)  # stream and error outputs are text, escaped by every renderer
                continue
            data = output.get("data", {})
            removed = sorted(k for k in data if k not in self.safe_output_keys | self.sanitized_output_types)
            for key in removed:
                del data[key]
            for key in self.sanitized_output_types & set(data):
                value = data[key]
                data[key] = self.sanitize_html_tags("".join(value) if isinstance(value, list) else str(value))
            output.get("metadata", {}).clear()  # e.g. {"image/png": {"width": ...}}: nothing a person needs
            if data:
                kept.append(output)
            if removed:
                kept.append(new_output("stream", name="stdout", text=REMOVED_NOTE.format(mimes=", ".join(removed))
                                       + "\n"))
        return kept


def _student_writable(cell) -> bool:
    return is_solution(cell) or not is_locked(cell)


def _link_or_image(tag: str, name: str, value: str) -> bool:
    """Attributes kept on links and images: no script URL, no remote image."""
    if name in ("class", "title", "alt"):
        return True
    if tag == "a" and name == "href":
        return value.strip().lower().startswith(("http://", "https://", "mailto:", "#"))
    if tag == "img" and name == "src":
        return value.strip().lower().startswith(("data:image/png", "data:image/jpeg", "data:image/gif",
                                                 "attachment:"))
    return False


MARKDOWN_TAGS = [*HTML_TAGS, "img"]
MARKDOWN_ATTRIBUTES = {**HTML_ATTRIBUTES, "a": _link_or_image, "img": _link_or_image}


def rendered_markdown(source: str) -> str:
    """Markdown as the clean HTML nbconvert would render it (see the module docstring); HTML is unchanged by a
    second pass, so this can be applied again."""
    import bleach
    from nbconvert.filters.markdown import markdown2html

    return bleach.clean(markdown2html(source), tags=MARKDOWN_TAGS, attributes=MARKDOWN_ATTRIBUTES,
                        protocols=["http", "https", "mailto", "data", "attachment"], strip=False).strip()


def sanitize_notebook(nb):
    """``nb`` with its outputs made safe (in place; returned for convenience)."""
    SanitizeOutputs().preprocess(nb, {})
    return nb
