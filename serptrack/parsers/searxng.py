"""A SearXNG instance's JSON payload: ``results`` in order (merged meta-ranks, no ads).

SearXNG answers HTTP 200 with an empty ``results`` list when every engine failed; the
failures are in ``unresponsive_engines``. That is a failed check, not "nothing ranks".
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
    no_result_page,
    require_readable,
    results_list,
    text,
)

__all__ = ["is_searxng", "parse_searxng", "searxng_error"]


def is_searxng(doc: Any) -> bool:
    """Whether ``doc`` is a SearXNG search payload."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("results"), list)
        and "unresponsive_engines" in doc
        and "query" in doc
    )


def searxng_error(doc: dict[str, Any]) -> FetchError | None:
    """A failure when no result came back and engines say why, else None."""
    if doc.get("results"):
        return None
    failures = []
    engines = doc.get("unresponsive_engines")
    for entry in engines if isinstance(engines, list) else []:
        if isinstance(entry, list | tuple) and entry:
            name = text(entry[0])
            reason = text(entry[1]) if len(entry) > 1 else ""
            failures.append(f"{name} ({reason})" if reason else name)
    if not failures:
        return None
    return FetchError(
        "SearXNG returned no results because its engines did not answer: "
        f"{', '.join(failures)}; check the instance's engines (or try again later)",
        kind=FailureKind.PROVIDER_UNAVAILABLE,
    )


def parse_searxng(doc: Any) -> Snapshot:
    """Map one SearXNG page to a snapshot (raises FetchError when every engine failed).

    A result page has a ``results`` list (empty when nothing was found and no engine
    failed); any other JSON is a :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"SearXNG sent {json_type(doc)} instead of a result page object")
    raw_results = results_list(doc, "results", "SearXNG")
    if raw_results is None:
        raise no_result_page("SearXNG", "results")
    error = searxng_error(doc)
    if error is not None:
        raise error
    items = items_of(entries(raw_results), Placement.ORGANIC, url="url", snippet="content")
    require_readable(raw_results, items, "SearXNG", "results")
    return Snapshot(
        query=text(doc.get("query")),
        results=items,
        engine="searxng",
        source="searxng",
    )


register_json(JsonFormat("searxng", is_searxng, parse_searxng))
