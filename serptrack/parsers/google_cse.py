"""The Google Custom Search JSON API payload: ``items`` in order (no ads, no AI overview).

Results come from the configured search engine (``cx``), not from google.com. Rank is the
order of ``items``, continued across pages (``start`` is 1-based on the request side).
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..snapshot import Snapshot
from ..vocabulary import FailureKind, Placement
from . import BadResponseError, JsonFormat, register_json
from .payload import (
    entries,
    items_of,
    json_type,
    mapping,
    no_result_page,
    require_readable,
    results_list,
    text,
)

__all__ = ["google_cse_error", "is_google_cse", "parse_google_cse"]


def is_google_cse(doc: Any) -> bool:
    """Whether ``doc`` is a Custom Search payload or a Google API error envelope."""
    if not isinstance(doc, dict):
        return False
    if doc.get("kind") == "customsearch#search":
        return True
    error = doc.get("error")
    return set(doc) == {"error"} and isinstance(error, dict) and isinstance(error.get("code"), int)


def google_cse_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure a Google API error envelope reports, or None."""
    error = doc.get("error")
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    message = text(error.get("message")) or str(code)
    status = text(error.get("status"))
    said = f"Google Custom Search refused the request ({code} {status}: {message})"
    reasons = " ".join(text(e.get("reason")) for e in entries(error.get("errors")))
    if "key" in message.lower() or "keyInvalid" in reasons or status == "PERMISSION_DENIED":
        return FetchError(f"{said}; check GOOGLE_CSE_KEY and GOOGLE_CSE_CX", kind=FailureKind.AUTH)
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        return FetchError(
            f"{said}; the daily quota is spent: wait for it to reset or raise it",
            kind=FailureKind.QUOTA,
        )
    return FetchError(said, kind=FailureKind.PROVIDER_ERROR)


def parse_google_cse(doc: Any) -> Snapshot:
    """Map one Custom Search page to a snapshot (raises FetchError for an error envelope).

    A result page has an ``items`` list, or no ``items`` with
    ``searchInformation.totalResults`` ``"0"`` (how the API says it found nothing); any
    other JSON is a :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(
            f"Google Custom Search sent {json_type(doc)} instead of a result page object"
        )
    error = google_cse_error(doc)
    if error is not None:
        raise error
    raw_items = results_list(doc, "items", "Google Custom Search")
    total = mapping(doc.get("searchInformation")).get("totalResults")
    if raw_items is None and total not in ("0", 0):
        raise no_result_page("Google Custom Search", "items", 'searchInformation.totalResults "0"')
    items = items_of(entries(raw_items), Placement.ORGANIC)
    require_readable(raw_items, items, "Google Custom Search", "items")
    requests = entries(mapping(doc.get("queries")).get("request"))
    asked = requests[0] if requests else {}
    return Snapshot(
        query=text(asked.get("searchTerms")),
        results=items,
        engine="google",
        country=text(asked.get("gl")) or None,
        language=text(asked.get("hl")) or None,
        source="google_cse",
    )


register_json(JsonFormat("google_cse", is_google_cse, parse_google_cse))
