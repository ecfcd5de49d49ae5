"""Keeping secrets out of everything serptrack writes: messages, logs, the database, fixtures.

A key turns up in more spellings than the one typed, and :func:`redact` masks each of them:

- as typed, and as a Python ``repr`` writes it (httpx quotes an illegal header value as
  ``b'sk_...\\r'``, escapes and all);
- URL-encoded: ``quote`` with and without ``/`` kept, ``quote_plus`` (what httpx writes in a
  query string), with upper- or lower-case hex digits;
- JSON-escaped, ``\\u`` escapes or not, with ``/`` written ``\\/`` (as PHP and others do), of
  any of the spellings above;
- base64-encoded, alone or as the user of an HTTP Basic token (``base64("key:")``). A
  provider with a login and a password lists their Basic token ``base64("login:password")``
  as a secret of its own (:func:`basic_token`), so it is masked in all these spellings too.

An API may also echo a key through escapes no list of spellings foresees (``\\u0073k_...``):
:func:`redact_json` masks a decoded JSON document's strings, where every escape is undone.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "basic_token",
    "may_hide",
    "redact",
    "redact_bytes",
    "redact_json",
    "settled",
    "variants",
]

MASK = "***"

_MIN_LENGTH = 4  # shorter secrets cannot be hunted for without mangling ordinary text
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def basic_token(user: str, password: str) -> str:
    """The credentials of an HTTP Basic ``Authorization`` header: ``base64(user:password)``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _quoted(text: str) -> set[str]:
    """``text`` percent-encoded as query strings and paths write it."""
    forms = {quote(text, safe=""), quote(text), quote_plus(text), quote_plus(text, safe="/")}
    return forms | {_HEX_ESCAPE.sub(lambda m: m.group().lower(), form) for form in forms}


def _escaped(text: str) -> set[str]:
    """``text`` inside a Python repr (of a str or of its UTF-8 bytes)."""
    return {repr(text)[1:-1], ascii(text)[1:-1], repr(text.encode())[2:-1]}


def _json(text: str) -> set[str]:
    """``text`` inside a JSON string, with or without ``\\u`` escapes and ``\\/``."""
    forms = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    return forms | {form.replace("/", "\\/") for form in forms}


@lru_cache(maxsize=512)
def variants(secret: str) -> frozenset[str]:
    """Every spelling of ``secret`` that :func:`redact` masks (none for a very short one)."""
    if len(secret) < _MIN_LENGTH:
        return frozenset()
    encoded = secret.encode()
    tokens = {base64.b64encode(encoded).decode(), base64.b64encode(encoded + b":").decode()}
    tokens = {token.rstrip("=") for token in tokens} | tokens
    plain = {secret} | _escaped(secret) | _quoted(secret) | tokens
    plain |= {form for token in tokens for form in _quoted(token)}
    found = plain | {form for text in plain for form in _json(text)}
    return frozenset(form for form in found if len(form) >= _MIN_LENGTH)


@lru_cache(maxsize=64)
def _forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every spelling of every secret, longest first (a longer one may hold a shorter)."""
    found = {form for secret in secrets for form in variants(secret)}
    return tuple(sorted(found, key=lambda form: (-len(form), form)))


def _all_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    return _forms(tuple(sorted(set(secrets))))


def _mask(text: str, forms: tuple[str, ...]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret, in every spelling (:func:`variants`), replaced by ``***``."""
    return _mask(text, _all_forms(secrets))


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """Like :func:`redact`, for raw payloads (the spellings in UTF-8)."""
    forms = _all_forms(secrets)
    if not any(form in data for form in _innermost(forms)):
        return data  # the common case, a page that echoes no key: one search per innermost spelling
    for form in forms:
        encoded = form.encode("utf-8")
        if encoded in data:
            data = data.replace(encoded, MASK.encode())
    return data


