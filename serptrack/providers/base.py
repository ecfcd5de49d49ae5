"""The one interface every result source implements.

A provider turns a :class:`SearchRequest` into a :class:`Fetched` page: a normalised
:class:`~serptrack.snapshot.Snapshot` plus the raw payloads it came from (keys stripped). It
never labels, stores or renders. When it cannot deliver it raises
:class:`~serptrack.errors.FetchError` (``failed``) or :class:`~serptrack.errors.BlockedError`
(``blocked``), carrying whatever raw evidence it received.

HTTP providers share the machinery here: :meth:`Provider.get_json` sends one request through
the run's :class:`~serptrack.fetch.Fetcher` (rate limit, retries, backoff) and turns every
kind of bad answer into a ``FetchError`` whose message says what to do;
:meth:`Provider.collect_pages` paginates until ``depth`` organic results are in and merges
the pages (ranks and page positions continue across pages, SPEC section 3).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import BlockedError, FetchError, MissingKeyError, ParseError
from ..fetch import RETRYABLE_STATUSES, Fetcher, RetryLater, parse_retry_after
from ..parsers import sniff_kind
from ..parsers.payload import merge_pages
from ..redaction import redact, redact_bytes
from ..snapshot import Snapshot

__all__ = [
    "Fetched",
    "PagedProvider",
    "Provider",
    "RawPage",
    "SearchRequest",
    "SettingError",
    "basic_auth",
    "looks_blocked",
]

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


class SettingError(ValueError):
    """A provider setting in a campaign file that cannot be used."""


@dataclass(frozen=True)
class SearchRequest:
    """What one check asks a provider for."""

    query: str
    engine: str = "google"
    country: str = ""
    language: str = ""
    device: str = "desktop"
    location: str = ""
    depth: int = 10
    as_of: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class RawPage:
    """One raw response, kept as evidence. ``url`` has every secret removed."""

    body: bytes
    content_type: str = "application/json"
    url: str = ""
    status_code: int | None = None
    name: str = ""  # a file name hint for --record (e.g. "page-2.json")


@dataclass
class Fetched:
    """A provider's answer: the normalised page and the raw pages behind it."""

    snapshot: Snapshot
    pages: list[RawPage] = field(default_factory=list)


