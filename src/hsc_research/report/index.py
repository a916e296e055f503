"""The index page: every report with its status, headline indicators and PDF."""

from __future__ import annotations

import html
from pathlib import Path

from hsc_research.report.tasks import ReportResult, ReportTask


def headline_cells(
    aggregates_dir: Path, tasks: list[ReportTask], min_cell: int
) -> tuple[list[str], dict[str, list[tuple[str, float | None]]]]:
    """Latest-wave estimates of the index's indicators per report.

    The indicators are the codebook's ``reports: index_indicators`` (every headline
    indicator when the codebook has no ``reports`` section), read from the codebook the
    aggregates were computed with.

    Returns
    -------
    headers : list of str
        The indicators' labels.
    cells : dict
        Per report slug, one ``(text, sort value)`` per indicator: the estimate as the
        reports print it (:func:`hsc_research.report.formatting.pct`, half away from zero) and
        in percent for sorting; ``(suppressed text, None)`` when not published.
    """
    import pandas as pd

    from hsc_research.aggregate import NATIONAL
    from hsc_research.aggregate.io import CODEBOOK_NAME
    from hsc_research.instrument import load_codebook
    from hsc_research.report.formatting import pct
    from hsc_research.stats.disclosure import suppressed_text

    codebook = load_codebook(aggregates_dir / CODEBOOK_NAME)
    spec = codebook.reports
    shown = spec.index_indicators if spec else tuple(i.id for i in codebook.indicators)
    ind = pd.read_parquet(aggregates_dir / "indicators.parquet")
    ind = ind[(ind["wave"] == ind["wave"].max()) & ind["indicator"].isin(shown)]
    labels = dict(zip(ind["indicator"], ind["label"], strict=False))
    headers = [labels.get(i, i) for i in shown]
    est = ind.set_index(["scope", "indicator"])["estimate"]
    cells = {}
    for t in tasks:
        scope = t.parameters.get("site", NATIONAL)
        cells[t.slug] = [
            (suppressed_text(min_cell), None)
            if pd.isna(v := est.get((scope, i), float("nan")))
            else (pct(v), 100 * float(v))
            for i in shown
        ]
    return headers, cells


