"""The HTTP engines under serptrack's one ``httpx.AsyncClient``.

Code and tests see httpx only (``httpx.MockTransport`` is the seam); what carries the bytes
is chosen here. ``aiohttp`` (the default) is the ``httpx-aiohttp`` transport: one aiohttp
connector for the whole run, whose pool costs the same at 200 connections as at 10, where
httpcore's pool scans every connection at each request (measured in
``benchmarks/bench_check.py``). ``httpcore`` is httpx's own engine, behind
:class:`serptrack.fetch.ShardedTransport`, kept as the fallback. Proxies from the environment
are httpx's business either way: the client mounts its own proxy transports in front.

httpx-aiohttp turns aiohttp's errors into httpx's, but files every lost connection, refused
connections included, under ``ConnectTimeout``; :class:`AiohttpEngine` files them again by what
happened, since a failed check's recorded kind (timeout, connect, bad response) and its message
come from the httpx class.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["ENGINES", "AiohttpEngine", "httpx_error"]

#: the engines ``make_client`` can build, the default first
ENGINES: Final = ("aiohttp", "httpcore")


def httpx_error(error: BaseException) -> type[httpx.TransportError] | None:
    """The httpx error an aiohttp one stands for (None: not an aiohttp transport error)."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(error, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return httpx.ConnectError
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError
    if isinstance(error, aiohttp.ClientResponseError):  # a status line or header not HTTP
        return httpx.RemoteProtocolError
    if isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol
    if isinstance(error, aiohttp.ClientConnectionResetError | aiohttp.ClientOSError):
        return httpx.ReadError
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout
    if isinstance(error, aiohttp.ClientError):
        return httpx.NetworkError
    return None


def _refiled(error: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """``error`` as the httpx class its aiohttp cause stands for, in words without a URL
    (itself when its cause is no aiohttp error)."""
    cause = error.__cause__
    wanted = httpx_error(cause) if cause is not None else None
    if cause is None or wanted is None:
        return error
    refiled = wanted(_described(cause), request=request)
    refiled.__cause__ = cause
    return refiled


def _described(error: BaseException) -> str:
    """An aiohttp error in words, without the URL aiohttp puts in a response error's text
    (its query string holds the API key)."""
    if isinstance(error, aiohttp.ClientResponseError):
        return f"HTTP {error.status}: {error.message}"
    return str(error) or type(error).__name__


class _RefiledStream(httpx.AsyncByteStream):
    """A response body whose read errors are filed like the request's."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as error:
            raise _refiled(error, self._request) from error.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class AiohttpEngine(AiohttpTransport):
    """httpx-aiohttp's transport, with aiohttp's errors filed as httpx files its own."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through aiohttp; errors come out as the right httpx class."""
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as error:
            raise _refiled(error, request) from error.__cause__
        except (aiohttp.ClientError, TimeoutError) as error:  # not mapped by httpx-aiohttp
            wanted = httpx_error(error) or httpx.NetworkError
            raise wanted(_described(error), request=request) from error
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _RefiledStream(response.stream, request)
        return response
