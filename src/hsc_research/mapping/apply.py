"""Applying a mapping: a read export becomes the template-layout frame that
:func:`hsc_research.clean.clean` takes (column names, answer wordings, field values,
exclusion rules, free text), so every layout is cleaned by the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsc_research.errors import InputError
from hsc_research.ingest import RawExport
from hsc_research.ingest.dates import layout_date_order
from hsc_research.ingest.files import check_export_file
from hsc_research.ingest.frame import (
    DATE_COLUMN_ATTR,
    DATE_DEFAULT_ATTR,
    DATE_ORDER_ATTR,
    DUPLICATE_KEY_ATTR,
    EXCLUDE_COLUMN,
    EXCLUDE_REASON,
    EXCLUDE_VALUE,
    IDENTITY,
    SOURCE_ATTR,
)
from hsc_research.ingest.labels import normalise_label
from hsc_research.ingest.layouts import find_column
from hsc_research.ingest.template import check_columns
from hsc_research.instrument import Codebook
from hsc_research.mapping.spec import (
    FIELDS,
    ExcludeRule,
    Mapping,
    load_mapping,
)


def _recode(values: pd.Series, table: dict[str, str]) -> pd.Series:
    """Replace cells whose folded text is in ``table``; others stay as written."""
    if not table:
        return values
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    new = np.array([table.get(normalise_label(u), u) for u in uniques] + [None], dtype=object)
    return pd.Series(new[idx], index=values.index, dtype="str")


def apply_mapping(
    raw: RawExport, mapping: Mapping, codebook: Codebook
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An export in the template layout, ready for :func:`~hsc_research.clean.clean`.

    Parameters
    ----------
    raw
        The export as read by :func:`hsc_research.ingest.read_export`.
    mapping
        Its mapping.
    codebook
        The instrument.

    Returns
    -------
    frame : pandas.DataFrame
        ``raw_row``, the respondent fields, every codebook item column (blank where the
        export has no column for it), the reason, column and cell of the exclude rule
        each row meets, and ``identity`` (a keyed hash) when the mapping compares one.
    free_text : pandas.DataFrame
        ``raw_row, respondent_id, column, text``: the free-text answers (never read by a
        report; written only when the analyst asks for them).

    Raises
    ------
    InputError
        A mapped column is missing from the export or identifying, or an item column holds
        numeric codes the mapping does not translate.
    """
    where = mapping.path or "the template layout"
    if mapping.layout and mapping.layout != raw.layout:
        raise InputError(
            f"{raw.path}: the export is {raw.layout} but {where} is for {mapping.layout}; "
            "use the mapping made for this export"
        )
    data = raw.data
    for column in sorted(mapping.columns_used()):
        if column in raw.dropped:
            raise InputError(
                f"{raw.path}: column {column!r} identifies people and is dropped at ingest; "
                f"{where} must not map it"
                + (" (to find repeat submissions by it, use duplicates: {identity: ...})"
                   if mapping.identity is None else "")
            )  # fmt: skip
    keys = {}
    for ref in mapping.columns_used():
        try:
            col = find_column(raw.columns, ref)
        except LookupError as exc:
            raise InputError(f"{raw.path}: {exc} ({where})") from None
        if col is not None:
            keys[ref] = col.key
    absent = [c for c in mapping.columns_used() if c not in keys]
    if absent:
        names = ", ".join(repr(c) for c in sorted(absent))
        raise InputError(
            f"{raw.path}: column(s) {names} named in {where} not in the export; "
            "check the mapping against the export's header"
        )
    n = len(data)
    out: dict[str, Any] = {"raw_row": data["raw_row"].to_numpy()}
    for name in FIELDS:
        source = mapping.fields.get(name)
        if source is None:
            continue
        col = (data[keys[source.column]] if source.column
               else pd.Series([source.value] * n, dtype="str"))  # fmt: skip
        col = col.reset_index(drop=True)
        out[name] = _recode(col, mapping.values.get(name, {}))
    by_target = {target: column for column, target in mapping.items.items()}
    blank = pd.Series([pd.NA] * n, dtype="str")
    for item in codebook.items:
        column = by_target.get(item.column)
        if column is None:
            out[item.column] = blank
            continue
        scale_id = codebook.question(item.question).scale
        table = {**mapping.answers.get("all", {}), **mapping.answers.get(scale_id, {})}
        cells = _recode(data[keys[column]].reset_index(drop=True), table)
        _check_codes(cells, column, item.column, scale_id, raw, codebook, where)
        out[item.column] = cells
    if mapping.excludes:
        out.update(_apply_rules(data, mapping.excludes, keys))
    if mapping.identity is not None:
        if raw.identity is None:
            raise InputError(
                f"{raw.path}: column {mapping.identity!r} (duplicates: identity in {where}) "
                "not in the export; check the mapping against the export's header"
            )
        out[IDENTITY] = data[raw.identity].to_numpy(dtype=object)
    frame = pd.DataFrame(out)
    frame.attrs[DUPLICATE_KEY_ATTR] = mapping.duplicate_key  # read by clean()
    frame.attrs[DATE_ORDER_ATTR] = mapping.date_order
    date_source = mapping.fields.get("submitted_at")
    if date_source is not None and date_source.column:
        frame.attrs[DATE_COLUMN_ATTR] = date_source.column
        frame.attrs[DATE_DEFAULT_ATTR] = layout_date_order(raw.layout, frame["submitted_at"])
    text_cols = pd.DataFrame({"raw_row": frame["raw_row"], "respondent_id": frame["respondent_id"]})
    for c in mapping.free_text:
        text_cols[c] = data[keys[c]].to_numpy()
    return frame, _free_text(text_cols, mapping.free_text)


