"""Executed notebook to HTML: nbconvert with the offline report template, and a contents list."""

from __future__ import annotations

import functools
import re
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")


def add_toc(body: str) -> str:
    """Insert a table of contents linking the level-2 headings."""
    heads = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', body, flags=re.S)
    if not heads:
        return body
    items = "".join(
        f'<li><a href="#{anchor}">{re.sub(r"<[^>]+>", "", text).strip()}</a></li>'
        for anchor, text in heads
    )
    toc = f'<nav class="report-toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'
    # Before the cell that follows the title (the level-1 heading), else atop <main>.
    h1 = body.find("<h1")
    nxt = body.find('<div class="jp-Cell', h1) if h1 >= 0 else -1
    if nxt >= 0:
        return body[:nxt] + toc + body[nxt:]
    return body.replace("<main>", "<main>" + toc, 1)


def export_html(nb, title: str) -> str:
    """HTML of an executed notebook: code and prompts hidden, nothing fetched online."""
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    return add_toc(body)


#: Start tags nbconvert's HTMLExporter makes focusable (``tabindex="0"``): scrollable
#: outputs must be reachable by keyboard.
_FOCUSABLE = re.compile(
    r'<div class="(?:[^"]* )?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?: [^"]*)?"[^>]*?(?<!/)>'
)
#: Image tags without alternative text.
_IMG_NO_ALT = re.compile(r"<img\b(?![^>]*\balt=)[^>]*?(?=/?>)")


def _accessible(html: str) -> str:
    """What HTMLExporter's BeautifulSoup pass adds, by text: ``tabindex="0"`` on input
    wrappers and outputs, and an ``alt`` on any image without one.

    The report template writes these start tags itself (``class`` first), so a pattern
    finds them; parsing the whole 800 kB page to find them took 80% of the export.
    """
    html = _FOCUSABLE.sub(
        lambda m: m[0] if " tabindex=" in m[0] else m[0][:-1] + ' tabindex="0">', html
    )
    return _IMG_NO_ALT.sub(
        lambda m: m[0] + ' alt="No description has been provided for this image"', html
    )


@functools.cache
def _exporter():
    """One exporter per process: loading its templates costs more than using it."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class ReportExporter(HTMLExporter):
        """HTMLExporter without its BeautifulSoup pass, whose additions
        :func:`_accessible` makes instead (tested equal)."""

        def from_notebook_node(self, nb, resources=None, **kw):
            from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter

            # HTMLExporter.from_notebook_node up to its BeautifulSoup pass (nbconvert 7).
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter(
                "highlight_code",
                self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                ),
            )
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                      resources=resources),
            )  # fmt: skip
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessible(html), resources

    return ReportExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        # The notebook is validated once, after the last preprocessor, not after each.
        optimistic_validation=True,
    )
