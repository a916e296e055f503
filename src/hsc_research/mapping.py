"""Column mappings: from a survey tool's export to the codebook.

A mapping is a small YAML file the analyst writes once per export layout (``hsc-research
map --suggest`` drafts one). It names the export column of each respondent field and
codebook item, and translates local wordings of answers and fields into the codebook's::

    layout: qualtrics            # optional; must match the detected layout
    fields:
      respondent_id: ResponseId
      submitted_at: RecordedDate # optional
      site: Q6                   # a column ...
      wave: {value: 2019}        # ... or one value for every respondent
      profession: Q7
      role_level: Q8             # optional
    values:                      # local wording -> codebook id or label, per field
      profession: {"Social worker": asc}
    items:                       # export column -> codebook column
      Q4_1: trust.asc
    answers:                     # local answer wording or code -> codebook label, per
      agree4: {Agree strongly: Strongly agree, 1: Strongly disagree}   # scale, or `all`
    free_text: [Q9]              # kept only with --keep-free-text, in its own table
    exclude: {column: Status, values: [Survey Preview]}  # logged as test_response
    duplicates: {key: [respondent_id, wave, site]}  # optional; what makes a duplicate

:func:`apply_mapping` turns a read export into the template-layout frame that
:func:`hsc_research.clean.clean` takes, so every layout is cleaned by the same code.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hsc_research.clean import DUPLICATE_KEY, DUPLICATE_KEY_ATTR, SOURCE_ATTR, TEST_FLAG
from hsc_research.errors import InputError
from hsc_research.ingest import RawExport
from hsc_research.ingest.files import check_export_file, require_regular_file
from hsc_research.ingest.layouts import LAYOUTS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from hsc_research.ingest.template import check_columns
from hsc_research.instrument import AliasRefused, Codebook, StrictLoader
from hsc_research.scales import normalise_label

FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
_TOP_KEYS = {"layout", "fields", "values", "items", "answers", "free_text", "exclude",
             "duplicates"}  # fmt: skip


@dataclass
class FieldSource:
    """Where a respondent field comes from: an export ``column`` or one ``value``."""

    column: str | None = None
    value: str | None = None


@dataclass
class Mapping:
    """A parsed, checked mapping (see the module docstring for the YAML)."""

    path: Path | None
    layout: str | None
    fields: dict[str, FieldSource]
    items: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    free_text: list[str] = field(default_factory=list)
    exclude_column: str | None = None
    exclude_values: list[str] = field(default_factory=list)
    #: Fields naming one respondent among submissions (``duplicates: {key: [...]}``).
    duplicate_key: tuple[str, ...] = DUPLICATE_KEY

    def columns_used(self) -> set[str]:
        """Every export column the mapping reads."""
        used = {s.column for s in self.fields.values() if s.column}
        used |= set(self.items) | set(self.free_text)
        if self.exclude_column:
            used.add(self.exclude_column)
        return used


class _Loader(StrictLoader):
    """YAML without YAML 1.1's yes/no/on/off booleans ("Yes" and "No" are answer labels)
    and without anchors or aliases."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

#: Characters YAML reads as a line break but editors and viewers may show as nothing.
HIDDEN_BREAKS = "\u2028\u2029\x85"


def _hidden_break(text: str) -> int | None:
    """Line (counted by newlines) of the first hidden line break outside a quoted scalar.

    A hidden break inside a comment ends the comment for YAML but not for a reader, so
    YAML sees rules a person does not. Inside quoted scalars such characters are data.
    """
    if not any(ch in text for ch in HIDDEN_BREAKS):
        return None
    quoted = [
        (tok.start_mark.index, tok.end_mark.index)
        for tok in yaml.scan(text, Loader=_Loader)  # noqa: S506
        if isinstance(tok, yaml.ScalarToken) and tok.style in ("'", '"')
    ]
    starts = [a for a, _ in quoted]  # tokens come in order and do not overlap
    for pos, ch in enumerate(text):
        if ch in HIDDEN_BREAKS:
            k = bisect.bisect_left(starts, pos) - 1
            if k < 0 or not quoted[k][0] < pos < quoted[k][1]:
                return text.count("\n", 0, pos) + 1
    return None


