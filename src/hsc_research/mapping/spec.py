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
    exclude:                     # rules, each logged under its reason (default test_response)
      - {column: Status, values: [Survey Preview]}
      - {column: Finished, values: ["False"], reason: partial_response}
    duplicates: {key: [respondent_id, wave, site]}  # optional; what makes a duplicate
    dates: {order: mdy}          # optional: dmy, mdy or ymd; inferred when left out
    accept:                      # what validate lets through (it fails otherwise)
      unmapped_items: [trust.gp]               # codebook items this export does not have
      unknown_values: {site: [Head office]}    # values to exclude (site, profession) or
                                               # log (role_level)
      excluded_share: 0.3                      # respondents that may be excluded

A column is named by its header, by ``"header #k"`` (the k-th column with that header,
from the left: Microsoft Forms repeats statement-only headers) or by ``"#n"`` (the n-th
column of the export). ``duplicates: {identity: Email}`` finds repeat submissions by an
identifying column, compared as a keyed hash and never kept. Only the columns a mapping
names are read; the others are dropped as the export is read.

:func:`apply_mapping` turns a read export into the template-layout frame that
:func:`hsc_research.clean.clean` takes, so every layout is cleaned by the same code.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hsc_research.errors import InputError
from hsc_research.ingest.dates import DATE_ORDERS
from hsc_research.ingest.files import require_regular_file
from hsc_research.ingest.frame import DUPLICATE_KEY, IDENTITY, RULE_REASONS
from hsc_research.ingest.labels import normalise_label
from hsc_research.ingest.layouts import LAYOUTS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from hsc_research.instrument import AliasRefused, Codebook, StrictLoader

FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
_TOP_KEYS = {"layout", "fields", "values", "items", "answers", "free_text", "exclude",
             "duplicates", "dates", "accept"}  # fmt: skip
#: Fields whose unknown values validate stops on unless the mapping accepts them.
VALUE_FIELDS = ("site", "profession", "role_level")


@dataclass(frozen=True)
class ExcludeRule:
    """Rows whose ``column`` holds one of ``values`` are excluded, logged as ``reason``."""

    column: str
    values: tuple[str, ...]
    reason: str = "test_response"


@dataclass
class Accept:
    """What the analyst accepts, so that ``validate`` passes: codebook items the export
    has no column for, field values that fit nothing, and a larger share of excluded
    respondents than ``validate``'s limit (``None``: the limit)."""

    unmapped_items: set[str] = field(default_factory=set)
    unknown_values: dict[str, set[str]] = field(default_factory=dict)
    excluded_share: float | None = None


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
    excludes: list[ExcludeRule] = field(default_factory=list)
    #: Fields naming one respondent among submissions (``duplicates: {key: [...]}``).
    duplicate_key: tuple[str, ...] = DUPLICATE_KEY
    #: Identifying column compared (as a keyed hash) to find repeat submissions.
    identity: str | None = None
    #: ``dates: {order: ...}``: the order of day-month dates, or ``None`` to infer it.
    date_order: str | None = None
    accept: Accept = field(default_factory=Accept)

    @property
    def exclude_column(self) -> str | None:
        """The first exclude rule's column (``None`` without rules)."""
        return self.excludes[0].column if self.excludes else None

    def columns_used(self) -> set[str]:
        """Every export column the mapping reads (the identity column aside)."""
        used = {s.column for s in self.fields.values() if s.column}
        used |= set(self.items) | set(self.free_text)
        used |= {rule.column for rule in self.excludes}
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
        if name not in VALUE_FIELDS:
            raise fail(f"values.{name}", "only site, profession and role_level take values")
        allowed = None if name == "site" else codebook.labels(name)
        values[name] = {}
        for local, target in (table or {}).items():
            if target is None:
                if name != "role_level":  # a respondent without one cannot be analysed
                    raise fail(f"values.{name}.{local}", f"every respondent needs a {name}; "
                               f"list the value under accept: unknown_values: {name}: to "
                               "exclude those respondents")  # fmt: skip
                values[name][normalise_label(_text(local))] = ""  # role level not stated
                continue
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
    key, identity = _duplicate_key(doc.get("duplicates"), fail)
    return Mapping(
        path, layout, fields, items, values, answers, free_text,
        excludes=_exclude_rules(doc.get("exclude"), fail),
        duplicate_key=key, identity=identity,
        date_order=_date_order(doc.get("dates"), fail),
        accept=_accept(doc.get("accept"), codebook, fail),
    )  # fmt: skip


