"""The ``replay`` provider: recorded result pages read from disk (SPEC section 5).

Files live at ``<path>/<YYYY-MM-DD>/<slug>.<ext>``; a ``<slug>.<country>-<language>-<device>.<ext>``
file wins over the plain one. The content is detected by :mod:`serptrack.parsers`.

Google AI mode is asked of the same APIs with the same query and locale as the Google result
page, so its recordings carry the engine (``<slug>.google_ai_mode.<country>-<language>-<device>.<ext>``,
which a slug, having no ``_`` nor ``.``, can never spell): a campaign tracking a query both ways
records and replays two files, not one overwritten. The answer engines' recordings do the same
(``<slug>.perplexity...``, ``<slug>.openai...``). An AI-mode replay still reads the plain names
after its own, and an answer of one engine never stands for the other.

This module is also the one home of that layout: :func:`fixture_path` names the file
``check --record`` writes and :func:`fixture_candidates` the files a replay reads, both from
:func:`slugify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import FetchError, ParseError
from ..parsers import parse_content, sniff_kind
from ..parsers.payload import AI_MODE_ENGINE
from ..vocabulary import FailureKind, Placement
from . import register
from .base import Fetched, Provider, RawPage, SearchRequest, SettingError

__all__ = [
    "SLUG_MAX_BYTES",
    "ReplayProvider",
    "fixture_candidates",
    "fixture_path",
    "replay_day",
    "replay_file_candidates",
    "slugify",
]

#: A slug's longest UTF-8 encoding. With ``.<country>-<language>-<device>.<ext>`` and the
#: ``.<name>.partial`` of a recording being written, a file name stays well under the 255
#: bytes most file systems allow (a non-Latin character takes 2 to 4 of them).
SLUG_MAX_BYTES = 200
_HASH_LENGTH = 8


def slugify(query: str) -> str:
    """A query's file name part: ``"Acme recall!"`` → ``acme-recall`` (SPEC section 5).

    Lower case (NFC), Unicode letters and digits kept (``電気ケトル`` stays, ``Skype à Pékin``
    → ``skype-à-pékin``, with the combining marks of a kept letter), every run of anything
    else one ``-``, no ``-`` at either end. A query with no letter or digit (emoji only) is
    ``q-<8 hex>``, a hash of it; a slug longer than :data:`SLUG_MAX_BYTES` is cut and ends in
    ``-<8 hex>``, a hash of the whole slug. A slug is never empty and never starts with a dot.
    """
    text = unicodedata.normalize("NFC", query.lower())
    kept: list[str] = []
    gap = False
    for char in text:
        if char.isalnum() or (kept and not gap and unicodedata.category(char).startswith("M")):
            if gap:
                kept.append("-")
                gap = False
            kept.append(char)
        else:
            gap = bool(kept)
    slug = "".join(kept)
    if not slug:
        return f"q-{_digest(text)}"
    encoded = slug.encode()
    if len(encoded) <= SLUG_MAX_BYTES:
        return slug
    head = encoded[: SLUG_MAX_BYTES - _HASH_LENGTH - 1].decode("utf-8", "ignore").rstrip("-")
    return f"{head}-{_digest(slug)}"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:_HASH_LENGTH]


def replay_day(when: dt.date) -> str:
    """The day folder's name: ``YYYY-MM-DD``, a datetime's UTC date."""
    if isinstance(when, dt.datetime):
        when = when.astimezone(dt.UTC).date()
    return when.isoformat()


#: engines whose recordings carry the engine in their names (see the module docstring): AI
#: mode and the answer engines, asked the same query as the search engines
_NAMED_ENGINES = frozenset({AI_MODE_ENGINE, "perplexity", "openai"})


def _stems(query: str, country: str, language: str, device: str, engine: str) -> list[str]:
    """A query's file stems, most specific first: locale-specific, then plain (each first
    with the engine, for an engine recorded under its name)."""
    slug = slugify(query)
    bases = [f"{slug}.{engine}", slug] if engine in _NAMED_ENGINES else [slug]
    return [f"{base}.{country}-{language}-{device}" for base in bases] + bases


def fixture_path(
    root: Path,
    day: dt.date,
    query: str,
    country: str,
    language: str,
    device: str,
    ext: str,
    engine: str = "google",
) -> Path:
    """Where ``check --record`` writes a page (SPEC section 5).

    ``<root>/<YYYY-MM-DD>/<slug>.<country>-<language>-<device>.<ext>``
    (``<slug>.google_ai_mode.<country>-…`` for AI mode); ``day`` is a date, or a datetime
    whose UTC date is taken.
    """
    specific = _stems(query, country, language, device, engine)[0]
    return root / replay_day(day) / f"{specific}.{ext}"


def fixture_candidates(
    root: Path,
    day: dt.date,
    query: str,
    country: str,
    language: str,
    device: str,
    engine: str = "google",
    sample: int = 1,
) -> list[Path]:
    """The files in ``<root>/<day>/`` that could hold a query's page, most specific first:
    ``<slug>.<country>-<language>-<device>.<ext>`` files, then plain ``<slug>.<ext>`` ones
    (for AI mode, the same names with the engine first).

    Sample ``k > 1`` of a sampled check has files of its own, as ``check --record`` writes
    them (the same names ending ``.sample-<k>`` before the extension): a replay never answers
    two samples with the same recording.
    """
    directory = root / replay_day(day)
    stems = _stems(query, country, language, device, engine)
    if sample > 1:
        stems = [f"{stem}.sample-{sample}" for stem in stems]
    if not directory.is_dir():
        return []
    found: list[list[Path]] = [[] for _ in stems]
    for entry in sorted(directory.iterdir()):
        if not entry.is_file():
            continue
        stem, _, _ext = entry.name.rpartition(".")
        if stem in stems:
            found[stems.index(stem)].append(entry)
    return [path for paths in found for path in paths]


def replay_file_candidates(folder: Path, request: SearchRequest) -> list[Path]:
    """The files that could hold ``request``'s page, most specific first."""
    return fixture_candidates(
        folder,
        request.as_of,
        request.query,
        request.country,
        request.language,
        request.device,
        request.engine,
        sample=request.sample,
    )


