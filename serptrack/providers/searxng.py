"""A self-hosted SearXNG instance's JSON API: merged meta-search results, no key."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ..errors import FetchError
from ..parsers.searxng import parse_searxng, searxng_error
from ..snapshot import Snapshot
from ..vocabulary import Device, FailureKind, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["SearxngProvider"]

#: serptrack engine names that SearXNG engines share
_ENGINES = {"google": "google", "bing": "bing", "duckduckgo": "duckduckgo", "brave": "brave"}


@register
class SearxngProvider(HttpProvider):
    """Results from your own SearXNG instance (``base_url`` is required)."""

    name = "searxng"
    label = "SearXNG"
    description = "a self-hosted SearXNG instance (JSON API): merged meta-search ranks, no ads"
    placements = (Placement.ORGANIC,)
    engines = ("searxng", "google", "bing", "duckduckgo", "brave")
    devices = (Device.DESKTOP,)
    locations = False
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {
        **HttpProvider.settings_types,
        "engines": str,
        "categories": str,
    }
    required_settings = ("base_url",)
    notes = (
        "needs no key; set base_url in [providers.searxng] and enable json in the instance's "
        "search.formats; ranks are SearXNG's merged ranks, not Google positions"
    )

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``GET /search?q=..&format=json&pageno=N`` with language, engines and categories."""
        language = request.language
        if language and request.country:
            language = f"{language}-{request.country.upper()}"
        engines = self.settings.get("engines") or _ENGINES.get(request.engine)
        params = {
            "q": request.query,
            "format": "json",
            "pageno": number,
            "language": language,
            "engines": engines,
            "categories": self.settings.get("categories") or ("general" if not engines else None),
        }
        return self.build_request(client, "GET", "/search", params=params)

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.searxng.parse_searxng`."""
        return parse_searxng(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """An empty page whose engines all failed."""
        return searxng_error(doc) if isinstance(doc, dict) else None

    def http_error(self, status: int, doc: Any) -> FetchError:
        """403 and 429 come from the instance's own settings; say which to change."""
        if status == 403:
            return FetchError(
                "SearXNG refused the JSON format (HTTP 403): add json to search.formats in the "
                "instance's settings.yml",
                kind=FailureKind.AUTH,
            )
        if status == 429:
            return FetchError(
                "SearXNG's bot limiter blocked serptrack (HTTP 429): set server.limiter: false "
                "in the instance's settings.yml (or allow this machine's address)",
                kind=FailureKind.HTTP_429,
            )
        return super().http_error(status, doc)
