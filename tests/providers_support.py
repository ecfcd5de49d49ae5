"""Test kit for provider modules: fixtures, a scripted MockTransport handler, a fake clock.

A :class:`Script` is the handler given to ``httpx.MockTransport``: it expects the listed
requests in order, asserts each one's method, path, query parameters, headers and JSON body,
answers with the listed response, and fails on any request it did not expect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from serptrack.errors import FetchError
from serptrack.fetch import Clock, Fetcher, RetryPolicy
from serptrack.providers import Fetched, Provider, SearchRequest

FIXTURES = Path(__file__).parent / "fixtures" / "providers"

#: retries without real waiting (the fake clock only counts the sleeps)
FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_max=0.05, check_budget=60.0)

ABSENT = object()  # a parameter that must not be sent


def fixture(provider: str, name: str) -> bytes:
    """The bytes of ``tests/fixtures/providers/<provider>/<name>``."""
    return (FIXTURES / provider / name).read_bytes()


def fixture_json(provider: str, name: str) -> Any:
    """A provider fixture, decoded."""
    return json.loads(fixture(provider, name))


@dataclass
class Expect:
    """One expected request and the answer to give it."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None
    status: int = 200
    body: bytes = b"{}"
    response_headers: Mapping[str, str] = field(default_factory=dict)


class Script:
    """A MockTransport handler that answers the expected requests in order, and nothing else."""

    def __init__(self, *steps: Expect) -> None:
        self.steps = list(steps)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        assert self.steps, f"unexpected request: {request.method} {request.url.path}"
        step = self.steps.pop(0)
        assert request.method == step.method
        assert request.url.path == step.path
        for name, value in step.params.items():
            if value is ABSENT:
                assert name not in request.url.params, f"{name} should not be sent"
            else:
                assert request.url.params.get(name) == str(value), (
                    f"{name}={request.url.params.get(name)!r}, expected {value!r}"
                )
        for name, value in step.headers.items():
            assert request.headers.get(name) == value, f"header {name}"
        if step.json_body is not None:
            assert json.loads(request.content) == step.json_body
        headers = {"content-type": "application/json; charset=utf-8", **step.response_headers}
        return httpx.Response(step.status, content=step.body, headers=headers)

    def done(self) -> None:
        """Assert every expected request was made."""
        assert not self.steps, f"{len(self.steps)} expected requests were not made"


class FakeClock(Clock):
    """A clock whose sleeps return at once and only move its time forward."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        super().__init__(monotonic=lambda: self.t, sleep=self._sleep)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def attach(provider: Provider, policy: RetryPolicy = FAST) -> FakeClock:
    """Give ``provider`` a fetcher with ``policy``, a fake clock and no jitter; return the clock."""
    clock = FakeClock()
    provider.attach(Fetcher(policy, clock=clock, rand=lambda: 0.5))
    return clock


async def _fetch(provider: Provider, request: SearchRequest, script: Script) -> Fetched:
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        return await provider.fetch(request, client)


def fetch(provider: Provider, request: SearchRequest, script: Script) -> Fetched:
    """Run ``provider.fetch`` against ``script``; assert every expected request was made."""
    fetched = asyncio.run(_fetch(provider, request, script))
    script.done()
    return fetched


def fetch_error(provider: Provider, request: SearchRequest, script: Script) -> FetchError:
    """Run ``provider.fetch`` against ``script`` and return the FetchError it raises."""
    try:
        asyncio.run(_fetch(provider, request, script))
    except FetchError as error:
        script.done()
        return error
    raise AssertionError("the fetch did not fail")


def placements(fetched: Fetched) -> list[tuple[str, str | None, int | None, int | None, str]]:
    """(placement, block, rank, page position, url) of each stored item, numbered as stored."""
    snapshot = fetched.snapshot.to_json()
    return [
        (r["placement"], r.get("block"), r["rank"], r["page_position"], r["url"])
        for r in snapshot["results"]
    ]
