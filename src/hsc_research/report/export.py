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


@functools.cache
def _exporter():
    """One exporter per process: loading its templates costs more than using it."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
