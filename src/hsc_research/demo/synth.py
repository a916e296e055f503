"""Synthetic multi-site, multi-wave survey in the package's template export layout.

No real respondent is ever stored: the demo survey is generated from a seed. Answers
come from a latent-variable model: for each respondent and item a continuous score

    latent = mean(rater, item) + site effect + wave effect + respondent effect + noise

is rounded to the nearest code of the item's scale. The item means below are the only
calibration: they are set so that national 2019 results show the direction of every
finding of the 2019 summary report (see ``tests/demo/test_calibration.py``, which checks each
finding through the statistics, not through these parameters). Site effects are normal
around zero (:data:`SITE_EFFECT_SD`), so sites vary about as much as organisations do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hsc_research.clean.sites import slugify
from hsc_research.config import DEFAULT_SEED, RAW_EXPORT_NAME, SITES_REGISTER_NAME
from hsc_research.instrument import Codebook, Question

#: Fictional area names for the demo sites (more sites get numbered names).
SITE_NAMES = (
    "Ashford Vale", "Brackenmoor", "Castlebridge", "Dunmore", "Eastwick", "Fernhill",
    "Glenmouth", "Harrowgate Bay", "Ironbridge Marsh", "Kingsholme", "Larkfield",
    "Millbrook", "Northby", "Oakhaven", "Pennington", "Queensford", "Redcliffe Downs",
    "Stanbury", "Thornleigh", "Upperwood", "Valebridge", "Westmere", "Yarrowby", "Zennor Cross",
)  # fmt: skip

#: Share of respondents by profession and by role level.
PROFESSION_MIX = {
    "asc": 0.30, "hospital_discharge": 0.15, "hospital_clinical": 0.20,
    "gp": 0.08, "community_health": 0.15, "care_provider": 0.12,
}  # fmt: skip
ROLE_MIX = {"senior_leader": 0.15, "manager": 0.30, "frontline": 0.55}

# Mean latent score by rater group (asc, hospital, community) for item-based questions,
# on the scale's code units.
ADMISSION_MEANS = {
    #                             asc  hosp  comm
    "risk_mitigation":           (2.9, 3.4, 3.0),
    "alternatives_not_considered": (3.4, 2.6, 3.0),
    "lack_of_trust":             (2.6, 2.7, 2.7),
    "safe_culture":              (2.9, 2.9, 2.8),
    "fear_of_blame":             (2.7, 2.8, 2.7),
    "community_capacity":        (2.3, 2.8, 2.6),
    "records_access":            (2.2, 2.2, 2.4),
    "out_of_hours":              (2.5, 2.6, 2.6),
    "referral_routes":           (2.2, 2.3, 2.3),
    "care_home_support":         (2.2, 2.4, 2.5),
}  # fmt: skip
WRONG_PATHWAY_MEANS = {
    "free_up_beds":             (3.6, 3.2, 3.4),
    "what_is_available":        (3.3, 3.1, 3.2),
    "risk_aversion":            (2.6, 2.4, 2.6),
    "assessment_in_hospital":   (2.8, 2.4, 2.6),
    "family_expectations":      (2.3, 2.6, 2.4),
    "missing_home_information": (2.4, 2.6, 2.5),
    "poor_communication":       (2.7, 2.4, 2.6),
    "discharge_targets":        (2.8, 2.7, 2.7),
}  # fmt: skip
# By-profession questions: mean by rater group (rows) and target profession (columns).
TARGETS = (
    "asc",
    "hospital_discharge",
    "hospital_clinical",
    "gp",
    "community_health",
    "care_provider",
)
DISCHARGE_MEANS = {
    #           asc  h_dis h_cli  gp  comm  care
    "asc":       (1.9, 3.0, 3.1, 2.2, 2.0, 2.1),
    "hospital":  (3.0, 1.8, 1.9, 2.0, 2.2, 2.5),
    "community": (2.4, 2.8, 2.9, 1.8, 1.7, 1.9),
}  # fmt: skip
TRUST_MEANS = {
    "asc":       (3.4, 3.0, 2.9, 2.4, 3.0, 3.0),
    "hospital":  (2.1, 3.2, 3.3, 2.7, 2.9, 2.6),
    "community": (2.6, 2.6, 2.8, 3.0, 3.2, 2.9),
}  # fmt: skip
# Relationships by rater profession (own profession not rated). Lowest: ASC-GP both
# ways and hospital discharge rating ASC; highest: ASC rating hospital discharge.
RELATIONSHIP_MEANS = {
    "asc":                (None, 3.9, 3.0, 2.0, 3.3, 3.4),
    "hospital_discharge": (2.1, None, 3.4, 2.7, 3.0, 2.8),
    "hospital_clinical":  (2.7, 3.4, None, 2.8, 3.1, 2.7),
    "gp":                 (2.0, 2.8, 3.0, None, 3.4, 3.0),
    "community_health":   (3.0, 2.9, 3.0, 3.4, None, 3.2),
    "care_provider":      (3.3, 2.6, 2.7, 2.9, 3.2, None),
}  # fmt: skip
GROUP_INDEX = {"asc": 0, "hospital": 1, "community": 2}
#: Latent shift in 2014 relative to 2019: trust was, if anything, a little higher.
WAVE_SHIFT = {"trust": 0.06, "relationships": 0.02}
NOISE_SD = 0.9
#: Between-site standard deviation of the latent site effects. Real staff surveys across
#: organisations are overdispersed, but modestly: at this value the demo's funnel plots
#: show overdispersion factors of about 1 to 5 and a handful of sites outside the 95%
#: limits once those are widened for it (an evenly spread +/-0.45 gave phi up to 15 and
#: hospital trust in ASC from 15% to 69% between sites).
SITE_EFFECT_SD = 0.2
RESPONDENT_SD = 0.35
#: Per answer cell: chance of "Don't know", "Not applicable" and a blank.
P_DONT_KNOW, P_NOT_APPLICABLE, P_BLANK = 0.04, 0.01, 0.02
#: Share of respondents who open the survey and answer nothing.
P_EMPTY_RESPONDENT = 0.005


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: ``respondents`` is a (low, high) range per site and wave."""

    sites: int = 12
    respondents: tuple[int, int] = (120, 400)
    waves: tuple[int, ...] = (2014, 2017, 2019)
    seed: int = DEFAULT_SEED
    messy: bool = False


