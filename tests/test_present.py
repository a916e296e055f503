"""Display helpers: text from the data is escaped; hidden values read as suppressed."""

from __future__ import annotations

import pandas as pd

from hsc_research import present
from hsc_research.reports import _add_toc


def test_markdown_escapes_html_and_markup():
    out = present._md("<script>x</script> *bold* [link](y)")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\*bold\\*" in out and "\\[link\\]" in out


def test_html_table_escapes_and_marks_suppressed():
    t = pd.DataFrame({"Site": ["<b>Evil</b>"], "n": [pd.NA]})
    html = present.html_table(t, "Cap <i>", min_cell=10).data
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html and "<b>Evil" not in html
    assert "suppressed (n&lt;10)" in html or "suppressed (n<10)" in html
    assert "Cap &lt;i&gt;" in html


def test_toc_lists_level_two_headings():
    body = ('<main><div class="jp-Cell"><h1 id="T">T<a class="anchor-link" href="#T">¶</a></h1></div>'
            '<div class="jp-Cell"><h2 id="A-b">A b<a class="anchor-link" href="#A-b">¶</a></h2></div></main>')  # fmt: skip
    out = _add_toc(body)
    assert '<li><a href="#A-b">A b</a></li>' in out
    assert out.index("report-toc") > out.index("<h1") and out.index("report-toc") < out.index("<h2")