@lru_cache(maxsize=64)
def _innermost(forms: tuple[str, ...]) -> tuple[bytes, ...]:
    """The spellings (in UTF-8) that hold no other one. Every spelling holds one of them
    (``base64(key)`` is inside ``base64(key:)``, which is inside its percent-encoding), so a
    payload without any of these holds no spelling at all."""
    encoded = [form.encode("utf-8") for form in forms]
    return tuple(form for form in encoded if not any(o != form and o in form for o in encoded))


def settled(secrets: Iterable[str]) -> bool:
    """Whether :func:`redact_bytes` of an already redacted payload gives it back unchanged.

    A first pass leaves no spelling behind, and a mask can complete a new one only if some
    spelling holds a character of the mask (``*``): then, and only then, a second pass may
    find more.
    """
    return _settled(tuple(sorted(set(secrets))))


@lru_cache(maxsize=64)
def _settled(secrets: tuple[str, ...]) -> bool:
    return not any(char in form for form in _forms(secrets) for char in set(MASK))


def redact_json(doc: Any, secrets: Iterable[str]) -> Any:
    """A decoded JSON document with every secret masked in its strings (keys included).

    The very same object comes back when nothing was masked, so ``redact_json(doc, s) is
    doc`` says whether a secret was there.
    """
    forms = _all_forms(secrets)
    if not forms or not _holds_any(doc, forms):
        return doc
    return _walk(doc, forms)


def _holds_any(doc: Any, forms: tuple[str, ...]) -> bool:
    """Whether a string of ``doc`` may hold one of ``forms``: one pass of the C encoder
    instead of a Python walk of every value. Written without ``\\u`` escapes, each string
    appears as it is, except for the few characters JSON must escape, and a secret holding
    one of those is found by its JSON spelling, which ``forms`` lists."""
    text = json.dumps(doc, ensure_ascii=False, check_circular=False)
    return any(form in text for form in forms)


def may_hide(data: bytes, secrets: Iterable[str]) -> bool:
    """Whether JSON ``data`` may hold a secret behind escapes, which :func:`redact_bytes`
    cannot see: only if it escapes a character some secret has (``\\u0073`` for ``s``,
    ``\\/`` for ``/``). Most pages escape none (``\\u203a`` hides no key's letter), so their
    decoded document need not be searched again (:func:`redact_json`)."""
    pattern = _escapes_of(tuple(sorted(set(secrets))))
    return pattern is not None and pattern.search(data) is not None


@lru_cache(maxsize=64)
def _escapes_of(secrets: tuple[str, ...]) -> re.Pattern[bytes] | None:
    """A pattern for a JSON escape of any character of ``secrets`` (None: no secret)."""
    chars = {char for secret in secrets if variants(secret) for char in secret}
    if not chars:
        return None
    hexes = sorted({f"{ord(char):04x}" for char in chars if ord(char) < 0x10000})
    shorts = sorted({_SHORT_ESCAPES[char] for char in chars if char in _SHORT_ESCAPES})
    astral = any(ord(char) >= 0x10000 for char in chars)  # written as a surrogate pair
    options = [b"u(?:" + b"|".join(h.encode() for h in hexes) + b")"] if hexes else []
    options += [re.escape(short.encode()) for short in shorts]
    options += [rb"u[dD][89abAB]"] if astral else []
    return re.compile(rb"\\(?:" + b"|".join(options) + b")", re.IGNORECASE)


#: the two-character escapes of JSON, by the character each stands for (after the backslash)
_SHORT_ESCAPES = {
    "/": "/",
    '"': '"',
    "\\": "\\",
    "\b": "b",
    "\f": "f",
    "\n": "n",
    "\r": "r",
    "\t": "t",
}


def _walk(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        masked = _mask(value, forms)
        return value if masked == value else masked
    if isinstance(value, list):
        items = [_walk(item, forms) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    if isinstance(value, dict):
        pairs = [(_walk(key, forms), _walk(item, forms)) for key, item in value.items()]
        changed = any(
            new_key is not key or new is not item
            for (new_key, new), (key, item) in zip(pairs, value.items(), strict=True)
        )
        return dict(pairs) if changed else value
    return value
