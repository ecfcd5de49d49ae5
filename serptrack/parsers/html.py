"""Saved result pages: decoding, size limits, block-page detection and small DOM helpers.

Every HTML parser (:mod:`.google`, :mod:`.bing`, :mod:`.duckduckgo`) reads a page through
:func:`prepare` and :func:`load_page`:

1. an MHTML archive ("Save as: web page, single file") is unwrapped to its HTML part;
2. the bytes are decoded with the byte-order mark, else the declared charset, else UTF-8,
   else a sniffed encoding (a truncated multi-byte character at the end is tolerated);
3. the bodies of ``<script>``, ``<style>`` and ``<svg>`` elements and comments are dropped:
   they are most of a saved page and hold no result, and leaving them out keeps the tree
   small (and a 20 MB page of inline scripts fast);
4. a BeautifulSoup tree is built with the lxml backend.

:data:`BLOCK_FORMAT` is registered ahead of the engine formats: a captcha, "unusual traffic",
"enable JavaScript" or anomaly page raises :class:`~serptrack.errors.BlockedPageError`
(status ``blocked``), never an empty result. It also claims pages too broken to read, so
that their :class:`~serptrack.errors.ParseError` names the file.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, NamedTuple, NoReturn, TypeVar
from urllib.parse import SplitResult, parse_qs, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from bs4.builder import ParserRejectedMarkup
from bs4.dammit import EncodingDetector
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
)
from bs4.filter import SoupStrainer
from lxml import etree

from ..errors import BlockedPageError, ParseError
from ..snapshot import Item
from ..urls import unwrap_redirect
from . import HtmlFormat, register_html

__all__ = [
    "BLOCK_FORMAT",
    "MAX_ANCESTORS",
    "MAX_ITEMS",
    "MAX_MARKUP_CHARS",
    "MAX_PAGE_BYTES",
    "BlockSignal",
    "Link",
    "Page",
    "Prepared",
    "ancestors",
    "answered_query",
    "attr",
    "block_signal",
    "classes",
    "clean",
    "detect_engine",
    "displayed_url",
    "explain_empty",
    "has_no_results_message",
    "is_engine_page",
    "load_page",
    "page_language",
    "prepare",
    "query_from_page",
    "read_results",
    "resolve_link",
    "split_url",
    "text_of",
    "too_large",
]

#: A saved page larger than this is refused before it is decoded.
MAX_PAGE_BYTES = 64 * 1024 * 1024
#: What is left once scripts, styles and comments are dropped; a real result page has
#: well under 1 MB, so anything bigger is not one (and would only be slow to parse).
MAX_MARKUP_CHARS = 8_000_000
#: More candidate results than this on one page means it is not a result page.
MAX_ITEMS = 1_000
#: Ancestor walks stop here, so pathological nesting cannot make parsing quadratic.
MAX_ANCESTORS = 256

_ENGINE_NAMES = {"google": "Google", "bing": "Bing", "duckduckgo": "DuckDuckGo"}


# --- decoding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A page decoded and stripped of scripts, styles and comments, ready to be parsed."""

    markup: str
    encoding: str
    location: str = ""  # the URL the page was saved from, when the file records it (MHTML)


@functools.lru_cache(maxsize=2)
def prepare(data: bytes) -> Prepared:
    """Decode ``data`` and drop what holds no result; raises :class:`ParseError` if unreadable.

    Cached: the block detector, each engine's ``matches`` and its ``parse`` all see the
    same bytes in a row.
    """
    if len(data) > MAX_PAGE_BYTES:
        raise ParseError(too_large(len(data)))
    location = ""
    declared: str | None = None
    if _MHTML_HEAD.match(data):
        data, declared, location = _unwrap_mhtml(data)
    text, encoding = _decode(data, declared)
    markup = _strip(text)
    if len(markup) > MAX_MARKUP_CHARS:
        raise ParseError(
            f"the page has {len(markup) / 1e6:.1f} MB of markup once scripts and styles are "
            f"dropped, more than any result page ({MAX_MARKUP_CHARS // 1_000_000} MB)"
        )
    return Prepared(markup, encoding, location)


# An MHTML archive starts with mail headers (no markup before them), one being MIME-Version.
_MHTML_HEAD = re.compile(
    rb"(?:[\w-]+:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*)*?mime-version:", re.IGNORECASE
)


