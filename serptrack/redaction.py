"""Keeping secrets out of everything serptrack writes: messages, logs, the database, fixtures."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "redact", "redact_bytes"]

MASK = "***"


def _variants(secret: str) -> set[str]:
    # A key may appear as typed, URL-encoded in a query string, or form-encoded.
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its URL-encoded forms) replaced by ``***``."""
    for secret in secrets:
        if len(secret) < 4:  # too short to hunt for without mangling ordinary text
            continue
        for variant in sorted(_variants(secret), key=len, reverse=True):
            text = text.replace(variant, MASK)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """Like :func:`redact`, for raw payloads."""
    for secret in secrets:
        if len(secret) < 4:
            continue
        for variant in sorted(_variants(secret), key=len, reverse=True):
            data = data.replace(variant.encode("utf-8"), MASK.encode())
    return data
