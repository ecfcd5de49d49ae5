"""The fetch engine: shared HTTP clients, per-provider rate limits, retries with backoff.

Every request a provider makes goes through :meth:`Fetcher.send`:

    Fetcher.send(client, request, handle)
    ├── RateLimiter.acquire()      never more than a provider's requests per second; a hold
    │                              (a server's Retry-After) longer than the check may wait
    │                              fails the check at once
    ├── client.send(request)       timeouts on connect and read; the body streamed, decoded
    │                              step by step and cut off at ``max_body`` bytes (32 MB by
    │                              default, ``max_body_mb`` per provider): never retried
    ├── handle(response)           the provider's verdict: a value, a final FetchError,
    │                              or RetryLater (429, 5xx, a truncated body ...)
    └── retries with exponential backoff and jitter, honouring Retry-After, within a
        bounded number of attempts and a bounded time per check; then FetchError

:class:`ShardedTransport` spreads one client's requests over several small connection
pools (see its docstring for why). Time and randomness are injected (:class:`Clock`), so
the whole machinery is testable without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import os
import random
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import httpx

from . import __version__
from .errors import FetchError, UnknownEngineError
from .vocabulary import FailureKind

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "DEFAULT_MAX_BODY_MB",
    "ENGINE_ENV",
    "MB",
    "RETRYABLE_STATUSES",
    "Clock",
    "Fetcher",
    "RateLimiter",
    "RetryLater",
    "RetryPolicy",
    "ShardedTransport",
    "backoff_delay",
    "make_client",
    "parse_rate_limit_headers",
    "parse_retry_after",
]

T = TypeVar("T")

#: statuses worth another attempt: the user cannot fix them, time may
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: a megabyte, as ``max_body_mb`` counts it
MB = 1024 * 1024
#: the largest decoded body read from one response, unless a provider sets ``max_body_mb``
#: (a result page is well under 1 MB; a larger answer is a misrouted download or a bomb)
DEFAULT_MAX_BODY_MB = 32
#: the most a gzip or deflate layer inflates at a time: httpx inflates a whole network read
#: (64 KiB) in one call, which can hold 64 MiB of zeros, and "gzip, gzip" multiplies that
_INFLATE_STEP = 256 * 1024
#: encodings httpx decodes but serptrack does not inflate itself (when their packages are there)
_HTTPX_DECODED = frozenset({"br", "zstd"})


@dataclass
class _Budget:
    """The time left to one check: a deadline for retries and the hard timeout behind it."""

    deadline: float
    hard: asyncio.Timeout | None = None

    def extend(self, seconds: float) -> None:
        # Queueing behind our own rate limiter's spacing is not the provider being slow: it
        # does not count. (A hold, the server's own Retry-After, does: see Fetcher.send.)
        self.deadline += seconds
        when = self.hard.when() if self.hard is not None else None
        if self.hard is not None and when is not None:
            self.hard.reschedule(when + seconds)


_BUDGET: ContextVar[_Budget | None] = ContextVar("serptrack_check_budget", default=None)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, the longest wait honoured, time per check."""

    attempts: int = 4
    backoff_base: float = 1.0  # seconds before the second attempt (doubles each time)
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # a longer Retry-After fails the check at once
    check_budget: float = 300.0  # seconds one check may take, retries included
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


async def _sleep(seconds: float) -> None:
    # asyncio is imported by the first wait, not with this module: commands that only list
    # providers or read the database never load it (issue "Speed", start-up)
    import asyncio

    await asyncio.sleep(seconds)


@dataclass
class Clock:
    """The time sources the engine uses; tests pass fakes that never sleep."""

    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    sleep: Callable[[float], Awaitable[None]] = _sleep