def too_large(size: int, limit: int | None = None) -> str:
    """The error for a file of ``size`` bytes over ``limit`` (:data:`MAX_PAGE_BYTES`)."""
    mib = 1024 * 1024
    return (
        f"the file is {size / mib:.1f} MB; a saved result page is at most "
        f"{(limit or MAX_PAGE_BYTES) / mib:g} MB"
    )


_WHATWG_ALIASES = {
    # A page declaring Latin-1 or ASCII is read as windows-1252 by every browser.
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "ascii": "windows-1252",
    "us-ascii": "windows-1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "x-user-defined": "windows-1252",
}


def _unwrap_mhtml(data: bytes) -> tuple[bytes, str | None, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    location = str(message.get("Snapshot-Content-Location", "") or "")
    for part in message.walk():
        if part.get_content_type() == "text/html" and isinstance(part, EmailMessage):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return (
                    payload,
                    part.get_content_charset(),
                    location or str(part.get("Content-Location", "") or ""),
                )
    if message.get_content_type() == "text/html":
        payload = message.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload, message.get_content_charset(), location
    raise ParseError("an MHTML archive with no HTML page in it")


def _decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    data, bom = EncodingDetector.strip_byte_order_mark(data)
    encoding = bom or _usable(declared) or _declared_encoding(data) or _utf16_without_bom(data)
    if encoding:
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        # A file cut off inside a multi-byte character is still UTF-8.
        if error.start >= len(data) - 3:
            return data.decode("utf-8", errors="replace"), "utf-8"
    encoding = _sniff(data)
    return data.decode(encoding, errors="replace"), encoding


def _sniff(data: bytes) -> str:
    """An encoding the bytes decode with: charset detection's guess, else windows-1252."""
    sample = data[:200_000]
    for candidate in EncodingDetector(sample, is_html=True).encodings:
        encoding = _usable(candidate)
        if encoding is None or encoding in ("utf-8", "ascii"):  # UTF-8 was tried already
            continue
        try:
            sample.decode(encoding)
        except UnicodeDecodeError as error:
            if error.start < len(sample) - 4:  # not just a character cut at the sample's end
                continue
        return encoding
    return "windows-1252"


def _declared_encoding(data: bytes) -> str | None:
    declared = EncodingDetector.find_declared_encoding(data[:65536], is_html=True)
    usable = _usable(declared)
    # A page that is ASCII-compatible cannot really be UTF-16 (WHATWG reads it as UTF-8).
    if usable and usable.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return usable


def _usable(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _WHATWG_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # an unknown name, or one with a NUL in it
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    head = data[:400]
    if len(head) < 8:
        return None
    if head[1::2].count(0) > len(head) * 0.4:
        return "utf-16-le"
    if head[0::2].count(0) > len(head) * 0.4:
        return "utf-16-be"
    return None


_RAW_OPEN = re.compile(r"<(script|style|svg)(?=[\s/>])[^>]*>|<!--", re.IGNORECASE)
_RAW_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "svg")
}
_DATA_URI = re.compile(r"""(=\s*)(["'])data:[^"']{1024,}\2""")


def _strip(text: str) -> str:
    """Drop comments and the bodies of scripts, styles and SVG images.

    A scan with ``find``/``search`` rather than one regex substitution: ten times faster on
    a page that is mostly inline script. The opening tag is kept, since a script's ``src``
    can show a captcha page.
    """
    text = text.replace("\x00", "")
    out: list[str] = []
    position = 0
    while True:
        found = _RAW_OPEN.search(text, position)
        if found is None:
            out.append(text[position:])
            break
        if found.group(0) == "<!--":
            out.append(text[position : found.start()])
            end = text.find("-->", found.end())
            position = len(text) if end < 0 else end + 3
            continue
        name = found.group(1).lower()
        out.append(text[position : found.end()])
        close = _RAW_CLOSE[name].search(text, found.end())
        if close is None:  # unterminated, as in a truncated file: the rest is its body
            out.append(f"</{name}>")
            break
        out.append(text[close.start() : close.end()])
        position = close.end()
    return _DATA_URI.sub(r"\1\2data:,\2", "".join(out))


# --- the tree -------------------------------------------------------------------------------


@dataclass
class Page:
    """A parsed page: its tree, its stripped markup, and whether the tree is targeted."""

    soup: BeautifulSoup
    prepared: Prepared
    targeted: bool = False

    @property
    def markup(self) -> str:
        """The decoded markup without scripts, styles and comments."""
        return self.prepared.markup


