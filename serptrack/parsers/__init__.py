"""Content detection: turn any supported page or payload into a Snapshot.

The content is detected, not declared (SPEC section 5). JSON documents are offered to each
:class:`JsonFormat` in the order of :data:`JSON_ORDER` (the serptrack snapshot, then each API's
raw payload); HTML pages to each :class:`HtmlFormat` in the order of :data:`HTML_ORDER` (block
pages, then Bing, DuckDuckGo, Google). A new format plugs in as one module that calls
:func:`register_json` or :func:`register_html`, and one entry in the order tuple: where the
entry sits, not when its module is imported, decides when the format is tried.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import FetchError, ParseError, SerptrackError
from ..snapshot import FORMAT, Snapshot, clean_text, snapshot_from_json
from ..vocabulary import FailureKind

__all__ = [
    "HTML_FORMATS",
    "HTML_ORDER",
    "JSON_FORMATS",
    "JSON_ORDER",
    "BadResponseError",
    "HtmlFormat",
    "JsonFormat",
    "UndeclaredFormatError",
    "decode_json",
    "parse_content",
    "register_html",
    "register_json",
    "sniff_kind",
]


@dataclass(frozen=True)
class JsonFormat:
    """A JSON payload format: ``matches`` looks at the decoded document, ``parse`` maps it.

    ``parse`` raises :class:`~serptrack.errors.ParseError` for a malformed document and
    :class:`~serptrack.errors.FetchError` (or ``BlockedError``) for an API error body.
    """

    name: str
    matches: Callable[[Any], bool]
    parse: Callable[[Any], Snapshot]


@dataclass(frozen=True)
class HtmlFormat:
    """A saved result page format; both callables take the raw bytes of the page."""

    name: str
    matches: Callable[[bytes], bool]
    parse: Callable[[bytes], Snapshot]


#: The order JSON formats are tried in (the first that matches parses the document).
JSON_ORDER: tuple[str, ...] = (
    # First the documents that name their format in a "format" field: an exact test, cheaper
    # than any shape test below.
    FORMAT,  # serptrack's own export
    "serptrack-pages/1",  # a multi-page recording; it hands each page to the API formats below
    # Then the raw API payloads, told apart by their shape. Their markers do not overlap, so
    # among them the order only sets how an "unknown format" error lists them: by name.
    "brave",  # "type": "search" or "ErrorResponse"
    "dataforseo",  # an envelope with an integer status_code, tasks and status_message
    "google_cse",  # "kind": "customsearch#search", or an error object with an integer code
    "openai",  # "object": "response" (the Responses API)
    "perplexity",  # choices next to citations / search_results, or a "sonar" model
    "searxng",  # results next to unresponsive_engines and query
    "serpapi",  # search_metadata (ValueSERP's too, but is_serpapi rejects its request_info)
    "serper",  # searchParameters, or exactly {"message", "statusCode"}
    "valueserp",  # request_info
)

#: The order saved-page formats are tried in.
HTML_ORDER: tuple[str, ...] = (
    # First the block pages: a captcha, consent or "unusual traffic" page is an error, never
    # an engine's page with no results, so it is refused before an engine's parser reads it.
    "block-page",
    # The engines' own pages. detect_engine names one engine per page, so none shadows another
    # and the order only sets how errors list them: by name.
    "bing-html",
    "duckduckgo-html",
    "google-html",
)

JSON_FORMATS: list[JsonFormat] = []
HTML_FORMATS: list[HtmlFormat] = []

_Format = TypeVar("_Format", JsonFormat, HtmlFormat)


class UndeclaredFormatError(SerptrackError):
    """A format registered under a name its order tuple does not list."""


class BadResponseError(ParseError, FetchError):
    """Valid JSON that is not a result page: the wrong shape, a bare value, too deep.

    It is not "no results": a check that gets it read nothing, so it fails with kind
    ``bad-response`` (a :class:`~serptrack.errors.FetchError`, which the providers, the
    tracker and the replay provider keep as such) rather than being stored as a page on which
    nothing ranks. It is also a :class:`~serptrack.errors.ParseError`: ``parse`` and
    ``import-serp`` refuse the content (one ``Error:`` line, nothing stored).
    """

    def __init__(self, message: str) -> None:
        """The failure kind is always ``bad-response``."""
        FetchError.__init__(self, message, kind=FailureKind.BAD_RESPONSE)


def register_json(fmt: JsonFormat) -> JsonFormat:
    """Add a JSON format at its place in :data:`JSON_ORDER` (replacing a namesake)."""
    _place(JSON_FORMATS, fmt, JSON_ORDER, "JSON_ORDER")
    return fmt


def register_html(fmt: HtmlFormat) -> HtmlFormat:
    """Add a saved-page format at its place in :data:`HTML_ORDER` (replacing a namesake)."""
    _place(HTML_FORMATS, fmt, HTML_ORDER, "HTML_ORDER")
    return fmt


def _place(formats: list[_Format], fmt: _Format, order: tuple[str, ...], where: str) -> None:
    """Put ``fmt`` into ``formats`` (in place) so that the list follows ``order``."""
    if fmt.name not in order:
        raise UndeclaredFormatError(
            f"format {fmt.name!r} has no place in serptrack.parsers.{where}; add it there"
        )
    formats[:] = [known for known in formats if known.name != fmt.name]
    formats.append(fmt)
    formats.sort(key=lambda known: order.index(known.name))


#: a whole body that is one JSON value other than an object or an array
_JSON_SCALAR = re.compile(
    rb'(?:null|true|false|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|"(?:[^"\\]|\\.)*")'
)
_BLANK = b"\xef\xbb\xbf \t\r\n\x00"


def sniff_kind(data: bytes) -> str:
    """``json``, ``html`` or ``unknown``, from the first meaningful bytes.

    A body that is one bare JSON value (``null``, ``42``, ``"text"``) is ``json`` too: valid
    JSON of the wrong shape, not a body that is not JSON.
    """
    head = data[:4096].lstrip(_BLANK)
    if head[:1] in (b"{", b"["):
        return "json"
    if (
        head
        and head[:1] in b'ntf-0123456789"'
        and len(data) <= 65536
        and _JSON_SCALAR.fullmatch(data.strip(_BLANK))
    ):
        return "json"
    lowered = data[:65536].lower()
    if head[:1] == b"<" or b"<html" in lowered or b"<!doctype html" in lowered:
        return "html"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 byte order marks: decoded by HTML parsers
        return "html"
    return "unknown"


def parse_content(data: bytes, *, where: str = "content") -> Snapshot:
    """Detect what ``data`` is and parse it into a snapshot.

    ``where`` names the file or request in error messages.
    """
    kind = sniff_kind(data)
    if kind == "json":
        doc = decode_json(data, where=where)
        if not isinstance(doc, dict | list):
            raise BadResponseError(
                f"{where}: valid JSON, but {_bare_value(doc)} instead of a result page "
                "(a JSON object)"
            )
        for fmt in JSON_FORMATS:
            if fmt.matches(doc):
                return _located(fmt.parse, doc, where)
        raise ParseError(
            f"{where}: JSON of an unknown format (expected a {FORMAT} document or the raw "
            f"response of a supported API: {', '.join(f.name for f in JSON_FORMATS)})"
        )
    if kind == "html":
        for html_fmt in tuple(HTML_FORMATS):  # a stand-in's first call replaces it in the list
            if html_fmt.matches(data):
                return _located(html_fmt.parse, data, where)
        known = ", ".join(f.name for f in HTML_FORMATS) or "none yet"
        raise ParseError(f"{where}: an HTML page of no known result-page format (known: {known})")
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    raise ParseError(
        f"{where}: not a known format (expected a {FORMAT} document, an API payload "
        "or a saved Google, Bing or DuckDuckGo result page)"
    )


def decode_json(data: bytes, *, where: str = "content") -> Any:
    """The JSON document ``data`` holds (UTF-8, with or without a byte order mark).

    Raises :class:`~serptrack.errors.ParseError` for a body that is not valid JSON, and
    :class:`BadResponseError` for one nested too deeply to decode: Python's decoder recurses
    once a level and gives up (``RecursionError``) near the interpreter's recursion limit,
    hundreds of levels deeper than any result page.
    """
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ParseError(f"{where}: not valid JSON ({error})") from None
    except RecursionError:
        raise BadResponseError(
            f"{where}: JSON nested too deeply to be a result page (hundreds of levels)"
        ) from None


def _bare_value(doc: Any) -> str:
    """How an error names a bare JSON value: ``null``, ``the number 42``, ``a string``."""
    if doc is None:
        return "null"
    if isinstance(doc, bool):
        return json.dumps(doc)
    if isinstance(doc, int | float):
        return f"the number {json.dumps(doc)[:40]}"
    return "a string"


def _located(parse: Callable[[Any], Snapshot], content: Any, where: str) -> Snapshot:
    """Run a parser, prefixing any error it raises with the name of what was parsed."""
    try:
        return parse(content)
    except SerptrackError as error:
        error.args = (clean_text(f"{where}: {error}"),)
        raise


def _is_snapshot(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _parse_snapshot(doc: Any) -> Snapshot:
    return snapshot_from_json(doc)


register_json(JsonFormat(FORMAT, _is_snapshot, _parse_snapshot))

# Each further format registers itself, at its declared place, when its module is imported.
from . import formats as _formats  # noqa: E402, F401