#: The index's only script: sort by any column, filter by report name. It reads the
#: table already in the page (which is complete without it) and writes text only
#: through textContent, so nothing from the data is ever parsed as HTML.
INDEX_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("reports");
  if (!table || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var rows = Array.prototype.slice.call(body.rows);
  var status = document.getElementById("index-status");
  function announce() {
    var shown = rows.filter(function (r) { return !r.hidden; }).length;
    status.textContent = shown + " of " + rows.length + " reports shown";
  }
  function key(row, i, numeric) {
    var cell = row.cells[i];
    if (numeric) {
      var v = cell.getAttribute("data-sort");
      return v === null || v === "" ? null : parseFloat(v);
    }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(i) {
    var th = heads[i];
    var numeric = th.getAttribute("data-type") === "number";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    for (var j = 0; j < heads.length; j++) {
      heads[j].removeAttribute("aria-sort");
      heads[j].querySelector(".sort-mark").textContent = "";
    }
    th.setAttribute("aria-sort", dir);
    th.querySelector(".sort-mark").textContent = dir === "ascending" ? " \\u25b2" : " \\u25bc";
    var sign = dir === "ascending" ? 1 : -1;
    var order = rows.map(function (r, n) { return [key(r, i, numeric), n, r]; });
    order.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {  // unpublished values last, either way
        return a[0] === b[0] ? a[1] - b[1] : (a[0] === null ? 1 : -1);
      }
      var c = numeric ? a[0] - b[0] : a[0].localeCompare(b[0]);
      return c ? sign * c : a[1] - b[1];
    });
    order.forEach(function (o) { body.appendChild(o[2]); });
    announce();
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var button = document.createElement("button");
    button.type = "button";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    var mark = document.createElement("span");
    mark.className = "sort-mark";
    mark.setAttribute("aria-hidden", "true");
    button.appendChild(mark);
    button.addEventListener("click", function () { sortBy(i); });
    th.appendChild(button);
  });
  var input = document.getElementById("report-filter");
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    rows.forEach(function (r) {
      r.hidden = q !== "" && r.cells[0].textContent.toLowerCase().indexOf(q) < 0;
    });
    announce();
  });
  document.getElementById("index-controls").hidden = false;
  announce();
})();
"""


INDEX_CSS = """
body { font-family: sans-serif; color: #1a1a1a; background: #fff; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }
a { color: #0b57d0; }
table { border-collapse: collapse; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
td, th { border: 1px solid #767676; padding: 0.3rem 0.7rem; vertical-align: top; }
td.num { text-align: right; }
th { text-align: left; }
th button { font: inherit; font-weight: bold; color: inherit; background: none; border: 0;
            padding: 0; cursor: pointer; text-align: left; text-decoration: underline dotted; }
th button:focus-visible, input:focus-visible, .table-scroll:focus-visible { outline: 2px solid #0b57d0; outline-offset: 2px; }
.table-scroll { overflow-x: auto; max-width: 100%; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
#index-controls { margin: 1rem 0; }
#index-controls input { font: inherit; padding: 0.2rem 0.4rem; margin-left: 0.5rem; }
"""


def _csp(script: str) -> str:
    """A content security policy that lets the page load nothing from anywhere: only its
    own inline style and this exact inline script run."""
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
            "img-src data:; base-uri 'none'; form-action 'none'")  # fmt: skip


def _sort_attr(key: float | None) -> str:
    """Right-aligned number cell with its value for sorting (none when unpublished)."""
    return ' class="num"' if key is None else f' class="num" data-sort="{key:.6f}"'


def index_html(
    results: list[ReportResult], manifest: dict, headers: list[str] | None = None,
    cells: dict[str, list[tuple[str, float | None]]] | None = None,
) -> str:  # fmt: skip
    """The index page: every report with its status, headline indicators and PDF.

    The table is complete without JavaScript; a small inline script (no file, nothing
    fetched: the page's security policy allows nothing else) makes every column header
    a sort button (``aria-sort``) and adds a filter by report name. Everything from the
    data is escaped.
    """
    headers, cells = headers or [], cells or {}
    esc = html.escape
    any_pdf = any(r.pdf for r in results)
    rows = []
    for r in results:
        name = esc(r.name)
        link = f'<a href="{esc(r.html)}">{name}</a>' if r.html else name
        status = "built" if r.status == "ok" else f"FAILED: {esc(r.error or '')}"
        values = "".join(
            f"<td{_sort_attr(key)}>{esc(text)}</td>"
            for text, key in cells.get(r.slug, [("", None)] * len(headers))
        )
        pdf = ""
        if any_pdf:
            pdf = (f'<td><a href="{esc(r.pdf)}">PDF<span class="visually-hidden"> of {name}</span></a></td>'
                   if r.pdf else "<td>none</td>")  # fmt: skip
        rows.append(
            f"<tr><td>{link}</td><td>{esc(r.kind)}</td><td>{status}</td>{values}{pdf}"
            f'<td class="num" data-sort="{r.seconds:.2f}">{r.seconds:.1f}</td></tr>'
        )
    head_cells = "".join(f'<th scope="col" data-type="number">{esc(h)}</th>' for h in headers)
    pdf_head = '<th scope="col">PDF</th>' if any_pdf else ""
    failed = sum(r.status != "ok" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_csp(INDEX_SCRIPT)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>HSC interface survey: reports</title>
<style>{INDEX_CSS}</style></head>
<body><main>
<h1>HSC interface survey: findings reports</h1>
<p>{len(results) - failed} of {len(results)} reports built{f" <strong>({failed} failed)</strong>" if failed else ""}.
Input data SHA-256 <code>{esc(str(manifest["input_sha256"])[:16])}</code>, hsc-research {esc(manifest["version"])},
built {esc(manifest["started_utc"])}. Details in <a href="manifest.json">manifest.json</a>.</p>
<p>Indicator columns: latest wave, % of substantive answers. Select a column heading to sort
by it; select it again to reverse the order.</p>
<div id="index-controls" hidden><label for="report-filter">Filter reports by name</label>
<input type="search" id="report-filter" autocomplete="off">
<p id="index-status" role="status" aria-live="polite"></p></div>
<div class="table-scroll" tabindex="0" role="region" aria-label="Reports and headline indicators">
<table id="reports"><caption>Reports and headline indicators</caption>
<thead><tr><th scope="col">Report</th><th scope="col">Kind</th><th scope="col">Status</th>{head_cells}{pdf_head}<th scope="col" data-type="number">Seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></div>
</main>
<script>{INDEX_SCRIPT}</script>
</body></html>
"""
