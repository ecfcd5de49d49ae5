"""The ``serptrack-snapshot/1`` format: one check's result page, normalised (SPEC sections 3, 4).

Providers and parsers build :class:`Snapshot` objects; the replay provider, ``parse`` and
``check --record`` read and write them as JSON.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ParseError
from .vocabulary import FailureKind, Placement

__all__ = [
    "FORMAT",
    "MAX_POSITION",
    "PLACEMENTS",
    "Gap",
    "Item",
    "Snapshot",
    "clean_text",
    "format_datetime",
    "number_items",
    "parse_datetime",
    "positions",
    "snapshot_from_json",
]

FORMAT = "serptrack-snapshot/1"
#: every documented placement value (:class:`~serptrack.vocabulary.Placement`), in its order
PLACEMENTS: tuple[str, ...] = tuple(placement.value for placement in Placement)
#: the highest rank or page position a snapshot may give (the store keeps 32-bit integers)
MAX_POSITION = 1_000_000

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` as text every database and output stream accepts.

    JSON may spell a lone UTF-16 surrogate (``"\\ud83d"``): such a string cannot be encoded as
    UTF-8, so SQLite, PostgreSQL and stdout all refuse it. Each lone surrogate becomes U+FFFD
    (a well-formed surrogate pair becomes the character it encodes) and NUL characters, which
    PostgreSQL text cannot hold, are dropped. A clean string comes back as the same object, at
    the cost of two C-level scans: every text field of every :class:`Item` and
    :class:`Snapshot` goes through here.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _plain(value: str) -> bool:
    """Whether ``value`` is ASCII without NUL, so clean (two C-level tests)."""
    return value.isascii() and "\x00" not in value


def _clean_optional(value: str | None) -> str | None:
    return clean_text(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Item:
    """One result on a result page.

    ``placement`` is a :class:`~serptrack.vocabulary.Placement` value when a parser made the
    item; a snapshot read from a file may carry another one (SPEC section 3 leaves the list
    open). It is kept as a plain ``str``: see :meth:`__init__`.
    """

    placement: str
    url: str
    title: str = ""
    snippet: str = ""
    block: str | None = None
    rank: int | None = None
    page_position: int | None = None
    tracking_url: str | None = None  # e.g. Google's /aclk link of an ad, kept as evidence

    def __init__(
        self,
        placement: str,
        url: str,
        title: str = "",
        snippet: str = "",
        block: str | None = None,
        rank: int | None = None,
        page_position: int | None = None,
        tracking_url: str | None = None,
    ) -> None:
        """Hold a ``Placement`` member as its plain value: the same string, but sqlite3 binds
        a ``str`` subclass through its adapter lookup, which costs ~1.7 µs a stored result.

        Every text field goes through :func:`clean_text`, so no parser can hand the store or
        an output a string it cannot encode.

        Written by hand, not generated: the generated frozen ``__init__`` sets each field
        through ``object.__setattr__``, a third of a 100-result page's parsing. Here each goes
        through its slot's own setter, at half the cost; the instance stays frozen after, and
        slots keep it at three quarters of the memory of an instance with a ``__dict__``.
        """
        if type(placement) is not str:
            placement = str(placement)
        # The common case first, inline: short-circuiting C-level tests (~0.3 µs an item).
        if not (
            (url.isascii() and title.isascii() and snippet.isascii())
            and "\x00" not in url
            and "\x00" not in title
            and "\x00" not in snippet
            and (block is None or _plain(block))
            and (tracking_url is None or _plain(tracking_url))
            and _plain(placement)
        ):
            placement, url, title, snippet = map(clean_text, (placement, url, title, snippet))
            block, tracking_url = _clean_optional(block), _clean_optional(tracking_url)
        _set_placement(self, placement)
        _set_url(self, url)
        _set_title(self, title)
        _set_snippet(self, snippet)
        _set_block(self, block)
        _set_rank(self, rank)
        _set_page_position(self, page_position)
        _set_tracking_url(self, tracking_url)

    def to_json(self) -> dict[str, Any]:
        """The item as a snapshot JSON object (``block`` and ``tracking_url`` only when set)."""
        data: dict[str, Any] = {"placement": self.placement}
        if self.block is not None:
            data["block"] = self.block
        data.update(
            rank=self.rank,
            page_position=self.page_position,
            url=self.url,
            title=self.title,
            snippet=self.snippet,
        )
        if self.tracking_url:
            data["tracking_url"] = self.tracking_url
        return data


#: each field's slot setter: how :meth:`Item.__init__` fills a frozen item, once
(
    _set_placement,
    _set_url,
    _set_title,
    _set_snippet,
    _set_block,
    _set_rank,
    _set_page_position,
    _set_tracking_url,
) = (
    getattr(Item, name).__set__
    for name in (
        "placement",
        "url",
        "title",
        "snippet",
        "block",
        "rank",
        "page_position",
        "tracking_url",
    )
)


@dataclass(frozen=True)
class Gap:
    """A block the result page announced but that could not be fetched (the rest is whole).

    SerpApi defers some AI overviews to a second request (``page_token``): when that request
    fails, the page's organic and paid results still stand, and the gap says the AI overview
    is unknown, not absent. ``placement`` is a :class:`~serptrack.vocabulary.Placement` value.
    """

    placement: str
    reason: str
    kind: FailureKind = FailureKind.ERROR


@dataclass
class Snapshot:
    """A normalised result page: the request it answers and its items in page order."""

    query: str
    results: list[Item] = field(default_factory=list)
    engine: str = "google"
    country: str | None = None
    language: str | None = None
    device: str | None = None
    location: str | None = None
    observed_at: dt.datetime | None = None
    source: str = FORMAT  # which parser produced it (serpapi, google-html, ...)
    #: the query the engine answered instead ("No results found for …, results for …",
    #: "Showing results for …"): then the results do not answer ``query``
    answered_query: str | None = None
    #: blocks announced but missing (never written to ``serptrack-snapshot/1``)
    gaps: tuple[Gap, ...] = field(default=(), compare=False)
    #: a page that fills in a block of the first page (a deferred AI overview's answer)
    #: rather than continuing it; :func:`~serptrack.parsers.payload.merge_pages` splices it in
    follow_up: bool = False

    def __post_init__(self) -> None:
        """Pass every text field through :func:`clean_text` (the items clean themselves)."""
        self.query = clean_text(self.query) if isinstance(self.query, str) else self.query
        self.source = clean_text(self.source) if isinstance(self.source, str) else self.source
        self.engine = clean_text(self.engine) if isinstance(self.engine, str) else self.engine
        self.country = _clean_optional(self.country)
        self.language = _clean_optional(self.language)
        self.device = _clean_optional(self.device)
        self.location = _clean_optional(self.location)
        self.answered_query = _clean_optional(self.answered_query)

    def to_json(self) -> dict[str, Any]:
        """The snapshot as a ``serptrack-snapshot/1`` document."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "query": self.query,
            "engine": self.engine,
            "country": self.country,
            "language": self.language,
            "device": self.device,
        }
        if self.location:
            data["location"] = self.location
        data["observed_at"] = format_datetime(self.observed_at) if self.observed_at else None
        if self.source != FORMAT:
            data["source"] = self.source
        if self.answered_query:
            data["answered_query"] = self.answered_query
        data["results"] = [item.to_json() for item in number_items(self.results)]
        return data

    def with_context(
        self,
        *,
        query: str | None = None,
        engine: str | None = None,
        country: str | None = None,
        language: str | None = None,
        device: str | None = None,
        location: str | None = None,
        observed_at: dt.datetime | None = None,
    ) -> Snapshot:
        """A copy with missing request fields filled from what the check asked for."""
        return replace(
            self,
            query=self.query or query or "",
            engine=self.engine or engine or "google",
            country=self.country or country,
            language=self.language or language,
            device=self.device or device,
            location=self.location or location,
            observed_at=self.observed_at or observed_at,
        )


