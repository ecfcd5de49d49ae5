"""The Brave Search API: Brave's own web index (no ads), ranked by order, paged by ``offset``."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import FetchError
from ..parsers.brave import brave_error, parse_brave
from ..snapshot import Snapshot
from ..vocabulary import Device, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["BraveProvider"]

_MAX_COUNT = 20
_MAX_OFFSET = 9


@register
class BraveProvider(HttpProvider):
    """Web results from api.search.brave.com (its own index, not Google's)."""

    name = "brave"
    label = "Brave Search"
    description = "Brave's own web index via the Brave Search API (no ads)"
    key_env = ("BRAVE_API_KEY",)
    placements = (Placement.ORGANIC,)
    engines = ("brave",)
    devices = (Device.DESKTOP,)
    locations = False
    default_base_url = "https://api.search.brave.com"
    notes = (
        "desktop only, no city targeting; up to 20 results a page, 10 pages; honours the "
        "X-RateLimit-* headers (the free plan allows 1 request per second)"
    )

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``GET /res/v1/web/search?q=..&count=..&offset=N`` (offset counts pages)."""
        offset = number - 1
        if offset > _MAX_OFFSET:
            return None
        if isinstance(previous, dict):
            query = previous.get("query")
            if isinstance(query, dict) and query.get("more_results_available") is False:
                return None
        params = {
            "q": request.query,
            "country": request.country.upper() if request.country else None,
            "search_lang": request.language,
            "count": min(_MAX_COUNT, max(1, request.depth)),
            "offset": offset or None,
        }
        headers = {
            "X-Subscription-Token": self.keys["BRAVE_API_KEY"],
            "Accept": "application/json",
        }
        return self.build_request(
            client, "GET", "/res/v1/web/search", params=params, headers=headers
        )

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.brave.parse_brave`."""
        return parse_brave(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """Brave's ``ErrorResponse`` body."""
        return brave_error(doc) if isinstance(doc, dict) else None
