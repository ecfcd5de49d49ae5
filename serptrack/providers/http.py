"""The base of every HTTP API provider: requests, retries, error verdicts and paging.

:meth:`HttpProvider.get_json` sends one request through the run's
:class:`~serptrack.fetch.Fetcher` (rate limit, retries, backoff) and turns every kind of bad
answer into a ``FetchError`` whose message says what to do; :meth:`HttpProvider.fetch` asks
for pages (:meth:`~HttpProvider.page_request`, :meth:`~HttpProvider.parse_page`) until
``depth`` organic results are in and merges them (ranks and page positions continue across
pages, SPEC section 3). A subclass may refine the verdict hooks (:meth:`~HttpProvider.doc_error`,
:meth:`~HttpProvider.http_error`, :meth:`~HttpProvider.retryable` ...).
"""

from __future__ import annotations

import base64
import json
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import BlockedError, FetchError, ParseError
from ..fetch import (
    DEFAULT_MAX_BODY_MB,
    MB,
    RETRYABLE_STATUSES,
    Fetcher,
    RetryLater,
    parse_retry_after,
)
from ..parsers import sniff_kind
from ..parsers.payload import merge_pages
from ..redaction import may_hide, redact, redact_bytes, redact_json, settled
from ..snapshot import Gap, Snapshot
from ..vocabulary import Device, FailureKind, Placement
from .base import (
    Fetched,
    Provider,
    RawPage,
    SearchRequest,
    SettingError,
    invalid_key_message,
)

__all__ = ["HttpProvider", "basic_auth", "looks_blocked"]

_BLOCK_MARKERS = (
    b"captcha",
    b"/sorry/",
    b"unusual traffic",
    b"are you a robot",
    b"challenge-platform",
    b"verify you are human",
)


