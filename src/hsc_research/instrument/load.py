"""Loading and validating a codebook YAML: every key checked with a one-line error naming
the file and key; anchors and aliases refused (a mapping or codebook is read by
:class:`StrictLoader`)."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import yaml

from hsc_research.config import SCALE_CODE_MAX, SCALE_CODE_MIN
from hsc_research.errors import CodebookError
from hsc_research.instrument.model import (
    DEFAULT_CODEBOOK,
    Codebook,
    Group,
    Indicator,
    Item,
    Level,
    Profession,
    Question,
    ReportSpec,
    RoleLevel,
    Scale,
)


class AliasRefused(yaml.YAMLError):
    """A YAML anchor (``&name``) or alias (``*name``) in a file that may not use them."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: YAML anchors and aliases are not allowed")
        self.line = line


class StrictLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases.

    Nested aliases expand exponentially when the loaded data is walked (a few hundred
    bytes become billions of items, "billion laughs"); codebooks and mappings never
    need them, so the scanner refuses the first ``&`` or ``*`` token, before anything
    is built.
    """

    def fetch_alias(self) -> None:
        raise AliasRefused(self.get_mark().line + 1)

    def fetch_anchor(self) -> None:
        raise AliasRefused(self.get_mark().line + 1)


def _fail(path: Path, key: str, message: str) -> CodebookError:
    return CodebookError(f"{path}: {key}: {message}")


def _require(mapping: Any, key: str, path: Path, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise _fail(path, f"{where}.{key}" if where else key, "missing; add it to the codebook")
    return mapping[key]


def _unique(ids: list[str], path: Path, where: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise _fail(path, f"{where}.{i}", "duplicate id; ids must be unique")
        seen.add(i)


def _parse_scale(sid: str, raw: dict, path: Path) -> Scale:
    where = f"scales.{sid}"
    levels_raw = raw.get("levels") if isinstance(raw, dict) else None
    if not levels_raw:
        raise _fail(path, where, "scale has no codes; list its levels with code and label")
    levels = []
    for i, lv in enumerate(levels_raw):
        code = _require(lv, "code", path, f"{where}.levels[{i}]")
        label = _require(lv, "label", path, f"{where}.levels[{i}]")
        if not isinstance(code, int) or isinstance(code, bool):
            raise _fail(path, f"{where}.levels[{i}].code", f"code {code!r} is not an integer")
        if not SCALE_CODE_MIN <= code <= SCALE_CODE_MAX:
            raise _fail(
                path,
                f"{where}.levels[{i}].code",
                f"code {code} is outside {SCALE_CODE_MIN}..{SCALE_CODE_MAX}, the codes that "
                "can be stored; renumber the scale's levels (e.g. 1, 2, 3, ...)",
            )
        levels.append(Level(int(code), str(label)))
    codes = [lv.code for lv in levels]
    if codes != sorted(codes) or len(set(codes)) != len(codes):
        raise _fail(path, f"{where}.levels", "codes must be unique and listed low to high")
    _unique([lv.label.casefold() for lv in levels], path, f"{where}.levels")
    for end in ("high", "low"):
        if not isinstance(raw.get(end, []), list):
            raise _fail(path, f"{where}.{end}", "give a list of codes, e.g. [3, 4]")
        for c in raw.get(end, []):
            if c not in codes:
                raise _fail(path, f"{where}.{end}", f"code {c} is not one of the scale's codes")
    midpoint = raw.get("midpoint")
    if midpoint is not None and midpoint not in codes:
        raise _fail(path, f"{where}.midpoint", f"code {midpoint} is not one of the scale's codes")
    return Scale(
        id=sid,
        label=str(raw.get("label", sid)),
        levels=tuple(levels),
        high=tuple(raw.get("high", [])),
        low=tuple(raw.get("low", [])),
        midpoint=midpoint,
        numeric=bool(raw.get("numeric", False)),
        high_label=str(raw.get("high_label", "high")),
    )


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and validate a codebook YAML file.

    Parameters
    ----------
    path
        The YAML file; the packaged ``hsc2019.yaml`` when ``None``.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        One line naming the file and the offending key: unknown scale, duplicate id,
        item without a label, scale without codes, profession without a group, etc.
    """
    path = Path(path) if path is not None else DEFAULT_CODEBOOK
    try:
        # Opening a FIFO would wait forever: check the file type first (stat never blocks).
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise CodebookError(f"{path}: not a regular file; give the codebook YAML file")
        data = path.read_bytes()
    except OSError as exc:
        raise CodebookError(f"{path}: cannot read codebook ({exc.strerror})") from None
    key = (str(path), hashlib.sha256(data).hexdigest())
    if key not in _PARSED:
        codebook = _parse_codebook(data, path)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = pickle.dumps(codebook, protocol=pickle.HIGHEST_PROTOCOL)
        return codebook
    # Each caller gets its own copy: a report that changes its codebook's dicts leaves
    # the next report's alone.
    return pickle.loads(_PARSED[key])  # noqa: S301 - bytes this process pickled itself