class _Targets(SoupStrainer):
    """Builds only the regions a parser reads (by id) and the page's own metadata.

    Everything else (header, tabs, footer, hidden dialogs) never becomes a bs4 object,
    which is most of the cost of parsing a large page.
    """

    def __init__(self, ids: Collection[str]) -> None:
        super().__init__()
        self.ids = frozenset(ids)

    def allow_tag_creation(
        self, nsprefix: str | None, name: str, attrs: Mapping[Any, str] | None
    ) -> bool:
        if name in _METADATA_TAGS:
            return True
        return attrs is not None and attrs.get("id") in self.ids

    def allow_string_creation(self, string: str) -> bool:
        return False


_METADATA_TAGS = frozenset({"title", "textarea", "input", "link", "meta", "base"})


def load_page(
    data: bytes, parser: str = "lxml", regions: Collection[str] = (), also: Collection[str] = ()
) -> Page:
    """Decode and parse a saved page (``parser`` is a BeautifulSoup tree builder name).

    With ``regions`` (element ids, outermost first), only the first of them present in the
    page, the elements with an id in ``also`` wherever they are, and the page's metadata
    (title, inputs, links) are built: a targeted tree. The caller falls back to the whole
    tree if that finds nothing.
    """
    prepared = prepare(data)
    present = [
        region
        for region in regions
        if re.search(rf"""id=["']?{re.escape(region)}["'\s>]""", prepared.markup)
    ]
    targets = _Targets([present[0], *also]) if present else None
    try:
        # Class lists stay strings: splitting every class attribute costs more than it saves.
        soup = BeautifulSoup(
            prepared.markup, parser, parse_only=targets, multi_valued_attributes=None
        )
    except (ParserRejectedMarkup, etree.LxmlError, ValueError) as error:
        raise ParseError(f"not readable as HTML ({type(error).__name__}: {error})") from None
    return Page(soup, prepared, targeted=targets is not None)


# --- detection ------------------------------------------------------------------------------

# Every pattern below runs on the lower-cased markup and starts with a literal where it can:
# a leading \\b or a case-insensitive flag makes the regex engine try every position, which
# costs milliseconds per pattern on a large page.
_ENGINE_MARKERS: dict[str, Sequence[tuple[re.Pattern[str], int]]] = {
    "google": (
        (
            re.compile(r"""id=["']?(?:rso|tads|tadsb|bottomads|center_col|rcnt|topstuff)["'\s>]"""),
            3,
        ),
        (re.compile(r"data-hveid="), 2),
        (re.compile(r"""jscontroller=["']?sc7lyd"""), 2),
        (re.compile(r"mjjyud|yurubf|tf2cxc|bneawe"), 2),
        (re.compile(r"<title>[^<]*\bgoogle\b"), 2),
        (re.compile(r"//(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?/(?:search|sorry)\b"), 1),
        (re.compile(r"gstatic\.com/"), 1),
        (re.compile(r"""href=["']?/url\?(?:q|url)="""), 1),
    ),
    "bing": (
        (re.compile(r"""id=["']?(?:b_results|b_content|sb_form_q)["'\s>]"""), 3),
        (re.compile(r"b_(?:algo|caption|ad|no)\b"), 2),
        (re.compile(r"<title>[^<]*\bbing\b"), 2),
        (re.compile(r"//(?:www\.|cn\.)?bing\.com/(?:search|ck/a|turing)\b"), 1),
    ),
    "duckduckgo": (
        (re.compile(r"result(?:__a|s_links|-link)\b"), 3),
        (re.compile(r"anomaly-modal|result--ad\b"), 2),
        (re.compile(r"<title>[^<]*\bduckduckgo\b"), 2),
        (re.compile(r"//(?:html\.|lite\.)?duckduckgo\.com/"), 1),
    ),
}


@functools.lru_cache(maxsize=2)
def _lower(markup: str) -> str:
    return markup.lower()


_Scan = TypeVar("_Scan")


def is_engine_page(data: bytes, engine: str) -> bool:
    """Whether ``data`` looks like a saved result page of ``engine`` (an engine's ``matches``)."""
    try:
        return detect_engine(prepare(data).markup) == engine
    except ParseError:
        return False


