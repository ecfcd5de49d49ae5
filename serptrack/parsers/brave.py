"""The Brave Search API web payload: ``web.results`` in order (Brave's own index, no ads).

There is no rank field: the order of ``web.results`` is the rank, continued across pages by
:func:`~serptrack.parsers.payload.merge_pages` (which also drops the repeats that Brave's
overlapping pages can bring).
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError, ParseError
from ..snapshot import Snapshot
from ..vocabulary import FailureKind, Placement
from . import JsonFormat, register_json
from .payload import entries, items_of, mapping, text

__all__ = ["brave_error", "is_brave", "parse_brave"]


def is_brave(doc: Any) -> bool:
    """Whether ``doc`` is a Brave web search payload or a Brave error body."""
    if not isinstance(doc, dict):
        return False
    if doc.get("type") == "ErrorResponse":
        return True
    return doc.get("type") == "search" and isinstance(doc.get("query"), dict)


def brave_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure a Brave ``ErrorResponse`` reports, or None."""
    if doc.get("type") != "ErrorResponse":
        return None
    error = mapping(doc.get("error"))
    code = text(error.get("code")) or "UNKNOWN"
    detail = text(error.get("detail")) or code
    said = f"Brave refused the request ({code}: {detail})"
    if code.startswith("SUBSCRIPTION") or code in ("UNAUTHORIZED", "AUTHENTICATION_FAILED"):
        return FetchError(f"{said}; check BRAVE_API_KEY", kind=FailureKind.AUTH)
    if "CREDIT" in code or "QUOTA" in code:
        return FetchError(f"{said}; top up or upgrade the Brave plan", kind=FailureKind.QUOTA)
    if "RATE" in code:
        return FetchError(
            f"{said}; lower rate_limit in [providers.brave]", kind=FailureKind.HTTP_429
        )
    return FetchError(said, kind=FailureKind.PROVIDER_ERROR)


def parse_brave(doc: Any) -> Snapshot:
    """Map one Brave web search page to a snapshot (raises FetchError for an error body)."""
    if not isinstance(doc, dict):
        raise ParseError("a Brave payload must be a JSON object")
    error = brave_error(doc)
    if error is not None:
        raise error
    items = items_of(
        entries(mapping(doc.get("web")).get("results")),
        Placement.ORGANIC,
        url="url",
        snippet="description",
        strip_tags=True,
    )
    query = mapping(doc.get("query"))
    return Snapshot(
        query=text(query.get("original")),
        results=items,
        engine="brave",
        country=text(query.get("country")).lower() or None,
        source="brave",
    )


register_json(JsonFormat("brave", is_brave, parse_brave))
