"""``build --pdf``: each report as PDF through the system Chromium, for the board pack.

Checked on the PDFs themselves (pypdf): page count, a section heading at the top of a
page, and the running footer on every page. Skipped with a message only where Chromium
is absent outside CI, like the browser test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import unicodedata

import pytest
from conftest import ROOT

from hsc_research.cli import main
from hsc_research.report import pdf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is required in CI; .ci/run installs Debian's chromium package")
    pytest.skip(
        "Chromium not installed (apt-get install chromium); PDF tests skipped",
        allow_module_level=True,
    )
# In CI the lock installs both: a missing one fails rather than skips.
if os.environ.get("CI"):
    import playwright.sync_api  # noqa: F401
    import pypdf
else:
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("playwright.sync_api")

PDFS = ["national.pdf", "site-ashford-vale.pdf", "site-brackenmoor.pdf"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for args in (["synth", "--sites", "2", "--respondents", "60", "--seed", "4"], ["clean"]):
        assert main(["--root", str(root), *args]) == 0
    code = main(["--root", str(root), "build", "--jobs", "2", "--no-progress", "--pdf"])
    return root, code


def _pages(path) -> list[str]:
    # NFKC: Chromium writes "ff" and "fi" as ligature glyphs, extracted as one character.
    return [unicodedata.normalize("NFKC", p.extract_text()) for p in pypdf.PdfReader(path).pages]


def _wave(root) -> int:
    return max(json.loads((root / "data/processed/aggregates/meta.json").read_text())["waves"])


def test_build_pdf_writes_each_report_as_pdf(project):
    root, code = project
    assert code == 0
    assert sorted(p.name for p in (root / "reports").glob("*.pdf")) == PDFS


def test_site_pdf_has_at_least_three_pages(project):
    root, _ = project
    assert len(_pages(root / "reports/site-ashford-vale.pdf")) >= 3


def test_every_page_has_the_running_footer(project):
    root, _ = project
    pages = _pages(root / "reports/site-ashford-vale.pdf")
    for number, text in enumerate(pages, start=1):
        assert f"Ashford Vale, HSC interface survey, {_wave(root)} wave" in text
        assert f"Page {number} of {len(pages)}" in text


def test_national_footer_names_the_national_report(project):
    root, _ = project
    first = _pages(root / "reports/national.pdf")[0]
    assert f"National report, HSC interface survey, {_wave(root)} wave" in first


def test_each_section_starts_a_new_page(project):
    root, _ = project
    html = (root / "reports/site-ashford-vale.html").read_text(encoding="utf-8")
    sections = re.findall(r'<li><a href="#[^"]+">([^<]+)</a></li>', html)
    assert "Gap analysis: this site against the rest of the sites" in sections
    firsts = [" ".join(text.split()) for text in _pages(root / "reports/site-ashford-vale.pdf")]
    for heading in sections:
        # The heading may wrap onto a second line; it is the first text of its page.
        assert any(page.startswith(heading) for page in firsts), heading


def test_pdf_holds_the_report_text(project):
    root, _ = project
    text = " ".join(" ".join(_pages(root / "reports/site-ashford-vale.pdf")).split())
    assert "Scorecard, Ashford Vale" in text
    assert "Questions to consider" in text


def test_index_links_each_pdf(project):
    root, _ = project
    index = (root / "reports/index.html").read_text(encoding="utf-8")
    for name in PDFS:
        assert f'<a href="{name}">PDF<span class="visually-hidden">' in index


def test_manifest_records_each_pdf(project):
    root, _ = project
    manifest = json.loads((root / "reports/manifest.json").read_text())
    assert manifest["parameters"]["pdf"] is True
    assert sorted(r["pdf"] for r in manifest["reports"]) == PDFS


def test_footer_escapes_text_from_the_data():
    footer = pdf.footer_html('<img src=x onerror="f()">', 2019)
    assert "<img" not in footer and "&lt;img src=x onerror=&quot;f()&quot;&gt;" in footer
    assert '<span class="pageNumber"></span> of <span class="totalPages"></span>' in footer


@pytest.fixture(scope="module")
def without_chromium(project, tmp_path_factory):
    """The built project built again with ``--pdf`` where no Chromium is installed."""
    root = tmp_path_factory.mktemp("nochromium") / "proj"
    shutil.copytree(project[0], root)
    saved = os.environ.get("HSC_CHROMIUM")
    os.environ["HSC_CHROMIUM"] = str(root / "no-such-chromium")
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            code = main(["--root", str(root), "build", "--jobs", "2", "--no-progress", "--pdf"])
    finally:
        if saved is None:
            del os.environ["HSC_CHROMIUM"]
        else:
            os.environ["HSC_CHROMIUM"] = saved
    return root, code, err.getvalue()


def test_missing_chromium_is_one_line_naming_what_to_install(without_chromium):
    _, code, err = without_chromium
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("hsc-research: error: --pdf needs the system Chromium")
    assert "apt-get install chromium" in lines[0]


def test_missing_chromium_still_builds_the_html_reports(without_chromium):
    root, _, _ = without_chromium
    assert sorted(p.name for p in (root / "reports").glob("*.html")) == [
        "index.html", "national.html", "site-ashford-vale.html", "site-brackenmoor.html",
    ]  # fmt: skip
    manifest = json.loads((root / "reports/manifest.json").read_text())
    assert {r["status"] for r in manifest["reports"]} == {"ok"}


def test_pdfs_of_earlier_reports_are_removed_when_none_is_written(without_chromium):
    root, _, _ = without_chromium
    assert list((root / "reports").glob("*.pdf")) == []
    assert ">PDF</th>" not in (root / "reports/index.html").read_text(encoding="utf-8")
