"""``hsc-research map --suggest``: draft a mapping by matching an export to the codebook.

Each export column's question text and sub-question (matrix row) is compared with each
codebook question's text and item label; the best one-to-one matches become ``items``.
Respondent fields are found by the names survey tools give them, answer wordings and field
values that differ from the codebook's get the nearest codebook label. Every suggestion
carries its confidence; anything below :data:`CERTAIN` is marked ``CHECK`` and anything
that could not be matched is listed as ``TODO``, for the analyst to confirm.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import pandas as pd
import yaml

from hsc_research.errors import InputError
from hsc_research.ingest import RawExport, read_export
from hsc_research.ingest.dates import infer_date_order, layout_date_order
from hsc_research.ingest.files import check_export_file
from hsc_research.ingest.labels import normalise_label
from hsc_research.instrument import Codebook, Scale

#: Scores at or above this are taken as certain; below, the line says CHECK.
CERTAIN = 0.85
#: Scores below this are not suggested at all.
FLOOR = 0.6
#: Names survey tools give respondent fields, best first (folded: no spaces or _).
_FIELD_NAMES = {
    "respondent_id": ["respondentid", "responseid", "id"],
    "submitted_at": ["submittedat", "recordeddate", "enddate", "completiontime"],
    "site": ["site", "organisation", "organization"],
    "wave": ["wave", "surveyyear", "year"],
    "profession": ["profession", "staffgroup", "occupation"],
    "role_level": ["rolelevel", "seniority", "level"],
}
#: Words in question text that point to a respondent field.
_FIELD_WORDS = {
    "site": r"\b(site|organisation|organization|where do you work|employer|area)\b",
    "profession": r"\b(profession|staff group|occupation|which .* describes your (job|role))\b",
    "role_level": r"\b(seniority|grade|level)\b",
}
#: Common non-substantive answer wordings (folded) and the codebook's label for each, with
#: the confidence of the suggestion: a refusal is not "don't know", but both stay out of
#: every percentage base, so the nearest label is offered for checking.
_NON_SUBSTANTIVE = {
    "n/a": ("Not applicable", 0.95), "na": ("Not applicable", 0.95),
    "not applicable": ("Not applicable", 1.0), "does not apply": ("Not applicable", 0.9),
    "not relevant": ("Not applicable", 0.9), "dont know": ("Don't know", 1.0),
    "do not know": ("Don't know", 0.95), "not sure": ("Don't know", 0.95),
    "unsure": ("Don't know", 0.95), "cant say": ("Don't know", 0.9),
    "prefer not to say": ("Don't know", 0.7), "no opinion": ("Don't know", 0.7),
}  # fmt: skip
#: Excel's error values: logged as invalid answers, never mapped.
EXCEL_ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!"}
#: Emitter line width: wide enough that no scalar is ever folded onto a second line.
_NO_WRAP = 2**31
#: Unicode categories escaped in comments: controls, format characters (bidi overrides,
#: zero-width), surrogates, private and unassigned, and line and paragraph separators.
_UNSAFE_IN_COMMENT = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_QUALTRICS_TEST = ["Survey Preview", "Survey Test", "Spam", "Preview Spam", "1", "2", "8", "9"]


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalise_label(name))


def _stem(word: str) -> str:
    """A crude stem, so that "lacking" meets "lack" and "trusting" meets "trust"."""
    for end in ("ing", "ed", "es", "s"):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)]
    return word


@functools.lru_cache(maxsize=65536)  # a draft compares the same question texts many times
def similarity(a: str, b: str) -> float:
    """Similarity of two wordings in [0, 1]: the better of character-sequence similarity
    and (stemmed) word overlap, so that "Agree strongly" matches "Strongly agree"."""
    a, b = normalise_label(a), normalise_label(b)
    if not a or not b:
        return 0.0
    seq = SequenceMatcher(None, a, b).ratio()
    wa = {_stem(w) for w in re.findall(r"\w+", a)}
    wb = {_stem(w) for w in re.findall(r"\w+", b)}
    overlap = 2 * len(wa & wb) / (len(wa) + len(wb)) if wa and wb else 0.0
    return max(seq, overlap)


def _contains(value: str, label: str) -> bool:
    """Whether every word of ``label`` is in ``value`` ("Manager or team leader" holds
    "Manager"): local wordings often add to the codebook's."""
    wv = {_stem(w) for w in re.findall(r"\w+", normalise_label(value))}
    wl = {_stem(w) for w in re.findall(r"\w+", normalise_label(label))}
    return bool(wl) and wl <= wv


