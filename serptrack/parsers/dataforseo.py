"""DataForSEO's Google Organic "advanced" payload: one mixed list of items in page order.

Every item has ``rank_absolute`` (its place among all SERP elements), which gives the reading
order. DataForSEO has no top/bottom field for ads: a paid item before the first organic
result is a top ad, one after it a bottom ad. HTTP is 200 for almost everything; the
``status_code`` at the top level and in each task says what happened.

The Google AI Mode endpoint (``serp/google/ai_mode/live/advanced``) answers in the same
envelope, its task's ``data.se_type`` (and its result's ``type``) ``ai_mode``: the answer is an
item of type ``ai_overview`` whose elements and ``references`` carry the cited sources,
stored as placement ``ai_mode`` in the order the answer cites them.
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..snapshot import Gap, Item, Snapshot
from ..vocabulary import FailureKind, Placement
from . import BadResponseError, JsonFormat, register_json
from .payload import (
    AI_MODE_ENGINE,
    clean_url,
    distinct_urls,
    entries,
    json_type,
    mapping,
    number,
    payload_datetime,
    require_readable,
    results_list,
    text,
)

__all__ = ["dataforseo_error", "is_dataforseo", "parse_dataforseo"]

_OK = (20000, 20100)
_NO_RESULTS = 40102  # "No Search Results.": the engine answered with an empty page


def is_dataforseo(doc: Any) -> bool:
    """Whether ``doc`` is a DataForSEO API envelope."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("status_code"), int)
        and "tasks" in doc
        and "status_message" in doc
    )


def dataforseo_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure the envelope or its first task reports, or None."""
    for where, entry in (("request", doc), ("task", _first_task(doc))):
        if not isinstance(entry, dict):
            continue
        code = entry.get("status_code")
        if not isinstance(code, int) or code in _OK or code == _NO_RESULTS:
            continue
        message = text(entry.get("status_message")) or "no message"
        said = f"DataForSEO could not run the {where} (status {code}: {message})"
        if code >= 50000:
            return FetchError(f"{said}; try again later", kind=FailureKind.PROVIDER_UNAVAILABLE)
        return FetchError(
            f"{said}; see docs.dataforseo.com/v3/appendix/errors for what the code means",
            kind=FailureKind.PROVIDER_ERROR,
        )
    if _first_task(doc) is None and doc.get("status_code") not in (_NO_RESULTS,):
        return FetchError(
            "DataForSEO returned no task in its answer", kind=FailureKind.BAD_RESPONSE
        )
    return None


def _first_task(doc: dict[str, Any]) -> dict[str, Any] | None:
    tasks = entries(doc.get("tasks"))
    return tasks[0] if tasks else None


def parse_dataforseo(doc: Any) -> Snapshot:
    """Map a DataForSEO Live/Task Advanced envelope to a snapshot (FetchError for errors).

    A result page is status 40102 ("No Search Results.") or a task whose ``result`` list
    holds a result object with an ``items`` list (``null`` only with ``items_count`` 0); any
    other JSON is a :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"DataForSEO sent {json_type(doc)} instead of an API envelope")
    error = dataforseo_error(doc)
    if error is not None:
        raise error
    task = _first_task(doc) or {}
    data = mapping(task.get("data"))
    result: dict[str, Any] = {}
    raw_items: list[Any] | None = None
    if _NO_RESULTS not in (doc.get("status_code"), task.get("status_code")):
        results = entries(results_list(task, "result", "DataForSEO's task"))
        if not results:
            raise BadResponseError(
                "DataForSEO's task has no result object (and no status 40102, "
                '"No Search Results."): not a result page'
            )
        result = results[0]
        raw_items = _raw_items(result)
    # An item is an object with a type; others are skipped, but not when no item is one.
    found = [entry for entry in entries(raw_items) if isinstance(entry.get("type"), str)]
    require_readable(
        raw_items, found, "DataForSEO", "items", entry="an item (an object with a type)"
    )
    found.sort(key=_absolute)
    if _AI_MODE in (data.get("se_type"), result.get("type")):
        return _ai_mode(found, result, data)
    first_organic = min((_absolute(i) for i in found if i.get("type") == "organic"), default=None)
    items: list[Item] = []
    organic: list[dict[str, Any]] = []
    organic_items: list[Item] = []
    for entry in found:
        mapped = _map(entry, first_organic)
        if entry.get("type") == "organic":
            organic.append(entry)
            organic_items += mapped
        items += mapped
    require_readable(organic, organic_items, "DataForSEO", "organic items")
    return Snapshot(
        query=text(result.get("keyword") or data.get("keyword")),
        results=items,
        engine="google",
        language=text(result.get("language_code") or data.get("language_code")) or None,
        device=text(data.get("device")) or None,
        location=text(data.get("location_name")) or None,
        observed_at=payload_datetime(result.get("datetime")),
        source="dataforseo",
        answered_query=_answered_query(result.get("spell")),
        gaps=tuple(_empty_async_overview(entry) for entry in found if _unloaded(entry)),
    )


_AI_MODE = "ai_mode"  # the se_type of the AI Mode endpoint