def _text(value: Any) -> str:
    """A YAML scalar as the text an export cell would hold (YAML reads 1 as int)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_mapping(path: str | Path, codebook: Codebook) -> Mapping:
    """Read and check a mapping YAML file.

    Raises
    ------
    InputError
        One line naming the file and the key that is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: mapping not found; draft one with `hsc-research map --suggest`")
    require_regular_file(path, "mapping")
    try:
        text = path.read_text(encoding="utf-8")
        hidden = _hidden_break(text)
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506
    except OSError as exc:
        raise InputError(f"{path}: cannot read the mapping ({exc.strerror})") from None
    except AliasRefused as exc:
        raise InputError(
            f"{path}: line {exc.line}: YAML anchors and aliases (& and *) are not allowed "
            "in a mapping; write each value out"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise InputError(f"{path}: not valid YAML{line}; check indentation and quotes") from None
    if hidden is not None:
        raise InputError(
            f"{path}: line {hidden}: a hidden line break (U+2028, U+2029 or U+0085) outside "
            "quotes can hide rules from a reader; delete it, or quote the text that holds it"
        )
    if not isinstance(doc, dict):
        raise InputError(f"{path}: a mapping must be a YAML dictionary with `fields` and `items`")

    def fail(key: str, message: str) -> InputError:
        return InputError(f"{path}: {key}: {message}")

    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown key; use {', '.join(sorted(_TOP_KEYS))}")
    layout = doc.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise fail("layout", f"{layout!r} is not one of {', '.join(LAYOUTS)}")

    fields: dict[str, FieldSource] = {}
    for name, source in (doc.get("fields") or {}).items():
        if name not in FIELDS:
            raise fail(f"fields.{name}", f"not a respondent field; use {', '.join(FIELDS)}")
        if isinstance(source, dict):
            if set(source) != {"value"}:
                raise fail(f"fields.{name}", "give a column name or {value: ...}")
            fields[name] = FieldSource(value=_text(source["value"]))
        elif source is None:
            raise fail(f"fields.{name}", "is empty; give a column name or {value: ...}")
        else:
            fields[name] = FieldSource(column=_text(source))
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise fail("fields", f"missing {', '.join(missing)}; every respondent needs them")

    known_items = {it.column for it in codebook.items}
    items: dict[str, str] = {}
    for column, target in (doc.get("items") or {}).items():
        if target not in known_items:
            raise fail(f"items.{column}", f"{target!r} is not a codebook item (question.item)")
        if target in items.values():
            raise fail(f"items.{column}", f"{target!r} is mapped from two columns; keep one")
        items[_text(column)] = target
    if not items:
        raise fail("items", "maps no export column to a codebook item")

    values: dict[str, dict[str, str]] = {}
    for name, table in (doc.get("values") or {}).items():
        if name not in ("site", "profession", "role_level"):
            raise fail(f"values.{name}", "only site, profession and role_level take values")
        allowed = None if name == "site" else codebook.labels(name)
        values[name] = {}
        for local, target in (table or {}).items():
            if (
                allowed is not None
                and _text(target) not in allowed
                and not any(
                    normalise_label(target) == normalise_label(lb) for lb in allowed.values()
                )
            ):
                raise fail(f"values.{name}.{local}", f"{target!r} is not a codebook {name}")
            values[name][normalise_label(_text(local))] = _text(target)

    answers: dict[str, dict[str, str]] = {}
    for scale_id, table in (doc.get("answers") or {}).items():
        if scale_id != "all" and scale_id not in codebook.scales:
            raise fail(f"answers.{scale_id}", f"not a codebook scale; use all or {', '.join(codebook.scales)}")  # fmt: skip
        targets = _answer_targets(codebook, scale_id)
        answers[scale_id] = {}
        for local, target in (table or {}).items():
            key = normalise_label(_text(target))
            if key not in targets:
                raise fail(f"answers.{scale_id}.{local}", f"{target!r} is not a label of that scale")  # fmt: skip
            answers[scale_id][normalise_label(_text(local))] = targets[key]

    free_text = [_text(c) for c in (doc.get("free_text") or [])]
    exclude = doc.get("exclude") or {}
    if exclude and (not isinstance(exclude, dict) or "column" not in exclude):
        raise fail("exclude", "give {column: ..., values: [...]}")
    return Mapping(
        path, layout, fields, items, values, answers, free_text,
        exclude_column=_text(exclude["column"]) if exclude else None,
        exclude_values=[_text(v) for v in exclude.get("values", [])] if exclude else [],
        duplicate_key=_duplicate_key(doc.get("duplicates"), fail),
    )  # fmt: skip


def _duplicate_key(spec: Any, fail: Any) -> tuple[str, ...]:
    """``duplicates: {key: [respondent_id, ...]}``: which fields make two submissions
    the same respondent (default id, wave and site)."""
    if spec is None:
        return DUPLICATE_KEY
    allowed = ", ".join(DUPLICATE_KEY)
    key = spec.get("key") if isinstance(spec, dict) and set(spec) == {"key"} else None
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise fail("duplicates", f"give {{key: [respondent_id, ...]}} with fields from {allowed}")
    bad = [k for k in key if k not in DUPLICATE_KEY]
    if bad:
        raise fail("duplicates.key", f"{bad[0]!r} cannot be part of the key; use {allowed}")
    if "respondent_id" not in key or len(set(key)) != len(key):
        raise fail("duplicates.key", "must list respondent_id, and each field once")
    return tuple(k for k in DUPLICATE_KEY if k in key)


def _answer_targets(codebook: Codebook, scale_id: str) -> dict[str, str]:
    """Folded label to codebook label, for the levels a local answer may be mapped to."""
    scales = codebook.scales.values() if scale_id == "all" else [codebook.scales[scale_id]]
    out = {normalise_label(lb): lb for s in scales for lb in s.labels}
    out |= {normalise_label(str(lv.code)): lv.label for s in scales if s.numeric for lv in s.levels}
    out |= {normalise_label(lb): lb for lb in codebook.non_substantive.values()}
    return out


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
        export has no column for it) and ``test_response`` where the mapping excludes rows.
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
            )
    absent = [c for c in mapping.columns_used() if c not in data.columns]
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
        col = data[source.column] if source.column else pd.Series([source.value] * n, dtype="str")
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
        cells = _recode(data[column].reset_index(drop=True), table)
        _check_codes(cells, column, item.column, scale_id, raw, codebook, where)
        out[item.column] = cells
    if mapping.exclude_column:
        wanted = {normalise_label(v) for v in mapping.exclude_values}
        flag = data[mapping.exclude_column].map(lambda v: normalise_label(v) in wanted)
        out[TEST_FLAG] = flag.to_numpy(dtype=bool)
    frame = pd.DataFrame(out)
    frame.attrs[DUPLICATE_KEY_ATTR] = mapping.duplicate_key  # read by clean()
    text_cols = pd.DataFrame({"raw_row": frame["raw_row"], "respondent_id": frame["respondent_id"]})
    for c in mapping.free_text:
        text_cols[c] = data[c].to_numpy()
    return frame, _free_text(text_cols, mapping.free_text)


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
) -> tuple[RawExport, Mapping | None, pd.DataFrame, pd.DataFrame]:
    """Read an export and map it: ``(raw export, mapping, frame for clean, free text)``."""
    from hsc_research.ingest import read_export

    check_export_file(path)  # before any reader opens it: a FIFO would block forever
    mapping = load_mapping(mapping_path, codebook) if mapping_path else None
    raw = read_export(path, layout or (mapping.layout if mapping else None))
    frame, free_text = prepare(raw, mapping, codebook)
    frame.attrs[SOURCE_ATTR] = str(raw.path)  # clean() names the export in its errors
    return raw, mapping, frame, free_text
