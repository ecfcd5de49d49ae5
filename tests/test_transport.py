"""Both HTTP engines, against real sockets on 127.0.0.1, fail with the same httpx errors.

A check's recorded failure kind (timeout, connect, bad response) and its message come from
the httpx error class, so the aiohttp engine must file each fault where httpcore does.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from serptrack import store
from serptrack.cli import cli
from serptrack.fetch import Fetcher, RetryPolicy, make_client
from serptrack.transport import ENGINES
from serptrack.vocabulary import FailureKind
from tests.test_imports import CAMPAIGN

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
POLICY = RetryPolicy(attempts=1, connect_timeout=1, read_timeout=0.3, check_budget=5)


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/search"
    finally:
        server.close()


async def _request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok": true}'[:-1])
    await writer.drain()
    writer.close()


async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    await writer.drain()
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    await asyncio.sleep(5)


async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    await writer.drain()
    writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(engine: str, url: str) -> httpx.Response:
    async with make_client(4, POLICY, engine=engine) as client:
        response = await client.get(url)
        await response.aread()
        return response


@pytest.mark.parametrize("engine", ENGINES)
def test_a_good_answer_arrives_whole(engine: str) -> None:
    async def run() -> httpx.Response:
        async with serving(ok) as url:
            return await get(engine, url + "?q=acme")

    response = asyncio.run(run())
    assert (response.status_code, response.content) == (200, b'{"ok": true')
    assert response.request.url.params["q"] == "acme"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (cut_short, httpx.RemoteProtocolError),
        (silent, httpx.ReadTimeout),
        (not_http, httpx.RemoteProtocolError),
    ],
    ids=["cut-short", "silent", "not-http"],
)
def test_faults_come_out_as_the_same_httpx_error(
    engine: str, handler: Handler, error: type[Exception]
) -> None:
    async def run() -> None:
        async with serving(handler) as url:
            await get(engine, url + "?api_key=sk_live_secret")

    with pytest.raises(httpx.TransportError) as raised:
        asyncio.run(run())
    assert type(raised.value) is error
    assert "sk_live_secret" not in str(raised.value)  # aiohttp writes the URL into some errors


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_connection_is_a_connect_failure_not_a_timeout(engine: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/search"

    async def run() -> None:
        fetcher = Fetcher(POLICY)
        async with make_client(4, POLICY, engine=engine) as client:
            await fetcher.send(client, httpx.Request("GET", url), lambda r: r, label="SerpApi")

    with pytest.raises(Exception) as raised:
        asyncio.run(run())
    assert getattr(raised.value, "kind", None) == FailureKind.CONNECT
    assert str(raised.value).startswith("cannot connect to SerpApi at 127.0.0.1")


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--due"],
        ["backfill", "acme", "--from", "2026-03-01", "--to", "2026-03-02"],
        ["worker", "--once"],
    ],
    ids=["check", "check-due", "backfill", "worker"],
)
def test_a_wrong_engine_name_is_one_line_and_nothing_is_claimed_or_stored(
    tmp_path: Path,
    db_url: str,
    runner: CliRunner,
    snapshot_writer: Callable[..., Path],
    args: list[str],
) -> None:
    (tmp_path / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    result = [{"url": "https://acme.example/", "placement": "organic", "rank": 1}]
    snapshot_writer(tmp_path / "fixtures", "2026-03-01", "acme recall", result)
    assert (
        runner.invoke(cli, ["apply", str(tmp_path / "campaign.toml"), "--db", db_url]).exit_code
        == 0
    )

    done = runner.invoke(cli, [*args, "--db", db_url], env={"SERPTRACK_HTTP_ENGINE": "curl"})

    assert done.exit_code == 1
    assert done.output == (
        "Error: unknown HTTP engine 'curl' in SERPTRACK_HTTP_ENGINE; set it to aiohttp "
        "(the default) or httpcore, or unset it\n"
    )
    engine = store.connect(db_url)
    with engine.connect() as connection:
        for table in ("checks", "slot_claims"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    engine.dispose()