def _q(text: object) -> str:
    """``text`` as one double-quoted YAML scalar, written by PyYAML's emitter.

    Every character YAML could read as a line break (``\\n``, ``\\r``, U+0085, U+2028,
    U+2029) or that is not printable comes out as an escape, so a string from an export
    can never end its line, open a comment or start a key.
    """
    out = yaml.dump(str(text), Dumper=yaml.SafeDumper, default_style='"',
                    allow_unicode=True, width=_NO_WRAP).rstrip("\n")  # fmt: skip
    if "\n" in out:  # the emitter folds nothing at this width; a second line is a bug
        raise RuntimeError(f"quoted scalar spans lines: {out!r}")
    return out


def _comment(text: str) -> str:
    """Text safe to put after ``#``: control, format and line/paragraph separator
    characters are shown as ``\\uXXXX`` escapes, so a comment stays one line in YAML,
    in editors and in viewers alike (and cannot reorder what is shown: bidi controls)."""
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in _UNSAFE_IN_COMMENT else ch for ch in text
    )


def _confidence(score: float, doubt: str | None = None) -> str:
    if doubt is not None:
        return f"confidence {score:.2f}  CHECK: {_comment(_q(doubt))} fits almost as well"
    return f"confidence {score:.2f}" + ("" if score >= CERTAIN else "  CHECK")


#: Score given to SurveyMonkey's Collector ID drafted as the site (always checked).
_COLLECTOR = 0.61


def _match_fields(raw: RawExport, codebook: Codebook) -> dict[str, tuple[str, float]]:
    """Respondent fields: by the names tools give them, else by words of the question
    (then confident only when the column's values are the codebook's categories)."""
    found: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for name, candidates in _FIELD_NAMES.items():
        for cand in candidates:
            hit = next((c.key for c in raw.columns if cand in (_fold(c.key), _fold(c.text))
                        and c.key not in used), None)  # fmt: skip
            if hit:
                found[name], _ = (hit, 1.0), used.add(hit)
                break
    for name, pattern in _FIELD_WORDS.items():
        if name in found:
            continue
        for c in raw.columns:
            if c.key not in used and re.search(pattern, normalise_label(f"{c.text} {c.sub}")):
                found[name], _ = (c.key, _value_score(raw.data[c.key], name, codebook)), used.add(c.key)  # fmt: skip
                break
    if "site" not in found and raw.layout == "surveymonkey":
        hit = next((c.key for c in raw.columns if _fold(c.key) == "collectorid"), None)
        if hit and hit not in used:
            found["site"] = (hit, _COLLECTOR)
    return found


def _value_score(values: pd.Series, name: str, codebook: Codebook) -> float:
    """0.9 when 4 in 5 of a field column's distinct values are read as codebook
    categories (as written or as :func:`_best_value` suggests them), else 0.7."""
    if name == "site":
        return 0.7
    labels = codebook.labels(name)
    known = {normalise_label(v) for v in labels.values()} | set(labels)
    distinct = [v for v in pd.unique(values.dropna()) if str(v).strip()]
    if not distinct:
        return 0.7
    read = sum(normalise_label(v) in known or _best_value(v, labels)[1] >= CERTAIN
               for v in distinct)  # fmt: skip
    return 0.9 if read >= 0.8 * len(distinct) else 0.7


#: A match is only certain when no other item (or column) comes within this of it.
MARGIN = 0.08
#: Share of a column's worded answers a scale must recognise to count as the column's.
_FITS = 0.8