def read_results(
    data: bytes,
    parser: str,
    engine: str,
    scan: Callable[[BeautifulSoup], _Scan],
    items_of: Callable[[_Scan], list[Any]],
    *,
    regions: Collection[str] = (),
    also: Collection[str] = (),
) -> tuple[Page, _Scan, list[Any]]:
    """Scan the results area of a saved page, the whole tree when that finds nothing; a page
    that still yields no item must say it found nothing (else :func:`explain_empty` raises)."""
    page = load_page(data, parser, regions=regions, also=also)
    scanned = scan(page.soup)
    items = items_of(scanned)
    if not items and page.targeted:
        page = load_page(data, parser)
        scanned = scan(page.soup)
        items = items_of(scanned)
    if not items:
        explain_empty(page.markup, engine)
    return page, scanned, items


@functools.lru_cache(maxsize=2)
def detect_engine(markup: str) -> str | None:
    """The engine whose result-page markers ``markup`` shows most, or None.

    Cached: each engine's ``matches`` asks in turn about the same page.
    """
    lowered = _lower(markup)
    scores = {
        engine: sum(weight for pattern, weight in markers if pattern.search(lowered))
        for engine, markers in _ENGINE_MARKERS.items()
    }
    best = max(scores, key=lambda engine: scores[engine])
    return best if scores[best] >= 2 else None


@dataclass(frozen=True)
class BlockSignal:
    """Why a page looks like a block page; ``decisive`` signals are challenge machinery."""

    engine: str | None
    reason: str
    decisive: bool

    def message(self, engine: str | None = None) -> str:
        """The one-line error for this block page."""
        who = _ENGINE_NAMES.get(self.engine or engine or "", "")
        page = f"a {who} block page" if who else "a block page"
        return f"{page} ({self.reason}), not a result page"


def _phrase(words: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(word) for word in words.lower().split()))


_BLOCK_SIGNALS: Sequence[tuple[re.Pattern[str], str | None, str, bool]] = (
    (re.compile(r"""id=["']?captcha-form\b"""), "google", "captcha: unusual traffic", True),
    (re.compile(r"""action=["']?[^"'>\s]*/sorry/"""), "google", "the /sorry/ captcha", True),
    (re.compile(r"google\.[a-z.]+/sorry/"), "google", "the /sorry/ captcha", True),
    (re.compile(r"g-recaptcha\b"), None, "reCAPTCHA challenge", True),
    (re.compile(r"/recaptcha/(?:api|enterprise)"), None, "reCAPTCHA challenge", True),
    (re.compile(r"anomaly-modal"), "duckduckgo", "anomaly page: bot challenge", True),
    (re.compile(r"anomaly\.js\b"), "duckduckgo", "anomaly page: bot challenge", True),
    (re.compile(r"""id=["']?challenge-form\b"""), None, "challenge form", True),
    (re.compile(r"/turing/captcha\b"), "bing", "captcha challenge", True),
    (re.compile(r"challenges\.cloudflare\.com"), None, "Cloudflare challenge", True),
    (re.compile(r"cf-turnstile\b"), None, "Cloudflare challenge", True),
    (re.compile(r"hcaptcha\.com|h-captcha\b"), None, "hCaptcha challenge", True),
    (_phrase("unusual traffic from your computer network"), "google", "unusual traffic", False),
    (_phrase("sending automated queries"), "google", "automated queries", False),
    (_phrase("enable JavaScript to continue searching"), "google", "enable JavaScript", False),
    (re.compile(r"/httpservice/retry/enablejs"), "google", "enable JavaScript", False),
    (_phrase("bots use DuckDuckGo too"), "duckduckgo", "anomaly page: bot challenge", False),
    (_phrase("confirm this search was made by a human"), "duckduckgo", "anomaly page", False),
    (_phrase("solve the challenge below to continue"), "bing", "captcha challenge", False),
    (_phrase("one last step"), "bing", "captcha challenge", False),
    (re.compile(r"verify\s+(?:that\s+)?you\s+are\s+(?:a\s+)?human"), None, "human check", False),
    (re.compile(r"are\s+you\s+a\s+robot\b"), None, "robot check", False),
)

