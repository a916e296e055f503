"""Report build end to end on a tiny survey: HTML per site, national, index, manifest."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import ROOT

from hsc_research.cli import main
from hsc_research.config import project_paths
from hsc_research.report import build as report_build
from hsc_research.report import index, tasks


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    main(
        [
            "--root",
            str(root),
            "synth",
            "--sites",
            "2",
            "--respondents",
            "40",
            "--seed",
            "11",
            "--messy",
        ]
    )
    main(["--root", str(root), "clean"])
    code = main(["--root", str(root), "build", "--jobs", "2", "--no-progress"])
    return root, code


def test_one_html_per_site_plus_national_and_index(built):
    root, code = built
    assert code == 0
    names = sorted(p.name for p in (root / "reports").glob("*.html"))
    assert names == [
        "index.html",
        "national.html",
        "site-ashford-vale.html",
        "site-brackenmoor.html",
    ]


def test_reports_load_nothing_from_the_network(built):
    root, _ = built
    for page in (root / "reports").glob("*.html"):
        text = page.read_text()
        assert not re.search(r"""<script[^>]+src=""", text), page.name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page.name
        assert "@import url(" not in text


def test_no_raw_missing_markers_in_reports(built):
    # Small sites make suppression fire: hidden values must read as suppressed.
    root, _ = built
    texts = [p.read_text() for p in (root / "reports").glob("site-*.html")]
    assert any("suppressed (n&lt;10)" in t or "suppressed (n<10)" in t for t in texts)
    for t in texts:
        assert "&lt;NA&gt;" not in t and ">nan<" not in t and ">NaN<" not in t


def test_reports_hide_code(built):
    root, _ = built
    text = (root / "reports/site-ashford-vale.html").read_text()
    assert "report.load_context" not in text
    assert "from hsc_research import" not in text
    assert 'class="jp-InputPrompt' not in text


def test_table_of_contents_links_resolve(built):
    root, _ = built
    text = (root / "reports/national.html").read_text()
    links = re.findall(r'<nav class="report-toc".*?</nav>', text, re.S)[0]
    targets = re.findall(r'href="#([^"]+)"', links)
    assert "Response-profile" in targets
    for t in targets:
        assert f'id="{t}"' in text


def test_manifest_records_every_report(built):
    root, _ = built
    manifest = json.loads((root / "reports/manifest.json").read_text())
    assert [r["slug"] for r in manifest["reports"]] == [
        "site-ashford-vale",
        "site-brackenmoor",
        "national",
    ]
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in manifest["reports"])
    assert len(manifest["input_sha256"]) == 64
    assert manifest["packages"]["pandas"]


def test_national_report_is_handed_out_first(built):
    # The longest report first: started last, it would run alone at the end.
    root, _ = built
    manifest = json.loads((root / "reports" / "manifest.json").read_text())
    national = next(r for r in manifest["reports"] if r["kind"] == "national")
    assert national["worker_report"] == 1


def test_failing_report_is_marked_and_leaves_no_file(built, tmp_path):
    root, _ = built
    broken = tmp_path / "proj"
    shutil.copytree(root, broken)
    nb = json.loads((broken / "notebooks/national_report.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "raise RuntimeError('deliberate failure')"})  # fmt: skip
    (broken / "notebooks/national_report.ipynb").write_text(json.dumps(nb))
    (broken / "reports/national.html").unlink()
    results = report_build.build(project_paths(broken), jobs=2, progress=False)
    status = {r.slug: r.status for r in results}
    assert status == {"site-ashford-vale": "ok", "site-brackenmoor": "ok", "national": "failed"}
    assert not (broken / "reports/national.html").exists()
    assert not list((broken / "reports").glob("*.tmp"))
    index = (broken / "reports/index.html").read_text()
    assert "FAILED" in index and "deliberate failure" in index
    assert main(["--root", str(broken), "build", "--no-progress"]) == 1


def test_site_names_are_escaped_in_the_index():
    res = tasks.ReportResult(name="<script>x</script>", slug="s", kind="site", status="ok",
                               seconds=1.0, html="s.html")  # fmt: skip
    page = index.index_html([res], {"input_sha256": "0" * 64, "version": "0", "started_utc": "t"})
    assert "<script>x" not in page and "&lt;script&gt;x" in page


#: A site name holding a broken formula, HTML, a URL and a line that reads as a heading.
HOSTILE = "$\\frac{1}{$ <b>x</b> https://evil.example\n# injected"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Aggregated with a reworded codebook copy (agree4 labels, a profession's short
    name) and one site named :data:`HOSTILE`; built without ``--codebook``."""
    import pandas as pd

    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    codebook = root / "my_codebook.yaml"
    text = (ROOT / "src/hsc_research/instrument/hsc2019.yaml").read_text(encoding="utf-8")
    for old, new in [("label: Strongly disagree}", "label: Disagree completely}"),
                     ("label: Strongly agree}", "label: Agree completely}"),
                     ("short: Hospital discharge,", "short: Discharge team,")]:  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    codebook.write_text(text, encoding="utf-8")
    cb = ["--root", str(root), "--codebook", str(codebook)]
    main([*cb, "synth", "--sites", "2", "--respondents", "40", "--seed", "11"])
    register = root / "data/raw/sites.csv"
    sites = pd.read_csv(register, dtype=str)
    sites.loc[sites["site_id"] == "brackenmoor", "site_name"] = HOSTILE
    sites.to_csv(register, index=False)
    assert main([*cb, "clean"]) == 0
    assert main([*cb, "aggregate"]) == 0
    code = main(["--root", str(root), "build", "--jobs", "2", "--no-progress"])
    return root, code


def test_reworded_codebook_builds_every_report(hostile):
    root, code = hostile
    manifest = json.loads((root / "reports/manifest.json").read_text())
    assert code == 0
    assert [r["status"] for r in manifest["reports"]] == ["ok", "ok", "ok"]


def test_reports_show_the_wording_of_the_aggregates_codebook(hostile):
    root, _ = hostile
    text = (root / "reports/site-ashford-vale.html").read_text()
    assert "ASC and Discharge team" in text  # profession short name, trust table
    assert "Disagree completely, Disagree, Agree, Agree completely" in text  # trust bars


def test_site_name_from_data_adds_no_heading(hostile):
    root, _ = hostile
    text = (root / "reports/site-brackenmoor.html").read_text()
    assert text.count("<h1") == 1


def test_url_in_site_name_is_not_a_link(hostile):
    root, _ = hostile
    for page in (root / "reports").glob("*.html"):
        assert 'href="https://evil' not in page.read_text(), page.name


def test_site_name_is_shown_as_its_literal_text(hostile):
    root, _ = hostile
    text = (root / "reports/site-brackenmoor.html").read_text()
    assert "$\\frac{1}{$ &lt;b&gt;x&lt;/b&gt; https://evil.example # injected: staff" in text
    assert "<b>x</b>" not in text


def test_site_name_with_a_formula_leaves_its_figures_built(hostile):
    root, _ = hostile
    for name in ("site-brackenmoor.html", "national.html"):
        assert "data:image/svg+xml;base64," in (root / "reports" / name).read_text(), name
