"""What the report notebooks display: loaded context, titles, formatted tables.

Notebooks stay thin: each cell calls one function here and displays what it returns.
All text that comes from the data is HTML-escaped; hidden (suppressed) cells print as
"suppressed (n<10)", never as 0.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from IPython.display import HTML, Markdown

from hsc_research import __version__
from hsc_research.clean import read_tables
from hsc_research.config import MIN_CELL
from hsc_research.errors import InputError
from hsc_research.instrument import Codebook, load_codebook
from hsc_research.profile import exclusion_summary, response_profile
from hsc_research.provenance import data_hash
from hsc_research.stats.disclosure import suppressed_text


@dataclass
class Context:
    """Everything a report reads: the cleaned tables and the report's parameters."""

    codebook: Codebook
    responses: pd.DataFrame
    respondents: pd.DataFrame
    exclusions: pd.DataFrame
    processed_dir: Path
    site: str | None
    site_name: str | None
    min_cell: int

    @property
    def scope(self) -> str:
        """Display name of what the report covers."""
        return self.site_name or "All sites"


def load_context(
    processed_dir: str | Path,
    site: str | None = None,
    min_cell: int = MIN_CELL,
    codebook: str | Path | None = None,
) -> Context:
    """Read the cleaned tables for a site report (``site`` given) or the national one."""
    processed = Path(processed_dir).resolve()
    tables = read_tables(processed)
    site_name = None
    if site is not None:
        match = tables.respondents.loc[tables.respondents["site"] == site, "site_name"]
        if match.empty:
            raise InputError(f"site {site!r} has no respondents in {processed}")
        site_name = str(match.iloc[0])
    return Context(
        codebook=load_codebook(codebook),
        responses=tables.responses,
        respondents=tables.respondents,
        exclusions=tables.exclusions,
        processed_dir=processed,
        site=site,
        site_name=site_name,
        min_cell=int(min_cell),
    )


def title(ctx: Context) -> Markdown:
    """Report title and one line on what it covers."""
    data = (
        ctx.respondents
        if ctx.site is None
        else ctx.respondents[ctx.respondents["site"] == ctx.site]
    )
    waves = ", ".join(str(w) for w in sorted(data["wave"].unique()))
    kind = "Site report" if ctx.site else "National report"
    return Markdown(
        f"# {_md_escape(ctx.scope)}: staff survey at the health and social care interface\n\n"
        f"{kind}. Survey waves: {waves}. Built {datetime.now(UTC):%d %B %Y} with hsc-research "
        f"{__version__}."
    )


def _md_escape(text: str) -> str:
    # Markdown passes HTML through: escape it, and neutralise Markdown syntax.
    escaped = html.escape(text)
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>" else ch for ch in escaped)


def html_table(table: pd.DataFrame, caption: str, min_cell: int = MIN_CELL) -> HTML:
    """An escaped HTML table; missing values read as suppressed."""
    body = table.to_html(
        index=False, escape=True, na_rep=suppressed_text(min_cell), classes="report-table", border=0
    )
    body = body.replace("<table", f'<table aria-label="{html.escape(caption)}"', 1)
    return HTML(f"<p><strong>{html.escape(caption)}</strong></p>{body}")


def profile_table(ctx: Context) -> HTML:
    """Respondents by group, profession and role level (rows) and wave (columns)."""
    prof = response_profile(ctx.respondents, ctx.codebook, site=ctx.site, min_cell=ctx.min_cell)
    prof["cell"] = [
        pd.NA if pd.isna(n) else f"{int(n)} ({p:.0f}%)"
        for n, p in zip(prof["n"], prof["pct"], strict=True)
    ]
    dims = {"group": "Group", "profession": "Profession", "role_level": "Role level", "all": "All"}
    prof["Breakdown"] = prof["dimension"].map(dims)
    prof["Category"] = prof["label"].fillna("Not stated")
    wide = prof.pivot_table(
        index=["Breakdown", "Category"],
        columns="wave",
        values="cell",
        aggfunc="first",
        sort=False,
        dropna=False,
    ).reset_index()
    wide.columns = [str(c) for c in wide.columns]
    return html_table(wide, f"Respondents, {ctx.scope}: number (% of the wave)", ctx.min_cell)


def quality_table(ctx: Context) -> HTML:
    """Exclusions by reason for the report's scope."""
    q = exclusion_summary(ctx.exclusions, site=ctx.site)
    if q.empty:
        return HTML("<p>No record was excluded.</p>")
    q = q.rename(columns={"level": "Level", "description": "Reason", "records": "Records",
                          "answers": "Answer cells removed"}).drop(columns="reason")  # fmt: skip
    return html_table(q, f"Exclusions by reason, {ctx.scope}", ctx.min_cell)


def accounting_text(ctx: Context) -> Markdown:
    """Row accounting in one sentence, for the methods section."""
    ex = ctx.exclusions if ctx.site is None else ctx.exclusions[ctx.exclusions["site"] == ctx.site]
    kept = (
        len(ctx.respondents)
        if ctx.site is None
        else int((ctx.respondents["site"] == ctx.site).sum())
    )
    n_ex = int((ex["level"] == "respondent").sum())
    scope = "in the export" if ctx.site is None else "with this site"
    return Markdown(
        f"Rows {scope}: {kept + n_ex} = {kept} kept + {n_ex} excluded. Answer-level "
        f"exclusions: {int((ex['level'] == 'answer').sum())}. Non-substantive answers "
        "(don't know, not applicable, blank) are kept in the data and left out of every "
        "percentage base."
    )


def methods(ctx: Context) -> Markdown:
    """Suppression rule, provenance and version."""
    return Markdown(
        f"- **Disclosure control**: no published count below {ctx.min_cell}; such cells "
        f"and any cell that would let one be recovered from a total read "
        f"*{suppressed_text(ctx.min_cell)}*.\n"
        f"- **Package**: hsc-research {__version__}; codebook `{ctx.codebook.id}`.\n"
        f"- **Input data** (SHA-256 of the cleaned tables): `{data_hash(ctx.processed_dir)[:16]}`.\n"
        f"- **Run date**: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
    )
