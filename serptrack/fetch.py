"""The fetch engine: shared HTTP clients, per-provider rate limits, retries with backoff.

Every request a provider makes goes through :meth:`Fetcher.send`:

    Fetcher.send(client, request, handle)
    ├── RateLimiter.acquire()      never more than a provider's requests per second
    ├── client.send(request)       timeouts on connect and read
    ├── handle(response)           the provider's verdict: a value, a final FetchError,
    │                              or RetryLater (429, 5xx, a truncated body ...)
    └── retries with exponential backoff and jitter, honouring Retry-After, within a
        bounded number of attempts and a bounded time per check; then FetchError

:class:`ShardedTransport` spreads one client's requests over several small connection
pools (see its docstring for why). Time and randomness are injected (:class:`Clock`), so
the whole machinery is testable without waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from . import __version__
from .errors import FetchError
from .vocabulary import FailureKind

__all__ = [
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


@dataclass
class _Budget:
    """The time left to one check: a deadline for retries and the hard timeout behind it."""

    deadline: float
    hard: asyncio.Timeout | None = None

    def extend(self, seconds: float) -> None:
        # Waiting for our own rate limiter is not the provider being slow: it does not count.
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


@dataclass
class Clock:
    """The time sources the engine uses; tests pass fakes that never sleep."""

    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


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

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        while True:
            now = self._clock.monotonic()
            slot = max(now, self._next, self._hold_until)
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
        is cancelled (``TimeoutError``). Time spent waiting for the rate limiter is not
        counted, so a slow plan makes checks queue, not fail.
        """
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
    ) -> T:
        """Send ``request`` until ``handle`` accepts the response or the attempts run out."""
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                queued = self.clock.monotonic()
                await limiter.acquire()
                budget = _BUDGET.get()
                if budget is not None:
                    budget.extend(self.clock.monotonic() - queued)
            retry_after: float | None = None
            try:
                response = await client.send(request)
            except httpx.RequestError as error:
                failure = _transport_failure(error, request, label)
            else:
                if limiter is not None:
                    self._observe(response, limiter)
                try:
                    return handle(response)
                except RetryLater as later:
                    failure = later.error
                    retry_after = later.retry_after
                    if retry_after is not None and limiter is not None:
                        limiter.hold(min(retry_after, policy.retry_after_max))
            if attempt >= policy.attempts:
                raise _gave_up(failure, f"gave up after {attempt} attempts")
            if retry_after is not None and retry_after > policy.retry_after_max:
                raise _gave_up(failure, f"{label} asks to wait {retry_after:.0f} s")
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(attempt, policy, self.rand)
            )
            budget = _BUDGET.get()
            if budget is not None and self.clock.monotonic() + delay > budget.deadline:
                raise _gave_up(
                    failure,
                    f"gave up after {attempt} attempts: the next one would pass the "
                    f"{policy.check_budget:g} s allowed per check",
                )
            await self.clock.sleep(delay)

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


def make_client(concurrency: int, policy: RetryPolicy | None = None) -> httpx.AsyncClient:
    """The one client a run shares: pooled connections sized for ``concurrency``, timeouts set."""
    policy = policy or RetryPolicy()
    return httpx.AsyncClient(
        transport=ShardedTransport(concurrency),
        timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
        headers={"User-Agent": f"serptrack/{__version__}"},
    )