def _scale_fit(
    values: pd.Series, codebook: Codebook, numbers_worded: bool = False
) -> dict[str, float] | None:
    """Share of a column's distinct worded answers each scale recognises (a label, or a
    local wording within :data:`CERTAIN` of one), or ``None`` when the column holds no
    worded answer (blank, or bare numbers, which any scale could be coded as). With
    ``numbers_worded`` (other columns hold worded answers, so the export is not coded as
    numbers), bare numbers fit the numeric scales whose codes they are."""
    words = [v for v in pd.unique(values.dropna()) if str(v).strip()]
    numbers = {int(float(v)) for v in words if re.fullmatch(r"\s*-?\d+(\.0+)?\s*", str(v))}
    words = [v for v in words if not re.fullmatch(r"\s*-?\d+(\.0+)?\s*", str(v))]
    if not words and numbers and numbers_worded:
        # Bare numbers beside worded answers elsewhere: only a numeric scale writes them.
        return {sid: float(sc.numeric and numbers <= set(sc.codes))
                for sid, sc in codebook.scales.items()}  # fmt: skip
    non_sub = {normalise_label(lb) for lb in codebook.non_substantive.values()}
    words = [v for v in words if normalise_label(v) not in non_sub | _NON_SUBSTANTIVE.keys()
             and str(v).strip() not in EXCEL_ERRORS]  # fmt: skip
    if not words:
        return None
    fit = {}
    for sid, scale in codebook.scales.items():
        hits = sum(max(similarity(v, lb) for lb in scale.labels) >= CERTAIN for v in words)
        fit[sid] = hits / len(words)
    return fit


def _match_items(
    raw: RawExport, codebook: Codebook, taken: set[str]
) -> dict[str, tuple[str, float, str | None]]:
    """Export column to (codebook column, score, doubt), one to one, best scores first.

    A column is scored against each item by its wording: question text and matrix row
    when the tool writes both, else its header against the question and item together,
    or against the item alone (Microsoft Forms heads Likert columns with the statement
    only). Its answers then rule out items on scales that do not fit them, which tells
    apart questions with the same statements (trust and relationships with each
    profession). Left level, the order of the form decides (the k-th column headed
    "GPs" goes to the k-th such question) and the match says CHECK. ``doubt`` names the
    closest competitor when it came within :data:`MARGIN`.
    """
    cols = [c for c in raw.columns if c.key not in taken and (c.text or c.sub)]
    items = codebook.items
    scale_of = {it.column: codebook.question(it.question).scale for it in items}
    fits = {c.key: _scale_fit(raw.data[c.key], codebook) for c in cols}
    if any(f is not None and max(f.values()) >= _FITS for f in fits.values()):
        fits = {k: f if f is not None else _scale_fit(raw.data[k], codebook, True)
                for k, f in fits.items()}  # fmt: skip
    # Rank of a column among columns with the same header, and of an item among items
    # with the same label: the form's order, used only to break exact ties.
    rank_c = {c.key: sum(d.text == c.text and d.sub == c.sub for d in cols[:i])
              for i, c in enumerate(cols)}  # fmt: skip
    rank_i = {it.column: sum(o.label == it.label for o in items[:i]) for i, it in enumerate(items)}
    score: dict[tuple[str, str], float] = {}
    for c in cols:
        for it in items:
            q = codebook.question(it.question)
            if c.key == it.column:  # the template layout's own names
                s = 1.0
            elif c.sub:
                s = 0.4 * similarity(c.text, q.text) + 0.6 * similarity(c.sub, it.label)
            else:
                s = max(similarity(c.text, f"{q.text} {it.label}"), similarity(c.text, it.label))
            fit = fits[c.key]
            if fit is not None and max(fit.values()) >= _FITS and fit[scale_of[it.column]] < 0.5:
                s *= 0.5  # its answers are another scale's
            score[(c.key, it.column)] = s
    order = sorted(
        score.items(),
        key=lambda kv: (-round(kv[1], 6), abs(rank_c[kv[0][0]] - rank_i[kv[0][1]]), kv[0][0]),
    )
    out: dict[str, tuple[str, float, str | None]] = {}
    targets: set[str] = set()
    for (key, target), s in order:
        if s < FLOOR or key in out or target in targets:
            continue
        rivals = [(v, t) for (k, t), v in score.items() if k == key and t != target]
        rivals += [(v, k) for (k, t), v in score.items() if t == target and k != key]
        best = max(rivals, default=(0.0, None))
        doubt = best[1] if s - best[0] < MARGIN else None
        out[key], _ = (target, s, doubt), targets.add(target)
    return out


def _known_answers(scale: Scale, codebook: Codebook) -> set[str]:
    known = {normalise_label(lb) for lb in scale.labels}
    known |= {normalise_label(lb) for lb in codebook.non_substantive.values()}
    if scale.numeric:
        known |= {str(c) for c in scale.codes}
    return known