class RetryLater(Exception):
    """Raised by a response handler: this answer may improve if asked again.

    ``error`` is what the check fails with if no attempt is left; ``retry_after`` is the
    server's requested wait in seconds, if it said so.
    """

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        """The message is ``error``'s; ``retry_after`` is None when the server named no wait."""
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, capped, jittered.

    "Equal jitter": half the exponential step is kept, the other half is random, so checks
    that failed together do not all come back at the same instant.
    """
    step = min(policy.backoff_max, policy.backoff_base * 2.0 ** (attempt - 1))
    return step / 2 + rand() * step / 2


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _first_number(value: str | None) -> float | None:
    # Brave sends one value per window, "1, 15000"; the first is the shortest window.
    if not value:
        return None
    try:
        return float(value.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None


def parse_rate_limit_headers(headers: httpx.Headers) -> tuple[float | None, float | None]:
    """(requests per second allowed, seconds to hold off now) from ``X-RateLimit-*`` headers.

    Only the first (shortest) window counts. The rate is given when its policy window is one
    second; the hold is given when that window has no request left.
    """
    rate = None
    limit = _first_number(headers.get("x-ratelimit-limit"))
    policy = headers.get("x-ratelimit-policy", "")
    window = 1.0
    if ";w=" in policy:
        window = _first_number(policy.split(",")[0].split(";w=")[1]) or 1.0
    if limit and window > 0:
        rate = limit / window
    hold = None
    remaining = _first_number(headers.get("x-ratelimit-remaining"))
    reset = _first_number(headers.get("x-ratelimit-reset"))
    if remaining is not None and remaining <= 0 and reset is not None:
        hold = max(0.0, reset)
    return rate, hold


class RateLimiter:
    """Spaces requests at most ``rate`` per second (no burst); ``hold`` pauses them all."""

    def __init__(self, rate: float | None, clock: Clock) -> None:
        """A ``rate`` of None or not above zero means no spacing; only holds then apply."""
        self.rate = rate if rate and rate > 0 else None
        self._clock = clock
        self._next = 0.0
        self._hold_until = 0.0

    def lower_rate(self, rate: float | None) -> None:
        """Never go faster than ``rate`` (a stricter campaign setting or a server's limit)."""
        if rate and rate > 0 and (self.rate is None or rate < self.rate):
            self.rate = rate

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's Retry-After, an exhausted window)."""
        self._hold_until = max(self._hold_until, self._clock.monotonic() + seconds)

    async def acquire(self, before_wait: Callable[[float, float], None] | None = None) -> None:
        """Wait for this request's slot.

        Before each wait, ``before_wait(held, queued)`` learns how much of it is a hold
        (``held`` seconds: a server's Retry-After or an exhausted window) and how much is
        queueing behind other requests' slots (``queued``); it may raise to give up, and then
        no slot is taken.
        """
        while True:
            now = self._clock.monotonic()
            slot = max(now, self._next, self._hold_until)
            if slot > now and before_wait is not None:
                held = max(0.0, min(self._hold_until, slot) - now)
                before_wait(held, slot - now - held)
            if self.rate:
                # Reserved before sleeping, so concurrent callers queue in order.
                self._next = slot + 1.0 / self.rate
            if slot <= now:
                return
            await self._clock.sleep(slot - now)
            if self._hold_until <= self._clock.monotonic():
                return


class Fetcher:
    """Sends requests with rate limits and retries; one per run, shared by its providers."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Defaults: the standard :class:`RetryPolicy`, the real clock, ``random`` jitter."""
        self.policy = policy or RetryPolicy()
        self.clock = clock or Clock()
        self.rand = rand
        self._limiters: dict[str, RateLimiter] = {}

    def limiter(self, key: str, rate: float | None = None) -> RateLimiter:
        """The limiter shared by everything sent under ``key`` (a provider's plan)."""
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = RateLimiter(rate, self.clock)
        else:
            limiter.lower_rate(rate)
        return limiter

    @asynccontextmanager
    async def check_budget(self) -> AsyncIterator[None]:
        """Bound one check's time to ``check_budget`` seconds, retries included.

        Retries stop when the next wait would pass the budget; a request still running then
        is cancelled (``TimeoutError``). Time spent queueing behind the rate limiter's
        spacing is not counted, so a slow plan makes checks queue, not fail; a hold (a
        server's Retry-After, sent to any check) is counted, and a check that would have to
        wait for one past its budget, or longer than ``retry_after_max``, fails at once.
        """
        import asyncio  # see _sleep

        budget = _Budget(self.clock.monotonic() + self.policy.check_budget)
        token = _BUDGET.set(budget)
        try:
            async with asyncio.timeout(self.policy.check_budget) as hard:
                budget.hard = hard
                yield
        finally:
            _BUDGET.reset(token)

    async def send(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        handle: Callable[[httpx.Response], T],
        *,
        limiter: RateLimiter | None = None,
        label: str = "the provider",
        max_body: int = DEFAULT_MAX_BODY_MB * MB,
        body_setting: str = "max_body_mb in the provider's settings",
    ) -> T:
        """Send ``request`` until ``handle`` accepts the response or the attempts run out.

        The body is read as it arrives and decoded a step at a time; one over ``max_body``
        bytes (decoded) fails the check at once, naming ``body_setting`` as the way to allow
        more. ``handle`` gets a response whose ``content`` is read.
        """
        policy = self.policy
        attempt = 0
        failure: FetchError | None = None
        while True:
            attempt += 1
            if limiter is not None:
                await limiter.acquire(partial(self._before_wait, label, failure, attempt - 1))
            retry_after: float | None = None
            try:
                response = await client.send(request, stream=True)
                try:
                    await _read_body(response, max_body)
                finally:
                    await response.aclose()
            except httpx.RequestError as error:
                failure = _transport_failure(error, request, label)
            except _TooLarge:
                raise FetchError(
                    f"{label} sent a body over the {max_body / MB:g} MB limit (HTTP "
                    f"{response.status_code}); serptrack stopped reading it there and does not "
                    f"retry it; if {label} really answers this much, raise {body_setting}",
                    kind=FailureKind.BAD_RESPONSE,
                    status_code=response.status_code,
                ) from None
            else:
                if limiter is not None:
                    self._observe(response, limiter)
                try:
                    return handle(response)
                except RetryLater as later:
                    failure = later.error
                    retry_after = later.retry_after
                    if retry_after is not None and limiter is not None:
                        # Every check of this provider waits for it, or fails at once if it
                        # cannot wait that long (see _before_wait).
                        limiter.hold(retry_after)
            if attempt >= policy.attempts:
                raise _gave_up(failure, f"gave up after {attempt} attempts")
            budget = _BUDGET.get()
            left = math.inf if budget is None else budget.deadline - self.clock.monotonic()
            if retry_after is not None and (
                retry_after > left or retry_after > policy.retry_after_max
            ):
                raise _gave_up(
                    failure,
                    f"{label} asks to wait {retry_after:.0f} s, longer than "
                    + self._wait_limit(retry_after, left),
                )
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(attempt, policy, self.rand)
            )
            if delay > left:
                raise _gave_up(
                    failure,
                    f"gave up after {attempt} attempts: the next one would pass the "
                    f"{policy.check_budget:g} s allowed per check",
                )
            await self.clock.sleep(delay)

    def _before_wait(
        self, label: str, failure: FetchError | None, attempts: int, held: float, queued: float
    ) -> None:
        """A check about to wait for its slot: fail it if the hold outlasts what it may wait.

        Queueing behind other requests' slots extends the check's budget; a hold is charged
        to it.
        """
        budget = _BUDGET.get()
        if held > 0:
            left = math.inf if budget is None else budget.deadline - self.clock.monotonic()
            if held > left or held > self.policy.retry_after_max:
                why = f"rate limited by {label} for {held:.0f} s, longer than "
                why += self._wait_limit(held, left)
                if failure is None:
                    raise FetchError(why, kind=FailureKind.HTTP_429)
                raise _gave_up(failure, f"gave up after {attempts} attempts: {why}")
        if budget is not None and queued > 0:
            budget.extend(queued)

    def _wait_limit(self, wait: float, left: float) -> str:
        """What a wait of ``wait`` seconds is too long for: the check's budget or the policy."""
        if wait > left:
            return f"the check's remaining budget ({max(0.0, left):.0f} s)"
        return f"the {self.policy.retry_after_max:g} s serptrack waits at most"

    def _observe(self, response: httpx.Response, limiter: RateLimiter) -> None:
        rate, hold = parse_rate_limit_headers(response.headers)
        limiter.lower_rate(rate)
        if hold is not None and hold <= self.policy.retry_after_max:
            limiter.hold(hold)


