"""``hsc-research map --suggest``: draft a mapping by matching an export to the codebook.

Each export column's question text and sub-question (matrix row) is compared with each
codebook question's text and item label; the best one-to-one matches become ``items``.
Respondent fields are found by the names survey tools give them, answer wordings and field
values that differ from the codebook's get the nearest codebook label. Every suggestion
carries its confidence; anything below :data:`CERTAIN` is marked ``CHECK`` and anything
that could not be matched is listed as ``TODO``, for the analyst to confirm.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import pandas as pd
import yaml

from hsc_research.ingest import RawExport, read_export
from hsc_research.ingest.files import check_export_file
from hsc_research.instrument import Codebook, Scale
from hsc_research.scales import normalise_label

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


def similarity(a: str, b: str) -> float:
    """Similarity of two wordings in [0, 1]: the better of character-sequence similarity
    and word overlap, so that "Agree strongly" matches "Strongly agree"."""
    a, b = normalise_label(a), normalise_label(b)
    if not a or not b:
        return 0.0
    seq = SequenceMatcher(None, a, b).ratio()
    wa, wb = set(re.findall(r"\w+", a)), set(re.findall(r"\w+", b))
    overlap = 2 * len(wa & wb) / (len(wa) + len(wb)) if wa and wb else 0.0
    return max(seq, overlap)


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


def _confidence(score: float) -> str:
    return f"confidence {score:.2f}" + ("" if score >= CERTAIN else "  CHECK")


def _match_fields(raw: RawExport) -> dict[str, tuple[str, float]]:
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
                found[name], _ = (c.key, 0.7), used.add(c.key)
                break
    return found


def _match_items(
    raw: RawExport, codebook: Codebook, taken: set[str]
) -> dict[str, tuple[str, float]]:
    """Export column to (codebook column, score), one to one, best scores first."""
    scores = []
    for c in raw.columns:
        if c.key in taken or not (c.text or c.sub):
            continue
        for it in codebook.items:
            q = codebook.question(it.question)
            if c.key == it.column:  # the template layout's own names
                score = 1.0
            elif c.sub:
                score = 0.4 * similarity(c.text, q.text) + 0.6 * similarity(c.sub, it.label)
            else:
                score = similarity(c.text, f"{q.text} {it.label}")
            scores.append((score, c.key, it.column))
    out: dict[str, tuple[str, float]] = {}
    targets: set[str] = set()
    for score, key, target in sorted(scores, reverse=True):
        if score < FLOOR or key in out or target in targets:
            continue
        out[key], _ = (target, score), targets.add(target)
    return out


def _known_answers(scale: Scale, codebook: Codebook) -> set[str]:
    known = {normalise_label(lb) for lb in scale.labels}
    known |= {normalise_label(lb) for lb in codebook.non_substantive.values()}
    if scale.numeric:
        known |= {str(c) for c in scale.codes}
    return known


def _suggest_answer(value: str, scale: Scale, codebook: Codebook) -> tuple[str, float] | None:
    number = re.match(r"\s*(\d+)\b", value)
    if scale.numeric and number and int(number.group(1)) in scale.codes:
        return scale.label_of(int(number.group(1))), 0.9
    options = [*scale.labels, *codebook.non_substantive.values()]
    best = max(options, key=lambda lb: similarity(value, lb))
    score = similarity(value, best)
    return (best, score) if score >= FLOOR else None


def suggest_mapping(
    path: str | Path, codebook: Codebook, layout: str | None = None
) -> tuple[str, str]:
    """Draft a mapping YAML for an export.

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
    fields = _match_fields(raw)
    items = _match_items(raw, codebook, {k for k, _ in fields.values()})
    lines = [
        f"# Mapping drafted by `hsc-research map --suggest` for {_comment(Path(path).name)}.",
        "# Confirm every line marked CHECK or TODO, then pass this file with --mapping.",
        f"layout: {_q(raw.layout)}",
        "fields:",
    ]
    for name in _FIELD_NAMES:
        if name in fields:
            key, score = fields[name]
            lines.append(f"  {name}: {_q(key)}  # {_confidence(score)}")
        elif name == "wave":
            lines.append(f"  wave: {{value: {_guess_year(raw, fields)}}}  # CHECK: the survey year")
        elif name in ("site", "profession", "respondent_id"):
            lines.append(f"  # {name}: TODO  (required: no column found)")
    lines.append("items:")
    for c in raw.columns:
        if c.key in items:
            target, score = items[c.key]
            lines.append(f"  {_q(c.key)}: {_q(target)}  # {_confidence(score)}")
    lines += _value_lines(raw, fields, codebook)
    lines += _answer_lines(raw, items, codebook)
    texts = [c.key for c in raw.columns if _is_free_text(c.key, c.sub)]
    if texts:
        lines.append("free_text:  # dropped unless clean --keep-free-text")
        lines += [f"  - {_q(k)}" for k in texts]
    if raw.layout.startswith("qualtrics") and "Status" in raw.data.columns:
        values = ", ".join(_q(v) for v in _QUALTRICS_TEST)
        lines.append(
            f"exclude: {{column: {_q('Status')}, values: [{values}]}}  # CHECK: previews and tests"
        )
    used = {k for k, _ in fields.values()} | set(items) | set(texts) | {"Status"}
    left = [c.key for c in raw.columns if c.key not in used]
    if left:
        lines.append("# Export columns not mapped (not read):")
        lines += [f"#   {_comment(_q(k))}" for k in left]
    missing = sorted({it.column for it in codebook.items} - {t for t, _ in items.values()})
    if missing:
        lines.append("# Codebook items with no column found (TODO, or read as blank):")
        lines += [f"#   {_comment(_q(m))}" for m in missing]
    check = sum(score < CERTAIN for _, score in items.values())
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


def _guess_year(raw: RawExport, fields: dict[str, tuple[str, float]]) -> str:
    if "submitted_at" not in fields:
        return "TODO"
    years = raw.data[fields["submitted_at"][0]].dropna().str.extract(r"((?:19|20)\d\d)")[0]
    common = Counter(years.dropna()).most_common(1)
    return common[0][0] if common else "TODO"


def _value_lines(
    raw: RawExport, fields: dict[str, tuple[str, float]], codebook: Codebook
) -> list[str]:
    lines: list[str] = []
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
            best = max(labels, key=lambda k, v=v: similarity(v, labels[k]))
            score = similarity(v, labels[best])
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
    for key, (target, _) in items.items():
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
