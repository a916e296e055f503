"""The built reports in a real browser (headless Chromium), with the network blocked.

Skipped with a message only where Chromium is absent outside CI; ``.ci/run`` installs
Debian's ``chromium`` so that CI always runs it.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import ROOT

from hsc_research.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is required in CI; .ci/run installs Debian's chromium package")
    pytest.skip(
        "Chromium not installed (apt-get install chromium); browser test skipped",
        allow_module_level=True,
    )

playwright = pytest.importorskip("playwright.sync_api")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for args in (["synth", "--sites", "2", "--respondents", "60", "--seed", "4"], ["clean"],
                 ["build", "--jobs", "2", "--no-progress"]):  # fmt: skip
        assert main(["--root", str(root), *args]) == 0
    return root / "reports"


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.mark.parametrize("page_name", ["index.html", "national.html", "site-ashford-vale.html"])
def test_page_works_offline(site, browser, page_name, tmp_path):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    external, errors = [], []
    # Any request that is not a local file is recorded and refused.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
               else (external.append(route.request.url), route.abort()))  # fmt: skip
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site / page_name).as_uri(), wait_until="load")
    page.screenshot(path=str(tmp_path / f"{page_name}.png"), full_page=True)
    assert external == [], external
    assert errors == [], errors
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])"
    )
    if page_name != "index.html":
        assert len(images) >= 5
    for complete, width, height, alt in images:
        assert complete and width > 0 and height > 0 and alt
    broken = page.evaluate(
        """Array.from(document.querySelectorAll('nav.report-toc a'))
             .filter(a => !document.getElementById(decodeURIComponent(a.hash.slice(1))))
             .map(a => a.hash)"""
    )
    assert broken == []
    if page_name != "index.html":
        assert page.evaluate("document.querySelectorAll('nav.report-toc a').length") >= 8
    links = page.evaluate(
        "Array.from(document.querySelectorAll('a[href$=\".html\"]')).map(a => a.href)"
    )
    for link in links:
        assert link.startswith("file:") and (site / link.rsplit("/", 1)[1]).is_file()
    assert (tmp_path / f"{page_name}.png").stat().st_size > 10_000
    context.close()