def relaxed_query_error(snapshot: Snapshot) -> str | None:
    """Why ``snapshot`` cannot count as the keyword's results, when the engine answered
    another query; None when it answered the query asked."""
    if not snapshot.answered_query:
        return None
    return (
        f"the engine showed results for {snapshot.answered_query!r} instead of "
        f"{snapshot.query!r} (no results for the exact query, or a spelling correction); "
        "they are not counted, the page is kept as evidence; check the keyword's spelling "
        "in the campaign file"
    )


def number_items(items: Iterable[Item]) -> list[Item]:
    """Fill in ``rank`` and ``page_position`` from page order where a source left them out.

    ``page_position`` counts every item in reading order. ``rank`` counts within a placement;
    paid ranks count the top block first, then the others, as SPEC section 3 asks.
    """
    listed = list(items)
    return [
        item
        if (item.rank, item.page_position) == numbers
        else replace(item, rank=numbers[0], page_position=numbers[1])
        for item, numbers in zip(listed, positions(listed), strict=True)
    ]


def positions(items: Sequence[Item]) -> list[tuple[int, int]]:
    """(rank, page_position) of each item, as :func:`number_items` would set them."""
    paid = Placement.PAID  # a local: an enum member's class lookup costs ~8x a comparison
    top_paid = sum(1 for item in items if item.placement == paid and item.block == "top")
    counters: dict[str, int] = {}
    seen_top = 0
    seen_other_paid = 0
    numbers = []
    for index, item in enumerate(items, start=1):
        if item.placement == paid:
            if item.block == "top":
                seen_top += 1
                rank = seen_top
            else:
                seen_other_paid += 1
                rank = top_paid + seen_other_paid
        else:
            rank = counters[item.placement] = counters.get(item.placement, 0) + 1
        numbers.append(
            (
                item.rank if item.rank is not None else rank,
                item.page_position if item.page_position is not None else index,
            )
        )
    return numbers


