"""Limits that keep one bad answer from taking a run down: body size, decompression bombs,
and Retry-After holds that no check may wait out past its own budget."""

from __future__ import annotations

import asyncio
import functools
import json
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from serptrack import store, tracker
from serptrack.campaign import load_campaign_file
from serptrack.errors import FetchError
from serptrack.fetch import (
    DEFAULT_MAX_BODY_MB,
    MB,
    Fetcher,
    RetryLater,
    RetryPolicy,
    make_client,
    parse_retry_after,
)
from serptrack.providers import (
    PROVIDERS,
    HttpProvider,
    SearchRequest,
    SettingError,
    build_provider,
)
from serptrack.vocabulary import FailureKind

from .loopback_server import Attempts, Reply, Seen, base_url, json_reply, loopback
from .providers_support import FAST, FakeClock, fixture

ROOT = Path(__file__).parent.parent
KEY = {"SERPAPI_API_KEY": "k" * 20}
REQUEST = SearchRequest("acme", country="us", language="en")
PREFIX = b'{"search_metadata": {"status": "Success"}, "organic_results": [], "padding": "'
SUFFIX = b'"}'


# --- a gzip bomb, made without ever holding what it inflates to ------------------------------


@functools.cache
def _bomb_parts(mib: int) -> tuple[bytes, bytes, bytes]:
    """(start, one repeated piece, end) of a gzip stream inflating to ``mib`` MiB of "0"s in
    a JSON string. After a full flush deflate forgets what came before, so every MiB of "0"s
    compresses to the same bytes: the stream is that piece ``mib`` times, made in milliseconds
    (compressing 1 GiB would take 12 s)."""
    block = b"0" * MB
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = deflate.compress(PREFIX) + deflate.flush(zlib.Z_FULL_FLUSH)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH) == piece
    tail = deflate.compress(SUFFIX) + deflate.flush()
    crc = zlib.crc32(PREFIX)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(SUFFIX, crc)
    size = len(PREFIX) + mib * MB + len(SUFFIX)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head, piece, tail + struct.pack("<II", crc, size % 2**32)