def _exclude_rules(spec: Any, fail: Any) -> list[ExcludeRule]:
    """``exclude:`` one rule or a list of rules ``{column, values, reason}``."""
    if not spec:
        return []
    rules = spec if isinstance(spec, list) else [spec]
    out = []
    for i, rule in enumerate(rules):
        where = "exclude" if isinstance(spec, dict) else f"exclude[{i + 1}]"
        if (
            not isinstance(rule, dict)
            or "column" not in rule
            or set(rule) - {"column", "values", "reason"}
        ):
            raise fail(where, "give {column: ..., values: [...]} (reason: optional), or a list of them")  # fmt: skip
        reason = rule.get("reason", "test_response")
        if reason not in RULE_REASONS:
            raise fail(f"{where}.reason", f"{reason!r} is not one of {', '.join(RULE_REASONS)}")
        values = rule.get("values") or []
        if not isinstance(values, list):
            values = [values]
        out.append(ExcludeRule(_text(rule["column"]), tuple(_text(v) for v in values), reason))
    return out


def _date_order(spec: Any, fail: Any) -> str | None:
    """``dates: {order: dmy|mdy|ymd}``."""
    if spec is None:
        return None
    order = spec.get("order") if isinstance(spec, dict) and set(spec) == {"order"} else None
    if order not in DATE_ORDERS:
        raise fail("dates", f"give {{order: ...}} with one of {', '.join(DATE_ORDERS)} "
                   "(day-month-year, month-day-year, ISO year-month-day)")  # fmt: skip
    return str(order)


def _accept(spec: Any, codebook: Codebook, fail: Any) -> Accept:
    """``accept: {unmapped_items: [...], unknown_values: {field: [...]}, excluded_share: x}``."""
    if spec is None:
        return Accept()
    if not isinstance(spec, dict) or set(spec) - {
        "unmapped_items",
        "unknown_values",
        "excluded_share",
    }:
        raise fail("accept", "use unmapped_items, unknown_values and excluded_share")  # fmt: skip
    known = {it.column for it in codebook.items}
    items = spec.get("unmapped_items") or []
    if not isinstance(items, list):
        raise fail("accept.unmapped_items", "give a list of codebook items (question.item)")
    for it in items:
        if it not in known:
            raise fail(f"accept.unmapped_items.{it}", "not a codebook item (question.item)")
    unknown: dict[str, set[str]] = {}
    for name, vals in (spec.get("unknown_values") or {}).items():
        if name not in VALUE_FIELDS or not isinstance(vals, list):
            raise fail(f"accept.unknown_values.{name}",
                       f"give a list of values for one of {', '.join(VALUE_FIELDS)}")  # fmt: skip
        unknown[name] = {normalise_label(_text(v)) for v in vals}
    share = spec.get("excluded_share")
    if share is not None and (isinstance(share, bool) or not isinstance(share, int | float)
                              or not 0 <= share <= 1):  # fmt: skip
        raise fail("accept.excluded_share", f"{share!r}: give a share from 0 to 1, e.g. 0.3")
    return Accept(set(items), unknown, None if share is None else float(share))


def _duplicate_key(spec: Any, fail: Any) -> tuple[tuple[str, ...], str | None]:
    """``duplicates: {key: [respondent_id, ...], identity: column}``: which fields make two
    submissions the same respondent (default id, wave and site), and the identifying
    column compared instead of the id (with ``identity``, the default key is identity,
    wave and site)."""
    if spec is None:
        return DUPLICATE_KEY, None
    fields = (*DUPLICATE_KEY, IDENTITY)
    allowed = ", ".join(fields)
    ok = isinstance(spec, dict) and spec and set(spec) <= {"key", "identity"}
    identity = spec.get("identity") if ok else None
    if ok and "identity" in spec and (identity is None or isinstance(identity, list | dict)):
        raise fail("duplicates.identity", "give the export column to compare, e.g. Email")
    key = spec.get("key", [IDENTITY, "wave", "site"] if identity else None) if ok else None
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        raise fail("duplicates", f"give {{key: [respondent_id, ...]}} with fields from {allowed}, "
                   "and optionally identity: <column>")  # fmt: skip
    bad = [k for k in key if k not in fields]
    if bad:
        raise fail("duplicates.key", f"{bad[0]!r} cannot be part of the key; use {allowed}")
    if len(set(key)) != len(key) or ("respondent_id" in key) == (IDENTITY in key):
        raise fail("duplicates.key", "must list respondent_id or identity (not both), and each field once")  # fmt: skip
    if (IDENTITY in key) != (identity is not None):
        raise fail("duplicates", "identity in the key needs identity: <column>, and the other way round")  # fmt: skip
    order = ("respondent_id", IDENTITY, "wave", "site")
    return tuple(k for k in order if k in key), (_text(identity) if identity else None)


def _answer_targets(codebook: Codebook, scale_id: str) -> dict[str, str]:
    """Folded label to codebook label, for the levels a local answer may be mapped to."""
    scales = codebook.scales.values() if scale_id == "all" else [codebook.scales[scale_id]]
    out = {normalise_label(lb): lb for s in scales for lb in s.labels}
    out |= {normalise_label(str(lv.code)): lv.label for s in scales if s.numeric for lv in s.levels}
    out |= {normalise_label(lb): lb for lb in codebook.non_substantive.values()}
    return out