def _gave_up(error: FetchError, why: str) -> FetchError:
    error.args = (f"{error} ({why})",)
    return error


def _transport_failure(error: httpx.RequestError, request: httpx.Request, label: str) -> FetchError:
    host = request.url.host
    detail = str(error) or type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return FetchError(
            f"{label} did not answer in time ({type(error).__name__} from {host}); "
            "try again later, or raise timeout in the provider's settings",
            kind=FailureKind.TIMEOUT,
        )
    if isinstance(error, httpx.ConnectError):
        return FetchError(
            f"cannot connect to {label} at {host} ({detail}); check the network and base_url",
            kind=FailureKind.CONNECT,
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.DecodingError):
        return FetchError(
            f"{label} broke off its answer ({detail}); try again later",
            kind=FailureKind.BAD_RESPONSE,
        )
    return FetchError(
        f"network error talking to {label} at {host} ({detail})", kind=FailureKind.NETWORK
    )


class _TooLarge(Exception):
    """A response body that passed its size limit while being read."""


class _Inflater:
    """One gzip or deflate layer, inflated at most ``_INFLATE_STEP`` bytes at a time."""

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated pieces of ``data``, made one at a time as they are consumed."""
        while data and not self._zlib.eof:
            try:
                piece = self._zlib.decompress(data, _INFLATE_STEP)
            except zlib.error as error:
                if self._deflate and not self._started:
                    # "deflate" sent raw, without its zlib header (httpx accepts both too)
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise httpx.DecodingError(f"cannot inflate the body: {error}") from None
            self._started = True
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece

    def flush(self) -> bytes:
        """What is left once the input ended (at most a few hundred bytes)."""
        try:
            return self._zlib.flush()
        except zlib.error as error:
            raise httpx.DecodingError(f"cannot inflate the body: {error}") from None


def _inflate(layers: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    """``data`` decoded through ``layers`` (outermost first), lazily, one small piece at a time."""
    if not layers:
        if data:
            yield data
        return
    for piece in layers[0].feed(data):
        yield from _inflate(layers[1:], piece)


def _flush(layers: Sequence[_Inflater]) -> Iterator[bytes]:
    """The last pieces once the body ended: each layer's rest, through the layers after it."""
    for index, layer in enumerate(layers):
        yield from _inflate(layers[index + 1 :], layer.flush())


