"""Display helpers: text from the data is escaped; hidden values read as suppressed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsc_research import report
from hsc_research.errors import InputError
from hsc_research.report.export import add_toc
from hsc_research.report.text import md_text


def test_markdown_escapes_html_and_markup():
    out = md_text("<script>x</script> *bold* [link](y)")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\*bold\\*" in out and "\\[link\\]" in out


def test_html_table_escapes_and_marks_suppressed():
    t = pd.DataFrame({"Site": ["<b>Evil</b>"], "n": [pd.NA]})
    html = report.html_table(t, "Cap <i>", min_cell=10).data
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html and "<b>Evil" not in html
    assert "suppressed (n&lt;10)" in html or "suppressed (n<10)" in html
    assert "Cap &lt;i&gt;" in html


def _pandas_html(t: pd.DataFrame) -> str:
    return t.to_html(index=False, escape=True, classes="report-table", border=0)


@pytest.mark.parametrize(
    "table",
    [
        pd.DataFrame({"Site <b>": ["A & B", "<script>", "\"q\" 's'", ""], "n": [1, 22, 0, 5]}),
        pd.DataFrame({"Indicator": ["Trust → GPs", "x y"], "95% CI": ["1% to 3%", "-2 to 4"]}),
        pd.DataFrame({"Empty": []}, dtype=object),
    ],
)
def test_table_html_writes_pandas_markup(table, monkeypatch):
    from hsc_research.report.tables import table_html

    expected = _pandas_html(table.astype(object))

    def refuse(*args, **kwargs):
        raise AssertionError("went to pandas")

    monkeypatch.setattr(pd.DataFrame, "to_html", refuse)  # written directly, not by pandas
    assert table_html(table.astype(object)) == expected


def test_table_html_leaves_a_named_column_axis_to_pandas():
    from hsc_research.report.tables import table_html

    t = pd.DataFrame({"2017": ["1"], "2019": ["2"]}, dtype=object).rename_axis(columns="wave")
    assert table_html(t) == _pandas_html(t)


@pytest.mark.parametrize("odd", [" leading space", "two\nlines", "a  b", 0.125, True])
def test_table_html_leaves_other_values_to_pandas(odd):
    from hsc_research.report.tables import table_html

    t = pd.DataFrame({"Value": [odd, "plain"]}, dtype=object)
    assert table_html(t) == _pandas_html(t)


def test_toc_lists_level_two_headings():
    body = ('<main><div class="jp-Cell"><h1 id="T">T<a class="anchor-link" href="#T">¶</a></h1></div>'
            '<div class="jp-Cell"><h2 id="A-b">A b<a class="anchor-link" href="#A-b">¶</a></h2></div></main>')  # fmt: skip
    out = add_toc(body)
    assert '<li><a href="#A-b">A b</a></li>' in out
    assert out.index("report-toc") > out.index("<h1") and out.index("report-toc") < out.index("<h2")


def _rendered(markdown: str) -> str:
    """Markdown as nbconvert renders a notebook's Markdown output in the report."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


def test_markdown_line_breaks_in_data_start_no_heading():
    for brk in ("\n", "\r\n", "\u2028", "\u2029", "\x85"):
        page = _rendered(f"# {md_text(f'North{brk}# injected')}: report")
        assert page.count("<h1") == 1, repr(brk)
        assert "North # injected: report" in page


def test_markdown_url_in_data_is_not_a_link():
    page = _rendered(md_text("see https://evil.example and <https://evil.example>"))
    assert "<a " not in page
    assert "see https://evil.example and &lt;https://evil.example&gt;" in page


def test_markdown_dollars_in_data_are_not_math():
    page = _rendered(md_text(r"$\frac{1}{$ and $x$"))
    assert r"$\frac{1}{$ and $x$" in page


def _aggregates(folder, codebook_text):
    from hsc_research.aggregate.io import write

    meta = {"min_cell": 10, "sites": {"north": "North"}, "waves": [2019]}
    write({}, folder, meta, codebook_text)


PACKAGED = Path(report.__file__).parent.with_name("instrument") / "hsc2019.yaml"


