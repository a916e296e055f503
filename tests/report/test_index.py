"""The index page: headline numbers under the one rounding rule, a table complete
without JavaScript, an inline sort and filter script that loads nothing, data escaped.

The script's behaviour in a browser is tested in test_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from hsc_research.aggregate.io import NATIONAL
from hsc_research.config import project_paths
from hsc_research.report import index, tasks

MANIFEST = {"input_sha256": "0" * 64, "version": "0", "started_utc": "t"}


def _tasks() -> list[tasks.ReportTask]:
    """A site task (site id "north") and the national task."""
    return tasks.plan_tasks(project_paths(Path("/nonexistent")), [("north", "North")])


PACKAGED = Path(index.__file__).parent.with_name("instrument") / "hsc2019.yaml"


def _indicators(
    tmp_path: Path, estimates: dict[tuple[str, str], float], codebook: str | None = None
) -> Path:
    """An aggregates folder holding ``indicators.parquet`` and the codebook (the packaged
    one unless ``codebook`` text is given), as ``hsc-research aggregate`` writes them."""
    (tmp_path / "codebook.yaml").write_text(codebook or PACKAGED.read_text(encoding="utf-8"))
    rows = [
        {"wave": 2023, "scope": scope, "indicator": ind, "label": f"label {ind}", "estimate": est}
        for (scope, ind), est in estimates.items()
    ]
    rows.append({"wave": 2019, "scope": "north", "indicator": "trust_hospital_in_asc",
                 "label": "old", "estimate": 0.9})  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / "indicators.parquet")
    return tmp_path


def _result(name="North", slug="site-north", pdf=None, seconds=1.0):
    return tasks.ReportResult(name=name, slug=slug, kind="site", status="ok",
                                seconds=seconds, html=f"{slug}.html", pdf=pdf)  # fmt: skip


@pytest.mark.parametrize(
    ("estimate", "text"),
    # Half points round away from zero (Python's :.0f gives 12%, 0% and 2%).
    [(0.125, "13%"), (0.005, "1%"), (0.025, "3%"), (0.124, "12%")],
)
def test_index_numbers_round_half_away_from_zero(tmp_path, estimate, text):
    agg = _indicators(tmp_path, {("north", "trust_hospital_in_asc"): estimate})
    _, cells = index.headline_cells(agg, _tasks(), 10)
    assert cells["site-north"][0] == (text, pytest.approx(100 * estimate))


def test_index_numbers_are_of_the_latest_wave(tmp_path):
    agg = _indicators(tmp_path, {("north", "trust_hospital_in_asc"): 0.25})
    headers, cells = index.headline_cells(agg, _tasks(), 10)
    assert headers[0] == "label trust_hospital_in_asc"
    assert cells["site-north"][0][0] == "25%"


def test_index_columns_are_the_codebooks_index_indicators(tmp_path):
    text = PACKAGED.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("index_indicators:"))
    copy = text.replace(line, "  index_indicators: [wp_free_up_beds, trust_hospital_in_asc]")
    agg = _indicators(tmp_path, {("north", "trust_hospital_in_asc"): 0.25,
                                 ("north", "wp_free_up_beds"): 0.5}, copy)  # fmt: skip
    headers, cells = index.headline_cells(agg, _tasks(), 10)
    assert headers == ["label wp_free_up_beds", "label trust_hospital_in_asc"]
    assert [c[0] for c in cells["site-north"]] == ["50%", "25%"]


def test_unpublished_index_number_reads_suppressed_and_has_no_sort_value(tmp_path):
    agg = _indicators(tmp_path, {(NATIONAL, "trust_hospital_in_asc"): 0.5})
    _, cells = index.headline_cells(agg, _tasks(), 10)
    assert cells["site-north"][0] == ("suppressed (n<10)", None)
    assert cells["national"][0] == ("50%", 50.0)


def test_index_table_is_complete_without_javascript():
    page = index.index_html(
        [_result(), _result("South", "site-south")], MANIFEST, ["Trust"],
        {"site-north": [("13%", 12.5)], "site-south": [("suppressed (n<10)", None)]},
    )  # fmt: skip
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 2
    assert '<td class="num" data-sort="12.500000">13%</td>' in body
    assert '<td class="num">suppressed (n&lt;10)</td>' in body
    # The filter appears only when the script runs; no dead controls without it.
    assert '<div id="index-controls" hidden>' in page


def test_index_headers_are_column_headers_the_script_makes_sortable():
    page = index.index_html([_result()], MANIFEST, ["Trust"], {"site-north": [("1%", 1.0)]})
    heads = re.findall(r"<th ([^>]*)>", page)
    assert len(heads) == 5 and all('scope="col"' in h for h in heads)
    assert 'setAttribute("aria-sort", dir)' in index.INDEX_SCRIPT
    assert 'createElement("button")' in index.INDEX_SCRIPT


def test_index_loads_no_script_but_its_own_inline_one():
    page = index.index_html([_result()], MANIFEST)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts == [("", index.INDEX_SCRIPT)]
    digest = base64.b64encode(hashlib.sha256(index.INDEX_SCRIPT.encode()).digest()).decode()
    assert f"default-src 'none'; script-src 'sha256-{digest}'" in page


def test_index_script_writes_no_html():
    assert "innerHTML" not in index.INDEX_SCRIPT
    assert "insertAdjacentHTML" not in index.INDEX_SCRIPT


def test_index_escapes_names_in_links_and_pdf_links():
    res = _result(name='<img src=x onerror="a()">&', pdf="site-north.pdf")
    page = index.index_html([res], MANIFEST)
    assert "<img" not in page
    assert "&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;" in page
    assert '<a href="site-north.pdf">PDF<span class="visually-hidden"> of &lt;img' in page


def test_index_has_a_pdf_column_only_when_pdfs_were_written():
    assert ">PDF</th>" not in index.index_html([_result()], MANIFEST)
    page = index.index_html([_result(pdf="site-north.pdf"), _result("S", "site-s")], MANIFEST)
    assert '<th scope="col">PDF</th>' in page
    assert "<td>none</td>" in page