def _encodings(response: httpx.Response) -> list[str]:
    """The response's content codings, in the order they were applied ("identity" left out)."""
    values = response.headers.get_list("content-encoding", split_commas=True)
    return [v.strip().lower() for v in values if v.strip().lower() not in ("", "identity")]


async def _decoded(response: httpx.Response) -> AsyncIterator[bytes]:
    """The decoded body of a streamed response, in pieces of at most ``_INFLATE_STEP`` bytes."""
    encodings = _encodings(response)
    if _HTTPX_DECODED.intersection(encodings):
        async for piece in response.aiter_bytes():  # httpx decodes a network read at a time
            yield piece
        return
    # Decoded last-applied first, as httpx does; encodings neither knows are ignored.
    layers = [_Inflater(e) for e in reversed(encodings) if e in ("gzip", "deflate")]
    async for raw in response.aiter_raw():
        for piece in _inflate(layers, raw):
            yield piece
    for piece in _flush(layers):
        yield piece


async def _read_body(response: httpx.Response, limit: int) -> None:
    """Read ``response``'s body into ``response.content``; raise :class:`_TooLarge` past
    ``limit`` decoded bytes, having read (and inflated) no more than about that much."""
    if response.is_stream_consumed:  # read in full already (test transports do that)
        if len(response.content) > limit:
            raise _TooLarge
        return
    length = response.headers.get("content-length", "")
    if not _encodings(response) and length.isdigit() and int(length) > limit:
        raise _TooLarge  # said so up front: nothing to download
    parts: list[bytes] = []
    size = 0
    async for piece in _decoded(response):
        size += len(piece)
        if size > limit:
            raise _TooLarge
        parts.append(piece)
    # What Response.aread() would have stored, had it been read in one go.
    response._content = b"".join(parts)


