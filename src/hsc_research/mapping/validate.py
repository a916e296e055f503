"""``hsc-research validate``: what cleaning an export would do, without writing anything.

Reads and maps the export, cleans it in memory and reports: the layout found, the
identifying columns dropped, the columns dropped because the mapping does not read them,
the order dates are read in, codebook items the export lacks, answers and field values
that fit nothing (with counts and example rows), respondents that would be excluded by
reason, and the row accounting.

It fails (the file should not be cleaned as mapped) when a site, profession or role
level value fits nothing, when a codebook item has no column, or when more than
:data:`~hsc_research.config.MAX_EXCLUDED_SHARE` of the respondents would be excluded for a reason other than
the mapping's own rules and repeat submissions, unless the mapping accepts it
(``accept:``, see :mod:`hsc_research.mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hsc_research.clean import FIELD_REASONS, clean, nothing_kept
from hsc_research.config import MAX_EXCLUDED_SHARE
from hsc_research.errors import HscError
from hsc_research.ingest.dates import date_order
from hsc_research.ingest.labels import normalise_label
from hsc_research.instrument import Codebook
from hsc_research.mapping import Accept, read_mapped

#: Example rows shown per problem.
EXAMPLES = 3
#: Exclusions that follow the analyst's own rules, not problems with the export.
_EXPECTED = ("test_response", "partial_response", "duplicate_submission")
_FIELD_REASON = {"site": "unknown_site", "profession": "unknown_profession",
                 "role_level": "unknown_role_level"}  # fmt: skip


@dataclass
class Validation:
    """The outcome: ``ok`` (the file can be cleaned), the ``lines`` to print, and the
    one-line ``reason`` when it cannot."""

    ok: bool
    lines: list[str] = field(default_factory=list)
    reason: str = ""


def _rows(rows: pd.Series) -> str:
    shown = ", ".join(str(r) for r in rows.head(EXAMPLES))
    return f"rows {shown}" + (" ..." if len(rows) > EXAMPLES else "")


def validate(
    path: str | Path,
    codebook: Codebook,
    mapping_path: str | Path | None = None,
    layout: str | None = None,
    sites: pd.DataFrame | None = None,
) -> Validation:
    """Check an export end to end in memory.

    Parameters
    ----------
    path
        The export.
    codebook
        The instrument.
    mapping_path
        Its mapping (not needed for the template layout).
    layout
        Overrides the detected layout.
    sites
        Site register, as for cleaning.
    """
    try:
        raw, mapping, frame, _ = read_mapped(path, codebook, mapping_path, layout)
        result = clean(frame, codebook, sites)
        dates = date_order(frame) if "submitted_at" in frame else None
    except HscError as exc:
        return Validation(False, reason=str(exc))
    out = [f"export:   {raw.path}"]
    how = f"{raw.fmt}" + (f", {raw.encoding}" if raw.encoding else "")
    how += f", delimiter {raw.delimiter!r}" if raw.delimiter else ""
    out.append(f"layout:   {raw.layout} ({how}; {raw.header_rows} header row(s))")
    out.append(f"rows:     {len(frame)} respondents")
    if raw.dropped:
        out.append(f"dropped identifying columns: {', '.join(raw.dropped)}")
    if raw.identity:
        out.append(f"compared as a keyed hash, then dropped: {raw.identity}")
    unread = [c for c in raw.unread if c]
    if unread:
        out.append(f"dropped at ingest, not mapped ({len(unread)}):")
        out += [f"  {c}" for c in unread]
    if dates is not None:
        out.append(f"dates:    submitted_at read as {dates.order} ({dates.why})")
    source = {t: c for c, t in mapping.items.items()} if mapping else {}
    accept = mapping.accept if mapping else Accept()
    problems: list[str] = []
    if mapping:
        absent = [it.column for it in codebook.items if it.column not in source]
        if absent:
            out.append(f"codebook items with no export column ({len(absent)}, read as blank):")
            out += [f"  {c}" for c in absent]
        if left := [c for c in absent if c not in accept.unmapped_items]:
            shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
            problems.append(
                f"{raw.path}: {len(left)} codebook item(s) have no column ({shown}) and would "
                f"be read as blank; map them under items: in {mapping.path}, or, if the export "
                "has no such question, list them under accept: {unmapped_items: [...]}"
            )
    ex = result.exclusions
    answers = ex[ex["reason"] == "invalid_value"]
    if len(answers):
        out.append("unknown answer labels (excluded answers):")
        for (col, value), g in answers.groupby(["column", "value"], observed=True, sort=True):
            name = source.get(col, col)
            out.append(f"  {name} ({col}): {value!r} x{len(g)} ({_rows(g['raw_row'])})")
    others = ex[(ex["level"] == "answer") & (ex["reason"] != "invalid_value")]
    for reason, g in others.groupby("reason", observed=True):
        out.append(f"answers excluded as {reason}: {len(g)} ({_rows(g['raw_row'])})")
    fields = ex[ex["reason"].isin(["unknown_site", "unknown_profession", *FIELD_REASONS])]
    if len(fields):
        out.append("unknown field values:")
        for (col, value), g in fields.groupby(["column", "value"], observed=True, sort=True):
            out.append(f"  {col}: {value!r} x{len(g)} ({_rows(g['raw_row'])})")
    s = result.summary()
    resp = ex[ex["level"] == "respondent"]
    if len(resp):
        out.append("respondents that would be excluded:")
        for reason, g in resp.groupby("reason", observed=True, sort=False):
            out.append(f"  {reason:24s} {len(g):6d} ({_rows(g['raw_row'])})")
    out.append(
        f"accounting: respondents {s['raw_rows']} raw = {s['kept_respondents']} kept + "
        f"{s['excluded_respondents']} excluded; answers {s['raw_answers']} raw = "
        f"{s['kept_answers']} kept + {s['excluded_answers']} excluded"
    )
    if reason := nothing_kept(result, raw.path):
        return Validation(False, out, reason)
    problems += _unknown_values(ex, accept, raw.path, mapping.path if mapping else None)
    problems += _excluded_share(ex, s["raw_rows"], accept, raw.path)
    if problems:
        out += [f"stop: {p}" for p in problems[1:]]
        return Validation(False, out, problems[0])
    return Validation(True, out)


def _unknown_values(ex: pd.DataFrame, accept: Accept, source: Path, where: object) -> list[str]:
    """One line per field whose values fit nothing and are not accepted."""
    problems = []
    for name, reason in _FIELD_REASON.items():
        g = ex[(ex["reason"] == reason) & (ex["column"] == name)]
        g = g[~g["value"].map(normalise_label).isin(accept.unknown_values.get(name, set()))]
        if g.empty:
            continue
        values = g["value"].value_counts(sort=False)
        shown = ", ".join(f"{v!r} x{n}" for v, n in list(values.items())[:3])
        fix = "add it to the site register, " if name == "site" else ""
        what = "logged as not stated" if name == "role_level" else "excluded"
        problems.append(
            f"{source}: {len(g)} respondent(s) would be {what} for a {name} that fits nothing "
            f"({shown}; {_rows(g['raw_row'])}); {fix}map each value under values: {name}: "
            f"in {where or 'a mapping'}, or accept them: accept: "
            f"{{unknown_values: {{{name}: [{values.index[0]!r}]}}}}"
        )
    return problems


def _excluded_share(ex: pd.DataFrame, raw_rows: int, accept: Accept, source: Path) -> list[str]:
    """A line when more respondents would be excluded than the limit allows."""
    resp = ex[(ex["level"] == "respondent") & ~ex["reason"].isin(_EXPECTED)]
    limit = accept.excluded_share if accept.excluded_share is not None else MAX_EXCLUDED_SHARE
    if not raw_rows or len(resp) / raw_rows <= limit:
        return []
    reasons = ", ".join(f"{k} {v}" for k, v in resp["reason"].astype(str).value_counts().items())
    return [
        f"{source}: {len(resp)} of {raw_rows} respondents ({len(resp) / raw_rows:.0%}) would be "
        f"excluded ({reasons}), more than {limit:.0%}; fix the export or its mapping, or "
        f"accept it: accept: {{excluded_share: {min(1.0, round(len(resp) / raw_rows + 0.005, 2))}}}"
    ]