def _ai_mode(found: list[dict[str, Any]], result: dict[str, Any], data: dict[str, Any]) -> Snapshot:
    """An AI-mode result: the sources its ``ai_overview`` item cites (none when the answer cites
    nobody); a result with no such item, or "No Search Results.", is no answer."""
    answers = [entry for entry in found if entry.get("type") == "ai_overview"]
    if not answers:
        raise FetchError(
            "DataForSEO's AI mode result holds no answer (no ai_overview item)",
            kind=FailureKind.PROVIDER_ERROR,
        )
    items = distinct_urls(
        item for entry in answers for item in _references(entry, Placement.AI_MODE)
    )
    cited = [reference for entry in answers for reference in _raw_references(entry)]
    require_readable(cited, items, "DataForSEO's AI mode", "references")
    return Snapshot(
        query=text(result.get("keyword") or data.get("keyword")),
        results=items,
        engine=AI_MODE_ENGINE,
        language=text(result.get("language_code") or data.get("language_code")) or None,
        device=text(data.get("device")) or None,
        location=text(data.get("location_name")) or None,
        observed_at=payload_datetime(result.get("datetime")),
        source=f"dataforseo/{AI_MODE_ENGINE}",
    )


def _raw_references(entry: dict[str, Any]) -> list[Any]:
    """Every reference an answer item lists, as sent: ``null`` lists none, any other value
    that is no list is no answer (bad-response)."""
    lists = [element.get("references") for element in entries(entry.get("items"))]
    lists.append(entry.get("references"))
    found: list[Any] = []
    for value in lists:
        if value is not None and not isinstance(value, list):
            raise BadResponseError(
                f"DataForSEO sent an answer's 'references' as {json_type(value)} instead of a "
                "list: not an AI-mode answer"
            )
        found += value or []
    return found


def _unloaded(entry: dict[str, Any]) -> bool:
    """An AI overview Google loaded asynchronously whose content DataForSEO did not send.

    ``asynchronous_ai_overview`` stays true when the content was loaded (the
    ``load_async_ai_overview`` task parameter), so only an overview with neither elements nor
    references is unknown.
    """
    return (
        entry.get("type") == "ai_overview"
        and entry.get("asynchronous_ai_overview") is True
        and not entries(entry.get("items"))
        and not entries(entry.get("references"))
    )


def _empty_async_overview(entry: dict[str, Any]) -> Gap:
    return Gap(
        Placement.AI_OVERVIEW,
        "DataForSEO saw an AI overview loaded asynchronously and sent none of its content "
        "(the task did not set load_async_ai_overview); its sources are unknown, not absent",
        FailureKind.PROVIDER_ERROR,
    )


#: ``spell.type`` values where the results are the corrected keyword's, not the one asked
#: (``did_you_mean`` only suggests; ``including_results_for`` answers both).
_RELAXED_SPELL = frozenset({"showing_results_for", "no_results_found_for"})


def _answered_query(spell: Any) -> str | None:
    """The corrected keyword DataForSEO's ``spell`` object names, when the results are its."""
    if not isinstance(spell, dict) or text(spell.get("type")) not in _RELAXED_SPELL:
        return None
    return text(spell.get("keyword")) or None


def _raw_items(result: dict[str, Any]) -> list[Any] | None:
    """A result's ``items`` list (None for a result that found nothing), else an error."""
    if result.get("items") is None and number(result.get("items_count"), -1) == 0:
        return None
    raw = results_list(result, "items", "DataForSEO")
    if raw is None:
        raise BadResponseError(
            "DataForSEO sent a result with no 'items' list (and items_count not 0): "
            "not a result page"
        )
    return raw


def _absolute(entry: dict[str, Any]) -> int:
    return number(entry.get("rank_absolute"), 1_000_000)


def _map(entry: dict[str, Any], first_organic: int | None) -> list[Item]:
    kind = entry.get("type")  # DataForSEO's item types; three of them name a placement
    if kind in ("organic", "paid", "featured_snippet"):
        url = clean_url(entry.get("url"))
        if not url:
            return []
        block = None
        placement = Placement(kind)
        paid = placement == Placement.PAID
        if paid:
            below = first_organic is not None and _absolute(entry) > first_organic
            block = "bottom" if below else "top"
        if placement == Placement.ORGANIC and entry.get("is_featured_snippet"):
            placement = Placement.FEATURED_SNIPPET
        extra = mapping(entry.get("extra"))
        return [
            Item(
                placement,
                url,
                title=text(entry.get("title")),
                snippet=text(entry.get("description")),
                block=block,
                tracking_url=clean_url(extra.get("ad_aclk")) if paid else None,
            )
        ]
    if kind == "top_stories":
        return [
            Item(Placement.NEWS, url, title=text(s.get("title")), snippet=text(s.get("source")))
            for s in entries(entry.get("items"))
            if (url := clean_url(s.get("url")))
        ]
    if kind == "ai_overview":
        return _references(entry)
    return []


def _references(entry: dict[str, Any], placement: str = Placement.AI_OVERVIEW) -> list[Item]:
    """The sources an AI answer item cites: each element's references in reading order (the
    order of first citation), then the item's own list; a URL once."""
    found: list[dict[str, Any]] = []
    for element in entries(entry.get("items")):
        found += entries(element.get("references"))
    found += entries(entry.get("references"))
    items, seen = [], set()
    for reference in found:
        url = clean_url(reference.get("url"))
        if url and url not in seen:
            seen.add(url)
            items.append(
                Item(
                    placement,
                    url,
                    title=text(reference.get("title")),
                    snippet=text(reference.get("text")),
                )
            )
    return items


register_json(JsonFormat("dataforseo", is_dataforseo, parse_dataforseo))
