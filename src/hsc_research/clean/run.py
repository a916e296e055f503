"""Cleaning: a wide raw export to the tidy ``responses``, ``respondents`` and
``exclusions`` tables.

Every raw row ends up either kept or excluded with a reason, and so does every raw
answer cell (one per respondent and item): :func:`accounting` checks
raw = kept + excluded for both, and :func:`clean` refuses to return tables that fail it.

Respondent-level exclusions, in the order they are tested (a respondent gets the first
that applies): ``test_response`` (a preview or test submission, flagged by the
export's mapping), ``missing_respondent_id``, ``unknown_site``, ``unknown_profession``,
``invalid_wave``, ``duplicate_submission`` (an earlier submission by the same
respondent: the same respondent id in the same wave and site, unless the mapping's
``duplicates: {key: [...]}`` says otherwise; the latest is kept), ``no_substantive_answer``.
Answer-level exclusions: ``invalid_value`` (fits no level of the scale: out of range,
unparseable, an Excel error value) and ``self_rating`` (a rating of one's own profession
where the question does not ask for one). Field-level record (removes nothing):
``unknown_role_level`` (the respondent is kept with role level not stated).

Raw respondent ids never leave this module: every table holds a pseudonymous id, a keyed
hash (HMAC-SHA256, first 16 hex digits) of the respondent's key (id, wave and site by
default). The key is a secret kept beside the raw export (:func:`pseudonym_key`), so the
same export gives the same ids on every clean, and without the key the ids cannot be
traced back. 16 hex digits are 64 bits: two of a million respondents share an id with
probability about 3 in 100 million, and :func:`clean` refuses such a pair rather than
merge them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hsc_research.clean.scales import INVALID, STATUS_DTYPE, code_answers, match_categories
from hsc_research.clean.scales import STATUS_CODE as S
from hsc_research.clean.sites import check_register, match_sites, sites_from_data
from hsc_research.errors import HscError, InputError
from hsc_research.ingest.dates import date_order, parse_dates
from hsc_research.ingest.frame import (
    DUPLICATE_KEY,
    DUPLICATE_KEY_ATTR,
    DUPLICATE_KEY_FIELDS,
    EXCLUDE_COLUMN,
    EXCLUDE_REASON,
    EXCLUDE_VALUE,
    IDENTITY,
    RULE_REASONS,
    SOURCE_ATTR,
    TEST_FLAG,
)
from hsc_research.instrument import Codebook

#: Waves are survey years in this range.
WAVE_MIN, WAVE_MAX = 1900, 2100
#: File beside the raw export holding the secret key of the pseudonymous ids.
PSEUDONYM_KEY_NAME = ".hsc_pseudonym_key"
#: Hex digits of a pseudonymous id (64 bits).
PSEUDONYM_CHARS = 16
#: The files ``clean`` writes to the processed folder.
TABLES = ("responses", "respondents", "exclusions")
SUMMARY_NAME = "clean_summary.json"
FREE_TEXT_NAME = "free_text.parquet"
#: Written from the cleaned tables; stale once they are replaced.
AGGREGATES_DIR = "aggregates"

RESPONDENT_REASONS = (
    "test_response",
    "partial_response",
    "missing_respondent_id",
    "unknown_site",
    "unknown_profession",
    "invalid_wave",
    "duplicate_submission",
    "no_substantive_answer",
)
ANSWER_REASONS = ("invalid_value", "self_rating")
#: Field-level records remove nothing (``n_answers`` 0): the respondent is kept and the
#: field is read as missing, but the value that could not be read is logged.
FIELD_REASONS = ("unknown_role_level",)
REASON_DTYPE = pd.CategoricalDtype([*RESPONDENT_REASONS, *ANSWER_REASONS, *FIELD_REASONS])
LEVEL_DTYPE = pd.CategoricalDtype(["respondent", "answer", "field"])
#: Raw values longer than this are cut in the exclusions log.
MAX_VALUE_CHARS = 60


@dataclass
class CleanResult:
    """The three tidy tables.

    ``responses``: one row per kept respondent x item with respondent fields
    (respondent_id, site, wave, profession, group, role_level), question, item, target,
    code (nullable Int8), label (ordered categorical) and status (valid, dont_know,
    not_applicable, blank, not_asked). Only ``status == "valid"`` enters a base.

    ``respondents``: one row per kept respondent: respondent_id, raw_row, site,
    site_name, wave, profession, group, role_level, submitted_at, n_valid.

    ``exclusions``: one row per exclusion: raw_row, site (where known), respondent_id, level (respondent or
    answer), reason, column, value, n_answers (answer cells it removes), detail.
    """

    responses: pd.DataFrame
    respondents: pd.DataFrame
    exclusions: pd.DataFrame
    raw_rows: int
    raw_answers: int

    def summary(self) -> dict[str, object]:
        """Row and answer accounting with exclusions by reason."""
        ex = self.exclusions
        resp_ex = ex[ex["level"] == "respondent"]
        by_reason = (
            ex.groupby("reason", observed=True)
            .agg(records=("reason", "size"), answers=("n_answers", "sum"))
            .astype(int)
        )
        return {
            "raw_rows": self.raw_rows,
            "kept_respondents": len(self.respondents),
            "excluded_respondents": len(resp_ex),
            "raw_answers": self.raw_answers,
            "kept_answers": len(self.responses),
            "excluded_answers": int(ex["n_answers"].sum()),
            "by_reason": {
                str(k): {"records": int(v["records"]), "answers": int(v["answers"])}
                for k, v in by_reason.iterrows()
            },
        }


def accounting(result: CleanResult) -> tuple[bool, bool]:
    """Whether rows and answers balance: (raw rows = kept + excluded respondents,
    raw answers = kept + excluded answers)."""
    s = result.summary()
    rows_ok = s["raw_rows"] == s["kept_respondents"] + s["excluded_respondents"]
    answers_ok = s["raw_answers"] == s["kept_answers"] + s["excluded_answers"]
    return rows_ok, answers_ok


def nothing_kept(result: CleanResult, source: object) -> str | None:
    """The one-line reason a cleaning is useless (no respondent kept), else ``None``."""
    s = result.summary()
    if s["kept_respondents"]:
        return None
    reasons = ", ".join(f"{k} {v['records']}" for k, v in s["by_reason"].items())
    return f"{source}: no respondent could be kept ({reasons}); fix the export or its mapping"


def _truncate(value: object) -> str:
    text = (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
        else str(value)
    )
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


def _respondent_keys(
    rid: pd.Series, wave: pd.Series, site_id: pd.Series, site_raw: pd.Series,
    fields: Sequence[str], identity: pd.Series | None = None,
) -> np.ndarray:  # fmt: skip
    """One text per row naming the respondent by ``fields`` (in :data:`DUPLICATE_KEY_FIELDS`
    order); rows with an unknown site or invalid wave get their raw text, marked. With
    ``identity`` in ``fields``, a row whose identity is blank is named by its id instead
    (marked apart, so it never meets an identity)."""
    unknown = [f for f in fields if f not in DUPLICATE_KEY_FIELDS]
    if unknown or not {"respondent_id", IDENTITY} & set(fields):
        raise InputError(
            f"duplicate key {list(fields)}: use respondent_id (or identity) with any of "
            "wave and site"
        )
    if IDENTITY in fields:
        if identity is None:
            raise InputError("duplicate key names identity but no identity column is mapped")
        known = identity.notna() & (identity.fillna("") != "")
        rid = pd.Series(
            np.where(known, "who\x1e" + identity.fillna("").astype(str),
                     "id\x1e" + rid.fillna("").astype(str)),
            index=rid.index, dtype=object,
        )  # fmt: skip
        fields = ["respondent_id", *(f for f in fields if f != IDENTITY)]
    whole = wave.notna() & (wave % 1 == 0)
    parts = {
        "respondent_id": rid.fillna("").astype(object),
        "wave": pd.Series(
            np.where(whole, wave.where(whole, 0).astype("int64").astype(str), "?"),
            index=rid.index,
        ),
        "site": site_id.where(site_id.notna(), "?" + site_raw.fillna("").astype(str)),
    }
    key = parts["respondent_id"].astype(str)
    for f in DUPLICATE_KEY_FIELDS[2:]:
        if f in fields:
            key = key + "\x1f" + parts[f].astype(str)
    return key.to_numpy(dtype=object)


def pseudonyms(keys: np.ndarray, secret: bytes, distinct: bool = False) -> np.ndarray:
    """Pseudonymous ids: the first :data:`PSEUDONYM_CHARS` hex digits of
    HMAC-SHA256(secret, key), computed once per distinct key.

    Parameters
    ----------
    keys
        Text naming each respondent (see :func:`clean`).
    secret
        The project's key (:func:`pseudonym_key`).
    distinct
        Check that distinct keys got distinct ids (checked on the distinct keys, a
        fraction of checking every kept respondent's id).

    Returns
    -------
    numpy.ndarray
        Object array of ids, aligned with ``keys``.

    Raises
    ------
    HscError
        With ``distinct``: two respondents drew the same id (64-bit ids: about never).
    """
    idx, uniques = pd.factorize(pd.Series(keys, dtype=object))
    # HMAC as RFC 2104 defines it (the same as hmac.digest(secret, key, "sha256")), with
    # the keyed inner and outer SHA-256 states made once and copied for each respondent:
    # no re-keying and none of the hmac module's Python wrapper calls, a million times.
    block = hashlib.sha256().block_size
    k = (hashlib.sha256(secret).digest() if len(secret) > block else secret).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k)).copy
    ids = []
    for u in uniques:
        h = inner()
        h.update(str(u).encode("utf-8"))
        o = outer()
        o.update(h.digest())
        ids.append(o.hexdigest()[:PSEUDONYM_CHARS])
    if distinct and len(set(ids)) < len(ids):
        raise HscError(
            "two respondents drew the same pseudonymous id; delete the pseudonym key "
            f"({PSEUDONYM_KEY_NAME} beside the raw export) and clean again"
        )
    return np.array(ids, dtype=object)[idx] if len(idx) else np.array([], dtype=object)


def latest_submissions(who: np.ndarray, submitted: pd.Series, alive: np.ndarray) -> np.ndarray:
    """Positions of each respondent's latest submission among the ``alive`` rows.

    Parameters
    ----------
    who
        Integer code of each row's respondent (the duplicate key, factorised).
    submitted
        Submission times; a missing time counts as earliest.
    alive
        Rows not yet excluded.

    Returns
    -------
    numpy.ndarray
        One position per respondent, in respondent code order: the row submitted last,
        the last in the file among rows submitted at the same time.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2019-05-02", None, "2019-05-01", "2019-05-03"]))
    >>> latest_submissions(np.array([0, 0, 1, 1]), t, np.array([True, True, True, False]))
    array([0, 2])
    """
    pos = np.flatnonzero(alive)
    w = who[pos]
    # Integer sort keys, not a frame sort: NaT is the smallest int64, so a missing time
    # sorts first, as the earliest submission. The times in their own unit: a cast to
    # nanoseconds would wrap a year past 2262 (a typo) round to another time.
    t = np.asarray(submitted.array.asi8)[pos]
    order = np.lexsort((pos, t, w))
    last = np.ones(len(order), dtype=bool)
    ws = w[order]
    last[:-1] = ws[1:] != ws[:-1]
    return pos[order[last]]


def _waves(values: pd.Series) -> pd.Series:
    """The wave cells as numbers, missing where a cell is not one; each distinct text is
    parsed once (a million rows hold a handful of survey years)."""
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object).str.strip(), errors="coerce")
    table = np.append(parsed.to_numpy(dtype=np.float64, na_value=np.nan), np.nan)
    return pd.Series(table[idx], index=values.index)


def pseudonym_key(raw_dir: Path) -> bytes:
    """The project's secret key of pseudonymous ids, created on first use.

    Kept in ``raw_dir`` (beside the raw export, never under ``data/processed``) as
    :data:`PSEUDONYM_KEY_NAME`, readable by its owner only. It is made once with
    :mod:`secrets` and reused, so re-cleaning gives the same ids; deleting it gives new
    ids. Keep it with the raw data: whoever has it and the export can link the ids.

    Raises
    ------
    InputError
        The key cannot be read or written, or is not a key.
    """
    path = Path(raw_dir) / PSEUDONYM_KEY_NAME
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two cleans at once cannot write two different keys.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        text = path.read_text(encoding="ascii").strip()
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not text"
        raise InputError(
            f"{path}: cannot read or create the pseudonym key ({why}); check the folder's "
            "permissions"
        ) from None
    try:
        secret = bytes.fromhex(text)
        if len(secret) < 16:
            raise ValueError("too short")
        return secret
    except ValueError:
        raise InputError(
            f"{path}: not a pseudonym key; restore it from a backup, or delete it to start "
            "new ids (ids then differ from earlier cleans)"
        ) from None


def clean(
    raw: pd.DataFrame,
    codebook: Codebook,
    sites: pd.DataFrame | None = None,
    *,
    key: bytes | None = None,
    duplicate_key: Sequence[str] | None = None,
) -> CleanResult:
    """Clean a wide export (as read by :func:`hsc_research.ingest.read_template`).

    Parameters
    ----------
    raw
        Text cells, one row per raw respondent, with ``raw_row``.
    codebook
        The instrument.
    sites
        Site register (``site_id, site_name``). When ``None`` every non-blank site
        name is accepted and given a slug id (names that differ only in case, spaces or
        punctuation are refused: a register must say which site each is).
    key
        Secret key of the pseudonymous ids (:func:`pseudonym_key`). ``None`` draws a
        one-off key: the ids are then not the same from one call to the next.
    duplicate_key
        Fields that identify one respondent among the submissions (default
        :data:`DUPLICATE_KEY`, or the mapping's, passed in ``raw.attrs``).

    Returns
    -------
    CleanResult

    Raises
    ------
    InputError
        Site names that cannot be told apart, or a register whose rows could be confused.
    """
    items = codebook.items
    n, n_items = len(raw), len(items)
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    def exclude(mask: np.ndarray, why: str, col: str | None, vals, text: str) -> None:
        hit = mask & (reason == None)  # noqa: E711  (elementwise on an object array)
        reason[hit] = why
        column[hit] = col
        value[hit] = np.asarray(vals, dtype=object)[hit] if vals is not None else None
        detail[hit] = text

    if TEST_FLAG in raw:
        exclude(raw[TEST_FLAG].to_numpy(dtype=bool), "test_response", None, None,
                "a preview or test submission (the mapping's exclude rule)")  # fmt: skip
    if EXCLUDE_REASON in raw:
        # The mapping's rules, each logged under its own reason; the first rule met wins.
        rule_reason = raw[EXCLUDE_REASON].to_numpy(dtype=object)
        for why in RULE_REASONS:
            hit = np.array([r == why for r in rule_reason], dtype=bool)
            if hit.any():
                exclude(hit, why, None, raw[EXCLUDE_VALUE].to_numpy(dtype=object),
                        "the mapping's exclude rule")  # fmt: skip
                column[hit & (reason == why)] = raw[EXCLUDE_COLUMN].to_numpy(dtype=object)[
                    hit & (reason == why)
                ]
    rid = raw["respondent_id"].str.strip()
    exclude(rid.isna().to_numpy() | (rid == "").fillna(False).to_numpy(), "missing_respondent_id",
            "respondent_id", None, "no respondent id; the survey tool should always set one")  # fmt: skip

    dup_fields = tuple(duplicate_key or raw.attrs.get(DUPLICATE_KEY_ATTR) or DUPLICATE_KEY)
    if sites is None:
        sites = sites_from_data(
            raw["site"], raw["raw_row"], raw.attrs.get(SOURCE_ATTR, "the export")
        )
    else:
        check_register(sites)
    site_id = match_sites(raw["site"], sites, raw["raw_row"])
    exclude(site_id.isna().to_numpy(), "unknown_site", "site", raw["site"].to_numpy(),
            "site not in the site register; add it to sites.csv or correct the export")  # fmt: skip

    profession = match_categories(raw["profession"], codebook.labels("profession"))
    exclude(profession.isna().to_numpy(), "unknown_profession", "profession",
            raw["profession"].to_numpy(), "profession not in the codebook; map it to a codebook profession")  # fmt: skip

    wave = _waves(raw["wave"])
    bad_wave = (wave.isna() | (wave % 1 != 0) | (wave < WAVE_MIN) | (wave > WAVE_MAX)).to_numpy()
    exclude(bad_wave, "invalid_wave", "wave", raw["wave"].to_numpy(),
            "wave must be the survey year, e.g. 2019")  # fmt: skip

    # Duplicate submissions: among otherwise valid rows, keep each respondent's latest.
    # A respondent is one value of the duplicate key (id, wave and site by default), so
    # an id reused in another wave or at another site is another respondent.
    if "submitted_at" in raw:
        submitted = parse_dates(raw["submitted_at"], date_order(raw).order)
    else:
        submitted = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    who = _respondent_keys(rid, wave, site_id, raw["site"], dup_fields,
                           raw[IDENTITY] if IDENTITY in raw else None)  # fmt: skip
    alive = reason == None  # noqa: E711
    # Respondents as integer codes: only the order within one respondent matters, and
    # sorting a million codes is much cheaper than sorting a million texts.
    who_code = pd.factorize(pd.Series(who, dtype=object))[0]
    latest = latest_submissions(who_code, submitted, alive)
    dup_mask = alive.copy()
    dup_mask[latest] = False
    dup_detail = None
    if dup_mask.any():
        kept_row_of = dict(zip(who_code[latest], raw["raw_row"].to_numpy()[latest], strict=True))
        dup_detail = np.array(
            [f"earlier submission; kept raw row {kept_row_of.get(c)}" for c in who_code],
            dtype=object,
        )
    # The value logged is blank: the raw id must not reach the exclusions table.
    exclude(dup_mask, "duplicate_submission", "respondent_id", None, "")
    if dup_detail is not None:
        detail[dup_mask] = dup_detail[dup_mask]
    # Code every answer of the respondents still in. Meanwhile a second thread hashes
    # the ids: the hashing is Python code holding the GIL, the coding mostly pyarrow and
    # numpy passes that release it, so on two cores both run at once.
    alive = reason == None  # noqa: E711
    live = np.flatnonzero(alive)
    prof_live = profession.to_numpy()[live]
    codes = np.empty((len(live), n_items), dtype=np.int8)
    status = np.empty((len(live), n_items), dtype=np.int8)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsc-clean") as pool:
        hashed = pool.submit(
            pseudonyms, who, key if key is not None else secrets.token_bytes(32), distinct=True
        )
        for j, item in enumerate(items):
            scale = codebook.scale_of(item.question)
            codes[:, j], status[:, j] = code_answers(raw[item.column], scale, codebook, live)
            q = codebook.question(item.question)
            if q.self_policy == "excluded":
                own = prof_live == item.target
                status[own & (status[:, j] == S["blank"]), j] = S["not_asked"]
                status[own & (status[:, j] != S["not_asked"]), j] = S["self_rating"]
        pseudo_ids = hashed.result()
    pseudo_ids[rid.isna().to_numpy() | (rid == "").fillna(False).to_numpy()] = None
    answer_ex = (status == S[INVALID]) | (status == S["self_rating"])

    # Respondents left with no substantive answer are excluded whole.
    n_valid = (status == S["valid"]).sum(axis=1)
    empty = n_valid == 0
    reason[live[empty]] = "no_substantive_answer"
    detail[live[empty]] = "no answer on any scale (all blank, don't know or invalid)"
    keep_live = ~empty

    # Answer-level exclusion records (only for respondents that are kept).
    r_idx, c_idx = np.nonzero(answer_ex & keep_live[:, None])
    raw_rows = raw["raw_row"].to_numpy()
    item_cols = np.array([it.column for it in items], dtype=object)
    ans_values = [raw[item_cols[c]].iat[live[r]] for r, c in zip(r_idx, c_idx, strict=True)]
    answer_records = pd.DataFrame(
        {
            "raw_row": raw_rows[live[r_idx]],
            "site": site_id.to_numpy()[live[r_idx]],
            "respondent_id": pseudo_ids[live[r_idx]],
            "level": "answer",
            "reason": np.where(status[r_idx, c_idx] == S[INVALID], "invalid_value", "self_rating"),
            "column": item_cols[c_idx],
            "value": [_truncate(v) for v in ans_values],
            "n_answers": 1,
            "detail": np.where(
                status[r_idx, c_idx] == S[INVALID],
                "not a level of the item's scale (nor don't know / not applicable)",
                "respondents do not rate their own profession on this question",
            ),
        }
    )

    # Respondent-level exclusion records: each removes all of the respondent's cells
    # (answer-level records above are only written for kept respondents).
    n_answers = np.full(n, n_items, dtype=np.int64)
    excluded = np.flatnonzero(reason != None)  # noqa: E711
    site_ids = site_id.to_numpy()
    resp_records = pd.DataFrame(
        {
            "raw_row": raw_rows[excluded],
            "site": site_ids[excluded],
            "respondent_id": pseudo_ids[excluded],
            "level": "respondent",
            "reason": reason[excluded],
            "column": column[excluded],
            "value": [_truncate(v) for v in value[excluded]],
            "n_answers": n_answers[excluded],
            "detail": detail[excluded],
        }
    )
    kept = live[keep_live]
    # Role level is optional: an unreadable one keeps the respondent as "not stated",
    # and the value is logged rather than silently dropped.
    role = (match_categories(raw["role_level"], codebook.labels("role_level")).to_numpy()
            if "role_level" in raw else np.full(n, None, dtype=object))  # fmt: skip
    role_raw = raw["role_level"].to_numpy(dtype=object) if "role_level" in raw else role
    unread = kept[pd.isna(role[kept]) & ~pd.isna(role_raw[kept])]
    unread = unread[[str(v).strip() != "" for v in role_raw[unread]]]
    field_records = pd.DataFrame(
        {
            "raw_row": raw_rows[unread],
            "site": site_ids[unread],
            "respondent_id": pseudo_ids[unread],
            "level": "field",
            "reason": "unknown_role_level",
            "column": "role_level",
            "value": [_truncate(v) for v in role_raw[unread]],
            "n_answers": 0,
            "detail": "role level not in the codebook; respondent kept, role level read as not stated",
        }
    )
    parts = [t for t in (resp_records, answer_records, field_records) if len(t)]
    exclusions = pd.concat(parts, ignore_index=True) if parts else resp_records
    exclusions = exclusions.sort_values(["raw_row", "level", "column"], na_position="first")
    exclusions = exclusions.reset_index(drop=True).astype(
        {"reason": REASON_DTYPE, "level": LEVEL_DTYPE, "raw_row": "int64", "n_answers": "int64"}
    )
    respondents = pd.DataFrame(
        {
            "respondent_id": pseudo_ids[kept],
            "raw_row": raw_rows[kept],
            "site": pd.Categorical(site_id.to_numpy()[kept], categories=list(sites["site_id"])),
            "wave": wave.to_numpy()[kept].astype(np.int16),
            "profession": pd.Categorical(profession.to_numpy()[kept], dtype=codebook.dtype("profession")),
            "role_level": pd.Categorical(role[kept], dtype=codebook.dtype("role_level")),
            "submitted_at": submitted.to_numpy()[kept],
            "n_valid": n_valid[keep_live].astype(np.int16),
        }
    )  # fmt: skip
    respondents.insert(
        respondents.columns.get_loc("profession") + 1,
        "group",
        pd.Categorical(
            respondents["profession"].map(codebook.profession_group).astype(object),
            dtype=codebook.dtype("group"),
        ),
    )
    site_names = dict(zip(sites["site_id"], sites["site_name"], strict=True))
    respondents.insert(3, "site_name", respondents["site"].map(site_names).astype(object))

    responses = _long_responses(respondents, codes[keep_live], status[keep_live], codebook)
    result = CleanResult(responses, respondents, exclusions, raw_rows=n, raw_answers=n * n_items)
    rows_ok, answers_ok = accounting(result)
    if not (rows_ok and answers_ok):  # a bug in this module, never a data problem
        raise AssertionError(f"row accounting does not balance: {result.summary()}")
    return result


#: The columns of ``responses``, in order.
LONG_COLUMNS = ("respondent_id", "site", "wave", "profession", "group", "role_level",
                "question", "item", "target", "code", "label", "status")  # fmt: skip


def _long_responses(
    respondents: pd.DataFrame, codes: np.ndarray, status: np.ndarray, codebook: Codebook
) -> pd.DataFrame:
    """Respondent x item long table, leaving out answer-level exclusions.

    Every column is one gather from a small table (a respondent's field, an item's
    attribute, an item and code's label) by each answer's respondent or item: numpy
    releases the GIL in a gather, so two threads build the twelve columns side by side.
    """
    items = codebook.item_table
    n, k = codes.shape
    keep2d = status < S[INVALID]  # exclusion states come after the kept statuses
    keep = keep2d.ravel()
    all_kept = bool(keep.all())
    per_item_dtype = np.int8 if k < 128 else np.int32
    # Each answer's respondent (rows are respondent-major): the respondent_id codes,
    # and what every respondent field is gathered by.
    at = np.repeat(np.arange(n, dtype=np.int32), np.count_nonzero(keep2d, axis=1))
    item_idx = np.tile(np.arange(k, dtype=per_item_dtype), n)
    flat_codes, flat_status = codes.ravel(), status.ravel()
    if not all_kept:
        item_idx, flat_codes, flat_status = item_idx[keep], flat_codes[keep], flat_status[keep]
    invalid = flat_status != S["valid"]

    # Every code below is in range by construction: from_codes need not check tens of
    # millions of them again (validate=False).
    def respondent_field(col: str):
        src = respondents[col]
        if isinstance(src.dtype, pd.CategoricalDtype):
            return pd.Categorical.from_codes(src.array.codes[at], dtype=src.dtype, validate=False)
        if col == "respondent_id":
            # The ids are distinct (checked by the caller): they are the categories.
            return pd.Categorical.from_codes(at, categories=src.to_numpy(), validate=False)
        return src.to_numpy()[at]

    def item_attribute(col: str, kind: str):
        # Item-level attributes as categorical codes, indexed by item: no text per row.
        dtype = codebook.dtype(kind)
        per_item = pd.Categorical(items[col].to_numpy(), dtype=dtype).codes
        return pd.Categorical.from_codes(per_item[item_idx], dtype=dtype, validate=False)

    def label():
        # One look-up table indexed by item and code (one 16-bit key per answer), so no
        # per-row work beyond one gather; answers that are not valid have none.
        label_dtype = codebook.all_labels_dtype
        lut = np.full((k, 256), -1, dtype=np.int16)
        for i, sid in enumerate(items["scale"].to_numpy()):
            for lv in codebook.scales[sid].levels:
                lut[i, lv.code] = label_dtype.categories.get_loc(lv.label)
        if k <= 256:
            key = item_idx.astype(np.uint16)
            key <<= 8
            key |= flat_codes.view(np.uint8)
            label_codes = lut.ravel()[key]  # (np.take would widen the keys to 64 bits first)
            del key
        else:
            label_codes = lut[item_idx, flat_codes.astype(np.uint8)]
        np.putmask(label_codes, invalid, np.int16(-1))
        return pd.Categorical.from_codes(label_codes, dtype=label_dtype, validate=False)

    def code():
        out = flat_codes.copy() if all_kept else flat_codes  # never change the caller's codes
        np.putmask(out, invalid, np.int8(0))
        return pd.arrays.IntegerArray(out.astype(np.int8, copy=False), invalid)

    build = {
        **{c: (respondent_field, c) for c in LONG_COLUMNS[:6]},
        "question": (item_attribute, "question", "question"),
        "item": (item_attribute, "item", "item"),
        "target": (item_attribute, "target", "profession"),
        "label": (label,),
        "code": (code,),
    }
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="hsc-clean") as pool:
        made = {c: pool.submit(*how) for c, how in build.items()}
        out = {c: made[c].result() for c in build}
    # Kept status codes are positions in STATUSES, the categories of STATUS_DTYPE.
    out["status"] = pd.Categorical.from_codes(flat_status, dtype=STATUS_DTYPE, validate=False)
    out = {c: out[c] for c in LONG_COLUMNS}
    return pd.DataFrame(out, copy=False)  # the arrays are new: no need to copy them


def write_tables(
    result: CleanResult, out_dir: Path, free_text: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Replace the processed folder with the new tables, all or nothing.

    Every file (the three tables, ``clean_summary.json`` and, when given, the free-text
    answers) is written to a temporary folder beside ``out_dir``, which then takes
    ``out_dir``'s place. Whatever fails before that leaves the previous tables as they
    were and no temporary file behind. Other files in ``out_dir`` are carried over,
    except an earlier run's free text and the ``aggregates`` folder: its tables came from
    the previous cleaned data, so ``aggregate`` (or ``build``) must compute them again.

    Parameters
    ----------
    result
        The cleaned tables.
    out_dir
        The processed folder (created if missing).
    free_text
        Free-text answers to keep (``--keep-free-text``), or ``None``.

    Returns
    -------
    dict
        Table name to its path.

    Raises
    ------
    InputError
        The folder cannot be written (permissions, full disk): one line naming it.
    """
    out_dir = Path(out_dir)
    try:
        if out_dir.is_dir() and not os.access(out_dir, os.W_OK | os.X_OK):
            # A read-only folder is the user's choice: refuse rather than swap it out.
            raise PermissionError(errno.EACCES, "read-only", str(out_dir))
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise _write_error(out_dir, exc) from None
    try:
        for name in TABLES:
            table = getattr(result, name)
            # One row group: the respondent-id dictionary (a million ids) is then
            # written and read once, not re-encoded for every million answers. No
            # column statistics: nothing filters these files on read, and computing
            # them is half the writing time of a million respondents' answers.
            table.to_parquet(
                tmp / f"{name}.parquet", index=False, row_group_size=max(1, len(table)),
                write_statistics=False,
            )  # fmt: skip
        if free_text is not None:
            free_text.to_parquet(tmp / FREE_TEXT_NAME, index=False)
        (tmp / SUMMARY_NAME).write_text(json.dumps(result.summary(), indent=2), encoding="utf-8")
        _swap_in(tmp, out_dir)
    except OSError as exc:
        raise _write_error(out_dir, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {name: out_dir / f"{name}.parquet" for name in TABLES}


def _swap_in(new: Path, out_dir: Path) -> None:
    """Put the folder ``new`` in the place of ``out_dir``, keeping files that are not
    ours (a README, report runs)."""
    ours = {f"{t}.parquet" for t in TABLES} | {SUMMARY_NAME, FREE_TEXT_NAME, AGGREGATES_DIR}
    if not out_dir.exists():
        new.rename(out_dir)
        return
    if not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(out_dir))
    for entry in out_dir.iterdir():  # fail here, before anything moves, when read-only
        if entry.name not in ours:
            if entry.is_dir():
                shutil.copytree(entry, new / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, new / entry.name, follow_symlinks=False)
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    old.rmdir()
    out_dir.rename(old)
    try:
        new.rename(out_dir)
    except OSError:
        old.rename(out_dir)  # put the previous tables back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_error(out_dir: Path, exc: OSError) -> InputError:
    if exc.errno == errno.ENOSPC:
        why = "the disk is full; free some space"
    elif isinstance(exc, PermissionError):
        why = "permission denied; make the folder and its parent writable"
    else:
        why = f"{exc.strerror or exc}; check the folder"
    return InputError(
        f"{out_dir}: cannot write the cleaned tables ({why}), then run hsc-research clean "
        "again; the previous tables are unchanged"
    )


def read_tables(
    processed: str | Path, responses_columns: Sequence[str] | None = None
) -> CleanResult:
    """Read the cleaned tables back (with their categorical dtypes).

    Parameters
    ----------
    processed
        The ``data/processed`` folder (a path or a string).
    responses_columns
        Read only these columns of ``responses`` (all when ``None``): a step that needs
        a few columns of tens of millions of answers reads only those.

    Returns
    -------
    CleanResult
        ``responses``, ``respondents`` and ``exclusions`` with the row accounting.

    Raises
    ------
    InputError
        A table is missing, unreadable or corrupt: one line naming it.

    Examples
    --------
    >>> read_tables("no/such/folder")
    Traceback (most recent call last):
    ...
    hsc_research.errors.InputError: no/such/folder/responses.parquet: not found; run `hsc-research clean` first
    """
    import pyarrow as pa

    processed = Path(processed)
    tables = {}
    for name in TABLES:
        path = processed / f"{name}.parquet"
        if not path.is_file():
            raise InputError(f"{path}: not found; run `hsc-research clean` first")
    # The respondents first: a part of the responses may be taken from them.
    for name in ("respondents", "exclusions", "responses"):
        path = processed / f"{name}.parquet"
        try:
            if name == "responses":
                columns = list(responses_columns) if responses_columns else None
                tables[name] = _read_responses(path, columns, tables["respondents"])
            else:
                tables[name] = pd.read_parquet(path)
        except (OSError, pa.ArrowException, ValueError) as exc:
            why = (
                exc.strerror
                if isinstance(exc, OSError) and exc.strerror
                else "not a readable table"
            )
            raise InputError(
                f"{path}: cannot read the cleaned table ({why}); re-run hsc-research clean"
            ) from None
    tables = {name: tables[name] for name in TABLES}
    raw_rows = len(tables["respondents"]) + int(
        (tables["exclusions"]["level"] == "respondent").sum()
    )
    raw_answers = len(tables["responses"]) + int(tables["exclusions"]["n_answers"].sum())
    return CleanResult(**tables, raw_rows=raw_rows, raw_answers=raw_answers)


#: Respondent fields that ``responses`` repeats on each answer (:func:`_long_responses`).
RESPONDENT_FIELDS = ("site", "wave", "profession", "group", "role_level")


def _read_responses(
    path: Path, columns: list[str] | None, respondents: pd.DataFrame
) -> pd.DataFrame:
    """``columns`` of the responses file (all when ``None``), the respondent fields among
    them taken from ``respondents`` by respondent id.

    The responses repeat each respondent's fields on every answer, and their
    ``respondent_id`` categories are the respondents' ids in order
    (:func:`_long_responses`): reading one respondent code per answer and taking the
    fields from a million respondents gives the same columns as decoding five
    dictionary columns of tens of millions of answers, in a fraction of the time. A
    file whose ids are not the respondents' (not written by :func:`write_tables`) is
    read whole, as before.
    """
    import pyarrow.parquet as pq

    if columns is None:
        columns = pq.read_schema(path).names
    derived = [c for c in columns if c in RESPONDENT_FIELDS and c in respondents.columns]
    if not derived:
        return pd.read_parquet(path, columns=columns)
    at = _respondent_codes(path, respondents)
    if at is None:
        return pd.read_parquet(path, columns=columns)
    others = [c for c in columns if c not in derived and c != "respondent_id"]

    def field(c: str):
        src = respondents[c]
        if isinstance(src.dtype, pd.CategoricalDtype):
            # The respondents' own codes: in range, nothing to check.
            return pd.Categorical.from_codes(src.array.codes[at], dtype=src.dtype, validate=False)
        if isinstance(src.dtype, np.dtype):
            return src.to_numpy()[at]
        return src.array.take(at)

    # The fields are gathers by each answer's respondent, which numpy does without the
    # GIL: a second thread makes them while this one reads the other columns.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsc-read") as pool:
        fields = {c: pool.submit(field, c) for c in derived}
        part = pd.read_parquet(path, columns=others) if others else None
        out = {}
        for c in columns:
            if c == "respondent_id":
                # Categories as pandas reads them from the file: the ids, in order, unnamed.
                ids = pd.CategoricalDtype(pd.Index(respondents["respondent_id"].array))
                out[c] = pd.Categorical.from_codes(at, dtype=ids, validate=False)
            else:
                out[c] = fields[c].result() if c in derived else part[c]
    return pd.DataFrame(out, copy=False)


def _respondent_codes(path: Path, respondents: pd.DataFrame) -> np.ndarray | None:
    """Each answer's position among ``respondents``, read from the codes of the file's
    ``respondent_id`` dictionary when its ids are the respondents' ids in order (as
    :func:`write_tables` writes them); ``None`` otherwise (or when an answer has none).

    The codes are taken as written: converting the dictionary of a million ids to
    pandas, only to find it equal to the respondents' ids, is most of reading it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "respondent_id" not in pq.read_schema(path).names:
        return None
    col = pq.read_table(path, columns=["respondent_id"]).column(0)
    ids = respondents["respondent_id"]
    if not pa.types.is_dictionary(col.type) or col.null_count or not len(col) or ids.hasnans:
        return None
    arr = col.combine_chunks()
    try:
        mine = arr.dictionary.cast(pa.large_string())
        # The ids' own Arrow buffers when they have them (pandas' text dtype): no copy.
        theirs = pa.chunked_array(pa.array(ids.array, type=pa.large_string()))
    except (pa.ArrowException, TypeError):  # ids that are not text: read as written
        return None
    if not pa.chunked_array(mine).equals(theirs):
        return None
    return arr.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
