"""The keys results are grouped by, computed once per distinct URL and remembered.

A result row carries its URL's normalised form and registrable domain (:mod:`serptrack.urls`).
Computing them costs tens of microseconds a URL, more than the rest of storing it, and a
campaign meets the same URLs check after check. So the ``url_keys`` table keeps them; a batch
of checks looks up the URLs this process has not seen yet, computes only those the database
does not know, and adds them, in the batch's own transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select

from ..urls import normalise_url, registrable_domain
from .schema import URL_KEYS, conflict_insert

__all__ = ["KEYS_VERSION", "compute_keys", "url_keys"]

#: the rules of serptrack.urls the stored keys follow; raise it when normalise_url or
#: registrable_domain change what they return, and every URL is computed again once
KEYS_VERSION = 1

_KEPT = 200_000  # URLs whose keys a process keeps in memory
_IN_LIST = 500  # digests per lookup (every driver's limit on bound parameters is above)

#: url -> (normalised URL, registrable domain), as this process last found them
_KNOWN: dict[str, tuple[str, str]] = {}


def compute_keys(url: str) -> tuple[str, str]:
    """(normalised URL, registrable domain) of ``url``, computed."""
    norm = normalise_url(url)
    return norm, registrable_domain(norm)


def url_keys(connection: Connection, urls: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The keys of every URL of ``urls``: from memory, else from the table, else computed
    (and then stored, ignoring a row another writer adds meanwhile)."""
    found: dict[str, tuple[str, str]] = {}
    missing: dict[str, str] = {}  # digest -> url
    for url in urls:
        keys = _KNOWN.get(url)
        if keys is not None:
            found[url] = keys
        else:
            missing[_digest(url)] = url
    if not missing:
        return found
    stored = _stored(connection, missing)
    new = {digest: url for digest, url in missing.items() if url not in stored}
    computed = {url: compute_keys(url) for url in new.values()}
    if computed:
        _store(connection, new, computed)
    if len(_KNOWN) > _KEPT:
        _KNOWN.clear()
    _KNOWN.update(stored)
    _KNOWN.update(computed)
    return found | stored | computed


def _digest(url: str) -> str:
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _stored(connection: Connection, missing: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The keys the table holds for ``missing`` (digest -> url), of this version only."""
    found: dict[str, tuple[str, str]] = {}
    digests = list(missing)
    k = URL_KEYS.c
    for start in range(0, len(digests), _IN_LIST):
        chunk = digests[start : start + _IN_LIST]
        query = select(k.digest, k.url, k.norm_url, k.domain).where(
            k.digest.in_(chunk), k.version == KEYS_VERSION
        )
        for digest, url, norm_url, domain in connection.execute(query):
            if missing.get(digest) == url:  # the digest names this very URL
                found[url] = (norm_url, domain)
    return found


def _store(
    connection: Connection, new: dict[str, str], computed: dict[str, tuple[str, str]]
) -> None:
    rows: list[dict[str, Any]] = [
        {
            "digest": digest,
            "url": url,
            "norm_url": computed[url][0],
            "domain": computed[url][1],
            "version": KEYS_VERSION,
        }
        for digest, url in sorted(new.items())  # one order for every writer: no deadlock
    ]
    upsert = conflict_insert(connection.dialect.name)
    # A row of another version (or another URL under the digest) is replaced: this one is right.
    if upsert is None:
        statement: Any = insert(URL_KEYS)
    else:
        statement = upsert(URL_KEYS)
        statement = statement.on_conflict_do_update(
            index_elements=["digest"],
            set_={
                "url": statement.excluded.url,
                "norm_url": statement.excluded.norm_url,
                "domain": statement.excluded.domain,
                "version": statement.excluded.version,
            },
        )
    for start in range(0, len(rows), _IN_LIST):
        connection.execute(statement, rows[start : start + _IN_LIST])