def looks_blocked(body: bytes) -> bool:
    """Whether an HTML answer is a captcha or anti-bot page rather than an error page."""
    head = body[:65536].lower()
    return any(marker in head for marker in _BLOCK_MARKERS)


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic auth."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class HttpProvider(Provider):
    """An HTTP API answered page by page.

    A subclass builds each page's request (:meth:`page_request`) and maps its decoded JSON
    (:meth:`parse_page`); :meth:`fetch` asks for pages until ``depth`` organic results and
    merges them.

    Settings every HTTP provider takes under ``[providers.<name>]``: ``base_url``,
    ``rate_limit`` (requests per second), ``timeout`` (seconds) and ``max_body_mb``, the
    largest answer read, decoded (:data:`~serptrack.fetch.DEFAULT_MAX_BODY_MB`, 32 MB, by
    default): a bigger one fails its check at once, unretried.
    """

    uses_http = True
    default_base_url: ClassVar[str] = ""
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "base_url": str,
        "rate_limit": (int, float),
        "timeout": (int, float),
        "max_body_mb": (int, float),
    }
    #: the API's name in messages ("SerpApi")
    label: ClassVar[str] = ""
    #: devices the API can emulate; a check for another one fails instead of lying
    devices: ClassVar[tuple[Device, ...]] = (Device.DESKTOP, Device.MOBILE)
    #: whether the API can target a location (city, region) besides a country
    locations: ClassVar[bool] = True
    #: requests per second when the campaign file sets no ``rate_limit``
    default_rate_limit: ClassVar[float | None] = None

    def __init__(
        self, settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ):
        """Use a fetcher of its own until a run attaches the shared one (:meth:`attach`)."""
        super().__init__(settings, environ)
        self.attach(Fetcher())

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Also check that ``rate_limit``, ``timeout`` and ``max_body_mb`` are positive and
        ``base_url`` a URL."""
        resolved = super().check_settings(settings, base_dir)
        if "rate_limit" in resolved and resolved["rate_limit"] <= 0:
            raise SettingError("rate_limit must be a positive number of requests per second")
        if "timeout" in resolved and resolved["timeout"] <= 0:
            raise SettingError("timeout must be a positive number of seconds")
        if "max_body_mb" in resolved and resolved["max_body_mb"] <= 0:
            raise SettingError(
                "max_body_mb must be a positive number of megabytes (the largest answer read; "
                f"{DEFAULT_MAX_BODY_MB} by default)"
            )
        base_url = resolved.get("base_url")
        if base_url is not None and not str(base_url).startswith(("http://", "https://")):
            raise SettingError(f"base_url {base_url!r} must start with http:// or https://")
        return resolved

    @property
    def rate_limit(self) -> float | None:
        """Requests per second this provider may send (campaign setting, else its default)."""
        rate = self.settings.get("rate_limit")
        return float(rate) if rate else self.default_rate_limit

    @property
    def max_body(self) -> int:
        """The most bytes of one answer (decoded) read: ``max_body_mb``, 32 MB by default."""
        return int(float(self.settings.get("max_body_mb") or DEFAULT_MAX_BODY_MB) * MB)

    def attach(self, fetcher: Fetcher) -> None:
        """Use a run's fetcher: its retry policy, clock and per-provider rate limiters."""
        self.fetcher = fetcher
        self.limiter = fetcher.limiter(self.name, self.rate_limit)

    @property
    def base_url(self) -> str:
        """Where requests go: the ``base_url`` setting or the provider's public endpoint."""
        return str(self.settings.get("base_url") or self.default_base_url).rstrip("/")

    def display_name(self) -> str:
        """How messages name this API."""
        return self.label or self.name

    # --- paging -------------------------------------------------------------------------------

    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        """Fetch pages until ``request.depth`` organic results; merge them into one snapshot."""
        self.check_request(request)
        problems = self.key_problems()
        if problems:  # require_keys refuses these first; never let one reach a header
            raise FetchError(invalid_key_message(self.name, problems), kind=FailureKind.AUTH)
        pages: list[RawPage] = []
        try:
            snapshots = await self._collect(client, request, pages)
        except FetchError as error:
            error.pages = pages + [page for page in error.pages if page not in pages]
            raise
        except ParseError as error:
            raise FetchError(
                f"{self.display_name()} sent a result page serptrack cannot read: {error}",
                kind=FailureKind.PARSE_ERROR,
                pages=pages,
            ) from None
        snapshot = merge_pages(snapshots).with_context(
            query=request.query,
            engine=request.engine,
            country=request.country,
            language=request.language,
            device=request.device,
            location=request.location,
        )
        return Fetched(snapshot, pages)

    async def _collect(
        self, client: httpx.AsyncClient, request: SearchRequest, pages: list[RawPage]
    ) -> list[Snapshot]:
        """Each page's snapshot, in order; ``pages`` receives each raw page as it arrives."""
        snapshots: list[Snapshot] = []
        organic = 0
        previous: Any = None
        number = 0
        organic_placement = Placement.ORGANIC.value  # a local: an enum member lookup is slower
        while organic < request.depth:
            number += 1
            http_request = self.page_request(client, request, number, organic, previous)
            if http_request is None:
                break
            doc, raw = await self.get_json(client, http_request, page=len(pages) + 1)
            pages.append(raw)
            snapshot = self.parse_page(doc)
            snapshots.append(snapshot)
            follow_up = await self._follow_up(client, request, doc, pages)
            if isinstance(follow_up, Gap):
                kept = tuple(gap for gap in snapshot.gaps if gap.placement != follow_up.placement)
                snapshots[-1] = replace(snapshot, gaps=(*kept, follow_up))
            elif follow_up is not None:
                snapshots.append(follow_up)
            found = sum(1 for item in snapshot.results if item.placement == organic_placement)
            if found == 0:
                break
            organic += found
            previous = doc
        return snapshots

    async def _follow_up(
        self, client: httpx.AsyncClient, request: SearchRequest, doc: Any, pages: list[RawPage]
    ) -> Snapshot | Gap | None:
        """The follow-up page ``doc`` asks for (:meth:`follow_up_request`), right away (its
        token may expire), or the :class:`Gap` its failure leaves; None when none is asked.

        A failed follow-up never fails the check: the result page stands, and the gap says
        what is unknown. Its raw answer is not kept, so a recording replays to the same gap.
        """
        http_request = self.follow_up_request(client, request, doc)
        if http_request is None:
            return None
        try:
            answer, raw = await self.get_json(client, http_request, page=len(pages) + 1)
            follow_up = self.parse_page(answer)
        except FetchError as error:
            return self.follow_up_gap(error)
        except ParseError as error:
            return self.follow_up_gap(FetchError(str(error), kind=FailureKind.PARSE_ERROR))
        pages.append(raw)
        return replace(follow_up, follow_up=True)

    def follow_up_request(
        self, client: httpx.AsyncClient, request: SearchRequest, doc: Any
    ) -> httpx.Request | None:
        """A second request a result page asks for within the same check (SerpApi's deferred
        AI overview), or None (the default: no API here defers a block)."""
        return None

    def follow_up_gap(self, error: FetchError) -> Gap:
        """The gap a failed follow-up request leaves on the result page (the AI overview: the
        one block an API defers today; a provider with a follow-up words it)."""
        return Gap(Placement.AI_OVERVIEW, str(error), error.kind)

    def check_request(self, request: SearchRequest) -> None:
        """Refuse a check this API cannot answer truthfully (an unsupported device or location)."""
        if request.device and request.device not in self.devices:
            raise FetchError(
                f"{self.display_name()} cannot emulate a {request.device} search (only "
                f'{", ".join(self.devices)}); set device = "desktop" for this keyword or use '
                "a provider that can (serpapi, dataforseo, valueserp)",
                kind=FailureKind.UNSUPPORTED,
            )
        if request.location and not self.locations:
            raise FetchError(
                f"{self.display_name()} cannot target a location ({request.location!r}); remove "
                "location from this keyword or use a provider that can (serpapi, dataforseo, "
                "valueserp, serper)",
                kind=FailureKind.UNSUPPORTED,
            )

    @abstractmethod
    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """The request for result page ``number`` (1-based), or None when there is no more.

        ``collected`` counts the organic results so far; ``previous`` is the last page's
        decoded body (None before the first page).
        """

    @abstractmethod
    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page's decoded body to a snapshot (raising FetchError for an error body)."""

    # --- one request ----------------------------------------------------------------------------

    def build_request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """A request to ``base_url + path``, with the ``timeout`` setting if the campaign set one."""
        timeout = self.settings.get("timeout")
        extra: dict[str, Any] = {"timeout": float(timeout)} if timeout else {}
        url = self.base_url + path
        query: dict[str, Any] | None = {
            k: v for k, v in (params or {}).items() if v not in (None, "")
        }
        if query and not client.params and "?" not in url and "#" not in url:
            # The query written into the URL as httpx would write it (QueryParams): httpx
            # then parses the URL once, not a second time to merge the parameters in, a
            # third of building a request.
            url, query = f"{url}?{httpx.QueryParams(query)}", None
        return client.build_request(
            method, url, params=query, json=json_body, headers=headers, **extra
        )

    async def get_json(
        self, client: httpx.AsyncClient, request: httpx.Request, *, page: int = 1
    ) -> tuple[Any, RawPage]:
        """Send ``request`` with retries; return the decoded JSON and its raw page (keys stripped)."""
        return await self.fetcher.send(
            client,
            request,
            partial(self._accept, page=page),
            limiter=self.limiter,
            label=self.display_name(),
            max_body=self.max_body,
            body_setting=f"max_body_mb in [providers.{self.name}]",
        )

    def raw_page(
        self,
        response: httpx.Response,
        page: int,
        body: bytes | None = None,
        *,
        redacted: bool = False,
    ) -> RawPage:
        """The response as evidence: body (``body`` if given) and URL with every secret removed.

        ``redacted`` says ``body`` came out of :func:`~serptrack.redaction.redact_bytes`
        already: it is not searched again (a third of the CPU of accepting a 100-result page)
        unless a second pass could find more (:func:`~serptrack.redaction.settled`).
        """
        secrets = self.secrets()
        data = response.content if body is None else body
        if not (redacted and body is not None and settled(secrets)):
            data = redact_bytes(data, secrets)
        return RawPage(
            body=data,
            content_type=response.headers.get("content-type", "application/json").split(";")[0],
            url=redact(str(response.request.url), secrets),
            status_code=response.status_code,
            name=f"page-{page}.json",
        )

    def _accept(self, response: httpx.Response, page: int) -> tuple[Any, RawPage]:
        """The fetcher's verdict on one answer: its JSON, or a FetchError / RetryLater.

        Keys are masked before anything reads the body: in its bytes, then in the strings of
        its decoded JSON, where escapes (``\\/``, ``\\u0073``) are undone, so an API echoing a
        key in a result's title stores ``***``.
        """
        secrets = self.secrets()
        status = response.status_code
        body = redact_bytes(response.content, secrets)
        redacted = True  # False once the body is the masked document, written anew
        kind = sniff_kind(body)
        try:
            decoded, doc = _decode(body, kind)
            if decoded and may_hide(body, secrets):  # else the bytes held every key as it is
                masked = redact_json(doc, secrets)
                if masked is not doc:  # a key behind escapes: keep the masked document
                    doc = masked
                    body = json.dumps(doc, ensure_ascii=False).encode()
                    redacted = False
        except RecursionError:  # no result page nests thousands deep; a retry cannot help
            raise FetchError(
                f"{self.display_name()} answered with JSON nested too deeply to be a result "
                f"page (HTTP {status})",
                kind=FailureKind.BAD_RESPONSE,
                status_code=status,
                pages=[self.raw_page(response, page, body, redacted=redacted)],
            ) from None
        raw = self.raw_page(response, page, body, redacted=redacted)
        if kind == "html" and looks_blocked(body):
            raise self._blocked(status, raw)
        if status >= 400:
            raise self._status_failure(response, doc, raw)
        if not decoded:
            raise self._unreadable(status, body, kind, raw)
        doc_error = self.doc_error(doc)
        if doc_error is not None:
            doc_error.status_code = status
            doc_error.pages = [raw]
            if self.retryable_doc_error(doc_error):
                raise RetryLater(doc_error)
            raise doc_error
        return doc, raw

    def _blocked(self, status: int, raw: RawPage) -> BlockedError:
        """A captcha page where the API should have answered."""
        return BlockedError(
            f"{self.display_name()} answered with a captcha page instead of results "
            f"(HTTP {status}); something between serptrack and the API is blocking this "
            "machine: check base_url and any proxy, then try again later",
            kind=FailureKind.BLOCKED,
            status_code=status,
            pages=[raw],
        )

    def _status_failure(
        self, response: httpx.Response, doc: Any, raw: RawPage
    ) -> FetchError | RetryLater:
        """The failure an HTTP error status means, wrapped in RetryLater if worth a retry."""
        status = response.status_code
        error = self.http_error(status, doc)
        error.status_code = status
        error.pages = [raw]
        if not self.retryable(status, doc):
            return error
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), self.fetcher.clock.now()
        )
        return RetryLater(error, retry_after)

    def _unreadable(
        self, status: int, body: bytes, kind: str, raw: RawPage
    ) -> FetchError | RetryLater:
        """A 2xx answer that is not JSON; a cut-off body may come whole next time, a page not."""
        if kind == "html":
            what = "an HTML page"
        elif not body.strip():
            what = "an empty body"
        elif kind == "json":
            what = "a cut-off or invalid JSON body"
        else:
            what = "a body that is not JSON"
        error = FetchError(
            f"{self.display_name()} answered with {what} (HTTP {status}) instead of a JSON "
            "result page; check base_url",
            kind=FailureKind.BAD_RESPONSE,
            status_code=status,
            pages=[raw],
        )
        return error if kind == "html" else RetryLater(error)

    # --- verdict hooks --------------------------------------------------------------------------

    def retryable(self, status: int, doc: Any) -> bool:
        """Whether an HTTP error is worth another attempt (429 and 5xx by default)."""
        return status in RETRYABLE_STATUSES

    def doc_error(self, doc: Any) -> FetchError | None:
        """The error a successful-looking (HTTP 2xx) body reports, if any."""
        return None

    def retryable_doc_error(self, error: FetchError) -> bool:
        """Whether an error reported inside a 2xx body is worth another attempt."""
        return error.kind == FailureKind.PROVIDER_UNAVAILABLE

    def key_hint(self) -> str:
        """What to check when the API rejects the credentials."""
        return " and ".join(self.key_env) if self.key_env else "the provider settings"

    def error_message(self, doc: Any) -> str:
        """The human message an error body carries (common shapes; providers may refine)."""
        return _body_message(doc)

    def http_error(self, status: int, doc: Any) -> FetchError:
        """A FetchError for an HTTP error status (``doc``: the decoded body, if JSON)."""
        name = self.display_name()
        message = self.error_message(doc)
        said = f": {message}" if message else ""
        if status in (401, 403):
            return FetchError(
                f"{name} rejected the key (HTTP {status}){said}; check {self.key_hint()}",
                kind=FailureKind.AUTH,
            )
        if status == 402:
            return FetchError(
                f"{name} says the account cannot pay for this search (HTTP 402){said}; "
                "top up the account or wait for the plan to renew",
                kind=FailureKind.QUOTA,
            )
        if status == 429:
            return FetchError(
                f"{name} is rate limiting serptrack (HTTP 429){said}; lower rate_limit in "
                f"[providers.{self.name}] or --concurrency, or upgrade the plan",
                kind=FailureKind.HTTP_429,
            )
        if status >= 500:
            return FetchError(
                f"{name} failed on its side (HTTP {status}){said}; try again later",
                kind=FailureKind.for_http_status(status),
            )
        verdict = self.doc_error(doc) if isinstance(doc, dict) else None
        if verdict is not None:
            verdict.args = (f"{verdict} (HTTP {status})",)
            return verdict
        return FetchError(
            f"{name} refused the request (HTTP {status}){said}", kind=FailureKind.PROVIDER_ERROR
        )


def _decode(body: bytes, kind: str) -> tuple[bool, Any]:
    """(whether ``body`` decoded, the document) for a body that sniffs as ``kind``."""
    if kind != "json":
        return False, None
    try:
        return True, json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return False, None


def _body_message(doc: Any) -> str:
    """The message of an error body: ``{"error": ...}``, ``{"message": ...}`` and kin."""
    if not isinstance(doc, dict):
        return ""
    candidates: list[Any] = [doc.get("error"), doc.get("message"), doc.get("status_message")]
    error = doc.get("error")
    if isinstance(error, dict):
        candidates[:1] = [error.get("message"), error.get("detail"), error.get("code")]
    info = doc.get("request_info")
    if isinstance(info, dict):
        candidates.append(info.get("message"))
    for value in candidates:
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= 300 else text[:297] + "..."
    return ""
