"""SerpApi (``engine=google``): organic results, ads with their block, AI overview sources and
top stories, paginated with ``start`` (Google serves 10 results a page).

A deferred AI overview (``ai_overview.page_token``) is fetched right after the first page with
``engine=google_ai_overview`` (serpapi.com/google-ai-overview-api): one more request, one more
search credit, one more raw page. Its failure leaves a gap on the check, never a failed check.

A keyword with ``engine = "google_ai_mode"`` asks ``engine=google_ai_mode``
(serpapi.com/google-ai-mode-api) instead: one request, one search credit, no pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ..errors import FetchError
from ..parsers.serpapi import (
    AI_MODE_ENGINE,
    OVERVIEW_ENGINE,
    deferred_overview,
    overview_gap,
    parse_serpapi,
    serpapi_error,
)
from ..snapshot import Gap, Snapshot
from ..vocabulary import Device, FailureKind, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["SerpApiProvider"]

_PAGE = 10


@register
class SerpApiProvider(HttpProvider):
    """Google result pages from serpapi.com, with ads and their top/bottom block."""

    name = "serpapi"
    label = "SerpApi"
    description = (
        "Google via SerpApi: organic, ads (top/bottom), AI overview sources, top stories; "
        "AI mode sources"
    )
    key_env = ("SERPAPI_API_KEY",)
    placements = (
        Placement.ORGANIC,
        Placement.PAID,
        Placement.AI_OVERVIEW,
        Placement.NEWS,
        Placement.FEATURED_SNIPPET,
        Placement.AI_MODE,
    )
    engines = ("google", AI_MODE_ENGINE)
    devices = (Device.DESKTOP, Device.MOBILE, Device.TABLET)
    default_base_url = "https://serpapi.com"
    notes = "10 results a page (paginates with start); HTTP 429 also means the searches ran out"

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """The request of the keyword's engine: a Google result page, or the AI-mode answer."""
        if request.engine == AI_MODE_ENGINE:
            return self._ai_mode_request(client, request) if previous is None else None
        return self._search_request(client, request, number, previous)

    def _search_request(
        self, client: httpx.AsyncClient, request: SearchRequest, number: int, previous: Any
    ) -> httpx.Request | None:
        """``GET /search.json?engine=google&q=..&start=..`` (``start`` from the last page's next link)."""
        start: int | None = 0
        if previous is not None:
            start = _next_start(previous, number)
            if start is None:
                return None
        params = {
            "engine": "google",
            "q": request.query,
            "gl": request.country,
            "hl": request.language,
            "device": request.device,
            "location": request.location,
            "start": start or None,
            "api_key": self.keys["SERPAPI_API_KEY"],
        }
        return self.build_request(client, "GET", "/search.json", params=params)

    def _ai_mode_request(self, client: httpx.AsyncClient, request: SearchRequest) -> httpx.Request:
        """``GET /search.json?engine=google_ai_mode&q=..``: the whole answer at once (AI mode
        has no pages, so ``depth`` does not apply)."""
        params = {
            "engine": AI_MODE_ENGINE,
            "q": request.query,
            "gl": request.country,
            "hl": request.language,
            "device": request.device,
            "location": request.location,
            "api_key": self.keys["SERPAPI_API_KEY"],
        }
        return self.build_request(client, "GET", "/search.json", params=params)

    def follow_up_request(
        self, client: httpx.AsyncClient, request: SearchRequest, doc: Any
    ) -> httpx.Request | None:
        """``GET /search.json?engine=google_ai_overview&page_token=..`` for a deferred AI
        overview (the same key; the token carries the query)."""
        token = deferred_overview(doc)
        if token is None:
            return None
        params = {
            "engine": OVERVIEW_ENGINE,
            "page_token": token,
            "api_key": self.keys["SERPAPI_API_KEY"],
        }
        return self.build_request(client, "GET", "/search.json", params=params)

    def follow_up_gap(self, error: FetchError) -> Gap:
        """The AI overview is unknown: why its request failed."""
        return overview_gap(f"its request failed: {error}", error.kind)

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.serpapi.parse_serpapi`."""
        return parse_serpapi(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """SerpApi's ``error`` / ``search_metadata.status`` verdict."""
        return serpapi_error(doc) if isinstance(doc, dict) else None

    def retryable(self, status: int, doc: Any) -> bool:
        """429 is retried unless it says the searches ran out (no wait will help)."""
        if status == 429 and "run out" in self.error_message(doc).lower():
            return False
        return super().retryable(status, doc)

    def http_error(self, status: int, doc: Any) -> FetchError:
        """A 429 that means the plan's searches ran out is a quota failure."""
        message = self.error_message(doc)
        if status == 429 and "run out" in message.lower():
            return FetchError(
                f"SerpApi: {message} (HTTP 429); upgrade the plan or wait for it to renew",
                kind=FailureKind.QUOTA,
            )
        return super().http_error(status, doc)


def _next_start(previous: Any, number: int) -> int | None:
    """The ``start`` of the next page, from ``serpapi_pagination.next``; None at the last page."""
    pagination = previous.get("serpapi_pagination") if isinstance(previous, dict) else None
    if not isinstance(pagination, dict) or not pagination.get("next"):
        return None
    values = parse_qs(urlsplit(str(pagination["next"])).query).get("start")
    if values and values[0].isdigit():
        return int(values[0])
    return (number - 1) * _PAGE
