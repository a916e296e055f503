"""What the built reports say, audited from the published HTML alone.

The auditor (``tests/report_audit.py``) is independent of the package: it parses the
tables and sentences a reader sees. On the default demo (12 sites, messy export) and on
a demo with small sites, it finds no flag that contradicts its interval, no sentence
that contradicts its interval, no count below the threshold and no hidden count that can
be recovered from the published ones.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT
from report_audit import audit, codebook_groups

from hsc_research.cli import main


def _build(root, *synth_args):
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    assert main(["--root", str(root), "synth", *synth_args]) == 0
    assert main(["--root", str(root), "clean"]) == 0
    return main(["--root", str(root), "build", "--no-progress"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    code = _build(root, "--messy")  # the default demo of `make reports`
    return root / "reports", code


@pytest.fixture(scope="module")
def small_sites(tmp_path_factory):
    # Sites of 9 to 30 respondents a wave: suppression everywhere, some sites below 10.
    root = tmp_path_factory.mktemp("small")
    code = _build(root, "--sites", "6", "--respondents", "9:30", "--seed", "5", "--messy")
    return root / "reports", code


def test_demo_builds_every_report(demo):
    reports, code = demo
    assert code == 0
    assert len(list(reports.glob("site-*.html"))) == 12


def test_no_flag_or_sentence_contradicts_its_interval(demo):
    found = audit(demo[0], codebook_groups())
    assert found.conflicts == []
    # The audit did look: every site's gap analysis, change, trust and self-view rows.
    assert found.rows_checked > 300 and found.sentences_checked > 25


def test_no_hidden_count_is_recoverable_in_the_demo(demo):
    found = audit(demo[0], codebook_groups())
    assert found.leaks == [] and found.small == []


def test_small_sites_build_every_report(small_sites):
    # A site whose relationship cells are all hidden still gets its report.
    reports, code = small_sites
    assert code == 0
    assert len(list(reports.glob("site-*.html"))) == 6


def test_no_hidden_count_is_recoverable_with_small_sites(small_sites):
    found = audit(small_sites[0], codebook_groups())
    assert found.leaks == [] and found.small == []
    assert found.conflicts == []


def test_auditor_finds_a_recoverable_cell(tmp_path):
    # The auditor itself: a profile where GPs are hidden but their group and siblings
    # are published gives GPs away (47 - 19 - 20 = 8).
    rows = [("All", "All respondents", "100 (100%)"), ("Group", "Community, primary care and others", "47 (47%)"),
            ("Group", "Adult social care", "30 (30%)"), ("Group", "Hospital", "23 (23%)"),
            ("Profession", "Adult social care", "30 (30%)"), ("Profession", "Hospital discharge staff", "10 (10%)"),
            ("Profession", "Hospital clinicians (doctors, nurses, therapists)", "13 (13%)"),
            ("Profession", "GPs", "suppressed (n<10)"),
            ("Profession", "Community health (district nurses, community therapists)", "19 (19%)"),
            ("Profession", "Care providers (home care, care homes)", "20 (20%)")]  # fmt: skip
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    (tmp_path / "site-x.html").write_text(
        '<table aria-label="Respondents, X: number (% of the wave)"><tr><th>Breakdown</th>'
        f"<th>Category</th><th>2019</th></tr>{body}</table>",
        encoding="utf-8",
    )
    found = audit(tmp_path, codebook_groups())
    assert any("recoverable as 8" in leak for leak in found.leaks)


def test_auditor_finds_a_flag_that_contradicts_its_interval(tmp_path):
    (tmp_path / "site-x.html").write_text(
        '<table aria-label="Gap analysis"><tr><th>Indicator</th><th>95% CI (points)</th>'
        "<th>Significant</th><th>Flag</th></tr><tr><td>Trust</td><td>5 to 26</td><td>no</td>"
        "<td>no evidence of a difference</td></tr></table>"
        "<ul><li>X is 30% here and 20% there; no evidence of a difference "
        "(95% CI 5 to 26 points, Holm-corrected).</li></ul>",
        encoding="utf-8",
    )
    found = audit(tmp_path, codebook_groups())
    assert len(found.conflicts) == 3  # the "no", the flag, and the Holm label