class _CountedStream(httpx.AsyncByteStream):
    """A response body that reports when it is closed (its connection is free again)."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._done is not None:
                self._done()
                self._done = None


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several small connection pools behind one ``httpx.AsyncClient``.

    httpcore's pool scans every connection when a request starts and when one finishes, so
    its CPU cost grows with the square of the pool size: measured here, one client at 50
    concurrent requests spent about 8 ms of CPU per request and reached a quarter of the
    ideal throughput, while pools of at most 20 connections spent about 1 ms and reached
    nine tenths; pools of 10 cut the CPU per check by another sixth in a worker round (50
    concurrent checks, benchmarks/bench_workers.py). Each request goes to the pool with the
    fewest requests in flight, so every pool keeps reusing its own connections.
    """

    def __init__(
        self,
        connections: int = 100,
        *,
        per_pool: int = 10,
        factory: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """Enough pools of ``per_pool`` connections for ``connections``; ``factory`` builds one."""
        count = max(1, math.ceil(max(1, connections) / per_pool))
        limits = httpx.Limits(
            max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=30
        )
        build = factory or (lambda lim: httpx.AsyncHTTPTransport(limits=lim))
        self.pools: list[httpx.AsyncBaseTransport] = [build(limits) for _ in range(count)]
        self.in_flight = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the least busy pool; the pool counts the request until its body closes."""
        index = min(range(len(self.pools)), key=self.in_flight.__getitem__)
        self.in_flight[index] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight[index] -= 1

        try:
            response = await self.pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        if response.is_closed:  # a body read in full already (test transports do that)
            release()
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CountedStream(response.stream, release)
        return response

    async def aclose(self) -> None:
        """Close every pool."""
        for pool in self.pools:
            await pool.aclose()


#: the variable that chooses the HTTP engine (serptrack/transport.py) for a whole run
ENGINE_ENV = "SERPTRACK_HTTP_ENGINE"


def make_client(
    concurrency: int,
    policy: RetryPolicy | None = None,
    *,
    engine: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one client a run shares: connections pooled for ``concurrency``, timeouts set.

    ``engine`` is what carries the bytes (:mod:`serptrack.transport`): ``aiohttp`` (one
    connector for the run, the default) or ``httpcore`` (httpx's own, in
    :class:`ShardedTransport`); when not given, ``SERPTRACK_HTTP_ENGINE`` in ``environ``
    (``os.environ`` by default) chooses, as httpx reads its proxies from there.
    """
    policy = policy or RetryPolicy()
    if engine is None:
        engine = chosen_engine(os.environ if environ is None else environ)
    return httpx.AsyncClient(
        transport=_transport(engine, concurrency),
        timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
        headers={"User-Agent": f"serptrack/{__version__}"},
    )


def chosen_engine(environ: Mapping[str, str]) -> str:
    """The engine ``SERPTRACK_HTTP_ENGINE`` names (``aiohttp`` when unset), or an error."""
    engine = (environ.get(ENGINE_ENV) or "aiohttp").strip().lower()
    if engine not in ("aiohttp", "httpcore"):
        raise UnknownEngineError(
            f"unknown HTTP engine {engine!r} in {ENGINE_ENV}; set it to aiohttp (the default) "
            "or httpcore, or unset it"
        )
    return engine


def _transport(engine: str, concurrency: int) -> httpx.AsyncBaseTransport:
    if engine == "httpcore":
        return ShardedTransport(concurrency)
    if engine != "aiohttp":
        raise ValueError(f"unknown HTTP engine {engine!r}")
    from .transport import AiohttpEngine  # aiohttp costs its import only where it is used

    limits = httpx.Limits(
        max_connections=max(1, concurrency),
        max_keepalive_connections=max(1, concurrency),
        keepalive_expiry=30,
    )
    return AiohttpEngine(limits=limits)