def gzip_bomb(mib: int) -> Iterator[bytes]:
    """The bomb's compressed bytes, 64 repeated pieces (about 64 KiB) at a time."""
    start, piece, end = _bomb_parts(mib)
    yield start
    for done in range(0, mib, 64):
        yield piece * min(64, mib - done)
    yield end


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` gzipped once more, as they come ("Content-Encoding: gzip, gzip")."""
    outer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    for chunk in chunks:
        yield outer.compress(chunk)
    yield outer.flush()


def test_the_bomb_is_a_valid_gzip_stream() -> None:
    inflated = zlib.decompress(b"".join(gzip_bomb(3)), zlib.MAX_WBITS | 16)
    assert inflated == PREFIX + b"0" * (3 * MB) + SUFFIX
    twice = zlib.decompress(b"".join(gzipped(gzip_bomb(2))), zlib.MAX_WBITS | 16)
    assert zlib.decompress(twice, zlib.MAX_WBITS | 16) == PREFIX + b"0" * (2 * MB) + SUFFIX
    assert len(b"".join(gzip_bomb(1024))) < 1.1 * MB  # 1 GiB in about 1 MB


# --- the body limit, measured in a process of its own --------------------------------------

CLIENT = """
import resource

# ru_maxrss carries over the forked parent's (pytest's) size through exec; VmHWM, reset here,
# is this interpreter's own high-water mark.
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # a runaway ends in MemoryError

import asyncio, json, sys

from serptrack.errors import FetchError
from serptrack.fetch import Fetcher, RetryPolicy, make_client
from serptrack.providers import SearchRequest, build_provider


def status(field):
    with open("/proc/self/status") as lines:
        return next(int(l.split()[1]) / 1024 for l in lines if l.startswith(field + ":"))


async def main(url, settings):
    provider = build_provider(
        "serpapi", {"base_url": url, **settings}, {"SERPAPI_API_KEY": "k" * 20}
    )
    provider.attach(Fetcher(RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.02)))
    async with make_client(4) as client:
        try:
            fetched = await provider.fetch(SearchRequest("acme", country="us", language="en"), client)
        except FetchError as error:
            return {"error": str(error), "kind": str(error.kind)}
        return {"results": len(fetched.snapshot.results)}


imported = status("VmHWM")
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # from here on, the fetch's own high-water mark
result = asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
result["before_mb"] = before
result["fetch_peak_mb"] = status("VmHWM")
result["peak_mb"] = max(imported, result["fetch_peak_mb"])
result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def measured_fetch(url: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fetch once from ``url`` in a fresh interpreter; its answer and peak memory (ru_maxrss)."""
    env = {"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, url, json.dumps(settings or {})],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


GZIP = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", lambda: gzip_bomb(1024)),
        ("gzip, gzip", lambda: gzipped(gzip_bomb(1024))),  # inflates 1000-fold, then again
    ],
    ids=["gzip", "gzip-gzip"],
)
def test_a_gzip_bomb_is_cut_off_at_the_limit_once_without_filling_memory(
    encoding: str, body: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    small = Reply(body=fixture("serpapi", "no_ads.json"))

    def route(seen: Seen) -> Reply:
        return small if seen.path.startswith("/small/") else Reply(headers=headers, chunks=body)

    with loopback(route) as server:
        baseline = measured_fetch(f"{base_url(server)}/small")  # the same fetch, a small answer
        measured = measured_fetch(base_url(server))
        requests = len(server.seen) - 1
    assert measured.get("kind") == "bad-response", measured
    assert measured["error"] == (
        "SerpApi sent a body over the 32 MB limit (HTTP 200); serptrack stopped reading it there "
        "and does not retry it; if SerpApi really answers this much, raise max_body_mb in "
        "[providers.serpapi]"
    )
    assert requests == 1  # not retried: the same bomb would come again
    grown = measured["fetch_peak_mb"] - measured["before_mb"]
    with capsys.disabled():
        print(
            f"\n[{encoding} bomb, 1 GiB inflated] requests: {requests}; peak RSS of the process "
            f"{measured['peak_mb']:.0f} MB ({baseline['peak_mb']:.0f} MB for a small answer); "
            f"the fetch: {measured['before_mb']:.0f} -> {measured['fetch_peak_mb']:.0f} MB "
            f"(+{grown:.0f} MB; small answer "
            f"+{baseline['fetch_peak_mb'] - baseline['before_mb']:.0f} MB); ru_maxrss "
            f"{measured['ru_maxrss_mb']:.0f} MB (inherits pytest's through fork and exec)"
        )
    assert measured["peak_mb"] < 200
    assert grown < 2 * DEFAULT_MAX_BODY_MB + 16  # the pieces kept, and a few in flight


def test_a_plain_body_over_the_limit_is_cut_off_and_not_retried() -> None:
    def chunks() -> Iterator[bytes]:  # 40 MB of JSON, never held whole
        yield PREFIX
        for _ in range(40):
            yield b"x" * MB
        yield SUFFIX

    with loopback(lambda seen: Reply(chunks=chunks)) as server:
        provider = build_provider("serpapi", {"base_url": base_url(server)}, KEY)
        error = fetch_error_live(provider)
        requests = len(server.seen)
    assert error.kind == "bad-response" and error.status_code == 200
    assert "over the 32 MB limit" in str(error) and "max_body_mb in [providers.serpapi]" in str(
        error
    )
    assert requests == 1


def test_max_body_mb_lowers_and_raises_the_limit() -> None:
    doc = json.loads(fixture("serpapi", "no_ads.json"))
    doc["padding"] = "x" * int(1.5 * MB)
    big = json.dumps(doc).encode()  # 1.5 MB, announced by Content-Length
    with loopback(lambda seen: Reply(body=big)) as server:
        low = build_provider("serpapi", {"base_url": base_url(server), "max_body_mb": 1}, KEY)
        error = fetch_error_live(low)
        assert "over the 1 MB limit" in str(error) and len(server.seen) == 1
        high = build_provider("serpapi", {"base_url": base_url(server), "max_body_mb": 2}, KEY)
        assert len(fetch_live(high).snapshot.results) == 8
        assert len(server.seen) == 2


def test_max_body_mb_is_a_known_positive_setting(tmp_path: Path) -> None:
    for name in ("serpapi", "dataforseo", "searxng", "brave"):
        assert "max_body_mb" in PROVIDERS[name].settings_types
    cls = PROVIDERS["serpapi"]
    assert cls.check_settings({"max_body_mb": 0.5}, tmp_path) == {"max_body_mb": 0.5}
    with pytest.raises(SettingError, match="max_body_mb must be a positive number of megabytes"):
        cls.check_settings({"max_body_mb": 0}, tmp_path)
    with pytest.raises(SettingError, match="max_body_mb has the wrong type"):
        cls.check_settings({"max_body_mb": "64"}, tmp_path)
    provider = build_provider("serpapi", {}, KEY)
    assert isinstance(provider, HttpProvider) and provider.max_body == 32 * MB


def fetch_live(provider: Any) -> Any:
    async def run() -> Any:
        provider.attach(Fetcher(FAST))
        async with make_client(4) as client:
            return await provider.fetch(REQUEST, client)

    return asyncio.run(run())


def fetch_error_live(provider: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_live(provider)
    return caught.value


# --- the streamed reader, without a network ---------------------------------------------------


class _Chunks(httpx.AsyncByteStream):
    """A body that arrives in pieces, as from a socket (not read in advance)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def _send(responses: list[httpx.Response], max_body: int) -> tuple[bytes | FetchError, int]:
    """(the body ``send`` hands its handler, or the FetchError it raises; requests made)."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return responses.pop(0)

    async def run() -> bytes:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            request = client.build_request("GET", "https://api.example/x")
            fetcher = Fetcher(FAST, clock=FakeClock())
            return await fetcher.send(client, request, lambda r: r.content, max_body=max_body)

    try:
        return asyncio.run(run()), len(calls)
    except FetchError as error:
        return error, len(calls)


def _compressed(data: bytes, wbits: int) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return deflate.compress(data) + deflate.flush()


BODY = json.dumps({"items": list(range(20000))}).encode()


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("", BODY),
        ("identity", BODY),
        ("gzip", _compressed(BODY, 31)),
        ("deflate", _compressed(BODY, 15)),
        ("deflate", _compressed(BODY, -15)),  # raw deflate, no zlib header: accepted too
        ("gzip, gzip", _compressed(_compressed(BODY, 31), 31)),
        ("deflate, gzip", _compressed(_compressed(BODY, 15), 31)),
    ],
)
def test_streamed_bodies_are_decoded_as_httpx_would(encoding: str, wire: bytes) -> None:
    chunks = [wire[i : i + 1000] for i in range(0, len(wire), 1000)]
    headers = {"Content-Encoding": encoding} if encoding else {}
    response = httpx.Response(200, headers=headers, stream=_Chunks(chunks))
    assert _send([response], 10 * MB) == (BODY, 1)


def test_the_limit_counts_decoded_bytes_up_to_the_last_one() -> None:
    wire = _compressed(BODY, 31)
    exact = httpx.Response(200, headers=GZIP, stream=_Chunks([wire]))
    assert _send([exact], len(BODY)) == (BODY, 1)
    over = httpx.Response(200, headers=GZIP, stream=_Chunks([wire]))
    error, calls = _send([over], len(BODY) - 1)
    assert isinstance(error, FetchError) and error.kind == "bad-response" and calls == 1
    assert f"over the {(len(BODY) - 1) / MB:g} MB limit" in str(error)
    announced = httpx.Response(200, headers={"Content-Length": "99"}, stream=_Chunks([b"x" * 99]))
    error, calls = _send([announced], 98)  # refused from its Content-Length alone
    assert isinstance(error, FetchError) and calls == 1


def test_a_corrupt_gzip_body_is_a_bad_response_worth_a_retry() -> None:
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    corrupt = httpx.Response(200, headers=GZIP, stream=_Chunks([header + b"\xff\xff"]))
    good = httpx.Response(200, headers=GZIP, stream=_Chunks([_compressed(BODY, 31)]))
    assert _send([corrupt, good], MB) == (BODY, 2)


# --- Retry-After and the limiter's holds, within each check's budget ------------------------


def _ok_or_retry(response: httpx.Response) -> int:
    if response.status_code >= 500:
        raise RetryLater(
            FetchError("server error", kind=FailureKind.for_http_status(response.status_code)),
            parse_retry_after(response.headers.get("retry-after"), FakeClock().now()),
        )
    return response.status_code


def _budgeted(
    fetcher: Fetcher, answers: list[httpx.Response], hold: float = 0.0
) -> tuple[int | FetchError, int]:
    """One check within its budget, after the provider's limiter was held ``hold`` seconds."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answers.pop(0)

    limiter = fetcher.limiter("example")
    if hold:
        limiter.hold(hold)

    async def run() -> int:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport) as client, fetcher.check_budget():
            request = client.build_request("GET", "https://api.example/x")
            return await fetcher.send(
                client, request, _ok_or_retry, limiter=limiter, label="Example"
            )

    try:
        return asyncio.run(run()), len(calls)
    except FetchError as error:
        return error, len(calls)


def test_a_hold_past_the_checks_remaining_budget_fails_it_at_once() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=30.0), clock=clock)
    error, calls = _budgeted(fetcher, [httpx.Response(200)], hold=45.0)
    assert isinstance(error, FetchError) and error.kind == "http-429"
    assert str(error) == (
        "rate limited by Example for 45 s, longer than the check's remaining budget (30 s)"
    )
    assert (calls, clock.sleeps) == (0, [])


def test_a_hold_past_the_longest_honoured_wait_fails_the_check_at_once() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=300.0, retry_after_max=120.0), clock=clock)
    error, calls = _budgeted(fetcher, [httpx.Response(200)], hold=200.0)
    assert (
        str(error)
        == "rate limited by Example for 200 s, longer than the 120 s serptrack waits at most"
    )
    assert (calls, clock.sleeps) == (0, [])


def test_a_hold_is_charged_to_the_budget_of_the_checks_that_wait_for_it() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=30.0), clock=clock)
    answers = [httpx.Response(503, headers={"Retry-After": "15"}), httpx.Response(200)]
    error, calls = _budgeted(fetcher, answers, hold=20.0)
    # 20 s of the 30 went on the hold: the server's 15 s wait no longer fits.
    assert clock.sleeps == [20.0] and calls == 1
    assert str(error) == (
        "server error (Example asks to wait 15 s, longer than the check's remaining budget (10 s))"
    )


def test_a_hold_within_the_budget_is_waited_out() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=30.0), clock=clock)
    assert _budgeted(fetcher, [httpx.Response(200)], hold=20.0) == (200, 1)
    assert clock.sleeps == [20.0]


def test_a_retry_after_past_the_remaining_budget_fails_at_once() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=10.0), clock=clock)
    answers = [httpx.Response(503, headers={"Retry-After": "60"}), httpx.Response(200)]
    error, calls = _budgeted(fetcher, answers)
    assert str(error) == (
        "server error (Example asks to wait 60 s, longer than the check's remaining budget (10 s))"
    )
    assert (calls, clock.sleeps) == (1, [])


def test_queueing_behind_the_rate_limit_is_still_free() -> None:
    clock = FakeClock()
    fetcher = Fetcher(RetryPolicy(check_budget=10.0), clock=clock)
    limiter = fetcher.limiter("example", 1 / 60)  # one request a minute
    asyncio.run(limiter.acquire())  # another check's slot: this one waits 60 s, uncharged
    assert _budgeted(fetcher, [httpx.Response(200)]) == (200, 1)
    assert clock.sleeps == [60.0]


def _campaign(folder: Path, url: str, count: int) -> Path:
    lines = ["[campaign]", 'name = "held"', "[defaults]", 'provider = "serpapi"']
    lines += ['country = "us"', 'language = "en"', "depth = 5"]
    lines += ["[providers.serpapi]", f'base_url = "{url}"']
    for number in range(count):
        lines += ["[[keywords]]", f'query = "acme {number:02d}"']
    path = folder / "held.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_huge_retry_after_fails_the_waiting_checks_in_moments(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attempts = Attempts()
    ok = fixture("serpapi", "no_ads.json")

    def route(seen: Seen) -> Reply:
        if attempts.next("all") == 1:
            return json_reply({"error": "Slow down."}, 429, **{"Retry-After": "100000"})
        return Reply(body=ok, delay=0.2)  # the first ten are in flight when the 429 lands

    with loopback(route) as server:
        spec = load_campaign_file(_campaign(tmp_path, base_url(server), 30))
        store.apply_campaign(engine, spec)
        with Session(engine) as session:
            tasks = tracker.plan_checks(
                session, store.get_campaign(session, "held"), FakeClock().now()
            )
            providers = tracker.build_providers(
                [store.get_campaign(session, "held")], tasks, environ=KEY
            )
        started = time.monotonic()
        outcomes = tracker.run_checks(
            engine, tasks, providers, concurrency=10, fetcher=Fetcher(RetryPolicy(check_budget=20))
        )
        seconds = time.monotonic() - started
        requests = len(server.seen)
    statuses = [str(o.status) for o in outcomes]
    errors = [o.error or "" for o in outcomes if o.status != "ok"]
    with capsys.disabled():
        print(
            f"\n[Retry-After: 100000, 30 checks, concurrency 10] {seconds:.2f} s wall, "
            f"{requests} requests, {statuses.count('ok')} ok, {len(errors)} failed"
        )
    assert seconds < 5
    assert (len(outcomes), statuses.count("ok"), requests) == (30, 9, 10)
    asked = [e for e in errors if "asks to wait 100000 s" in e]
    assert len(asked) == 1 and "longer than the check's remaining budget (20 s)" in asked[0]
    held = [e for e in errors if e.startswith("rate limited by SerpApi for ")]
    assert len(held) == 20
    assert all(e.endswith(" s, longer than the check's remaining budget (20 s)") for e in held)
    assert {o.error_kind for o in outcomes if o.status != "ok"} == {"http-429"}
