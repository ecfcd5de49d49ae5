"""SerpApi's Google payload (``engine=google``): ads with their block, AI overview references,
top stories, the featured snippet and organic results.

Reading order on the page, as SerpApi gives no absolute position for blocks: top ads, the AI
overview's references, the featured snippet, top stories, organic results, then middle,
bottom and right-hand ads.

Google AI mode (``engine=google_ai_mode``, serpapi.com/google-ai-mode-api) answers with a page
of its own: ``text_blocks`` and the ``references`` they cite (:func:`parse_serpapi` tells the
two apart by ``search_parameters.engine``). Its sources are placement ``ai_mode``, ranked in
the order the answer first cites them.

SerpApi sometimes defers the AI overview: the search's ``ai_overview`` holds only a
``page_token`` (:func:`deferred_overview`), and a second request with
``engine=google_ai_overview`` answers it. That answer parses here too, as a follow-up page
whose references :func:`~serptrack.parsers.payload.merge_pages` puts where the overview
sits on the first page. A deferred overview without its follow-up leaves a
:class:`~serptrack.snapshot.Gap`: unknown, never "no AI overview".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

__all__ = [
    "AI_MODE_ENGINE",
    "OVERVIEW_ENGINE",
    "deferred_overview",
    "is_serpapi",
    "overview_gap",
    "parse_serpapi",
    "serpapi_empty",
    "serpapi_error",
]

#: the engine that answers a deferred AI overview's ``page_token``
OVERVIEW_ENGINE = "google_ai_overview"

_METADATA_KEYS = ("json_endpoint", "raw_html_file", "google_url")
_AD_ORDER = {"top": 0, "middle": 2, "bottom": 3, "right": 4}


def is_serpapi(doc: Any) -> bool:
    """Whether ``doc`` is a SerpApi search payload or a bare SerpApi error body."""
    if not isinstance(doc, dict) or "request_info" in doc:
        return False
    metadata = doc.get("search_metadata")
    if isinstance(metadata, dict):
        return any(key in metadata for key in _METADATA_KEYS)
    return set(doc) == {"error"} and isinstance(doc["error"], str)


def serpapi_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure a SerpApi body reports, or None (an empty result page is no failure)."""
    message = text(doc.get("error"))
    metadata = doc.get("search_metadata")
    status = metadata.get("status") if isinstance(metadata, dict) else None
    if status == "Error":
        return FetchError(
            f"SerpApi could not complete the search: {message or 'status Error'}; try again later",
            kind=FailureKind.PROVIDER_UNAVAILABLE,
        )
    if status in ("Queued", "Processing"):
        return FetchError(
            f"SerpApi has not finished the search yet (status {status}); try again in a minute",
            kind=FailureKind.PROVIDER_UNAVAILABLE,
        )
    if not message:
        return None
    if status == "Success":
        # SerpApi reports an empty result page with a top-level error and status Success.
        return None
    lowered = message.lower()
    if "api key" in lowered:
        return FetchError(
            f"SerpApi rejected the key: {message}; check SERPAPI_API_KEY", kind=FailureKind.AUTH
        )
    if "run out of searches" in lowered:
        return FetchError(
            f"SerpApi: {message}; upgrade the plan or wait for it to renew", kind=FailureKind.QUOTA
        )
    return FetchError(f"SerpApi returned an error: {message}", kind=FailureKind.PROVIDER_ERROR)