def site_names(n: int) -> list[str]:
    """Demo site names: the fictional list, then numbered areas."""
    if n <= len(SITE_NAMES):
        return list(SITE_NAMES[:n])
    width = len(str(n))
    return [f"Area {i + 1:0{width}d}" for i in range(n)]


def _respondent_frame(spec: SynthSpec, rng: np.random.Generator) -> pd.DataFrame:
    names = site_names(spec.sites)
    lo, hi = spec.respondents
    counts = rng.integers(lo, hi + 1, size=(spec.sites, len(spec.waves)))
    site_idx = np.repeat(np.arange(spec.sites), counts.sum(axis=1))
    wave_idx = np.concatenate(
        [np.repeat(np.arange(len(spec.waves)), counts[s]) for s in range(spec.sites)]
    )
    n = len(site_idx)
    profs = list(PROFESSION_MIX)
    roles = list(ROLE_MIX)
    return pd.DataFrame(
        {
            "site_idx": site_idx,
            "site": np.array(names, dtype=object)[site_idx],
            "wave": np.array(spec.waves)[wave_idx],
            "profession": rng.choice(profs, size=n, p=list(PROFESSION_MIX.values())),
            "role_level": rng.choice(roles, size=n, p=list(ROLE_MIX.values())),
        }
    )


def _site_effects(n_sites: int, rng: np.random.Generator, sd: float) -> np.ndarray:
    """Site effects at the normal quantiles of ``sd``, shuffled: normal in shape, centred on
    0 (the national calibration holds) and with the same spread on every seed."""
    from scipy.stats import norm

    return rng.permutation(sd * norm.ppf((np.arange(n_sites) + 0.5) / n_sites))


def _means(question: Question, rater_prof: np.ndarray, rater_group: np.ndarray) -> np.ndarray:
    """Mean latent score per respondent (rows) and item (columns)."""
    if question.id == "admission_factors":
        table = np.array([ADMISSION_MEANS[it.id] for it in question.items]).T
        return table[rater_group]
    if question.id == "wrong_pathway":
        table = np.array([WRONG_PATHWAY_MEANS[it.id] for it in question.items]).T
        return table[rater_group]
    order = [TARGETS.index(it.target) for it in question.items]
    if question.id == "relationships":
        table = np.array(
            [[np.nan if v is None else v for v in RELATIONSHIP_MEANS[p]] for p in TARGETS]
        )[:, order]
        return table[rater_prof]
    source = {"discharge_influence": DISCHARGE_MEANS, "trust": TRUST_MEANS}[question.id]
    table = np.array([source[g] for g in GROUP_INDEX])[:, order]
    return table[rater_group]


