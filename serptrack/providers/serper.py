"""Serper.dev: Google organic results and top stories (POST JSON, ``X-API-KEY``, ``page``)."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import FetchError
from ..parsers.serper import parse_serper, serper_error
from ..snapshot import Snapshot
from ..vocabulary import Device, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["SerperProvider"]


@register
class SerperProvider(HttpProvider):
    """Google result pages from google.serper.dev (no ads documented)."""

    name = "serper"
    label = "Serper"
    description = "Google via Serper.dev: organic results and top stories (no ads)"
    key_env = ("SERPER_API_KEY",)
    placements = (Placement.ORGANIC, Placement.NEWS)
    devices = (Device.DESKTOP,)
    default_base_url = "https://google.serper.dev"
    notes = "desktop only; 10 results a page (paginates with page)"

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``POST /search`` with ``{"q", "gl", "hl", "location", "page", "num"}``."""
        body: dict[str, Any] = {"q": request.query, "page": number, "num": 10}
        for key, value in (
            ("gl", request.country),
            ("hl", request.language),
            ("location", request.location),
        ):
            if value:
                body[key] = value
        headers = {"X-API-KEY": self.keys["SERPER_API_KEY"]}
        return self.build_request(client, "POST", "/search", json_body=body, headers=headers)

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.serper.parse_serper`."""
        return parse_serper(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """Serper's ``{"message", "statusCode"}`` error body."""
        return serper_error(doc) if isinstance(doc, dict) else None