def _suggest_answer(value: str, scale: Scale, codebook: Codebook) -> tuple[str, float] | None:
    if normalise_label(value) in _NON_SUBSTANTIVE:
        label, score = _NON_SUBSTANTIVE[normalise_label(value)]
        if label in codebook.non_substantive.values():
            return label, score
    number = re.match(r"\s*(\d+)\b", value)
    if scale.numeric and number and int(number.group(1)) in scale.codes:
        return scale.label_of(int(number.group(1))), 0.9
    options = [*scale.labels, *codebook.non_substantive.values()]
    best = max(options, key=lambda lb: similarity(value, lb))
    score = similarity(value, best)
    return (best, score) if score >= FLOOR else None


def suggest_mapping(
    path: str | Path,
    codebook: Codebook,
    layout: str | None = None,
    sites: pd.DataFrame | None = None,
) -> tuple[str, str]:
    """Draft a mapping YAML for an export.

    Parameters
    ----------
    path
        The export.
    codebook
        The instrument.
    layout
        Overrides the detected layout.
    sites
        The site register (``site_id, site_name``): site values are matched to it.

    Returns
    -------
    text : str
        The YAML, with a confidence comment on every suggestion.
    summary : str
        One line: how many items were matched and how many need checking.
    """
    check_export_file(path)  # before any reader opens it: a FIFO would block forever
    raw = read_export(path, layout)
    if raw.layout == "template" and layout is None:
        return ("# This export is in the template layout: it needs no mapping.\n",
                "template layout: no mapping needed")  # fmt: skip
    fields = _match_fields(raw, codebook)
    items = _match_items(raw, codebook, {k for k, _ in fields.values()})
    lines = [
        f"# Mapping drafted by `hsc-research map --suggest` for {_comment(Path(path).name)}.",
        "# Confirm every line marked CHECK or TODO, then pass this file with --mapping.",
        f"layout: {_q(raw.layout)}",
        "fields:",
    ]
    for name in _FIELD_NAMES:
        if name == "site" and name in fields and fields[name][1] == _COLLECTOR:
            lines.append(f"  site: {_q(fields[name][0])}  # CHECK: no site question; one "
                         "collector per site? name each collector's site under values: site:")  # fmt: skip
        elif name in fields:
            key, score = fields[name]
            lines.append(f"  {name}: {_q(key)}  # {_confidence(score)}")
        elif name == "wave":
            lines.append(f"  wave: {{value: {_guess_year(raw, fields)}}}  # CHECK: the survey year")
        elif name in ("site", "profession", "respondent_id"):
            lines.append(f"  # {name}: TODO  (required: no column found)")
    lines.append("items:")
    for c in raw.columns:
        if c.key in items:
            target, score, doubt = items[c.key]
            lines.append(f"  {_q(c.key)}: {_q(target)}  # {_confidence(score, doubt)}")
    lines += _value_lines(raw, fields, codebook, sites)
    lines += _answer_lines(raw, items, codebook)
    texts = [c.key for c in raw.columns if _is_free_text(c.key, c.sub)]
    if texts:
        lines.append("free_text:  # dropped unless clean --keep-free-text")
        lines += [f"  - {_q(k)}" for k in texts]
    rules = _exclude_lines(raw)
    lines += rules
    lines += _identity_lines(raw)
    lines += _date_lines(raw, fields)
    used = {k for k, _ in fields.values()} | set(items) | set(texts)
    used |= {"Status", "Finished"} if rules else set()
    left = [c.key for c in raw.columns if c.key not in used]
    if left:
        lines.append("# Export columns not mapped (dropped as the export is read):")
        lines += [f"#   {_comment(_q(k))}" for k in left]
    missing = sorted({it.column for it in codebook.items} - {t for t, *_ in items.values()})
    if missing:
        lines.append("# Codebook items with no column found (TODO: map a column, or, if the "
                     "export has none, list them under accept: unmapped_items:):")  # fmt: skip
        lines += [f"#   {_comment(_q(m))}" for m in missing]
    check = sum(score < CERTAIN or doubt is not None for _, score, doubt in items.values())
    summary = (
        f"{len(items)} of {len(codebook.items)} items matched ({check} to check), "
        f"{len(left)} export columns not mapped"
    )
    text = "\n".join(lines) + "\n"
    # Python's splitlines() breaks on every character any reader might (YAML's U+0085,
    # U+2028, U+2029 and \r among them): the draft's lines must be exactly its \n lines.
    if text.splitlines() != text.split("\n")[:-1]:
        raise RuntimeError("draft mapping holds a line break other than \\n")  # our bug
    return text, summary


