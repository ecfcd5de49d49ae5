"""What every API payload parser shares: field cleanup, page merging, multi-page recordings.

A live check may fetch several result pages. :func:`merge_pages` joins their snapshots the
way SPEC section 3 counts: organic ranks and page positions continue across pages, paid ranks
continue page after page (each page's top block first), and an organic URL that a later page
repeats is kept once. A follow-up page (``Snapshot.follow_up``: SerpApi's deferred AI
overview) is not a next page: its items go into the first page where its block sits, after
the top ads, and fill the first page's gap for that block. A multi-page check is recorded (``check --record``) as one
``serptrack-pages/1`` document holding every raw page, which :func:`parse_pages_document`
replays through the same per-page parsers and the same merge, so a replay equals the live
check exactly.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from ..errors import ParseError
from ..snapshot import Item, Snapshot, clean_text
from ..urls import normalise_url
from ..vocabulary import Placement
from . import JSON_FORMATS, BadResponseError, JsonFormat, register_json

__all__ = [
    "AI_MODE_ENGINE",
    "PAGES_FORMAT",
    "citation_items",
    "clean_url",
    "distinct_urls",
    "entries",
    "items_of",
    "json_type",
    "mapping",
    "merge_pages",
    "no_result_page",
    "number",
    "pages_document",
    "paid_item",
    "parse_pages_document",
    "payload_datetime",
    "require_readable",
    "results_list",
    "text",
    "unix_datetime",
]

PAGES_FORMAT = "serptrack-pages/1"

#: Google AI mode, an engine a keyword can choose (``engine = "google_ai_mode"``): SerpApi's
#: engine name, and the ``engine`` of every snapshot of an AI-mode answer, whoever served it
AI_MODE_ENGINE = "google_ai_mode"

_TAG = re.compile(r"<[^>]+>")
_GLUED = re.compile(r"^https?://[^/?#]*?(https?://.+)$")


def text(value: Any, *, strip_tags: bool = False) -> str:
    """A clean one-line string from a payload field (HTML tags and entities removed on request).

    Also :func:`~serptrack.snapshot.clean_text`: the messages of API error bodies are made of
    these strings too, and end up stored and printed like any title.
    """
    if not isinstance(value, str):
        return ""
    string = clean_text(html.unescape(_TAG.sub("", value)) if strip_tags else value)
    if (
        "  " in string
        or "\n" in string
        or "\t" in string
        or "\r" in string
        or string[:1].isspace()
        or string[-1:].isspace()
    ):
        stripped = string.strip()
        if stripped.isascii() and stripped.isprintable() and "  " not in stripped:
            # Only space at the ends (a snippet's trailing blank): what the split and join
            # below would give, at a fifth of the cost. Printable ASCII holds no whitespace
            # but " ".
            return stripped
        return " ".join(string.split())
    return string  # already clean: the common case, on the hot path of a 100-result page


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (payload fields come and go)."""
    return value if isinstance(value, dict) else {}