_RESULT_ITEMS = re.compile(
    r"""mjjyud|yurubf|tf2cxc|b_algo\b|result__a\b|result-link\b|jscontroller=["']?sc7lyd|<h3[\s>]"""
)
_RESULT_SKELETON = re.compile(
    r"""id=["']?(?:search|rso|center_col|rcnt|topstuff|b_results|b_content|links)["'\s>]"""
)
_NO_RESULTS = re.compile(
    "|".join(
        (
            r"did\s+not\s+match\s+any\s+documents",
            r"no\s+results\s+found\s+for",
            r"there\s+are\s+no\s+results\s+for",
            r"übereinstimmenden\s+dokumente\s+gefunden",
            r"aucun\s+document\s+ne\s+correspond",
            r"no\s+obtuvo\s+ningún\s+resultado",
            r"não\s+encontrou\s+nenhum\s+documento",
            r"non\s+ha\s+prodotto\s+risultati",
            r"b_no\b",
            r"no-results\b",
            r">\s*no\s+(?:more\s+)?results\.?\s*<",
        )
    )
)


def block_signal(markup: str) -> BlockSignal | None:
    """The first sign that ``markup`` is a block page (checked on its own, with no context)."""
    lowered = _lower(markup)
    for pattern, engine, reason, decisive in _BLOCK_SIGNALS:
        if pattern.search(lowered):
            return BlockSignal(engine, reason, decisive)
    return None


def has_no_results_message(markup: str) -> bool:
    """Whether the page says the search found nothing (a genuine empty result page)."""
    return bool(_NO_RESULTS.search(_lower(markup)))


def explain_empty(markup: str, engine: str) -> None:
    """For a page where its parser found no result: return if the page says it found
    nothing, raise :class:`BlockedPageError` if it looks blocked, else :class:`ParseError`.

    A layout the parser does not know must fail loudly, never pass for "no results".
    """
    if has_no_results_message(markup):
        return
    signal = block_signal(markup)
    if signal is not None:
        raise BlockedPageError(signal.message(engine))
    name = _ENGINE_NAMES.get(engine, engine)
    raise ParseError(
        f"a {name} page with no result serptrack can find and no 'no results' message "
        "(a layout serptrack does not know?)"
    )


def _looks_blocked(markup: str) -> BlockSignal | None:
    signal = block_signal(markup)
    lowered = _lower(markup)
    if signal is None or _RESULT_ITEMS.search(lowered):
        return None
    if not signal.decisive and (_RESULT_SKELETON.search(lowered) or has_no_results_message(markup)):
        # A result page may mention "unusual traffic" or carry a noscript fallback; its
        # own parser decides, and still reports a block if it finds no result at all.
        return None
    return signal


def _claims(data: bytes) -> bool:
    try:
        markup = prepare(data).markup
    except ParseError:
        return True  # so that parse() raises the error with the file's name in front
    return _looks_blocked(markup) is not None


def _refuse(data: bytes) -> NoReturn:
    prepared = prepare(data)
    signal = _looks_blocked(prepared.markup)
    if signal is None:  # pragma: no cover - _claims() said otherwise
        raise ParseError("not a block page")
    raise BlockedPageError(signal.message(detect_engine(prepared.markup)))


#: Tried first among HTML formats (see HTML_ORDER): block pages are errors, never empty results.
BLOCK_FORMAT = register_html(HtmlFormat("block-page", _claims, _refuse))


# --- small DOM helpers ----------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u200b\u200e\u200f\ufeff]+")


def clean(text: str) -> str:
    """Collapse whitespace (and invisible direction marks) to single spaces."""
    return _SPACES.sub(" ", text).strip()


def text_of(tag: Tag | None, skip: Iterable[Tag] = ()) -> str:
    """The visible text of ``tag`` without the subtrees in ``skip``, whitespace collapsed.

    Block elements (``div``, ``p``, ``br`` ...) separate words; inline ones (``em``,
    ``span``) do not, so ``<em>Acme</em>'s`` stays ``Acme's``.
    """
    if tag is None:
        return ""
    skipped = {id(item) for item in skip}
    parts: list[str] = []
    stack: list[PageElement | None] = list(reversed(tag.contents))
    while stack:
        node = stack.pop()
        if node is None:  # the end of a block element
            parts.append(" ")
        elif isinstance(node, Tag):
            if id(node) in skipped:
                continue
            if node.name in _BLOCK_TAGS:
                parts.append(" ")
                stack.append(None)
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, _NON_TEXT):
            parts.append(str(node))
    return clean("".join(parts))