def test_context_reads_the_codebook_of_the_aggregates(tmp_path):
    text = PACKAGED.read_text(encoding="utf-8").replace(
        "label: Strongly agree}", "label: Agree completely}"
    )
    _aggregates(tmp_path, text)
    ctx = report.load_context(tmp_path, site="north")
    assert ctx.codebook.scales["agree4"].labels[-1] == "Agree completely"


def test_context_refuses_another_codebook(tmp_path):
    _aggregates(tmp_path, PACKAGED.read_text(encoding="utf-8").replace("Strongly agree}", "Fully}"))
    with pytest.raises(InputError, match="not the codebook the aggregates were computed with"):
        report.load_context(tmp_path, site="north", codebook=PACKAGED)


def test_context_accepts_the_same_codebook(tmp_path):
    _aggregates(tmp_path, PACKAGED.read_text(encoding="utf-8"))
    ctx = report.load_context(tmp_path, codebook=PACKAGED)
    assert ctx.codebook.id == "hsc2019"


def _glance_ctx(rows, is_site=True):
    """A context whose site_vs_rest holds ``rows`` (label, p1, p2, diff, lo, hi, sig)."""
    svr = pd.DataFrame(
        rows, columns=["label", "p1", "p2", "diff", "ci_low", "ci_high", "significant"]
    )
    svr = svr.assign(scope="x", wave=2019, indicator=[f"i{k}" for k in range(len(svr))],
                     suppressed=False, family_size=len(svr), correction="Bonferroni",
                     flag=["significantly higher" if s and d > 0 else "significantly lower" if s
                           else "no evidence of a difference" for d, s in zip(svr["diff"], svr["significant"], strict=True)])  # fmt: skip
    from hsc_research.instrument import load_codebook

    return report.Context({"site_vs_rest": svr}, {"sites": {"x": "X"}, "waves": [2019]},
                           load_codebook(), "x", 2019, None, 10)  # fmt: skip


def test_scorecard_flags_in_words_and_symbols_never_colour_alone():
    ctx = _glance_ctx([("Trust A", 0.40, 0.30, 0.10, 0.02, 0.18, True),
                       ("Trust B", 0.20, 0.30, -0.10, -0.18, -0.02, True),
                       ("Trust C", 0.31, 0.30, 0.01, -0.05, 0.07, False)])  # fmt: skip
    html = report.at_a_glance(ctx).data
    assert "\u25b2 higher" in html and "\u25bc lower" in html and "\u25cf in line" in html
    # The scorecard's intervals are the gap analysis's family: 3 comparisons, 98.3%.
    assert "98.3% CI (points)" in html and "2 to 18" in html


def test_what_stands_out_puts_significant_results_first_with_the_reason():
    ctx = _glance_ctx([("Small but significant", 0.40, 0.35, 0.05, 0.01, 0.09, True),
                       ("Large, not significant", 0.60, 0.30, 0.30, -0.02, 0.62, False)])  # fmt: skip
    html = report.at_a_glance(ctx).data
    stand = html[html.index("What stands out") : html.index("Questions to consider")]
    assert stand.index("Small but significant") < stand.index("Large, not significant")
    assert "higher than the rest of the sites by 5 points" in stand
    assert "within what chance allows" in stand


def test_questions_to_consider_follow_the_gap_analysis():
    ctx = _glance_ctx([("Hospital staff who trust ASC", 0.20, 0.35, -0.15, -0.25, -0.05, True),
                       ("ASC staff who trust GPs", 0.50, 0.48, 0.02, -0.05, 0.09, False)])  # fmt: skip
    html = report.at_a_glance(ctx).data
    questions = html[html.index("Questions to consider") :]
    assert "Hospital staff who trust ASC: 20% here against 35% elsewhere" in questions
    assert "In line with other sites on 1 indicator(s)" in questions