def entries(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON list (anything else in it, or a missing list, is skipped)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def json_type(value: Any) -> str:
    """How a message names the JSON type of ``value`` (``null``, ``a string``, ``an object``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def results_list(doc: Mapping[str, Any], key: str, api: str) -> list[Any] | None:
    """``doc[key]``, the list a result page keeps its results in; None when there is no ``key``.

    A ``key`` that holds anything but a list (``"organic_results": "nope"``) is no result
    page: :class:`~serptrack.parsers.BadResponseError`, never an empty list.
    """
    if key not in doc:
        return None
    value = doc[key]
    if not isinstance(value, list):
        raise BadResponseError(
            f"{api} sent '{key}' as {json_type(value)} instead of a list of results: "
            "not a result page"
        )
    return value


def require_readable(
    raw: Sequence[Any] | None,
    read: Sequence[Any],
    api: str,
    key: str,
    *,
    entry: str = "a result (an object with an http(s) URL)",
) -> None:
    """Refuse a results list ``raw`` that has entries when ``read`` (what came of them) is empty.

    A malformed entry (not an object, or without an http(s) URL) is skipped when others are
    fine, but a page whose every entry is malformed read nothing: it is a
    :class:`~serptrack.parsers.BadResponseError`, not a page where nothing ranks.
    """
    if raw and not read:
        count = len(raw)
        raise BadResponseError(
            f"{api} sent {count} '{key}' {'entry' if count == 1 else 'entries'} and not one "
            f"is {entry}: not a result page"
        )


def no_result_page(api: str, key: str, empty: str | None = None) -> BadResponseError:
    """The error for a payload with neither its results list nor the API's "no results"
    signal (``empty`` describes it; None when an empty page is just an empty list)."""
    how = f"nor {empty} as on an empty page" if empty else "not even an empty one"
    return BadResponseError(f"{api} sent JSON with no '{key}' list, {how}: not a result page")


def number(value: Any, default: int) -> int:
    """A whole number from a payload field (an int or a digit string), else ``default``."""
    if type(value) is int:  # the common case, in one test (a bool is no int here)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default


def clean_url(value: Any) -> str | None:
    """An absolute http(s) URL from a payload field, or None.

    Some payloads glue Google's host before the target (``https://www.google.comhttps://…``);
    the target is kept.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if url.count("://") > 1:
        glued = _GLUED.match(url)
        if glued:
            url = glued.group(1)
    if url.startswith("//"):
        url = "https:" + url
    return url if url.startswith(("http://", "https://")) else None


def items_of(
    results: Iterable[Mapping[str, Any]],
    placement: str,
    *,
    url: str = "link",
    title: str = "title",
    snippet: str = "snippet",
    strip_tags: bool = False,
) -> list[Item]:
    """One item per result with a usable URL, in the order given (the field names vary by API)."""
    # Positional calls and a bound append: this loop runs for every result of every page.
    clean: Callable[[Any], str] = partial(text, strip_tags=True) if strip_tags else text
    items: list[Item] = []
    append = items.append
    for result in results:
        link = clean_url(result.get(url))
        if link:
            append(Item(placement, link, clean(result.get(title)), clean(result.get(snippet))))
    return items


def paid_item(ad: Mapping[str, Any]) -> Item | None:
    """An ad of the SerpApi/Traject shape (link, title, description, block_position, tracking_link)."""
    url = clean_url(ad.get("link"))
    if not url:
        return None
    return Item(
        Placement.PAID,
        url,
        title=text(ad.get("title")),
        snippet=text(ad.get("description") or ad.get("snippet")),
        block=text(ad.get("block_position")) or None,
        tracking_url=clean_url(ad.get("tracking_link")),
    )


def payload_datetime(value: Any) -> dt.datetime | None:
    """A UTC datetime from the timestamps APIs use (``2026-03-01 07:00:03 UTC``, ISO 8601)."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    if raw.endswith(" UTC"):
        raw = raw[:-4] + "+00:00"
    raw = raw.replace(" +", "+").replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def unix_datetime(value: Any) -> dt.datetime | None:
    """A UTC datetime from a Unix timestamp in seconds (``"created": 1772521203``), or None."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def citation_items(
    cited: Iterable[tuple[Any, Any, Any]], placement: str = Placement.AI_ANSWER
) -> list[Item]:
    """One item per cited source, from (url, title, snippet) triples in citation order.

    A source cited again is kept once, where it was first cited; URLs are compared
    normalised, so one a second citation tags ``?utm_source=openai`` is no second source.
    A later citation may give the title the first one lacked. Entries without an http(s) URL
    are skipped.
    """
    items: list[Item] = []
    where: dict[str, int] = {}
    for url_value, title_value, snippet_value in cited:
        url = clean_url(url_value)
        if url is None:
            continue
        key = normalise_url(url)
        title, snippet = text(title_value), text(snippet_value)
        if key in where:
            first = items[where[key]]
            if (not first.title and title) or (not first.snippet and snippet):
                items[where[key]] = replace(
                    first, title=first.title or title, snippet=first.snippet or snippet
                )
            continue
        where[key] = len(items)
        items.append(Item(placement, url, title=title, snippet=snippet))
    return items


