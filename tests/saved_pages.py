"""A folder of real saved result pages and what another project's tests assert of them.

Each folder under ``tests/fixtures/real/`` holds ``<page>.html.xz`` files, an ``ORIGIN.md``
and an ``expected.json`` keyed by page (each entry with the page's ``sha256`` and length in
``chars``). :class:`SavedPages` reads them once and makes the parametrised cases, marking the
expectations its ``known`` names as strict xfails (one that starts to hold then fails until
it is taken off the list).
"""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from serptrack.snapshot import Item, Snapshot

REAL = Path(__file__).parent / "fixtures" / "real"


class SavedPages:
    """The pages of one folder of ``tests/fixtures/real/``, read by ``parse``."""

    def __init__(
        self,
        folder: str,
        parse: Callable[[bytes], Snapshot],
        known: Mapping[tuple[str, str], str],
    ) -> None:
        self.folder = REAL / folder
        self.expected: dict[str, dict[str, Any]] = json.loads(
            (self.folder / "expected.json").read_text(encoding="utf-8")
        )
        self.known = known
        self.page_bytes = cache(self._page_bytes)
        self.snapshot = cache(lambda page: parse(self.page_bytes(page)))

    def _page_bytes(self, page: str) -> bytes:
        return lzma.decompress((self.folder / f"{page}.html.xz").read_bytes())

    def placed(self, page: str, placement: str) -> list[Item]:
        """The page's results of one placement, in page order."""
        return [item for item in self.snapshot(page).results if item.placement == placement]

    def cases(self, name: str, *, only: str | None = None) -> list[ParameterSet]:
        """One case a page (those whose entry has ``only``, when given) for expectation
        ``name``, a strict xfail where ``known`` gives a reason."""
        out = []
        for page, entry in self.expected.items():
            if only is not None and only not in entry:
                continue
            reason = self.known.get((page, name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(page, id=f"{page}-{name}", marks=marks))
        return out

    def check_saved(self) -> None:
        """Every page is the one saved: its digest and its length in characters."""
        for page, entry in self.expected.items():
            data = self.page_bytes(page)
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], page
            assert len(data.decode("utf-8")) == entry["chars"], page
