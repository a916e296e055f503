"""The codebook, not the code, drives the reports: a site's copy that adds a profession
builds every report with no code change."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from hsc_research import synth
from hsc_research.cli import main
from hsc_research.instrument import load_codebook

PHARMACY = (
    "  - {id: pharmacy, label: Community pharmacists, short: Pharmacists, group: community}\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pharmacy")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    text = load_codebook().path.read_text(encoding="utf-8")
    anchor = "  - {id: care_provider,"
    line_end = text.index("\n", text.index(anchor)) + 1
    copy = root / "pharmacy.yaml"
    copy.write_text(text[:line_end] + PHARMACY + text[line_end:], encoding="utf-8")
    extended = load_codebook(copy)
    # The demo generator knows the six 2019 professions: draw the export with them, then
    # make a quarter of the community respondents pharmacists who answer about pharmacy
    # as the GPs' raters answer about GPs.
    export, sites = synth.generate(
        load_codebook(), synth.SynthSpec(sites=2, respondents=(80, 80), seed=3)
    )
    rng = np.random.default_rng(0)
    community = export["profession"].isin(["GPs", "Care providers (home care, care homes)"])
    pick = community & (rng.random(len(export)) < 0.5)
    export.loc[pick, "profession"] = "Community pharmacists"
    for item in extended.items:
        if item.target == "pharmacy":
            source = item.column.replace("pharmacy", "gp")
            export[item.column] = export[source]
    # Nobody rates their own profession in relationships.
    export.loc[pick, "relationships.pharmacy"] = np.nan
    export.to_csv(root / "export.csv", index=False)
    sites.to_csv(root / "sites.csv", index=False)
    cb = ["--root", str(root), "--codebook", str(copy)]
    assert main([*cb, "clean", "--input", str(root / "export.csv"),
                 "--sites-register", str(root / "sites.csv")]) == 0  # fmt: skip
    assert main([*cb, "aggregate"]) == 0
    return root, main([*cb, "build", "--no-progress"])


def test_every_report_builds_with_an_added_profession(built):
    root, code = built
    assert code == 0
    assert len(list((root / "reports").glob("site-*.html"))) == 2


def test_the_added_profession_appears_in_the_reports(built):
    root, _ = built
    html = (root / "reports" / "national.html").read_text(encoding="utf-8")
    assert "Community pharmacists" in html and "Pharmacists" in html


def test_the_added_profession_is_in_the_aggregates(built):
    root, _ = built
    m = pd.read_parquet(root / "data" / "processed" / "aggregates" / "matrix.parquet")
    assert "pharmacy" in set(m["rater"]) and "pharmacy" in set(m["target"])
