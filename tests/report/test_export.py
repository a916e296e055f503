"""Executed notebook to HTML: the report exporter against nbconvert's own HTMLExporter."""

from __future__ import annotations

import copy

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from hsc_research.report.export import TEMPLATES, _accessible, _exporter, export_html


def _notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.metadata["title"] = "Tiny report"
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    html = (
        '<figure><img src="data:image/svg+xml;base64,PHN2Zy8+" alt="A chart">'
        '<img src="data:image/svg+xml;base64,PHN2Zy8+"></figure>'
        "<p>Site &lt;div class=&quot;jp-OutputArea-output&quot;&gt; &amp; co</p>"
    )
    nb.cells = [
        v4.new_markdown_cell("## Findings\n\nSome *text*."),
        v4.new_code_cell(
            "x",
            outputs=[
                v4.new_output("execute_result", {"text/html": html}, execution_count=1),
                v4.new_output("execute_result", {"text/markdown": "**bold**"}, execution_count=2),
                v4.new_output("stream", name="stdout", text="printed\n"),
            ],
        ),
    ]
    return nb


def test_report_html_is_nbconverts_once_parsed_alike():
    # nbconvert's HTMLExporter re-serialises its page through BeautifulSoup after adding
    # tabindex and alt attributes; ours adds them by text. Parsed the same way, the two
    # pages must be the same page.
    reference = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb = _notebook()
    expected, _ = reference.from_notebook_node(copy.deepcopy(nb))
    ours, _ = _exporter().from_notebook_node(nb)
    assert str(BeautifulSoup(ours, features="html.parser")) == expected


def test_outputs_are_focusable_and_images_described():
    page = export_html(_notebook(), "Tiny report")
    soup = BeautifulSoup(page, features="html.parser")
    outputs = soup.select("div.jp-OutputArea-output")
    assert len(outputs) == 3
    assert all(o.get("tabindex") == "0" for o in outputs)
    assert [i.get("alt") for i in soup.select("img")] == [
        "A chart",
        "No description has been provided for this image",
    ]


def test_escaped_markup_in_text_is_left_as_text():
    text = "<p>&lt;div class=&quot;jp-OutputArea-output&quot;&gt; and &lt;img src=x&gt;</p>"
    assert _accessible(text) == text


def test_tabindex_is_not_added_twice():
    tag = '<div class="jp-OutputArea-output" tabindex="-1">'
    assert _accessible(tag) == tag
    assert _accessible('<div class="a jp-OutputArea-output b">') == (
        '<div class="a jp-OutputArea-output b" tabindex="0">'
    )