def serpapi_empty(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` says the search found nothing: SerpApi's "no results" signal.

    ``search_information.organic_results_state`` is ``"Fully empty"``, or (older answers)
    ``search_metadata.status`` is ``Success`` next to a top-level ``error`` message
    (serpapi.com/search-errors: "Google hasn't returned any results for this query.").
    """
    state = mapping(doc.get("search_information")).get("organic_results_state")
    if state == "Fully empty":
        return True
    status = mapping(doc.get("search_metadata")).get("status")
    return status == "Success" and bool(text(doc.get("error")))


def parse_serpapi(doc: Any) -> Snapshot:
    """Map one SerpApi Google result page to a snapshot (raises FetchError for an error body).

    A result page has an ``organic_results`` list, or says it found nothing
    (:func:`serpapi_empty`); any other JSON is a
    :class:`~serptrack.parsers.BadResponseError`.
    """
    if not isinstance(doc, dict):
        raise BadResponseError(f"SerpApi sent {json_type(doc)} instead of a result page object")
    error = serpapi_error(doc)
    if error is not None:
        raise error
    params = mapping(doc.get("search_parameters"))
    if params.get("engine") == OVERVIEW_ENGINE:
        return _overview_page(doc)
    if params.get("engine") == AI_MODE_ENGINE:
        return _ai_mode_page(doc, params)
    raw_organic = results_list(doc, "organic_results", "SerpApi")
    if raw_organic is None and not serpapi_empty(doc):
        raise no_result_page(
            "SerpApi", "organic_results", 'search_information.organic_results_state "Fully empty"'
        )
    ads = entries(doc.get("ads"))
    ads.sort(key=lambda ad: (_AD_ORDER.get(str(ad.get("block_position")), 3), _position(ad)))
    top = [paid_item(ad) for ad in ads if ad.get("block_position") == "top"]
    rest = [paid_item(ad) for ad in ads if ad.get("block_position") != "top"]
    items = [item for item in top if item]
    items += _ai_overview(doc.get("ai_overview"))
    items += _featured(doc.get("answer_box"))
    items += _stories(doc.get("top_stories"))
    organic = entries(raw_organic)
    organic.sort(key=_position)
    organic_items = items_of(organic, Placement.ORGANIC)
    require_readable(raw_organic, organic_items, "SerpApi", "organic_results")
    items += organic_items
    items += [item for item in rest if item]
    metadata = mapping(doc.get("search_metadata"))
    return Snapshot(
        query=text(params.get("q")),
        results=items,
        engine="google",
        country=text(params.get("gl")) or None,
        language=text(params.get("hl")) or None,
        device=text(params.get("device")) or None,
        location=text(params.get("location_requested") or params.get("location")) or None,
        observed_at=payload_datetime(metadata.get("created_at")),
        source="serpapi",
        answered_query=_answered_query(mapping(doc.get("search_information"))),
        gaps=(overview_gap("it was not fetched"),) if deferred_overview(doc) else (),
    )


def deferred_overview(doc: Any) -> str | None:
    """The ``page_token`` of an AI overview SerpApi deferred to a second request, or None.

    serpapi.com/ai-overview: the overview then holds only ``page_token`` (and
    ``serpapi_link``), no ``text_blocks`` or ``references``; the token expires within 4 minutes.
    """
    overview = mapping(doc.get("ai_overview")) if isinstance(doc, dict) else {}
    token = text(overview.get("page_token"))
    if not token or overview.get("references") or overview.get("text_blocks"):
        return None
    return token


def overview_gap(why: str, kind: FailureKind = FailureKind.ERROR) -> Gap:
    """The gap a deferred AI overview leaves when its follow-up request fails (``why``)."""
    return Gap(
        Placement.AI_OVERVIEW,
        f"SerpApi deferred the AI overview (page_token) and {why}; its sources are unknown, "
        "not absent",
        kind,
    )


def _overview_page(doc: dict[str, Any]) -> Snapshot:
    """An ``engine=google_ai_overview`` answer: the deferred overview's cited sources.

    Its ``ai_overview`` has ``text_blocks`` and ``references`` (serpapi.com/google-ai-overview-api);
    an answer without one, or with ``ai_overview.error``, is no overview and says why.
    """
    overview = doc.get("ai_overview")
    if not isinstance(overview, dict):
        said = text(doc.get("error")) or "no ai_overview object"
        raise FetchError(
            f"SerpApi's AI overview answer holds no overview: {said}",
            kind=FailureKind.PROVIDER_ERROR,
        )
    if text(overview.get("error")):
        raise FetchError(
            f"SerpApi could not fetch the AI overview: {text(overview.get('error'))}",
            kind=FailureKind.PROVIDER_ERROR,
        )
    metadata = mapping(doc.get("search_metadata"))
    return Snapshot(
        query="",
        results=_ai_overview(overview),
        observed_at=payload_datetime(metadata.get("created_at")),
        source=f"serpapi/{OVERVIEW_ENGINE}",
        follow_up=True,
    )


def _ai_mode_page(doc: dict[str, Any], params: dict[str, Any]) -> Snapshot:
    """An ``engine=google_ai_mode`` answer: the sources its ``text_blocks`` cite.

    An answer with text and no reference is an answer citing nobody; one with neither (often
    with an ``error`` such as "Google hasn't returned any results") is no answer at all.
    """
    api = "SerpApi's AI mode"
    blocks = results_list(doc, "text_blocks", api)
    references = results_list(doc, "references", api)
    if not blocks and not references:
        said = text(doc.get("error"))
        if not said:
            raise no_result_page(api, "text_blocks")
        raise FetchError(
            f"SerpApi's AI mode gave no answer: {said}", kind=FailureKind.PROVIDER_ERROR
        )
    cited = entries(references)
    cited.sort(key=_first_citation(entries(blocks)))
    items = distinct_urls(items_of(cited, Placement.AI_MODE))
    require_readable(references, items, api, "references")
    metadata = mapping(doc.get("search_metadata"))
    return Snapshot(
        query=text(params.get("q")),
        results=items,
        engine=AI_MODE_ENGINE,
        country=text(params.get("gl")) or None,
        language=text(params.get("hl")) or None,
        device=text(params.get("device")) or None,
        location=text(params.get("location_requested") or params.get("location")) or None,
        observed_at=payload_datetime(metadata.get("created_at")),
        source=f"serpapi/{AI_MODE_ENGINE}",
    )


def _first_citation(blocks: list[dict[str, Any]]) -> Callable[[dict[str, Any]], int]:
    """A sort key putting references in the order the answer first cites them (a block's
    ``reference_indexes``, then its list items'), the uncited ones after (a stable sort keeps
    them in list order)."""
    order: dict[int, int] = {}
    for cited in _reference_indexes(blocks):
        order.setdefault(cited, len(order))
    uncited = len(order)

    def key(reference: dict[str, Any]) -> int:
        return order.get(number(reference.get("index"), -1), uncited)

    return key


def _reference_indexes(blocks: list[dict[str, Any]], depth: int = 0) -> Iterator[int]:
    """Every ``reference_indexes`` entry of ``blocks`` and their nested lists, in reading order."""
    if depth > 8:  # the documented shapes nest a list in a block; deeper is no answer's
        return
    for block in blocks:
        cited_here = block.get("reference_indexes")
        for cited in cited_here if isinstance(cited_here, list) else ():
            if isinstance(cited, int) and not isinstance(cited, bool):
                yield cited
        yield from _reference_indexes(entries(block.get("list")), depth + 1)
        yield from _reference_indexes(entries(block.get("text_blocks")), depth + 1)


def _answered_query(info: dict[str, Any]) -> str | None:
    """The query SerpApi says the results are for, when Google answered another one.

    ``organic_results_state`` "Showing results for fixed spelling" (or "… but showing fixed
    spelling", "Showing results for query without quotes") comes with
    ``showing_results_for``; "Including results for …" answers both queries.
    """
    state = text(info.get("organic_results_state")).casefold()
    if not (state.startswith("showing results for") or "but showing" in state):
        return None
    return text(info.get("showing_results_for") or info.get("spelling_fix")) or None


def _position(entry: dict[str, Any]) -> int:
    return number(entry.get("position"), 10_000)


def _ai_overview(overview: Any) -> list[Item]:
    if not isinstance(overview, dict):
        return []
    references = entries(overview.get("references"))
    references.sort(key=lambda r: number(r.get("index"), 10_000))
    return items_of(references, Placement.AI_OVERVIEW)


def _featured(box: Any) -> list[Item]:
    if not isinstance(box, dict):
        return []
    url = clean_url(box.get("link"))
    if not url:
        return []
    return [
        Item(
            Placement.FEATURED_SNIPPET,
            url,
            title=text(box.get("title")),
            snippet=text(box.get("snippet") or box.get("answer")),
        )
    ]


def _stories(stories: Any) -> list[Item]:
    if isinstance(stories, dict):  # an older shape wraps the list
        stories = stories.get("stories")
    return items_of(entries(stories), Placement.NEWS, snippet="source")


register_json(JsonFormat("serpapi", is_serpapi, parse_serpapi))
