"""The codebook's model: scales, groups, professions, role levels, questions, items,
headline indicators and what the reports single out, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

DEFAULT_CODEBOOK = Path(__file__).with_name("hsc2019.yaml")
#: Separator between question and item in wide column names: ``trust.asc``.
COLUMN_SEP = "."


@dataclass(frozen=True)
class Level:
    """One answer option of a scale: its numeric ``code`` and display ``label``."""

    code: int
    label: str


@dataclass(frozen=True)
class Scale:
    """An ordered response scale.

    Attributes
    ----------
    id, label
        Identifier and display name.
    levels
        Answer options from the lowest code to the highest.
    high, low
        Codes counted as the "high" (agree / frequent / strong) and "low" ends.
    midpoint
        Neutral code, or ``None`` for scales without one (agree4).
    numeric
        Whether exports may write the bare code instead of the label.
    high_label
        Word for the high end in text ("agree", "frequent", "strong").
    """

    id: str
    label: str
    levels: tuple[Level, ...]
    high: tuple[int, ...]
    low: tuple[int, ...]
    midpoint: int | None
    numeric: bool
    high_label: str

    @property
    def codes(self) -> list[int]:
        """Codes from low to high."""
        return [lv.code for lv in self.levels]

    @property
    def labels(self) -> list[str]:
        """Labels from low to high."""
        return [lv.label for lv in self.levels]

    @property
    def dtype(self) -> pd.CategoricalDtype:
        """Ordered categorical dtype of the labels, low to high."""
        return pd.CategoricalDtype(self.labels, ordered=True)

    def label_of(self, code: int) -> str:
        """Label for a code."""
        return {lv.code: lv.label for lv in self.levels}[code]


@dataclass(frozen=True)
class Group:
    """A respondent group (professions roll up into groups)."""

    id: str
    label: str
    short: str = ""


@dataclass(frozen=True)
class Profession:
    """A profession: both a kind of respondent and a target that questions ask about."""

    id: str
    label: str
    short: str
    group: str


@dataclass(frozen=True)
class RoleLevel:
    """Seniority of a respondent."""

    id: str
    label: str


@dataclass(frozen=True)
class Item:
    """One item of a question (one column of a wide export).

    ``target`` is the profession the item asks about, for questions asked about each
    profession, else ``None``. ``tag`` classifies factors (behaviour / process / system).
    """

    question: str
    id: str
    label: str
    tag: str | None = None
    target: str | None = None

    @property
    def column(self) -> str:
        """Wide-export column name of this item."""
        return f"{self.question}{COLUMN_SEP}{self.id}"


@dataclass(frozen=True)
class Question:
    """A survey question with its scale and items.

    ``self_policy`` applies to questions asked about each profession: ``"allowed"``
    keeps answers about the respondent's own profession, ``"excluded"`` excludes them.
    """

    id: str
    scale: str
    short: str
    text: str
    items: tuple[Item, ...]
    by_profession: bool
    self_policy: str | None


@dataclass(frozen=True)
class Indicator:
    """A headline indicator: % high on one item among chosen raters.

    ``rater_field`` is ``"group"``, ``"profession"`` or ``None`` (everyone) and
    ``rater_value`` the id it must equal.
    """

    id: str
    label: str
    question: str
    item: str
    rater_field: str | None
    rater_value: str | None
    finding: str


@dataclass(frozen=True)
class ReportSpec:
    """What the reports single out, named by id in the codebook's ``reports`` section.

    ``headline_indicator`` is quoted in the headline sentences (site vs rest, change);
    ``self_view`` (question, target, subject) and ``trust_pair`` (a, b, subject) give
    the other sentences; ``trust_gap_pairs`` the directional-trust table (one family);
    ``trust_bar_targets`` the professions in the trust bars; ``index_indicators`` the
    index columns; ``check_model`` the ordinal check model (question, item, the group
    left out as raters, the reference group).
    """

    headline_indicator: str
    self_view: dict[str, str]
    trust_pair: dict[str, str]
    trust_gap_pairs: tuple[tuple[str, str], ...]
    trust_bar_targets: tuple[str, ...]
    index_indicators: tuple[str, ...]
    check_model: dict[str, str]
    frequency_phrases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Codebook:
    """A validated survey codebook. Build it with :func:`load_codebook`."""

    id: str
    title: str
    path: Path
    non_substantive: dict[str, str]
    scales: dict[str, Scale]
    groups: tuple[Group, ...]
    professions: tuple[Profession, ...]
    role_levels: tuple[RoleLevel, ...]
    questions: tuple[Question, ...]
    indicators: tuple[Indicator, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    reports: ReportSpec | None = None

    def __repr__(self) -> str:
        # The generated dataclass repr printed every scale and item (10,000+ characters).
        return (
            f"<Codebook {self.id}: {len(self.questions)} questions, {len(self.items)} items, "
            f"{len(self.professions)} professions>"
        )

    def indicator(self, indicator_id: str) -> Indicator:
        """The headline indicator with this id."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(f"no indicator {indicator_id!r} in codebook {self.id}")

    def question(self, question_id: str) -> Question:
        """The question with this id (``KeyError`` naming the known ids otherwise)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(q.id for q in self.questions)
        raise KeyError(f"no question {question_id!r} in codebook {self.id}; known: {known}")

    def scale_of(self, question_id: str) -> Scale:
        """The scale of a question."""
        return self.scales[self.question(question_id).scale]

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """Every item of every question, in questionnaire order."""
        return tuple(item for q in self.questions for item in q.items)

    @cached_property
    def profession_group(self) -> dict[str, str]:
        """Profession id to group id."""
        return {p.id: p.group for p in self.professions}

    @cached_property
    def item_table(self) -> pd.DataFrame:
        """One row per item: question, item, column, scale, tag, target, target_group."""
        rows = [
            {
                "question": it.question,
                "item": it.id,
                "column": it.column,
                "scale": self.question(it.question).scale,
                "item_label": it.label,
                "tag": it.tag,
                "target": it.target,
                "target_group": self.profession_group.get(it.target) if it.target else None,
            }
            for it in self.items
        ]
        return pd.DataFrame(rows)

    def dtype(self, kind: str) -> pd.CategoricalDtype:
        """Ordered categorical dtype for ``profession``, ``group``, ``role_level``,
        ``question`` or ``item`` (ids, in codebook order)."""
        ids = {
            "profession": [p.id for p in self.professions],
            "group": [g.id for g in self.groups],
            "role_level": [r.id for r in self.role_levels],
            "question": [q.id for q in self.questions],
            "item": list(dict.fromkeys(it.id for it in self.items)),
        }[kind]
        return pd.CategoricalDtype(ids, ordered=True)

    def labels(self, kind: str) -> dict[str, str]:
        """Id to display label for ``profession``, ``group`` or ``role_level``."""
        source = {
            "profession": self.professions,
            "group": self.groups,
            "role_level": self.role_levels,
        }[kind]
        return {x.id: x.label for x in source}

    @cached_property
    def all_labels_dtype(self) -> pd.CategoricalDtype:
        """Ordered dtype over every scale's labels: ascending within each scale.

        Order is meaningful only within one scale (one question); across scales it is
        just codebook order.
        """
        labels = list(dict.fromkeys(lb for s in self.scales.values() for lb in s.labels))
        return pd.CategoricalDtype(labels, ordered=True)
