"""ValueSERP (Traject Data): Google organic results (``position_overall``) and ads."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import FetchError
from ..parsers.valueserp import parse_valueserp, valueserp_error
from ..snapshot import Snapshot
from ..vocabulary import Device, Placement
from . import register
from .base import SearchRequest
from .http import HttpProvider

__all__ = ["ValueSerpProvider"]


@register
class ValueSerpProvider(HttpProvider):
    """Google result pages from api.valueserp.com, with ads and their top/bottom block."""

    name = "valueserp"
    label = "ValueSERP"
    description = "Google via ValueSERP: organic results and ads (top/bottom), top stories"
    key_env = ("VALUESERP_API_KEY",)
    placements = (Placement.ORGANIC, Placement.PAID, Placement.NEWS)
    devices = (Device.DESKTOP, Device.MOBILE, Device.TABLET)
    default_base_url = "https://api.valueserp.com"
    notes = "10 results a page (paginates with page); non-200 answers are not charged"

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``GET /search?api_key=..&q=..&page=N`` with gl, hl, device and location."""
        params = {
            "api_key": self.keys["VALUESERP_API_KEY"],
            "q": request.query,
            "gl": request.country,
            "hl": request.language,
            "device": request.device,
            "location": request.location,
            "page": number,
        }
        return self.build_request(client, "GET", "/search", params=params)

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page with :func:`~serptrack.parsers.valueserp.parse_valueserp`."""
        return parse_valueserp(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """``request_info.success: false`` in the body."""
        return valueserp_error(doc) if isinstance(doc, dict) else None