def snapshot_from_json(doc: Mapping[str, Any], *, where: str = "snapshot") -> Snapshot:
    """Read a ``serptrack-snapshot/1`` document, raising :class:`ParseError` on a bad one."""
    if doc.get("format") != FORMAT:
        raise ParseError(f"{where}: not a {FORMAT} document")
    query = doc.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ParseError(f"{where}: 'query' must be a non-empty string")
    raw_results = doc.get("results")
    if not isinstance(raw_results, list):
        raise ParseError(f"{where}: 'results' must be a list")
    observed = doc.get("observed_at")
    observed_at = parse_datetime(observed, where=f"{where}: observed_at") if observed else None
    items = [
        _item_from_json(entry, f"{where}: results[{i}]") for i, entry in enumerate(raw_results)
    ]
    return Snapshot(
        query=query,
        results=number_items(items),
        engine=_optional_str(doc, "engine", where) or "google",
        country=_optional_str(doc, "country", where),
        language=_optional_str(doc, "language", where),
        device=_optional_str(doc, "device", where),
        location=_optional_str(doc, "location", where),
        observed_at=observed_at,
        source=_optional_str(doc, "source", where) or FORMAT,
        answered_query=_optional_str(doc, "answered_query", where),
    )


def _item_from_json(entry: Any, where: str) -> Item:
    if not isinstance(entry, dict):
        raise ParseError(f"{where}: must be an object")
    placement = entry.get("placement", Placement.ORGANIC)
    if not isinstance(placement, str) or not placement:
        raise ParseError(f"{where}: 'placement' must be a string")
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ParseError(f"{where}: 'url' must be a non-empty string")
    for name in ("rank", "page_position"):
        value = entry.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_POSITION
        ):
            raise ParseError(f"{where}: '{name}' must be a whole number from 1 to {MAX_POSITION:,}")
    return Item(
        placement=placement,
        url=url.strip(),
        title=_text(entry.get("title")),
        snippet=_text(entry.get("snippet")),
        block=entry.get("block") if isinstance(entry.get("block"), str) else None,
        rank=entry.get("rank"),
        page_position=entry.get("page_position"),
        tracking_url=entry.get("tracking_url")
        if isinstance(entry.get("tracking_url"), str)
        else None,
    )


def _optional_str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where}: '{key}' must be a string")
    return value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_datetime(value: Any, *, where: str = "datetime") -> dt.datetime:
    """Parse an ISO 8601 datetime into an aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            raise ParseError(f"{where}: {value!r} is not an ISO 8601 datetime") from None
    else:
        raise ParseError(f"{where}: {value!r} is not an ISO 8601 datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, as every JSON output uses."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    text = value.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z")
