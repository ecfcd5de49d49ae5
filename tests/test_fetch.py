"""The fetch engine without a network: backoff, Retry-After, rate limits, retries, sharding."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from serptrack.errors import BlockedError, FetchError, UnknownEngineError
from serptrack.fetch import (
    Fetcher,
    RateLimiter,
    RetryLater,
    RetryPolicy,
    ShardedTransport,
    backoff_delay,
    make_client,
    parse_rate_limit_headers,
    parse_retry_after,
)
from serptrack.providers import SearchRequest, build_provider
from serptrack.transport import AiohttpEngine
from serptrack.vocabulary import FailureKind

from .providers_support import FAST, Expect, FakeClock, Script, attach, fetch_error, fixture

NOW = dt.datetime(2026, 3, 3, 7, 0, tzinfo=dt.UTC)


def test_backoff_doubles_is_capped_and_keeps_half_its_step() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    assert backoff_delay(1, policy, lambda: 0.0) == 0.5
    assert backoff_delay(1, policy, lambda: 1.0) == 1.0
    assert backoff_delay(3, policy, lambda: 1.0) == 4.0
    assert backoff_delay(10, policy, lambda: 0.0) == 5.0
    assert backoff_delay(10, policy, lambda: 1.0) == 10.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Tue, 03 Mar 2026 07:00:30 GMT", 30.0),
        ("Tue, 03 Mar 2026 06:59:00 GMT", 0.0),
        ("-5", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_seconds_or_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_rate_limit_headers() -> None:
    headers = httpx.Headers(
        {
            "X-RateLimit-Limit": "1, 15000",
            "X-RateLimit-Policy": "1;w=1, 15000;w=2592000",
            "X-RateLimit-Remaining": "0, 1000",
            "X-RateLimit-Reset": "1, 1419704",
        }
    )
    assert parse_rate_limit_headers(headers) == (1.0, 1.0)
    assert parse_rate_limit_headers(httpx.Headers({"X-RateLimit-Limit": "50"})) == (50.0, None)
    assert parse_rate_limit_headers(httpx.Headers({"X-RateLimit-Limit": "x"})) == (None, None)
    assert parse_rate_limit_headers(httpx.Headers()) == (None, None)


def test_rate_limiter_spaces_concurrent_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock)
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(clock.t - 1000.0)

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(5)))

    asyncio.run(run())
    assert sorted(starts) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_rate_limiter_hold_and_lower_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock)
    limiter.hold(3.0)
    asyncio.run(limiter.acquire())
    assert clock.sleeps == [3.0]
    limiter.lower_rate(10.0)
    limiter.lower_rate(20.0)  # never raises a limit
    assert limiter.rate == 10.0
    fetcher = Fetcher()
    assert fetcher.limiter("serpapi", 5.0) is fetcher.limiter("serpapi", 2.0)
    assert fetcher.limiter("serpapi").rate == 2.0


def _send(
    handler: object, handle: object, fetcher: Fetcher, url: str = "https://api.example/x"
) -> object:
    async def run() -> object:
        transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport) as client:
            request = client.build_request("GET", url)
            return await fetcher.send(client, request, handle, label="Example")  # type: ignore[arg-type]

    return asyncio.run(run())


def _ok_or_retry(response: httpx.Response) -> int:
    if response.status_code >= 500:
        raise RetryLater(
            FetchError("server error", kind=FailureKind.for_http_status(response.status_code)),
            parse_retry_after(response.headers.get("retry-after"), NOW),
        )
    return response.status_code


def test_connection_errors_are_retried_with_backoff_then_reported() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(attempts=3, backoff_base=1.0), clock=clock, rand=lambda: 0.0)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(FetchError) as caught:
        _send(handler, _ok_or_retry, fetcher)
    assert len(calls) == 3
    assert clock.sleeps == [0.5, 1.0]
    assert caught.value.kind == "connect"
    assert str(caught.value) == (
        "cannot connect to Example at api.example (connection refused); check the network and "
        "base_url (gave up after 3 attempts)"
    )


def test_timeouts_are_retried_and_then_succeed() -> None:
    fetcher = Fetcher(FAST, clock=FakeClock())
    answers: list[object] = [httpx.ReadTimeout("slow"), httpx.Response(200)]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    assert _send(handler, _ok_or_retry, fetcher) == 200


def test_retry_after_is_honoured_and_holds_the_provider() -> None:
    clock = FakeClock()
    fetcher = Fetcher(FAST, clock=clock)
    answers = [httpx.Response(503, headers={"Retry-After": "12"}), httpx.Response(200)]
    limiter = fetcher.limiter("example")

    async def run() -> int:
        transport = httpx.MockTransport(lambda request: answers.pop(0))
        async with httpx.AsyncClient(transport=transport) as client:
            request = client.build_request("GET", "https://api.example/x")
            return await fetcher.send(client, request, _ok_or_retry, limiter=limiter)

    assert asyncio.run(run()) == 200
    assert clock.sleeps == [12.0]


def test_a_retry_after_beyond_the_limit_fails_at_once() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(retry_after_max=60), clock=clock)
    handler = lambda request: httpx.Response(503, headers={"Retry-After": "3600"})  # noqa: E731
    with pytest.raises(FetchError, match=r"Example asks to wait 3600 s"):
        _send(handler, _ok_or_retry, fetcher)
    assert clock.sleeps == []


def test_retries_stop_before_the_check_budget_runs_out() -> None:
    clock = FakeClock()
    policy = RetryPolicy(attempts=10, backoff_base=4.0, check_budget=10.0)
    fetcher = Fetcher(policy, clock=clock, rand=lambda: 1.0)
    handler = lambda request: httpx.Response(500)  # noqa: E731
    limiter = fetcher.limiter("example", 1 / 30)  # one request every 30 s

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport) as client, fetcher.check_budget():
            request = client.build_request("GET", "https://api.example/x")
            await fetcher.send(client, request, _ok_or_retry, limiter=limiter, label="Example")

    asyncio.run(limiter.acquire())  # another check took the slot: the next one is in 30 s
    with pytest.raises(FetchError) as caught:
        asyncio.run(run())
    # Queueing behind other requests' slots is not counted against the check: 30 s in the
    # queue, an attempt, a 4 s backoff, 26 s in the queue again, an attempt, and a second
    # backoff of 8 s would pass the 10 s budget.
    assert clock.sleeps == [30.0, 4.0, 26.0]
    assert "would pass the 10 s allowed per check" in str(caught.value)


def test_a_request_that_outlasts_the_budget_is_cancelled() -> None:
    fetcher = Fetcher(RetryPolicy(check_budget=0.05))

    async def run() -> None:
        async with fetcher.check_budget():
            await asyncio.sleep(5)

    with pytest.raises(TimeoutError):
        asyncio.run(run())


def test_final_errors_are_not_retried() -> None:
    calls = []

    def handle(response: httpx.Response) -> int:
        calls.append(response)
        raise FetchError("bad key", kind=FailureKind.AUTH)

    with pytest.raises(FetchError, match="bad key"):
        _send(lambda request: httpx.Response(401), handle, Fetcher(FAST, clock=FakeClock()))
    assert len(calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_client_errors_are_not_retried_by_providers(status: int) -> None:
    provider = build_provider("serpapi", {}, {"SERPAPI_API_KEY": "k" * 20})
    clock = attach(provider)
    script = Script(Expect("GET", "/search.json", status=status, body=b'{"error": "no"}'))
    error = fetch_error(provider, SearchRequest("q", country="us", language="en"), script)
    assert error.status_code == status
    assert clock.sleeps == []


def test_captcha_page_is_blocked_and_not_retried() -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": "k" * 20})
    attach(provider)
    page = b"<html><title>Sorry...</title><body>Our systems have detected unusual traffic."
    page += b' <div class="g-recaptcha"></div></body></html>'
    script = Script(Expect("POST", "/search", status=429, body=page))
    error = fetch_error(provider, SearchRequest("q"), script)
    assert isinstance(error, BlockedError)
    assert error.status == "blocked" and error.kind == "blocked"
    assert "captcha page" in str(error)


def test_html_error_page_and_cut_off_json() -> None:
    provider = build_provider("serper", {}, {"SERPER_API_KEY": "k" * 20})
    attach(provider)
    html = Expect("POST", "/search", body=b"<!doctype html><html><body>Welcome to nginx</body>")
    error = fetch_error(provider, SearchRequest("q"), Script(html))
    assert error.kind == "bad-response" and "an HTML page (HTTP 200)" in str(error)
    cut = fixture("serper", "plain.json")[:300]
    script = Script(*(Expect("POST", "/search", body=cut) for _ in range(3)))
    error = fetch_error(provider, SearchRequest("q"), script)
    assert error.kind == "bad-response" and "cut-off or invalid JSON" in str(error)
    assert "gave up after 3 attempts" in str(error)


class _Body(httpx.AsyncByteStream):
    """A body that stays open until read or closed, like a real connection's."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{}"


