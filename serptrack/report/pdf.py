"""A report printed to PDF by headless Chromium, as the client's browser would print it.

The HTML report is opened from disk with every request that is not the file itself refused
(the report embeds what it needs; nothing is fetched), its charts are left to draw, and the
page is printed with the report's own ``@media print`` rules. Chromium is Debian's package (or
any Chromium or Chrome named by ``SERPTRACK_CHROMIUM``), driven by Playwright, which is an
optional dependency (``pip install 'serptrack[pdf]'``); nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ReportError

__all__ = ["LAUNCH_ARGS", "PAPERS", "Printed", "find_chromium", "print_pdf"]

#: paper sizes ``--paper`` accepts, as Chromium names them
PAPERS = {"a4": "A4", "letter": "Letter"}
#: the page width the print rules are laid out for (A4 at 96 dpi; Letter is 816)
_PRINT_WIDTH = {"a4": 794, "letter": 816}
_CHARTS_TIMEOUT_MS = 120_000
#: how headless Chromium is started: nothing in the background reaches the network
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PAGE = re.compile(rb"/Type\s*/Page[^s]")

# Tables wider than the printed page: a cell that cannot wrap would be cut on paper.
_CLIPPED_TABLES = """() => [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(t => t.id || t.className || 'table')"""


@dataclass(frozen=True)
class Printed:
    """What printing produced: the page count, and any table too wide for the page."""

    pages: int
    clipped: tuple[str, ...]


def find_chromium(environ: Mapping[str, str] | None = None) -> str:
    """The browser to print with: ``SERPTRACK_CHROMIUM``, else one on ``PATH``, else an error."""
    environ = os.environ if environ is None else environ
    named = environ.get("SERPTRACK_CHROMIUM", "").strip()
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise ReportError(
                f"SERPTRACK_CHROMIUM names {named!r}, which is not an executable file; "
                "point it at Chromium or Chrome, or unset it"
            )
        return named
    for name in _NAMES:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    raise ReportError(
        "--pdf needs headless Chromium and none was found: install it (Debian/Ubuntu: "
        "apt-get install chromium) or set SERPTRACK_CHROMIUM to its path"
    )


def print_pdf(html: Path, pdf: Path, *, executable: str, paper: str = "a4") -> Printed:
    """Open ``html`` in headless Chromium, wait for its charts, print it to ``pdf``."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError(
            "--pdf drives Chromium through Playwright, which is not installed: "
            "pip install 'serptrack[pdf]' (no browser is downloaded)"
        ) from None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            try:
                return _print(browser, html, pdf, paper)
            finally:
                browser.close()
    except PlaywrightError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
        raise ReportError(f"Chromium could not print {html.name} ({executable}): {first}") from None


def _print(browser: Any, html: Path, pdf: Path, paper: str) -> Printed:
    page = browser.new_page(viewport={"width": _PRINT_WIDTH[paper], "height": 1123})
    page.route("**/*", _only_the_file)
    page.goto(html.resolve().as_uri())
    page.wait_for_selector("html[data-charts=done]", state="attached", timeout=_CHARTS_TIMEOUT_MS)
    page.emulate_media(media="print")
    clipped = tuple(page.evaluate(_CLIPPED_TABLES))
    data = page.pdf(format=PAPERS[paper], print_background=True, prefer_css_page_size=True)
    pdf.write_bytes(data)
    return Printed(pages=len(_PAGE.findall(data)), clipped=clipped)


def _only_the_file(route: Any) -> None:
    url = route.request.url
    if url.startswith(("file://", "data:")):
        route.continue_()
    else:
        route.abort()
