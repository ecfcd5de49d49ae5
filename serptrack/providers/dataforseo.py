"""DataForSEO Google Organic Live Advanced: organic, paid (top/bottom inferred), AI overview
sources and top stories, in one call whose ``depth`` asks DataForSEO to paginate.

A keyword with ``engine = "google_ai_mode"`` asks the Google AI Mode Live Advanced endpoint
instead: the same task without ``depth`` (the endpoint refuses it: an answer has no pages)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import FetchError
from ..parsers.dataforseo import dataforseo_error, parse_dataforseo
from ..parsers.payload import AI_MODE_ENGINE
from ..snapshot import Snapshot
from ..vocabulary import Device, FailureKind, Placement
from . import register
from .base import SearchRequest, SettingError
from .http import HttpProvider, basic_auth

__all__ = ["COUNTRY_CODES", "DataForSeoProvider"]

#: ISO 3166-1 numeric codes; a DataForSEO country location_code is 2000 + this number
COUNTRY_CODES: dict[str, int] = {
    "ae": 784, "ar": 32, "at": 40, "au": 36, "be": 56, "bg": 100, "br": 76, "ca": 124,
    "ch": 756, "cl": 152, "cn": 156, "co": 170, "cz": 203, "de": 276, "dk": 208, "eg": 818,
    "es": 724, "fi": 246, "fr": 250, "gb": 826, "gr": 300, "hk": 344, "hr": 191, "hu": 348,
    "id": 360, "ie": 372, "il": 376, "in": 356, "it": 380, "jp": 392, "ke": 404, "kr": 410,
    "lu": 442, "mx": 484, "my": 458, "ng": 566, "nl": 528, "no": 578, "nz": 554, "pe": 604,
    "ph": 608, "pk": 586, "pl": 616, "pt": 620, "ro": 642, "sa": 682, "se": 752, "sg": 702,
    "si": 705, "sk": 703, "th": 764, "tr": 792, "tw": 158, "ua": 804, "us": 840, "vn": 704,
    "za": 710,
}  # fmt: skip

_MAX_DEPTH = 200  # the Live endpoint's limit since September 2025
#: the task parameter that waits for an AI overview Google loads after the page (billed extra)
_LOAD_ASYNC = "load_async_ai_overview"
#: each engine's SERP API endpoint, ``/v3/serp/google/<endpoint>/live/advanced``
_ENDPOINTS = {"google": "organic", AI_MODE_ENGINE: "ai_mode"}


@register
class DataForSeoProvider(HttpProvider):
    """Google result pages from DataForSEO's Live Advanced endpoint, paid items included."""

    name = "dataforseo"
    label = "DataForSEO"
    description = (
        "Google via DataForSEO: organic, paid (top/bottom), AI overview sources, top stories; "
        "AI mode sources"
    )
    key_env = ("DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD")
    placements = (
        Placement.ORGANIC,
        Placement.PAID,
        Placement.AI_OVERVIEW,
        Placement.NEWS,
        Placement.FEATURED_SNIPPET,
        Placement.AI_MODE,
    )
    engines = ("google", AI_MODE_ENGINE)
    default_base_url = "https://api.dataforseo.com"
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {
        **HttpProvider.settings_types,
        "location_code": int,
        _LOAD_ASYNC: bool,
    }
    notes = (
        "one call per check (depth up to 200, billed per 10 results); a country maps to its "
        "location_code, a keyword's location to location_name"
    )

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Also check ``location_code`` (a DataForSEO location, e.g. 2840 for the US) and
        ``load_async_ai_overview`` (true or false)."""
        rest = {k: v for k, v in settings.items() if k != _LOAD_ASYNC}
        resolved = super().check_settings(rest, base_dir)
        if "location_code" in resolved and resolved["location_code"] <= 0:
            raise SettingError("location_code must be a DataForSEO location code, e.g. 2840")
        if _LOAD_ASYNC in settings:
            if not isinstance(settings[_LOAD_ASYNC], bool):
                raise SettingError(f"{_LOAD_ASYNC} must be true or false")
            resolved[_LOAD_ASYNC] = settings[_LOAD_ASYNC]
        return resolved

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``POST /v3/serp/google/<organic|ai_mode>/live/advanced`` with one task; no second page."""
        if previous is not None:
            return None
        task: dict[str, Any] = {
            "keyword": request.query,
            "language_code": request.language or "en",
            "device": Device.MOBILE if request.device == Device.MOBILE else Device.DESKTOP,
        }
        endpoint = _ENDPOINTS.get(request.engine, "organic")
        if endpoint == "organic":
            task["depth"] = min(max(request.depth, 10), _MAX_DEPTH)
            if self.settings.get(_LOAD_ASYNC):
                task[_LOAD_ASYNC] = True
        task.update(self._location(request))
        headers = {
            "Authorization": basic_auth(
                self.keys["DATAFORSEO_LOGIN"], self.keys["DATAFORSEO_PASSWORD"]
            )
        }
        return self.build_request(
            client,
            "POST",
            f"/v3/serp/google/{endpoint}/live/advanced",
            json_body=[task],
            headers=headers,
        )

    def _location(self, request: SearchRequest) -> dict[str, Any]:
        if request.location:
            return {"location_name": request.location}
        if "location_code" in self.settings:
            return {"location_code": int(self.settings["location_code"])}
        country = (request.country or "us").lower()
        country = "gb" if country == "uk" else country
        if country not in COUNTRY_CODES:
            raise FetchError(
                f"DataForSEO needs a location for country {country!r}: set location (e.g. "
                f'"Vienna,Austria") on the keyword or location_code in [providers.dataforseo]',
                kind=FailureKind.UNSUPPORTED,
            )
        return {"location_code": 2000 + COUNTRY_CODES[country]}

    def parse_page(self, doc: Any) -> Snapshot:
        """Map the envelope with :func:`~serptrack.parsers.dataforseo.parse_dataforseo`."""
        snapshot = parse_dataforseo(doc)
        return snapshot

    def doc_error(self, doc: Any) -> FetchError | None:
        """The ``status_code`` verdict at the top level and in the task."""
        return dataforseo_error(doc) if isinstance(doc, dict) else None

    def secrets(self) -> list[str]:
        """The login, the password and the Basic credentials made of them."""
        found = super().secrets()
        if len(found) == 2:
            found.append(basic_auth(*found).removeprefix("Basic "))
        return found

    def key_hint(self) -> str:
        """DataForSEO's API login and password (not the dashboard's)."""
        return (
            "DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (the API credentials, not the website login)"
        )