def _apply_rules(
    data: pd.DataFrame, rules: list[ExcludeRule], keys: dict[str, str]
) -> dict[str, np.ndarray]:
    """The reason, column and cell of the first exclude rule each row meets."""
    n = len(data)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    for rule in rules:
        wanted = {normalise_label(v) for v in rule.values}
        cells = data[keys[rule.column]]
        met = cells.map(lambda v, w=wanted: normalise_label(v) in w).to_numpy(dtype=bool)
        hit = met & (reason == None)  # noqa: E711  (elementwise on an object array)
        reason[hit], column[hit] = rule.reason, rule.column
        value[hit] = cells.to_numpy(dtype=object)[hit]
    return {EXCLUDE_REASON: reason, EXCLUDE_COLUMN: column, EXCLUDE_VALUE: value}


def _check_codes(
    cells: pd.Series, column: str, target: str, scale_id: str, raw: RawExport,
    codebook: Codebook, where: object,
) -> None:  # fmt: skip
    """Refuse a column of bare numbers on a worded scale: every answer would be lost."""
    scale = codebook.scales[scale_id]
    if scale.numeric:
        return
    present = pd.Series(pd.unique(cells.dropna()), dtype="str").str.strip()
    present = present[present != ""]
    if present.empty or not present.str.fullmatch(r"-?\d+(\.0+)?").all():
        return
    codes = sorted({int(float(v)) for v in present})
    raise InputError(
        f"{raw.path}: column {column!r} ({target}) holds numeric codes {codes} but scale "
        f"{scale_id} is answered in words and no value labels or `answers: {scale_id}:` in "
        f"{where} translate them; add the codes to the mapping (e.g. 1: {scale.labels[0]})"
    )


def prepare(
    raw: RawExport, mapping: Mapping | None, codebook: Codebook
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame :func:`~hsc_research.clean.clean` takes, and the free-text answers.

    A template-layout export needs no mapping; any other layout does.
    """
    if mapping is not None:
        return apply_mapping(raw, mapping, codebook)
    if raw.layout != "template":
        raise InputError(
            f"{raw.path}: this is a {raw.layout} export and needs a mapping; draft one with "
            f"`hsc-research map --suggest {raw.path}`, check it, then pass --mapping"
        )
    names = list(raw.data.columns)
    check_columns(names, raw.path, codebook)
    # Our own layout already has the codebook's names and labels: select, don't copy.
    wanted = ["raw_row", *[f for f in FIELDS if f in names], *[it.column for it in codebook.items]]
    return raw.data[wanted], _free_text(raw.data, ["comment"])


def _free_text(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Non-blank free-text cells, one row per respondent and column."""
    texts = [
        pd.DataFrame({"raw_row": data["raw_row"].to_numpy(),
                      "respondent_id": data["respondent_id"].to_numpy()
                      if "respondent_id" in data else pd.NA,
                      "column": c, "text": data[c].to_numpy()})
        for c in columns if c in data.columns
    ]  # fmt: skip
    if not texts:
        return pd.DataFrame({"raw_row": [], "respondent_id": [], "column": [], "text": []})
    out = pd.concat(texts, ignore_index=True).astype({"text": "str"})
    return out[out["text"].fillna("").str.strip() != ""].reset_index(drop=True)


def read_mapped(
    path: str | Path,
    codebook: Codebook,
    mapping_path: str | Path | None = None,
    layout: str | None = None,
    key: bytes | None = None,
) -> tuple[RawExport, Mapping | None, pd.DataFrame, pd.DataFrame]:
    """Read an export and map it: ``(raw export, mapping, frame for clean, free text)``.

    ``key`` is the secret of the keyed hash of the mapping's identity column (the
    project's pseudonym key, so that re-cleaning gives the same ids); ``None`` draws a
    one-off key.
    """
    from hsc_research.ingest import read_export

    check_export_file(path)  # before any reader opens it: a FIFO would block forever
    mapping = load_mapping(mapping_path, codebook) if mapping_path else None
    layout = layout or (mapping.layout if mapping else None)
    if mapping is None:
        raw = read_export(path, layout)
    else:  # only the mapped columns leave the reader
        raw = read_export(path, layout, keep=mapping.columns_used(), identity=mapping.identity,
                          key=key)  # fmt: skip
    frame, free_text = prepare(raw, mapping, codebook)
    frame.attrs[SOURCE_ATTR] = str(raw.path)  # clean() names the export in its errors
    return raw, mapping, frame, free_text
