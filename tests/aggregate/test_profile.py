"""Response profile and exclusion summary on hand-made respondents."""

from __future__ import annotations

import pandas as pd

from hsc_research.aggregate.profile import exclusion_summary, response_profile


def _respondents(codebook, rows):
    """rows: (site, wave, profession, role_level or None)."""
    df = pd.DataFrame(rows, columns=["site", "wave", "profession", "role_level"])
    df["profession"] = pd.Categorical(df["profession"], dtype=codebook.dtype("profession"))
    df["group"] = pd.Categorical(
        df["profession"].astype(str).map(codebook.profession_group), dtype=codebook.dtype("group")
    )
    df["role_level"] = pd.Categorical(df["role_level"], dtype=codebook.dtype("role_level"))
    return df


def test_counts_and_percentages_by_hand(codebook):
    rows = [("n", 2019, "asc", "frontline")] * 30 + [("n", 2019, "gp", "manager")] * 20
    rows += [("s", 2019, "asc", "frontline")] * 40
    prof = response_profile(_respondents(codebook, rows), codebook, min_cell=10).set_index(
        ["scope", "dimension", "category"]
    )
    assert prof.loc[("n", "group", "asc"), "n"] == 30
    assert prof.loc[("n", "group", "asc"), "pct"] == 60.0
    assert prof.loc[("_national", "profession", "asc"), "n"] == 70
    assert prof.loc[("n", "all", "total"), "n"] == 50


def test_small_cell_is_hidden_with_a_partner(codebook):
    # Site n: 45 ASC and 5 GPs. The 5 is primary; alone it would be 50 - 45, so the
    # 45 is hidden too; and GPs nationally (5) is also small.
    rows = [("n", 2019, "asc", "frontline")] * 45 + [("n", 2019, "gp", "frontline")] * 5
    rows += [("s", 2019, "asc", "frontline")] * 40 + [("s", 2019, "gp", "frontline")] * 30
    prof = response_profile(_respondents(codebook, rows), codebook, min_cell=10).set_index(
        ["scope", "dimension", "category"]
    )
    cell = prof.loc[("n", "profession", "gp")]
    assert pd.isna(cell["n"]) and cell["suppressed"] == "primary" and pd.isna(cell["pct"])
    assert pd.isna(prof.loc[("n", "profession", "asc"), "n"])


def test_missing_role_level_counts_as_not_stated(codebook):
    rows = [("n", 2019, "asc", None)] * 12 + [("n", 2019, "asc", "manager")] * 12
    prof = response_profile(_respondents(codebook, rows), codebook, min_cell=10).set_index(
        ["scope", "dimension", "category"]
    )
    assert prof.loc[("n", "role_level", "not_stated"), "n"] == 12
    assert prof.loc[("n", "role_level", "not_stated"), "label"] == "Not stated"


def test_exclusion_summary_by_site_and_nationally():
    ex = pd.DataFrame({"site": ["a", "a", None], "level": ["respondent", "answer", "respondent"],
                       "reason": ["duplicate_submission", "invalid_value", "unknown_site"],
                       "n_answers": [36, 1, 36]})  # fmt: skip
    out = exclusion_summary(ex)
    nat = out[out["scope"] == "_national"].set_index("reason")
    assert nat.loc["unknown_site", "records"] == 1 and nat["answers"].sum() == 73
    assert set(out.loc[out["scope"] == "a", "reason"]) == {"duplicate_submission", "invalid_value"}


def test_hidden_profession_is_not_its_group_minus_its_siblings(codebook):
    # Community group at site n: 8 GPs, 19 community health, 20 care providers (47).
    # Hiding only the 8 would leave 47 - 19 - 20 = 8: a sibling must be hidden too.
    rows = [("n", 2019, "gp", "frontline")] * 8 + [
        ("n", 2019, "community_health", "frontline")
    ] * 19
    rows += [("n", 2019, "care_provider", "frontline")] * 20 + [
        ("n", 2019, "asc", "frontline")
    ] * 30
    # 12 discharge staff: the smallest other profession, the partner the profession-level
    # rule alone picks (8 + 12 >= 10), which left the GPs recoverable from their group.
    rows += [("n", 2019, "hospital_discharge", "frontline")] * 12
    rows += [("n", 2019, "hospital_clinical", "frontline")] * 30
    rows += [("s", 2019, p, "frontline") for p in ("gp", "community_health", "care_provider", "asc")
             for _ in range(40)]  # fmt: skip
    prof = response_profile(_respondents(codebook, rows), codebook, min_cell=10).set_index(
        ["scope", "dimension", "category"]
    )
    site = prof.loc["n"]
    community = ["gp", "community_health", "care_provider"]
    shown = [site.loc[("profession", p), "n"] for p in community]
    hidden = [p for p, v in zip(community, shown, strict=True) if pd.isna(v)]
    group = site.loc[("group", "community"), "n"]
    assert "gp" in hidden and len(hidden) >= 2 or pd.isna(group)
    if not pd.isna(group):
        # What a reader can subtract is the hidden cells together, at least 10.
        assert group - sum(v for v in shown if not pd.isna(v)) >= 10