#: Validated codebooks of this process, pickled, by (file, SHA-256 of its bytes): a
#: warm report kernel reads the same codebook for every report, and parsing YAML costs
#: a hundred times more than unpickling.
_PARSED: dict[tuple[str, str], bytes] = {}
_PARSED_MAX = 8


def _parse_codebook(data: bytes, path: Path) -> Codebook:
    """The codebook in ``data`` (the bytes of ``path``), validated."""
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=StrictLoader)  # noqa: S506
    except UnicodeDecodeError:
        raise CodebookError(f"{path}: not UTF-8 text; save the codebook as UTF-8") from None
    except AliasRefused as exc:
        raise CodebookError(
            f"{path}: line {exc.line}: YAML anchors and aliases (& and *) are not allowed "
            "in a codebook; write each value out"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise CodebookError(f"{path}: {where}: not valid YAML; fix the syntax") from None
    if not isinstance(raw, dict):
        raise CodebookError(f"{path}: top level must be a mapping of codebook sections")

    cid = str(_require(raw, "id", path, ""))
    scales_raw = _require(raw, "scales", path, "")
    _unique(list(scales_raw), path, "scales")
    scales = {sid: _parse_scale(sid, s, path) for sid, s in scales_raw.items()}

    groups = []
    for i, g in enumerate(_require(raw, "groups", path, "")):
        gid = str(_require(g, "id", path, f"groups[{i}]"))
        label = str(g.get("label", gid))
        groups.append(Group(gid, label, str(g.get("short", label))))
    _unique([g.id for g in groups], path, "groups")
    group_ids = {g.id for g in groups}

    professions = []
    for i, p in enumerate(_require(raw, "professions", path, "")):
        pid = str(_require(p, "id", path, f"professions[{i}]"))
        where = f"professions.{pid}"
        group = p.get("group")
        if not group:
            raise _fail(path, where, "profession has no group; add `group:` with a group id")
        if group not in group_ids:
            raise _fail(path, f"{where}.group", f"unknown group {group!r}; define it in groups")
        label = str(_require(p, "label", path, where))
        professions.append(Profession(pid, label, str(p.get("short", label)), str(group)))
    _unique([p.id for p in professions], path, "professions")

    role_levels = []
    for i, r in enumerate(raw.get("role_levels", [])):
        rid = str(_require(r, "id", path, f"role_levels[{i}]"))
        role_levels.append(RoleLevel(rid, str(r.get("label", rid))))
    _unique([r.id for r in role_levels], path, "role_levels")

    questions = []
    for i, q in enumerate(_require(raw, "questions", path, "")):
        qid = str(_require(q, "id", path, f"questions[{i}]"))
        where = f"questions.{qid}"
        scale = _require(q, "scale", path, where)
        if scale not in scales:
            known = ", ".join(scales)
            raise _fail(path, f"{where}.scale", f"unknown scale {scale!r}; known: {known}")
        by_prof = q.get("items_from") == "professions"
        if "items_from" in q and not by_prof:
            raise _fail(path, f"{where}.items_from", "only `professions` is supported")
        if by_prof:
            items = tuple(Item(qid, p.id, p.label, None, p.id) for p in professions)
            self_policy = q.get("self", "allowed")
            if self_policy not in ("allowed", "excluded"):
                raise _fail(path, f"{where}.self", "must be `allowed` or `excluded`")
        else:
            items_raw = _require(q, "items", path, where)
            items_list = []
            for j, it in enumerate(items_raw):
                iid = str(_require(it, "id", path, f"{where}.items[{j}]"))
                if not it.get("label"):
                    raise _fail(path, f"{where}.items.{iid}", "item has no label; add `label:`")
                items_list.append(Item(qid, iid, str(it["label"]), it.get("tag"), None))
            items = tuple(items_list)
            self_policy = None
        _unique([it.id for it in items], path, f"{where}.items")
        questions.append(
            Question(
                id=qid,
                scale=str(scale),
                short=str(q.get("short", qid)),
                text=str(_require(q, "text", path, where)),
                items=items,
                by_profession=by_prof,
                self_policy=self_policy,
            )
        )
    _unique([q.id for q in questions], path, "questions")

    non_sub = raw.get("non_substantive") or {}
    if "blank" in non_sub:
        raise _fail(path, "non_substantive.blank", "blank is built in; remove it")

    indicators = _parse_indicators(
        raw.get("indicators") or [], questions, professions, groups, path
    )

    reports = _parse_reports(
        raw.get("reports") or {}, questions, professions, groups, indicators, path
    )

    return Codebook(
        reports=reports,
        id=cid,
        title=str(raw.get("title", cid)),
        path=path,
        non_substantive={str(k): str(v) for k, v in non_sub.items()},
        scales=scales,
        groups=tuple(groups),
        professions=tuple(professions),
        role_levels=tuple(role_levels),
        questions=tuple(questions),
        indicators=indicators,
    )


def _parse_indicators(
    raw: list,
    questions: list[Question],
    professions: list[Profession],
    groups: list[Group],
    path: Path,
) -> tuple[Indicator, ...]:
    by_id = {q.id: q for q in questions}
    out = []
    for i, ind in enumerate(raw):
        iid = str(_require(ind, "id", path, f"indicators[{i}]"))
        where = f"indicators.{iid}"
        qid = _require(ind, "question", path, where)
        if qid not in by_id:
            raise _fail(path, f"{where}.question", f"unknown question {qid!r}")
        item = _require(ind, "item", path, where)
        if item not in {it.id for it in by_id[qid].items}:
            raise _fail(path, f"{where}.item", f"question {qid} has no item {item!r}")
        raters = ind.get("raters") or {}
        if len(raters) > 1:
            raise _fail(path, f"{where}.raters", "give one of group or profession")
        field_, value = next(iter(raters.items())) if raters else (None, None)
        allowed = {"group": {g.id for g in groups}, "profession": {p.id for p in professions}}
        if field_ is not None and (field_ not in allowed or value not in allowed[field_]):
            raise _fail(path, f"{where}.raters", f"unknown {field_} {value!r}")
        out.append(
            Indicator(
                iid,
                str(_require(ind, "label", path, where)),
                qid,
                item,
                field_,
                value,
                str(ind.get("finding", qid)),
            )  # fmt: skip
        )
    _unique([x.id for x in out], path, "indicators")
    return tuple(out)


def _parse_reports(
    raw: dict,
    questions: list[Question],
    professions: list[Profession],
    groups: list[Group],
    indicators: tuple[Indicator, ...],
    path: Path,
) -> ReportSpec | None:
    """The ``reports`` section; defaults follow the 2019 instrument where ids exist."""
    if not indicators:
        return None
    prof = {p.id for p in professions}
    grp = {g.id for g in groups}
    ind = {i.id for i in indicators}
    qs = {q.id: q for q in questions}

    def need(value, known, key):
        if value not in known:
            raise _fail(
                path, f"reports.{key}", f"unknown id {value!r}; known: {', '.join(sorted(known))}"
            )
        return value

    def pair(value, key):
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _fail(path, f"reports.{key}", "give two profession ids, e.g. [asc, gp]")
        return (need(value[0], prof, key), need(value[1], prof, key))

    first_two = [p.id for p in professions[:2]]
    headline = need(raw.get("headline_indicator", indicators[0].id), ind, "headline_indicator")
    sv = dict(raw.get("self_view") or {})
    sv.setdefault("question", next((q.id for q in questions if q.by_profession), questions[0].id))
    need(sv["question"], set(qs), "self_view.question")
    targets = [it.target for it in qs[sv["question"]].items if it.target]
    sv.setdefault("target", targets[0] if targets else "")
    sv.setdefault("subject", f"The share of {sv['target']} rating themselves high")
    tp = dict(raw.get("trust_pair") or {})
    a, b = pair(tp.get("pair", first_two), "trust_pair.pair")
    tp = {"a": a, "b": b, "subject": str(tp.get("subject", f"Trust between {a} and {b}"))}
    pairs = tuple(pair(x, "trust_gap_pairs") for x in raw.get("trust_gap_pairs", [first_two]))
    bars = tuple(
        need(x, prof, "trust_bar_targets") for x in raw.get("trust_bar_targets", list(prof))
    )
    index = tuple(need(x, ind, "index_indicators")
                  for x in raw.get("index_indicators", [i.id for i in indicators[:4]]))  # fmt: skip
    cm = {str(k): str(v) for k, v in (raw.get("check_model") or {}).items()}
    if cm:
        need(cm.get("question"), set(qs), "check_model.question")
        need(cm.get("item"), {it.id for it in qs[cm["question"]].items}, "check_model.item")
        for key in ("leave_out_group", "reference_group"):
            if key in cm:
                need(cm[key], grp, f"check_model.{key}")
    phrases = {str(k): str(v) for k, v in (raw.get("frequency_phrases") or {}).items()}
    for qid in phrases:
        need(qid, set(qs), "frequency_phrases")
    tp["question"] = need(str((raw.get("trust_pair") or {}).get("question", "trust" if "trust" in qs
                                                                else questions[0].id)), set(qs),
                          "trust_pair.question")  # fmt: skip
    return ReportSpec(
        headline, {k: str(v) for k, v in sv.items()}, tp, pairs, bars, index, cm, phrases
    )