def test_self_view_table_reads_the_codebooks_question_and_wording(tmp_path):
    from hsc_research.aggregate.io import NATIONAL
    from hsc_research.instrument import load_codebook

    text = PACKAGED.read_text(encoding="utf-8").replace(
        "prevent a patient being\n      discharged when they could have gone home?",
        "hold a <patient> in hospital?",
    )
    (tmp_path / "codebook.yaml").write_text(text, encoding="utf-8")
    codebook = load_codebook(tmp_path / "codebook.yaml")
    rows = pd.DataFrame({"question": "discharge_influence", "target": "hospital_clinical",
                         "p1": 0.30, "p2": 0.50, "diff": -0.20, "ci_low": -0.35,
                         "ci_high": -0.05, "significant": True, "family_size": 1,
                         "correction": "none", "wave": 2019, "scope": ["x", NATIONAL]})  # fmt: skip
    ctx = report.Context({"self_vs_others": rows}, {"sites": {"x": "X"}, "waves": [2019]},
                         codebook, "x", 2019, None, 10)  # fmt: skip
    html = report.self_view_table(ctx).data
    caption = (
        ": % answering very frequently or frequently to \u201cHow frequently do decisions by "
        "each of these professions hold a &lt;patient&gt; in hospital?\u201d"
    )
    assert "X" + caption in html and "All sites" + caption in html
    assert "prevent discharge" not in html


def _rows_ctx(table):
    from hsc_research.instrument import load_codebook

    return report.Context({"t": table}, {"sites": {"x": "X"}, "waves": [2017, 2019]},
                          load_codebook(), "x", 2019, 2017, 10)  # fmt: skip


def test_context_rows_are_the_scope_and_wave_asked_for():
    t = pd.DataFrame({"scope": ["x", "x", "_national", "x"], "wave": [2019, 2017, 2019, 2019],
                      "v": [1, 2, 3, 4]})  # fmt: skip
    ctx = _rows_ctx(t)
    assert ctx.t("t")["v"].tolist() == [1, 4]
    assert ctx.t("t", wave=None)["v"].tolist() == [1, 2, 4]
    assert ctx.t("t", scope="_national")["v"].tolist() == [3]
    assert ctx.t("t", wave=2017).index.tolist() == [1]


def test_context_rows_changed_by_one_caller_are_new_for_the_next():
    t = pd.DataFrame({"scope": ["x", "x"], "wave": [2019, 2019], "v": [1, 2]})
    ctx = _rows_ctx(t)
    first = ctx.t("t")
    first["v"] = 0
    del first["scope"]
    assert ctx.t("t")["v"].tolist() == [1, 2] and "scope" in ctx.t("t")
    assert t["v"].tolist() == [1, 2]


def test_context_rows_follow_a_replaced_table():
    ctx = _rows_ctx(pd.DataFrame({"scope": ["x"], "wave": [2019], "v": [1]}))
    assert ctx.t("t")["v"].tolist() == [1]
    ctx.tables["t"] = pd.DataFrame({"scope": ["x"], "wave": [2019], "v": [7]})
    assert ctx.t("t")["v"].tolist() == [7]
    ctx.tables["t"].loc[0, "v"] = 99  # changed in place
    assert ctx.t("t")["v"].tolist() == [99]


def test_table_html_writes_every_kind_of_missing_value_in_words():
    from hsc_research.report.tables import table_html

    t = pd.DataFrame({"Site": ["North", None, "South", "East"],
                      "n": pd.array([12, pd.NA, 30, 7], dtype="Int64"),
                      "%": [np.nan, "40%", pd.NA, "5%"]})  # fmt: skip
    expected = _pandas_html(t.astype(object).where(t.notna(), "suppressed"))
    assert table_html(t, missing="suppressed") == expected
    assert expected.count("<td>suppressed</td>") == 4


def test_table_html_missing_values_beside_decimals_go_to_pandas_in_words():
    from hsc_research.report.tables import table_html

    t = pd.DataFrame({"mean": [2.75, np.nan], "when": [pd.Timestamp("2019-01-01"), pd.NaT]})
    out = table_html(t, missing="suppressed")
    assert out == _pandas_html(t.astype(object).where(t.notna(), "suppressed"))
    assert out.count("<td>suppressed</td>") == 2