def _site_shift(
    question: Question, resp: pd.DataFrame, effects: dict[str, np.ndarray], rater_group: np.ndarray
) -> np.ndarray:
    """Site effect per respondent and item: better sites trust and relate more, and
    see behaviour-driven admissions and bed pressure less often."""
    s = resp["site_idx"].to_numpy()
    n_items = len(question.items)
    if question.id == "admission_factors":
        tag = np.array([it.tag == "behaviour" for it in question.items], dtype=float)
        return -effects["culture"][s][:, None] * tag[None, :]
    if question.id == "wrong_pathway":
        return -effects["pressure"][s][:, None] * np.ones((1, n_items))
    if question.id == "discharge_influence":
        return -effects["culture"][s][:, None] * np.ones((1, n_items))
    # Trust and relationships: the site effect is strongest across the hospital / ASC line.
    target_group = np.array(
        [GROUP_INDEX[{"asc": "asc", "gp": "community", "community_health": "community",
                      "care_provider": "community"}.get(it.target, "hospital")]
         for it in question.items]
    )  # fmt: skip
    cross = (rater_group[:, None] != target_group[None, :]).astype(float)
    key = "trust" if question.id == "trust" else "relationships"
    return effects[key][s][:, None] * (0.5 + cross)


def generate(
    codebook: Codebook, spec: SynthSpec | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a survey export and its site register.

    Parameters
    ----------
    codebook
        The instrument (questions, items and scales come from it).
    spec
        Sites, respondents per site and wave, waves, seed and messiness.

    Returns
    -------
    export : pandas.DataFrame
        Template layout: ``respondent_id, submitted_at, site, wave, profession,
        role_level, <question>.<item> ..., comment``, with human-readable labels.
    sites : pandas.DataFrame
        The site register: ``site_id, site_name``.
    """
    spec = spec or SynthSpec()
    rng = np.random.default_rng(spec.seed)
    resp = _respondent_frame(spec, rng)
    n = len(resp)
    group_of = codebook.profession_group
    rater_prof = resp["profession"].map({p: i for i, p in enumerate(TARGETS)}).to_numpy()
    rater_group = resp["profession"].map(lambda p: GROUP_INDEX[group_of[p]]).to_numpy()
    effects = {k: _site_effects(spec.sites, rng, SITE_EFFECT_SD) for k in
               ("trust", "relationships", "culture", "pressure")}  # fmt: skip
    r_eff = rng.normal(0, RESPONDENT_SD, size=n)
    first_wave = np.asarray(resp["wave"] == min(spec.waves))
    empty = rng.random(n) < P_EMPTY_RESPONDENT
    empty[0] &= not empty.all()  # a tiny survey keeps at least one respondent who answers

    prof_labels = codebook.labels("profession")
    role_labels = codebook.labels("role_level")
    columns: dict[str, object] = {
        "respondent_id": [f"R{i + 1:07d}" for i in range(n)],
        "submitted_at": (
            pd.to_datetime(resp["wave"].astype(str) + "-05-01")
            + pd.to_timedelta(rng.integers(0, 60 * 24 * 3600, size=n), unit="s")
        ).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "site": resp["site"].to_numpy(),
        "wave": resp["wave"].to_numpy(),
        "profession": resp["profession"].map(prof_labels).to_numpy(),
        "role_level": resp["role_level"].map(role_labels).to_numpy(),
    }
    dk, na = codebook.non_substantive["dont_know"], codebook.non_substantive["not_applicable"]
    for q in codebook.questions:
        scale = codebook.scales[q.scale]
        mu = _means(q, rater_prof, rater_group)
        latent = (
            mu
            + _site_shift(q, resp, effects, rater_group)
            + WAVE_SHIFT.get(q.id, 0.0) * first_wave[:, None]
            + r_eff[:, None]
            + rng.normal(0, NOISE_SD, size=mu.shape)
        )
        # Relationships leave the own-profession cell unasked: its mean is NaN.
        codes = np.clip(np.rint(np.nan_to_num(latent)), min(scale.codes), max(scale.codes))
        level_idx = (codes - min(scale.codes)).astype(np.int16)
        categories = [*scale.labels, dk, na]
        u = rng.random(mu.shape)
        level_idx = np.where(u < P_DONT_KNOW, len(scale.labels), level_idx)
        level_idx = np.where(
            (u >= P_DONT_KNOW) & (u < P_DONT_KNOW + P_NOT_APPLICABLE) & q.by_profession,
            len(scale.labels) + 1,
            level_idx,
        )
        blank = (u > 1 - P_BLANK) | empty[:, None] | np.isnan(mu)
        level_idx = np.where(blank, -1, level_idx)
        for j, item in enumerate(q.items):
            columns[item.column] = pd.Categorical.from_codes(level_idx[:, j], categories)
    columns["comment"] = np.where(rng.random(n) < 0.05, "See my comments at the meeting.", "")
    export = pd.DataFrame(columns)
    sites = pd.DataFrame({"site_id": [slugify(s) for s in site_names(spec.sites)],
                          "site_name": site_names(spec.sites)})  # fmt: skip
    if spec.messy:
        export = make_messy(export, codebook, rng)
    return export, sites


def make_messy(export: pd.DataFrame, codebook: Codebook, rng: np.random.Generator) -> pd.DataFrame:
    """Add what real exports contain: label variants, duplicates, self-ratings,
    invalid values, unknown sites and professions.

    The share of affected rows is small (about 1 to 3% each) so that findings hold.
    """
    df = export.copy()
    n = len(df)
    item_cols = [it.column for it in codebook.items]
    for col in item_cols:
        df[col] = df[col].astype(object)
    # Label variants in case, spacing and typographic quotes.
    variants = (str.upper, str.lower, lambda s: f"  {s} ", lambda s: s.replace("'", "\u2019"),
                lambda s: s.replace(" ", "  "))  # fmt: skip
    for col in rng.choice(item_cols, size=max(1, len(item_cols) // 3), replace=False):
        rows = np.flatnonzero((rng.random(n) < 0.1) & df[col].notna().to_numpy())
        fn = variants[rng.integers(len(variants))]
        df.loc[df.index[rows], col] = [fn(str(v)) for v in df[col].to_numpy()[rows]]
    # Self-ratings in relationships (about 2% of respondents).
    label_to_id = {p.label: p.id for p in codebook.professions}
    rel = codebook.question("relationships")
    self_rows = np.flatnonzero(rng.random(n) < 0.02)
    for r in self_rows:
        prof = label_to_id.get(df["profession"].iat[r])
        if prof is not None:
            col = next(it.column for it in rel.items if it.target == prof)
            df.iat[r, df.columns.get_loc(col)] = str(rng.integers(1, 6))
    # Out-of-range and unparseable values.
    rel_cols = [it.column for it in rel.items]
    for bad in ("0", "6", "99", "#N/A", "three", "#VALUE!"):
        rows = rng.choice(n, size=max(1, n // 400), replace=False)
        cols = rng.choice(rel_cols + item_cols[:5], size=len(rows))
        for r, c in zip(rows, cols, strict=True):
            df.iat[r, df.columns.get_loc(c)] = bad
    # Unknown sites and professions, and label variants of known professions.
    k = min(max(2, n // 500), n // 4)  # a small export keeps at least half its sites known
    df.loc[df.index[rng.choice(n, k, replace=False)], "site"] = "Unknown Trust"
    df.loc[df.index[rng.choice(n, k, replace=False)], "profession"] = "Porter"
    rows = rng.choice(n, size=max(1, n // 50), replace=False)
    df.loc[df.index[rows], "profession"] = df["profession"].iloc[rows].str.upper().to_numpy()
    # Duplicate submissions: the same respondent submits again a little later.
    dup = df.iloc[rng.choice(n, size=min(max(2, n // 100), n), replace=False)].copy()
    dup["submitted_at"] = (pd.to_datetime(dup["submitted_at"]) + pd.Timedelta(hours=2)).dt.strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    return pd.concat([df, dup], ignore_index=True)


def write(export: pd.DataFrame, sites: pd.DataFrame, raw_dir: Path) -> tuple[Path, Path]:
    """Write the export and the site register to ``raw_dir`` (created if missing)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    export_path = raw_dir / RAW_EXPORT_NAME
    sites_path = raw_dir / SITES_REGISTER_NAME
    export.to_csv(export_path, index=False)
    sites.to_csv(sites_path, index=False)
    return export_path, sites_path
