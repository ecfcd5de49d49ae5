"""The Google Custom Search JSON API: results of a configured search engine, 10 a page.

Closed to new customers; Google ends the service for existing ones on 2027-01-01.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import FetchError
from ..parsers.google_cse import google_cse_error, parse_google_cse
from ..snapshot import Snapshot
from ..vocabulary import Device, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["GoogleCseProvider"]

_PAGE = 10
_LAST_START = 91  # the API serves at most 100 results: start + num - 1 <= 100


@register
class GoogleCseProvider(HttpProvider):
    """Results from a Programmable Search Engine (``cx``), not google.com itself."""

    name = "google_cse"
    label = "Google Custom Search"
    description = "Google Custom Search JSON API: a configured engine's results (no ads)"
    key_env = ("GOOGLE_CSE_KEY", "GOOGLE_CSE_CX")
    placements = (Placement.ORGANIC,)
    devices = (Device.DESKTOP,)
    locations = False
    default_base_url = "https://www.googleapis.com"
    notes = (
        "closes on 2027-01-01 (already closed to new customers); results come from your cx "
        "engine, not google.com; at most 100 results; 100 free queries a day"
    )

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``GET /customsearch/v1?key=..&cx=..&q=..&start=N`` (``start`` is 1-based)."""
        start = 1 + (number - 1) * _PAGE
        if start > _LAST_START:
            return None
        if isinstance(previous, dict):
            queries = previous.get("queries")
            if not isinstance(queries, dict) or not queries.get("nextPage"):
                return None
        params = {
            "key": self.keys["GOOGLE_CSE_KEY"],
            "cx": self.keys["GOOGLE_CSE_CX"],
            "q": request.query,
            "gl": request.country,
            "hl": request.language,
            "num": _PAGE,
            "start": start,
        }
        return self.build_request(client, "GET", "/customsearch/v1", params=params)

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.google_cse.parse_google_cse`."""
        return parse_google_cse(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """Google's ``{"error": {"code", "message", "status"}}`` envelope."""
        return google_cse_error(doc) if isinstance(doc, dict) else None
