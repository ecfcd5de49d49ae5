"""ValueSERP's Google payload (Traject Data): ads with their block, top stories and organic
results.

Organic ``position`` restarts at 1 on every page, so results are ordered by
``position_overall`` (then page and position); one payload may hold several pages
(``max_page``). Reading order: top ads, top stories, organic results, other ads.
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
    paid_item,
    payload_datetime,
    require_readable,
    results_list,
    text,
)

__all__ = ["is_valueserp", "parse_valueserp", "valueserp_error"]


def is_valueserp(doc: Any) -> bool:
    """Whether ``doc`` is a ValueSERP (Traject Data) payload or error body."""
    return isinstance(doc, dict) and isinstance(doc.get("request_info"), dict)


def valueserp_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure ``request_info.success: false`` reports, or None."""
    info = mapping(doc.get("request_info"))
    if info.get("success") is not False:
        return None
    message = text(info.get("message") or doc.get("message") or doc.get("error")) or "no message"
    lowered = message.lower()
    if "api key" in lowered or "api_key" in lowered:
        return FetchError(
            f"ValueSERP rejected the key: {message}; check VALUESERP_API_KEY", kind=FailureKind.AUTH
        )
    if "credit" in lowered:
        return FetchError(f"ValueSERP: {message}; top up the account", kind=FailureKind.QUOTA)
    return FetchError(f"ValueSERP returned an error: {message}", kind=FailureKind.PROVIDER_ERROR)


def parse_valueserp(doc: Any) -> Snapshot:
    """Map a ValueSERP result payload to a snapshot (raises FetchError for an error body).

    A result page has an ``organic_results`` list, or says it found nothing
    (``search_information.original_query_yields_zero_results: true`` with no list); any
    other JSON is a :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"ValueSERP sent {json_type(doc)} instead of a result page object")
    error = valueserp_error(doc)
    if error is not None:
        raise error
    raw_organic = results_list(doc, "organic_results", "ValueSERP")
    information = mapping(doc.get("search_information"))
    if raw_organic is None and information.get("original_query_yields_zero_results") is not True:
        raise no_result_page(
            "ValueSERP",
            "organic_results",
            "search_information.original_query_yields_zero_results true",
        )
    ads = entries(doc.get("ads"))
    ads.sort(key=lambda a: (number(a.get("page"), 1), number(a.get("position"), 10_000)))
    top = [a for a in ads if a.get("block_position") == "top"]
    other = [a for a in ads if a.get("block_position") != "top"]
    items = [item for ad in top if (item := paid_item(ad))]
    items += items_of(entries(doc.get("top_stories")), Placement.NEWS, snippet="source")
    organic = entries(raw_organic)
    organic.sort(
        key=lambda r: (
            number(r.get("position_overall"), 0) or 10_000 * number(r.get("page"), 1),
            number(r.get("page"), 1),
            number(r.get("position"), 10_000),
        )
    )
    organic_items = items_of(organic, Placement.ORGANIC)
    require_readable(raw_organic, organic_items, "ValueSERP", "organic_results")
    items += organic_items
    items += [item for ad in other if (item := paid_item(ad))]
    params = mapping(doc.get("search_parameters"))
    metadata = mapping(doc.get("search_metadata"))
    return Snapshot(
        query=text(params.get("q")),
        results=items,
        engine="google",
        country=text(params.get("gl")) or None,
        language=text(params.get("hl")) or None,
        device=text(params.get("device")) or None,
        location=text(params.get("location")) or None,
        observed_at=payload_datetime(metadata.get("created_at")),
        source="valueserp",
    )


register_json(JsonFormat("valueserp", is_valueserp, parse_valueserp))
