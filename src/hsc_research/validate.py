"""``hsc-research validate``: what cleaning an export would do, without writing anything.

Reads and maps the export, cleans it in memory and reports: the layout found, the
identifying columns dropped, export columns the mapping leaves out, codebook items the
export lacks, answers and field values that fit nothing (with counts and example rows),
respondents that would be excluded by reason, and the row accounting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hsc_research.clean import FIELD_REASONS, clean, nothing_kept
from hsc_research.errors import HscError
from hsc_research.instrument import Codebook
from hsc_research.mapping import read_mapped

#: Example rows shown per problem.
EXAMPLES = 3


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
    except HscError as exc:
        return Validation(False, reason=str(exc))
    out = [f"export:   {raw.path}"]
    how = f"{raw.fmt}" + (f", {raw.encoding}" if raw.encoding else "")
    how += f", delimiter {raw.delimiter!r}" if raw.delimiter else ""
    out.append(f"layout:   {raw.layout} ({how}; {raw.header_rows} header row(s))")
    out.append(f"rows:     {len(frame)} respondents")
    if raw.dropped:
        out.append(f"dropped identifying columns: {', '.join(raw.dropped)}")
    used = mapping.columns_used() if mapping else set(frame.columns)
    unmapped = [c.key for c in raw.columns if c.key not in used and c.key]
    if unmapped:
        out.append(f"unmapped export columns ({len(unmapped)}, not read):")
        out += [f"  {c}" for c in unmapped]
    source = {t: c for c, t in mapping.items.items()} if mapping else {}
    if mapping:
        absent = [it.column for it in codebook.items if it.column not in source]
        if absent:
            out.append(f"codebook items with no export column ({len(absent)}, read as blank):")
            out += [f"  {c}" for c in absent]
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
    return Validation(True, out)
