"""The Brave Search API web payload: ``web.results`` in order (Brave's own index, no ads).

There is no rank field: the order of ``web.results`` is the rank, continued across pages by
:func:`~serptrack.parsers.payload.merge_pages` (which also drops the repeats that Brave's
overlapping pages can bring).
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
    """Map one Brave web search page to a snapshot (raises FetchError for an error body).

    A result page has a ``web.results`` list, or no ``web`` at all when ``mixed.main`` (the
    page's ranked order) lists no web results: Brave leaves ``web`` out of an empty page. Any
    other JSON is a :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"Brave sent {json_type(doc)} instead of a result page object")
    error = brave_error(doc)
    if error is not None:
        raise error
    raw_results: list[Any] | None = None
    if "web" in doc:
        web = doc["web"]
        if not isinstance(web, dict):
            raise BadResponseError(
                f"Brave sent 'web' as {json_type(web)} instead of an object: not a result page"
            )
        raw_results = results_list(web, "results", "Brave")
        if raw_results is None:
            raise no_result_page("Brave", "web.results")
    elif not _empty(doc):
        raise no_result_page("Brave", "web.results", "a mixed.main list ranking no web result")
    items = items_of(
        entries(raw_results),
        Placement.ORGANIC,
        url="url",
        snippet="description",
        strip_tags=True,
    )
    require_readable(raw_results, items, "Brave", "web.results")
    query = mapping(doc.get("query"))
    return Snapshot(
        query=text(query.get("original")),
        results=items,
        engine="brave",
        country=text(query.get("country")).lower() or None,
        source="brave",
    )


def _empty(doc: dict[str, Any]) -> bool:
    """Whether a page without ``web`` says it has no web results: ``mixed.main`` is a list
    that ranks none (an empty page has ``"main": []``)."""
    main = mapping(doc.get("mixed")).get("main")
    return isinstance(main, list) and not any(
        isinstance(entry, dict) and entry.get("type") == "web" for entry in main
    )


register_json(JsonFormat("brave", is_brave, parse_brave))
