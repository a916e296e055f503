"""PDF copies of the reports, printed by the system Chromium through Playwright."""

from __future__ import annotations

import contextlib
import html
import os
import shutil
import tempfile
from pathlib import Path

from hsc_research.errors import HscError
from hsc_research.report.tasks import ReportResult
from hsc_research.report.worker import error_line

#: Chromium flags for printing: nothing is fetched or synced, no GPU is needed.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")  # fmt: skip


class PdfError(HscError):
    """PDFs could not be written; the HTML reports, index and manifest were."""

    def __init__(self, message: str, results: list[ReportResult]) -> None:
        super().__init__(message)
        self.results = results


def find_chromium() -> str | None:
    """Path of the system Chromium (``HSC_CHROMIUM`` overrides), or ``None``."""
    given = os.environ.get("HSC_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pdf_unavailable() -> str | None:
    """Why PDFs cannot be written here (one line naming what to install), or ``None``."""
    if find_chromium() is None:
        return ("--pdf needs the system Chromium, which is not installed: install it "
                "(Debian/Ubuntu: apt-get install chromium) or set HSC_CHROMIUM to its path; "
                "the HTML reports were built")  # fmt: skip
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("--pdf needs the Python package playwright, which is not installed: run "
                "`pip install playwright` (no browser download needed); the HTML reports were built")  # fmt: skip
    return None


def footer_html(name: str, wave: int | str) -> str:
    """Running footer of every PDF page: report name, survey wave, page n of m.

    Chromium fills the ``pageNumber`` and ``totalPages`` spans; the name comes from the
    data, so it is escaped.

    Examples
    --------
    >>> "A &amp; B &lt;i&gt;" in footer_html("A & B <i>", 2019)
    True
    """
    return (
        '<div style="font-size:9pt;font-family:sans-serif;width:100%;margin:0 12mm;'
        'display:flex;justify-content:space-between;color:#222">'
        f"<span>{html.escape(str(name))}, HSC interface survey, {html.escape(str(wave))} wave</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )


def write_pdfs(out_dir: Path, results: list[ReportResult], wave: int) -> str | None:
    """Write each built report in ``results`` as ``<slug>.pdf`` beside its HTML.

    One headless system Chromium (fresh profile, every request that is not a local file
    refused) prints every report with the reports' print styles: sections start on a new
    page, figures and tables are not split, and each page has a running footer
    (:func:`footer_html`). Each PDF is written under a temporary name and renamed.
    Sets ``pdf`` on each result whose PDF was written.

    Parameters
    ----------
    out_dir
        The ``reports/`` folder holding the HTML reports.
    results
        Reports of this build; those with status "ok" are printed.
    wave
        Survey wave the reports describe (shown in the footer).

    Returns
    -------
    str or None
        ``None`` when every PDF was written, else a one-line error naming what to install
        or which PDF failed.
    """
    if reason := pdf_unavailable():
        return reason
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    failures = []
    try:
        with sync_playwright() as pw:
            # launch() gives each run a fresh temporary profile, removed on close.
            browser = pw.chromium.launch(executable_path=find_chromium(), headless=True,
                                         args=list(CHROMIUM_FLAGS))  # fmt: skip
            try:
                context = browser.new_context(offline=True)
                context.route("**/*", _local_only)
                for r in results:
                    if r.status != "ok" or not r.html:
                        continue
                    r.pdf = None
                    target = out_dir / f"{r.slug}.pdf"
                    try:
                        _print_pdf(context, out_dir / r.html, target, footer_html(r.name, wave))
                        r.pdf = target.name
                    except (PlaywrightError, OSError) as exc:
                        failures.append(f"{target}: {error_line(exc)}")
            finally:
                browser.close()
    except PlaywrightError as exc:  # Chromium would not start
        return (f"--pdf: Chromium ({find_chromium()}) did not start ({error_line(exc)}); "
                "reinstall it or set HSC_CHROMIUM to a working Chromium; the HTML reports were built")  # fmt: skip
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{failures[0]}{more}; the HTML reports were built, run the build again"
    return None


def _local_only(route) -> None:
    """Reports are self-contained: anything but a local file or inline data is refused."""
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def _print_pdf(context, source: Path, target: Path, footer: str) -> None:
    page = context.new_page()
    try:
        page.goto(source.as_uri(), wait_until="load")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            page.pdf(
                path=tmp, format="A4", print_background=True, display_header_footer=True,
                header_template="<span></span>", footer_template=footer,
                margin={"top": "15mm", "bottom": "18mm", "left": "12mm", "right": "12mm"},
                outline=True, tagged=True,
            )  # fmt: skip
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    finally:
        page.close()