_BLOCK_TAGS = frozenset(
    (  # noqa: SIM905 - a word list reads better than 40 quoted strings
        "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 "
        "h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td th thead tr ul "
        "g-section-with-header block-component"
    ).split()
)


def attr(tag: Tag | None, name: str) -> str:
    """An attribute as one string ("" when absent; multi-valued ones joined by spaces)."""
    if tag is None:
        return ""
    value = tag.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return " ".join(value)


def classes(tag: Tag) -> list[str]:
    """The element's classes."""
    value = tag.get("class")
    if value is None:
        return []
    return value.split() if isinstance(value, str) else list(value)


def ancestors(tag: Tag, stop: Tag | None = None) -> Iterator[Tag]:
    """The element's ancestors, nearest first, up to (not including) ``stop``; bounded."""
    for count, parent in enumerate(tag.parents):
        if parent is stop or count >= MAX_ANCESTORS or isinstance(parent, BeautifulSoup):
            return
        yield parent


_NON_TEXT = (Comment, CData, Declaration, Doctype, ProcessingInstruction)


def displayed_url(text: str) -> str | None:
    """A URL from a displayed breadcrumb (``acme.example › news › recall``), or None.

    Used when the link itself is an opaque tracking token. Elided parts (``…``) end it.
    """
    parts = [part.strip() for part in re.split(r"\s*[›»]\s*", clean(text)) if part.strip()]
    if not parts or " " in parts[0]:
        return None
    url = parts[0] if "://" in parts[0] else "https://" + parts[0]
    split = split_url(url)
    if split is None or split.scheme not in ("http", "https") or "." not in (split.hostname or ""):
        return None
    url = url.rstrip("/")
    for segment in parts[1:]:
        if "…" in segment or "..." in segment or " " in segment:
            break
        url += "/" + segment
    return url


_ABSOLUTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)


def split_url(url: str) -> SplitResult | None:
    """``urlsplit`` that says None for a URL it cannot read (a bad IPv6 host or port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    return parts


class Link(NamedTuple):
    """A result link: the landing URL and the tracking wrapper it was found in (if any)."""

    url: str
    tracking: str | None

    @property
    def opaque(self) -> bool:
        """Whether the landing URL is still the engine's wrapper (it could not be decoded)."""
        parts = split_url(self.url)
        return bool(
            parts is not None
            and _ENGINE_HOST.match((parts.hostname or "").lower())
            and _WRAPPER_PATH.match(parts.path)
        )


_ENGINE_HOST = re.compile(
    r"^(?:(?:www|ipv4|ipv6)\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$"
    r"|^(?:www\.)?googleadservices\.com$"
    r"|^(?:www\.|cn\.)?bing\.com$"
    r"|^(?:html\.|lite\.|links\.)?duckduckgo\.com$"
)
#: Paths on an engine's host that lead back into its own search, never to a result.
_SEARCH_PATH = re.compile(
    r"^/(?:search|webhp|imgres|images|videos|news|shopping|preferences|setprefs|"
    r"advanced_search|sorry|html|lite|ck|aclick|async|complete)(?:/|$)"
)
_WRAPPER_PATH = re.compile(r"^/(?:url|goto|aclk|pagead/aclk|ck/a|aclick|l/?|y\.js)$")


def resolve_link(href: str, base: str, *, result: bool = False) -> Link | None:
    """The landing URL and tracking link of a result link; None for in-engine navigation.

    ``base`` makes relative links absolute (``https://www.google.com``). A redirect wrapper
    (``/url?q=``, ``/l/?uddg=``, ``/ck/a``, ``/aclk``) is unwrapped and kept as the tracking
    link. A wrapper that cannot be unwrapped (an opaque ``/goto`` token) comes back as its
    own landing URL with the tracking link set, so the caller can look for a better one.

    A link on the engine's own host is navigation, unless ``result`` says the caller found it
    as a result's title link: ``https://www.google.com/``, ``support.google.com/…`` or
    ``www.bing.com/maps`` are genuine results for some queries. Links back into the
    engine's search (``/search``, ``/images``…) are navigation wherever they sit.
    """
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    if split_url(href) is None:
        return None
    absolute = href if href.startswith(("http://", "https://")) else urljoin(base + "/", href)
    target = unwrap_redirect(absolute)
    if target != absolute and split_url(target) is not None and _ABSOLUTE.match(target):
        return Link(urljoin("https:", target), href)
    parts = split_url(absolute)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if _ENGINE_HOST.match((parts.hostname or "").lower()):
        if _WRAPPER_PATH.match(parts.path):
            return Link(absolute, href)
        if not result or _SEARCH_PATH.match(parts.path):
            return None
    return Link(absolute, None)