@register
class ReplayProvider(Provider):
    """Recorded pages and payloads replayed from a folder, for tests, demos and evidence."""

    name = "replay"
    description = "recorded snapshots, API payloads or saved pages replayed from a folder"
    placements = (
        Placement.ORGANIC,
        Placement.PAID,
        Placement.NEWS,
        Placement.AI_OVERVIEW,
        Placement.FEATURED_SNIPPET,
        Placement.VIDEO,
        Placement.LOCAL,
        Placement.PERSPECTIVES,
        Placement.PEOPLE_ALSO_ASK,
        Placement.KNOWLEDGE_PANEL,
        Placement.AI_ANSWER,
        Placement.AI_MODE,
    )
    engines = (
        "google",
        "bing",
        "duckduckgo",
        "brave",
        "searxng",
        AI_MODE_ENGINE,
        "perplexity",
        "openai",
    )
    uses_http = False
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {"path": str}
    required_settings = ("path",)
    notes = "needs no key; [providers.replay] path is relative to the campaign file"

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Also make ``path`` absolute (from ``base_dir``) and check that the folder exists."""
        resolved = super().check_settings(settings, base_dir)
        if "path" in resolved:
            folder = (base_dir / Path(resolved["path"]).expanduser()).resolve()
            if not folder.is_dir():
                raise SettingError(f"path: folder {folder} does not exist")
            resolved["path"] = str(folder)
        return resolved

    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        """Parse the file saved for the query on the request's UTC day; ``client`` is unused."""
        folder = Path(self.settings["path"])
        day = replay_day(request.as_of)
        candidates = replay_file_candidates(folder, request)
        if not candidates:
            which = f"sample {request.sample} of " if request.sample > 1 else ""
            suffix = f".*sample-{request.sample}" if request.sample > 1 else ""
            raise FetchError(
                f"no replay file for {which}{request.query!r} on {day} "
                f"(looked for {folder / day / slugify(request.query)}{suffix}.*)",
                kind=FailureKind.MISSING_FIXTURE,
            )
        path = candidates[0]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise FetchError(
                f"cannot read {path}: {error.strerror}", kind=FailureKind.MISSING_FIXTURE
            ) from None
        page = RawPage(
            body=data, content_type=_content_type(path, data), url=path.as_uri(), name=path.name
        )
        try:
            snapshot = parse_content(data, where=str(path))
        except FetchError as error:
            error.pages = [page]
            raise
        except ParseError as error:
            raise FetchError(str(error), kind=FailureKind.PARSE_ERROR, pages=[page]) from None
        if _mismatched(snapshot.source, snapshot.engine, request.engine):
            # Plain file names carry no engine: a Bing keyword must not store a saved Google page.
            raise FetchError(
                f"{path} is a saved {snapshot.engine} page but {request.query!r} is tracked on "
                f"{request.engine}; {_keep_apart(snapshot.engine, request.engine)}",
                kind=FailureKind.ENGINE_MISMATCH,
                pages=[page],
            )
        snapshot = snapshot.with_context(
            query=request.query,
            engine=request.engine,
            country=request.country,
            language=request.language,
            device=request.device,
            location=request.location,
        )
        return Fetched(snapshot, [page])


def _mismatched(source: str, found: str, asked: str) -> bool:
    """Whether a replayed page of engine ``found`` cannot stand for a check of ``asked``.

    A saved HTML page names its engine; an API payload is read as the keyword's engine unless
    it is an AI-mode answer, which is never a result page, nor the other way round.
    """
    if source.endswith("-html"):
        return found != asked
    return found != asked and AI_MODE_ENGINE in (found, asked)


def _keep_apart(found: str, asked: str) -> str:
    """How to keep two engines' recordings of one query apart."""
    if AI_MODE_ENGINE in (found, asked):
        return (
            f"name AI-mode answers <slug>.{AI_MODE_ENGINE}.<country>-<language>-<device>.json "
            "(as check --record does), so they never stand for a Google page or the reverse"
        )
    return (
        "replay file names carry no engine, so keep each engine's pages in a replay folder of "
        "its own"
    )


def _content_type(path: Path, data: bytes) -> str:
    kind = sniff_kind(data)
    if kind == "json":
        return "application/json"
    if kind == "html":
        return "text/html"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