def distinct_urls(items: Iterable[Item]) -> list[Item]:
    """``items`` without a repeated URL, the first kept; URLs compare normalised, so the same
    page cited with another ``#:~:text=`` fragment is the same source."""
    seen: set[str] = set()
    kept = []
    for item in items:
        key = normalise_url(item.url)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def merge_pages(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One snapshot from consecutive result pages, numbered as SPEC section 3 says."""
    if not snapshots:
        return Snapshot(query="")
    if len(snapshots) == 1 and not snapshots[0].follow_up:
        return snapshots[0]  # one page: list order is page order; the store numbers it
    snapshots = _fold_follow_ups(snapshots)
    items: list[Item] = []
    ranks: dict[str, int] = {}
    seen_organic: set[str] = set()
    organic, paid = Placement.ORGANIC, Placement.PAID  # locals: cheaper than a member lookup
    for snapshot in snapshots:
        page = [
            item
            for item in snapshot.results
            if not (item.placement == organic and item.url in seen_organic)
        ]
        ads = [i for i in page if i.placement == paid and i.block == "top"]
        ads += [i for i in page if i.placement == paid and i.block != "top"]
        paid_rank = {id(item): ranks.get(paid, 0) + n for n, item in enumerate(ads, start=1)}
        for item in page:
            if item.placement == paid:
                rank = paid_rank[id(item)]
            else:
                rank = ranks[item.placement] = ranks.get(item.placement, 0) + 1
            items.append(replace(item, rank=rank, page_position=len(items) + 1))
        ranks[paid] = ranks.get(paid, 0) + len(ads)
        seen_organic.update(item.url for item in page if item.placement == organic)
    first = snapshots[0]
    return replace(first, results=items)


def _fold_follow_ups(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    """The result pages, the follow-up pages' items spliced into the first one after its
    top ads (where SerpApi's AI overview sits), and the gaps they fill removed."""
    pages = [snapshot for snapshot in snapshots if not snapshot.follow_up]
    extras = [snapshot for snapshot in snapshots if snapshot.follow_up]
    if not extras:
        return pages
    if not pages:
        raise ParseError("a follow-up page (a deferred AI overview) came without its result page")
    first = pages[0]
    added = [item for extra in extras for item in extra.results]
    filled = {Placement.AI_OVERVIEW.value}  # the one block a follow-up answers today
    top = 0
    while top < len(first.results) and _is_top_ad(first.results[top]):
        top += 1
    results = [*first.results[:top], *added, *first.results[top:]]
    gaps = tuple(gap for gap in first.gaps if gap.placement not in filled)
    return [replace(first, results=results, gaps=gaps), *pages[1:]]


def _is_top_ad(item: Item) -> bool:
    return item.placement == Placement.PAID and item.block == "top"


def pages_document(provider: str, docs: Sequence[Any]) -> dict[str, Any]:
    """The ``serptrack-pages/1`` document that records a multi-page check's raw pages."""
    return {"format": PAGES_FORMAT, "provider": provider, "pages": list(docs)}


def _is_pages(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == PAGES_FORMAT


def parse_pages_document(doc: Any) -> Snapshot:
    """Replay a ``serptrack-pages/1`` document: parse each raw page, then merge them."""
    pages = doc.get("pages") if isinstance(doc, dict) else None
    if not isinstance(pages, list) or not pages:
        raise ParseError(f"a {PAGES_FORMAT} document needs a non-empty 'pages' list")
    snapshots = []
    for index, page in enumerate(pages):
        fmt = next(
            (f for f in JSON_FORMATS if f.name != PAGES_FORMAT and f.matches(page)),
            None,
        )
        if fmt is None:
            raise ParseError(f"pages[{index}] is not the raw response of a supported API")
        snapshots.append(fmt.parse(page))
    return merge_pages(snapshots)


register_json(JsonFormat(PAGES_FORMAT, _is_pages, parse_pages_document))
