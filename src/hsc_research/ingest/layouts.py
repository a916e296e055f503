"""Export layouts: how each survey tool lays out its header rows.

A layout turns a :class:`~hsc_research.ingest.files.Grid` into named columns: the
``key`` a mapping refers to, the question text and sub-question (matrix row) the tool
wrote, and where the respondents start. Detection looks only at the header rows.

========================  ===================================================================
``template``              this package's layout: one header row, codebook column names
``qualtrics``             three header rows: names; question text (" - " sub-question);
                          ``{"ImportId": ...}``
``qualtrics_legacy``      two header rows: V1..Vn / Q names; ResponseID.., question text
``surveymonkey``          two header rows: question text (blank cells continue the one to
                          the left); sub-labels ("Response", matrix rows)
``msforms``               Microsoft Forms: one header row starting ID, Start time,
                          Completion time
``spss``                  SPSS ``.sav``: variable names, variable labels as question text,
                          value labels applied
``plain``                 any other one-header-row table (only with a mapping)
========================  ===================================================================
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from hsc_research.errors import InputError
from hsc_research.ingest.files import Grid

LAYOUTS = ("template", "qualtrics", "qualtrics_legacy", "surveymonkey", "msforms", "spss", "plain")
#: The template layout's respondent fields; the first four are required.
REQUIRED_FIELDS = ("respondent_id", "site", "wave", "profession")
OPTIONAL_FIELDS = ("role_level", "submitted_at")
#: SurveyMonkey sub-labels that mean "the question itself", not a matrix row.
_SM_PLAIN = {"", "response"}


@dataclass(frozen=True)
class Column:
    """One export column: ``key`` (what a mapping names), the question ``text`` and
    ``sub``-question (matrix row) the survey tool wrote, and 0-based ``position``."""

    key: str
    text: str
    sub: str
    position: int


@dataclass
class Header:
    """The parsed header of an export: its layout, columns and number of header rows."""

    layout: str
    columns: list[Column]
    header_rows: int


def _cell(row: list[str], i: int) -> str:
    return row[i].strip() if i < len(row) else ""


def detect(grid: Grid) -> str:
    """Name the layout of an export from its header rows.

    Raises
    ------
    InputError
        When no layout fits, or a Qualtrics header is missing its third row.
    """
    if grid.fmt == "sav":
        return "spss"
    rows = grid.rows
    first = [c.strip() for c in rows[0]]
    folded = {c.casefold() for c in first}
    second = rows[1] if len(rows) > 1 else []
    third = rows[2] if len(rows) > 2 else []
    if {"respondent_id", "site"} <= set(first):
        return "template"  # missing fields are named by the template column check
    if _cell(rows[0], 0) == "V1" and _cell(second, 0).casefold() == "responseid":
        return "qualtrics_legacy"
    if {"responseid", "startdate"} <= folded or "responseid" in folded:
        if any(c.strip().startswith('{"ImportId"') for c in third):
            return "qualtrics"
        raise InputError(
            f"{grid.path}: looks like a Qualtrics export but row 3 is not the "
            '{"ImportId": ...} row; export again with the three header rows, or give --layout'
        )
    if {"respondent id", "collector id"} <= folded:
        return "surveymonkey"
    if [c.casefold() for c in first[:3]] == ["id", "start time", "completion time"]:
        return "msforms"
    shown = ", ".join(repr(c) for c in first[:3])
    raise InputError(
        f"{grid.path}: unknown layout (header starts {shown}); give --layout "
        f"({', '.join(LAYOUTS)}) and a mapping (`hsc-research map --suggest`)"
    )


def parse_header(grid: Grid, layout: str) -> Header:
    """Columns and header-row count of ``grid`` read as ``layout``."""
    rows = grid.rows
    if layout not in LAYOUTS:
        raise InputError(f"{grid.path}: unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if layout == "msforms":
        return Header(layout, _numbered_repeats(rows[0]), 1)
    if layout in ("template", "plain"):
        cols = [Column(c.strip(), c.strip(), "", i) for i, c in enumerate(rows[0])]
        return Header(layout, cols, 1)
    if layout == "spss":
        cols = [
            Column(name, *_split_text(grid.labels.get(name, "")), i)
            for i, name in enumerate(rows[0])
        ]
        return Header(layout, cols, 1)
    _need_rows(grid, {"qualtrics": 3, "qualtrics_legacy": 2, "surveymonkey": 2}[layout], layout)
    if layout == "qualtrics":
        cols = [
            Column(k.strip(), *_split_text(_cell(rows[1], i)), i) for i, k in enumerate(rows[0])
        ]
        return Header(layout, cols, 3)
    if layout == "qualtrics_legacy":
        cols = []
        for i, k in enumerate(rows[0]):
            text = _cell(rows[1], i)
            # V1..V10 are metadata whose real name is the question-text cell.
            key = text if k.strip().startswith("V") and k.strip()[1:].isdigit() else k.strip()
            cols.append(Column(key, *_split_text(text), i))
        return Header(layout, cols, 2)
    # SurveyMonkey: a blank question cell continues the question to its left.
    cols, question = [], ""
    for i in range(len(rows[0])):
        question = _cell(rows[0], i) or question
        sub = _cell(rows[1], i)
        plain = sub.casefold() in _SM_PLAIN
        key = question if plain else f"{question} - {sub}"
        cols.append(Column(key, question, "" if plain else sub, i))
    return Header(layout, cols, 2)


def _numbered_repeats(header: list[str]) -> list[Column]:
    """Microsoft Forms heads a Likert statement's column with the statement alone, so two
    questions about the same professions repeat headers. Forms keeps the form's order:
    the k-th column headed ``h`` is keyed ``"h #k"`` (the question text stays ``h``)."""
    names = [c.strip() for c in header]
    counts = Counter(n for n in names if n)
    seen: Counter[str] = Counter()
    cols = []
    for i, name in enumerate(names):
        key = name
        if counts[name] > 1:
            seen[name] += 1
            key = f"{name} #{seen[name]}"
        cols.append(Column(key, name, "", i))
    return cols


_REF = re.compile(r"(?P<head>.*?)\s*#(?P<k>\d+)")


def find_column(columns: list[Column], ref: str) -> Column | None:
    """The export column a mapping names by ``ref``: its header (its key), ``"header #k"``
    (the k-th column with that header, counted from the left), or ``"#n"`` (the n-th
    column of the export, counted from 1, as a spreadsheet shows it).

    Returns ``None`` when nothing has that name.

    Raises
    ------
    LookupError
        The name is a header that occurs more than once (one line saying how to name
        one of them), or means two different columns.
    """
    ref = ref.strip()
    exact = [c for c in columns if c.key == ref]
    by_ref: list[Column] = []
    if m := _REF.fullmatch(ref):
        k, head = int(m.group("k")), m.group("head")
        if not head:
            by_ref = [c for c in columns if c.position == k - 1]
        else:
            same = [c for c in columns if c.text == head and not c.sub]
            by_ref = same[k - 1 : k] if k >= 1 else []
    found = {c.position: c for c in exact + by_ref}
    if len(found) > 1:
        where = " and ".join(f"column {p + 1}" for p in sorted(found))
        raise LookupError(f"{ref!r} names both {where}; use the other form of name")
    if found:
        return next(iter(found.values()))
    repeats = [c for c in columns if c.text == ref and not c.sub]
    if len(repeats) > 1:
        where = ", ".join(str(c.position + 1) for c in repeats)
        raise LookupError(
            f"{ref!r} heads {len(repeats)} columns ({where}); name one as {ref + ' #1'!r} "
            f"(the first from the left) or by position, e.g. '#{repeats[0].position + 1}'"
        )
    return None


def _split_text(text: str) -> tuple[str, str]:
    """Question text and sub-question, split at the last " - " as Qualtrics writes them."""
    text = " ".join(text.split())
    if " - " in text:
        q, _, sub = text.rpartition(" - ")
        return q.strip(), sub.strip()
    return text, ""


def _need_rows(grid: Grid, n: int, layout: str) -> None:
    if len(grid.rows) < n:
        raise InputError(
            f"{grid.path}: a {layout} export has {n} header rows but the file has "
            f"{len(grid.rows)} row(s); export it again with its full header"
        )