class Provider(ABC):
    """Base class for result sources; subclasses set the class attributes and ``fetch``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: environment variables that must all be set (their values are secrets)
    key_env: ClassVar[tuple[str, ...]] = ()
    #: placements this source can return (organic, paid, news, ai_overview ...)
    placements: ClassVar[tuple[str, ...]] = ("organic",)
    engines: ClassVar[tuple[str, ...]] = ("google",)
    uses_http: ClassVar[bool] = True
    default_base_url: ClassVar[str] = ""
    #: settings a campaign file may give under [providers.<name>], with their types
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "base_url": str,
        "rate_limit": (int, float),
        "timeout": (int, float),
    }
    required_settings: ClassVar[tuple[str, ...]] = ()
    notes: ClassVar[str] = ""
    #: the API's name in messages ("SerpApi")
    label: ClassVar[str] = ""
    #: devices the API can emulate; a check for another one fails instead of lying
    devices: ClassVar[tuple[str, ...]] = ("desktop", "mobile")
    #: whether the API can target a location (city, region) besides a country
    locations: ClassVar[bool] = True
    #: requests per second when the campaign file sets no ``rate_limit``
    default_rate_limit: ClassVar[float | None] = None

    def __init__(
        self, settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ):
        self.settings: dict[str, Any] = dict(settings or {})
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.keys: dict[str, str] = self._read_keys()
        self.attach(Fetcher())

    @property
    def rate_limit(self) -> float | None:
        """Requests per second this provider may send (campaign setting, else its default)."""
        rate = self.settings.get("rate_limit")
        return float(rate) if rate else self.default_rate_limit

    def attach(self, fetcher: Fetcher) -> None:
        """Use a run's fetcher: its retry policy, clock and per-provider rate limiters."""
        self.fetcher = fetcher
        self.limiter = fetcher.limiter(self.name, self.rate_limit)

    @property
    def base_url(self) -> str:
        """Where requests go: the ``base_url`` setting or the provider's public endpoint."""
        return str(self.settings.get("base_url") or self.default_base_url).rstrip("/")

    def secrets(self) -> list[str]:
        """Every secret value this provider holds, for redaction."""
        return [value for value in self.keys.values() if value]

    @classmethod
    def missing_keys(cls, environ: Mapping[str, str]) -> list[str]:
        """The environment variables this provider needs that are not set."""
        return [name for name in cls.key_env if not environ.get(name)]

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Validate the ``[providers.<name>]`` table of a campaign file; return it resolved."""
        resolved: dict[str, Any] = {}
        for key, value in settings.items():
            expected = cls.settings_types.get(key)
            if expected is None:
                known = ", ".join(sorted(cls.settings_types))
                raise SettingError(f"unknown setting {key!r} (known: {known})")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise SettingError(f"{key} has the wrong type ({type(value).__name__})")
            resolved[key] = value
        if "rate_limit" in resolved and resolved["rate_limit"] <= 0:
            raise SettingError("rate_limit must be a positive number of requests per second")
        if "timeout" in resolved and resolved["timeout"] <= 0:
            raise SettingError("timeout must be a positive number of seconds")
        base_url = resolved.get("base_url")
        if base_url is not None and not str(base_url).startswith(("http://", "https://")):
            raise SettingError(f"base_url {base_url!r} must start with http:// or https://")
        return resolved

    def _read_keys(self) -> dict[str, str]:
        return {name: self.environ.get(name, "") for name in self.key_env}

    def require_keys(self) -> None:
        """Raise :class:`MissingKeyError` naming every variable to set, if any is missing."""
        missing = self.missing_keys(self.environ)
        if missing:
            names = " and ".join(missing)
            raise MissingKeyError(
                f"provider {self.name!r} needs {names} in the environment; "
                f"set it with: export {missing[0]}=..."
            )

    @abstractmethod
    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        """Fetch and map one result page (paginating up to ``request.depth`` organic results)."""

    # --- shared machinery for HTTP providers ------------------------------------------------

    def display_name(self) -> str:
        """How messages name this API."""
        return self.label or self.name

    def check_request(self, request: SearchRequest) -> None:
        """Refuse a check this API cannot answer truthfully (an unsupported device or location)."""
        if request.device and request.device not in self.devices:
            raise FetchError(
                f"{self.display_name()} cannot emulate a {request.device} search (only "
                f'{", ".join(self.devices)}); set device = "desktop" for this keyword or use '
                "a provider that can (serpapi, dataforseo, valueserp)",
                kind="unsupported",
            )
        if request.location and not self.locations:
            raise FetchError(
                f"{self.display_name()} cannot target a location ({request.location!r}); remove "
                "location from this keyword or use a provider that can (serpapi, dataforseo, "
                "valueserp, serper)",
                kind="unsupported",
            )

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
        return client.build_request(
            method,
            self.base_url + path,
            params={k: v for k, v in (params or {}).items() if v not in (None, "")},
            json=json_body,
            headers=headers,
            **extra,
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
        )

    def raw_page(self, response: httpx.Response, page: int) -> RawPage:
        """The response as evidence: body and URL with every secret removed."""
        secrets = self.secrets()
        return RawPage(
            body=redact_bytes(response.content, secrets),
            content_type=response.headers.get("content-type", "application/json").split(";")[0],
            url=redact(str(response.request.url), secrets),
            status_code=response.status_code,
            name=f"page-{page}.json",
        )

    def _accept(self, response: httpx.Response, page: int) -> tuple[Any, RawPage]:
        raw = self.raw_page(response, page)
        status = response.status_code
        body = response.content
        kind = sniff_kind(body)
        if kind == "html" and looks_blocked(body):
            raise BlockedError(
                f"{self.display_name()} answered with a captcha page instead of results "
                f"(HTTP {status}); something between serptrack and the API is blocking this "
                "machine: check base_url and any proxy, then try again later",
                kind="blocked",
                status_code=status,
                pages=[raw],
            )
        doc: Any = None
        decoded = False
        if kind == "json":
            try:
                doc = json.loads(body)
                decoded = True
            except (UnicodeDecodeError, ValueError):
                decoded = False
        if status >= 400:
            error = self.http_error(status, doc if decoded else None)
            error.status_code = status
            error.pages = [raw]
            if self.retryable(status, doc):
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), self.fetcher.clock.now()
                )
                raise RetryLater(error, retry_after)
            raise error
        if not decoded:
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
                kind="bad-response",
                status_code=status,
                pages=[raw],
            )
            if kind != "html":  # a cut-off body may come whole next time; a page will not
                raise RetryLater(error)
            raise error
        doc_error = self.doc_error(doc)
        if doc_error is not None:
            doc_error.status_code = status
            doc_error.pages = [raw]
            if self.retryable_doc_error(doc_error):
                raise RetryLater(doc_error)
            raise doc_error
        return doc, raw

    def retryable(self, status: int, doc: Any) -> bool:
        """Whether an HTTP error is worth another attempt (429 and 5xx by default)."""
        return status in RETRYABLE_STATUSES

    def doc_error(self, doc: Any) -> FetchError | None:
        """The error a successful-looking (HTTP 2xx) body reports, if any."""
        return None

    def retryable_doc_error(self, error: FetchError) -> bool:
        """Whether an error reported inside a 2xx body is worth another attempt."""
        return error.kind == "provider-unavailable"

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
                kind="auth",
            )
        if status == 402:
            return FetchError(
                f"{name} says the account cannot pay for this search (HTTP 402){said}; "
                "top up the account or wait for the plan to renew",
                kind="quota",
            )
        if status == 429:
            return FetchError(
                f"{name} is rate limiting serptrack (HTTP 429){said}; lower rate_limit in "
                f"[providers.{self.name}] or --concurrency, or upgrade the plan",
                kind="http-429",
            )
        if status >= 500:
            return FetchError(
                f"{name} failed on its side (HTTP {status}){said}; try again later",
                kind=f"http-{status}",
            )
        verdict = self.doc_error(doc) if isinstance(doc, dict) else None
        if verdict is not None:
            verdict.args = (f"{verdict} (HTTP {status})",)
            return verdict
        return FetchError(
            f"{name} refused the request (HTTP {status}){said}", kind="provider-error"
        )

    async def collect_pages(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
    ) -> Fetched:
        """Fetch pages (:meth:`page_request`) until ``depth`` organic results; merge them."""
        self.check_request(request)
        pages: list[RawPage] = []
        snapshots: list[Snapshot] = []
        organic = 0
        previous: Any = None
        number = 0
        try:
            while organic < request.depth:
                http_request = self.page_request(client, request, number + 1, organic, previous)
                if http_request is None:
                    break
                number += 1
                doc, raw = await self.get_json(client, http_request, page=number)
                pages.append(raw)
                snapshot = self.parse_page(doc)
                snapshots.append(snapshot)
                found = sum(1 for item in snapshot.results if item.placement == "organic")
                if found == 0:
                    break
                organic += found
                previous = doc
        except FetchError as error:
            error.pages = pages + [page for page in error.pages if page not in pages]
            raise
        except ParseError as error:
            raise FetchError(
                f"{self.display_name()} sent a result page serptrack cannot read: {error}",
                kind="parse-error",
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
        raise NotImplementedError

    def parse_page(self, doc: Any) -> Snapshot:
        """Map one page's decoded body to a snapshot (raising FetchError for an error body)."""
        raise NotImplementedError


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


class PagedProvider(Provider):
    """An HTTP API answered page by page: a subclass builds each page's request
    (:meth:`page_request`) and maps its JSON (:meth:`parse_page`); pages are fetched until
    ``depth`` organic results and merged."""

    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        """Fetch pages until ``request.depth`` organic results; merge them into one snapshot."""
        return await self.collect_pages(client, request)