def query_from_page(
    soup: BeautifulSoup, title_pattern: re.Pattern[str] | None, location: str = ""
) -> str:
    """The search query, from the search box, a form or canonical URL, or the title."""
    for tag in soup.find_all(["input", "textarea"], attrs={"name": "q"}):
        if not isinstance(tag, Tag) or attr(tag, "type").lower() == "hidden":
            continue
        value = attr(tag, "value") if tag.name == "input" else tag.get_text()
        if clean(value):
            return clean(value)
    urls = [location]
    for tag in soup.find_all("input", attrs={"name": "continue"}):
        urls.append(attr(tag if isinstance(tag, Tag) else None, "value"))
    for tag in soup.find_all(["link", "meta"]):
        if isinstance(tag, Tag) and (
            "canonical" in attr(tag, "rel").split() or attr(tag, "property") == "og:url"
        ):
            urls.append(attr(tag, "href") or attr(tag, "content"))
    for url in urls:
        parts = split_url(url)
        query = parse_qs(parts.query).get("q") if parts else None
        if query and clean(query[0]):
            return clean(query[0])
    title = soup.title
    if title_pattern is not None and title is not None:
        match = title_pattern.match(text_of(title))
        if match:
            return clean(match.group(1))
    return ""


_RELAXED_HINT = re.compile(r"results for", re.IGNORECASE)
_RELAXED = (
    # Google's spelling correction (#fprs): "These are results for congress usa / Search
    # instead for cngress usa"; Bing's and older Google's "Showing results for …".
    re.compile(r"^(?:showing|these are) results for (?P<query>.+?)(?:\s+search instead for .*)?$"),
    # "No results found for @acme. Results for acme (without punctuation):"
    re.compile(r"^no results found for .+?\s*\.?\s*results for (?P<query>.+?)\s*(?:\(.*\))?\s*:?$"),
)


def answered_query(page: Page, items: Iterable[Item] = ()) -> str | None:
    """The query the engine answered instead of the one asked, when the page says so.

    An engine that finds nothing for the exact query, or corrects its spelling, shows the
    results of another query under a notice; those results do not answer the keyword.
    "Including results for" (both queries answered) is not such a notice, and neither is
    the snippet of a result of the page (``items``) that happens to read like one.
    """
    if not _RELAXED_HINT.search(page.markup):
        return None
    snippets = [item.snippet.casefold() for item in items if len(item.snippet) >= 20]
    for string in page.soup.find_all(string=_RELAXED_HINT):
        block = string.parent
        for _ in range(4):
            parent = block.parent if block is not None else None
            if parent is None or len(parent.get_text(" ", strip=True)) > 300:
                break
            block = parent
        text = clean(block.get_text(" ", strip=True)).casefold() if block is not None else ""
        if any(snippet in text or text in snippet for snippet in snippets):
            continue
        for pattern in _RELAXED:
            match = pattern.match(text)
            if match:
                return match["query"].strip(" .:")
    return None


def page_language(markup: str) -> str | None:
    """The primary language subtag of ``<html lang>``, lower-cased, or None."""
    found = _HTML_LANG.search(markup)
    return found.group(1).lower() if found else None


_HTML_LANG = re.compile(r"""<html\b[^>]*?\blang=["']?([A-Za-z]{2,3})(?![A-Za-z])""")


def declares_device_width(markup: str) -> bool:
    """Whether the page declares a ``<meta name="viewport">`` as wide as the device.

    A page sized to the device's screen is laid out for a phone: Google's smartphone
    result pages declare ``width=device-width``, its desktop pages declare no viewport.
    """
    return _DEVICE_WIDTH_VIEWPORT.search(markup) is not None


_DEVICE_WIDTH_VIEWPORT = re.compile(
    r"""<meta\b(?=[^>]*\bname=["']?viewport["'\s/>])(?=[^>]*\bcontent=["'][^"']*"""
    r"""\bwidth\s*=\s*device-width)[^>]*>""",
    re.IGNORECASE,
)