def _exclude_lines(raw: RawExport) -> list[str]:
    """Qualtrics previews and tests (Status), and partial responses (Finished)."""
    if not raw.layout.startswith("qualtrics") or "Status" not in raw.data.columns:
        return []
    values = ", ".join(_q(v) for v in _QUALTRICS_TEST)
    lines = [
        "exclude:",
        f"  - {{column: {_q('Status')}, values: [{values}]}}  # CHECK: previews and tests",
    ]
    if "Finished" in raw.data.columns:
        unfinished = {"false", "0"} & {normalise_label(v) for v in raw.data["Finished"].dropna()}
        if unfinished:
            shown = ", ".join(_q(v) for v, f in (("False", "false"), ("0", "0")) if f in unfinished)
            lines.append(f"  - {{column: {_q('Finished')}, values: [{shown}], "
                         "reason: partial_response}  # CHECK: leave out partial responses?")  # fmt: skip
    return lines


def _identity_lines(raw: RawExport) -> list[str]:
    """Microsoft Forms numbers submissions (no stable respondent id): repeat submissions
    can only be found by e-mail, compared as a keyed hash."""
    if raw.layout != "msforms":
        return []
    email = next((k for k in raw.dropped if re.search(r"e-?mail", k, re.IGNORECASE)), None)
    if email is None:
        return []
    return [
        f"duplicates: {{identity: {_q(email)}}}  # CHECK: Forms ids number submissions; "
        "the same e-mail twice is one person (compared as a keyed hash, never kept)"
    ]


def _date_lines(raw: RawExport, fields: dict[str, tuple[str, float]]) -> list[str]:
    """A comment saying how the submission dates will be read, or why they cannot be."""
    if "submitted_at" not in fields:
        return []
    values = raw.data[fields["submitted_at"][0]]
    try:
        order = infer_date_order(values, raw.data["raw_row"], layout_date_order(raw.layout, values))
    except InputError as exc:
        text = str(exc).split(": ", 1)[-1]
        return [f"# dates: TODO {_comment(text)}"]
    if order.why.startswith("no day-month dates"):
        return ["# dates: ISO (year first) or none; read as written"]
    return [
        f"# dates: read as {order.order} ({_comment(order.why)}); "
        "to say otherwise add dates: {order: dmy} (or mdy)"
    ]


def _guess_year(raw: RawExport, fields: dict[str, tuple[str, float]]) -> str:
    if "submitted_at" not in fields:
        return "TODO"
    years = raw.data[fields["submitted_at"][0]].dropna().str.extract(r"((?:19|20)\d\d)")[0]
    common = Counter(years.dropna()).most_common(1)
    return common[0][0] if common else "TODO"


def _best_value(value: str, labels: dict[str, str]) -> tuple[str, float]:
    """The codebook id a local field value most likely means, and the score: its wording,
    or (0.9) the one codebook label all of whose words it holds ("Manager or team
    leader" holds "Manager")."""
    held = [k for k, lb in labels.items() if _contains(value, lb) or _contains(value, k)]
    if len(held) == 1:
        return held[0], max(0.9, similarity(value, labels[held[0]]))
    best = max(labels, key=lambda k: similarity(value, labels[k]))
    return best, similarity(value, labels[best])


def _site_lines(
    raw: RawExport, fields: dict[str, tuple[str, float]], sites: pd.DataFrame | None
) -> list[str]:
    """Site values that match no register row: the nearest row, or TODO."""
    if "site" not in fields:
        return []
    key, score = fields["site"]
    counts = raw.data[key].dropna().value_counts()
    if sites is None and score != _COLLECTOR:
        return []  # every site name is accepted; validate and clean list them
    known = {normalise_label(v) for v in [*sites["site_id"], *sites["site_name"]]} if sites is not None else set()  # fmt: skip
    lines = []
    ids = ", ".join(sites["site_id"]) if sites is not None else "the site's name"
    for value, n in counts.items():
        if normalise_label(value) in known or not str(value).strip():
            continue
        best = None
        if sites is not None:
            names = dict(zip(sites["site_id"], sites["site_name"], strict=True))
            best, sc = _best_value(str(value), names)
            sc = max(sc, similarity(str(value), best))
        if best is not None and sc >= FLOOR:
            lines.append(f"    {_q(value)}: {_q(best)}  # {_confidence(sc)} ({n} respondents)")
        else:
            lines.append(
                f"    # {_comment(_q(value))}: TODO  ({n} respondents; one of {_comment(ids)})"
            )
    return [f"  {_q('site')}:", *lines] if lines else []


