"""Serper.dev's Google payload: organic results and top stories (Serper documents no ads).

Reading order: top stories, then organic results (Serper gives no block positions).
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
    number,
    require_readable,
    results_list,
    text,
)

__all__ = ["is_serper", "parse_serper", "serper_error"]


def is_serper(doc: Any) -> bool:
    """Whether ``doc`` is a Serper search payload or a Serper error body."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("searchParameters"), dict):
        return True
    return set(doc) == {"message", "statusCode"}


def serper_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure a Serper body reports (``{"message": .., "statusCode": N}``), or None."""
    status = doc.get("statusCode")
    if not isinstance(status, int) or status < 400:
        return None
    message = text(doc.get("message")) or f"status {status}"
    if status in (401, 403):
        return FetchError(
            f"Serper rejected the key: {message}; check SERPER_API_KEY", kind=FailureKind.AUTH
        )
    if status == 429:
        return FetchError(
            f"Serper is rate limiting serptrack or the credits ran out: {message}",
            kind=FailureKind.HTTP_429,
        )
    return FetchError(
        f"Serper returned an error ({status}): {message}", kind=FailureKind.PROVIDER_ERROR
    )


def parse_serper(doc: Any) -> Snapshot:
    """Map one Serper result page to a snapshot (raises FetchError for an error body).

    A result page has an ``organic`` list (empty when nothing was found: Serper documents no
    other "no results" signal); any other JSON is a
    :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"Serper sent {json_type(doc)} instead of a result page object")
    error = serper_error(doc)
    if error is not None:
        raise error
    raw_organic = results_list(doc, "organic", "Serper")
    if raw_organic is None:
        raise no_result_page("Serper", "organic")
    items = []
    items += items_of(entries(doc.get("topStories")), Placement.NEWS, snippet="source")
    organic = entries(raw_organic)
    organic.sort(key=lambda r: number(r.get("position"), 10_000))
    organic_items = items_of(organic, Placement.ORGANIC)
    require_readable(raw_organic, organic_items, "Serper", "organic")
    items += organic_items
    params = mapping(doc.get("searchParameters"))
    return Snapshot(
        query=text(params.get("q")),
        results=items,
        engine="google",
        country=text(params.get("gl")) or None,
        language=text(params.get("hl")) or None,
        location=text(params.get("location")) or None,
        source="serper",
    )


register_json(JsonFormat("serper", is_serper, parse_serper))