def test_sharded_transport_spreads_requests_and_frees_slots() -> None:
    seen: list[int] = []

    def factory_for(index: int) -> httpx.AsyncBaseTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(index)
            return httpx.Response(200, stream=_Body())

        return httpx.MockTransport(handler)

    made = iter(range(100))
    transport = ShardedTransport(50, per_pool=20, factory=lambda limits: factory_for(next(made)))
    assert len(transport.pools) == 3

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            responses = [
                await client.send(client.build_request("GET", "https://x/"), stream=True)
                for _ in range(6)
            ]
            assert transport.in_flight == [2, 2, 2]
            for response in responses:
                await response.aclose()
            assert transport.in_flight == [0, 0, 0]
            await client.get("https://x/")
            assert transport.in_flight == [0, 0, 0]

    asyncio.run(run())
    assert seen[:6] == [0, 1, 2, 0, 1, 2]


def test_make_client_sizes_pools_for_the_concurrency() -> None:
    client = make_client(50, RetryPolicy(connect_timeout=3, read_timeout=7), engine="httpcore")
    transport = client._transport
    assert isinstance(transport, ShardedTransport) and len(transport.pools) == 5  # pools of 10
    assert client.timeout.connect == 3 and client.timeout.read == 7
    asyncio.run(client.aclose())


def test_make_client_runs_on_one_aiohttp_pool_by_default() -> None:
    client = make_client(200, RetryPolicy(connect_timeout=3, read_timeout=7))
    transport = client._transport
    assert isinstance(transport, AiohttpEngine)
    assert transport.limits.max_connections == 200
    assert client.timeout.connect == 3 and client.timeout.read == 7
    asyncio.run(client.aclose())


def test_the_environment_chooses_the_engine_and_a_wrong_name_is_one_clear_error() -> None:
    client = make_client(5, environ={"SERPTRACK_HTTP_ENGINE": " HTTPcore "})
    assert isinstance(client._transport, ShardedTransport)
    asyncio.run(client.aclose())
    with pytest.raises(
        UnknownEngineError, match=r"unknown HTTP engine 'curl' in SERPTRACK_HTTP_ENGINE; set"
    ):
        make_client(5, environ={"SERPTRACK_HTTP_ENGINE": "curl"})