def _value_lines(
    raw: RawExport, fields: dict[str, tuple[str, float]], codebook: Codebook,
    sites: pd.DataFrame | None = None,
) -> list[str]:  # fmt: skip
    lines: list[str] = _site_lines(raw, fields, sites)
    for name in ("profession", "role_level"):
        if name not in fields:
            continue
        labels = codebook.labels(name)
        known = {normalise_label(v) for v in labels.values()} | set(labels)
        values = pd.unique(raw.data[fields[name][0]].dropna())
        todo = [v for v in values if normalise_label(v) not in known and v.strip()]
        if not todo:
            continue
        lines.append(f"  {_q(name)}:")
        if all(v.strip().isdigit() for v in todo):
            ids = list(labels)
            for v in sorted(todo, key=int):
                k = int(v) - 1
                lines.append(f"    {_q(v)}: {_q(ids[k])}  # CHECK: numeric code, assumed in codebook order"
                             if 0 <= k < len(ids) else f"    # {_comment(_q(v))}: TODO")  # fmt: skip
            continue
        for v in todo:
            best, score = _best_value(v, labels)
            if name == "role_level" and normalise_label(v) in _NON_SUBSTANTIVE:
                lines.append(f"    {_q(v)}: null  # not stated")
                continue
            lines.append(
                f"    {_q(v)}: {_q(best)}  # {_confidence(score)}"
                if score >= FLOOR
                else f"    # {_comment(_q(v))}: TODO  (one of {_comment(', '.join(labels))})"
            )
    return ["values:", *lines] if lines else []


def _answer_lines(
    raw: RawExport, items: dict[str, tuple[str, float]], codebook: Codebook
) -> list[str]:
    by_scale: dict[str, dict[str, tuple[str, float] | None]] = {}
    worded: set[str] = set()  # scales whose columns already hold codebook wordings
    for key, (target, *_) in items.items():
        scale_id = codebook.question(target.split(".")[0]).scale
        scale = codebook.scales[scale_id]
        known = _known_answers(scale, codebook)
        for v in pd.unique(raw.data[key].dropna()):
            if normalise_label(v) in known and normalise_label(v) not in ("", "dont know"):
                worded.add(scale_id)
            if normalise_label(v) not in known and v.strip() and v.strip() not in EXCEL_ERRORS:
                by_scale.setdefault(scale_id, {})[v] = _suggest_answer(v, scale, codebook)
    lines: list[str] = []
    for scale_id, values in by_scale.items():
        scale = codebook.scales[scale_id]
        numbers = [v for v in values if re.fullmatch(r"\d+", v.strip())]
        lines.append(f"  {_q(scale_id)}:")
        if numbers and len(numbers) == len(values) and not scale.numeric and scale_id not in worded:
            # Numeric recodes: suggest codes in scale order, 1 = the lowest level.
            numbers = sorted(
                set(numbers) | {str(k) for k in range(1, len(scale.labels) + 1)}, key=int
            )
            for v in numbers:
                k = int(v) - 1
                target = scale.labels[k] if 0 <= k < len(scale.labels) else None
                lines.append(
                    f"    {_q(v)}: {_q(target)}  # CHECK: numeric code, assumed in scale order"
                    if target
                    else f"    # {_comment(_q(v))}: TODO"
                )
            continue
        for v, hit in sorted(values.items()):
            lines.append(
                f"    {_q(v)}: {_q(hit[0])}  # {_confidence(hit[1])}"
                if hit
                else f"    # {_comment(_q(v))}: TODO"
            )
    return ["answers:", *lines] if lines else []


def _is_free_text(key: str, sub: str) -> bool:
    return (
        key.upper().endswith("_TEXT")
        or normalise_label(sub) == "open-ended response"
        or normalise_label(key) in ("comment", "comments")
    )
