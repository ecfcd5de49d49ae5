"""The ``replay`` provider: recorded result pages read from disk (SPEC section 5).

Files live at ``<path>/<YYYY-MM-DD>/<slug>.<ext>``; a ``<slug>.<country>-<language>-<device>.<ext>``
file wins over the plain one. The content is detected by :mod:`serptrack.parsers`.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import FetchError, ParseError
from ..parsers import parse_content, sniff_kind
from ..vocabulary import FailureKind, Placement
from . import register
from .base import Fetched, Provider, RawPage, SearchRequest, SettingError

__all__ = ["ReplayProvider", "replay_file_candidates", "slugify"]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def slugify(query: str) -> str:
    """``"Acme recall!"`` → ``acme-recall``: lower case, runs of other characters become ``-``."""
    return _NON_ALNUM.sub("-", query.lower()).strip("-")


def replay_file_candidates(folder: Path, request: SearchRequest) -> list[Path]:
    """The files that could hold ``request``'s page, most specific first."""
    day = request.as_of.astimezone(dt.UTC).date().isoformat()
    directory = folder / day
    slug = slugify(request.query)
    specific = f"{slug}.{request.country}-{request.language}-{request.device}"
    if not directory.is_dir():
        return []
    found: dict[int, list[Path]] = {0: [], 1: []}
    for entry in sorted(directory.iterdir()):
        if not entry.is_file():
            continue
        stem, _, _ext = entry.name.rpartition(".")
        if stem == specific:
            found[0].append(entry)
        elif stem == slug:
            found[1].append(entry)
    return found[0] + found[1]


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
    )
    engines = ("google", "bing", "duckduckgo", "brave", "searxng")
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
        day = request.as_of.astimezone(dt.UTC).date().isoformat()
        candidates = replay_file_candidates(folder, request)
        if not candidates:
            raise FetchError(
                f"no replay file for {request.query!r} on {day} "
                f"(looked for {folder / day / slugify(request.query)}.*)",
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
        if snapshot.source.endswith("-html") and snapshot.engine != request.engine:
            # File names carry no engine: a Bing keyword must not store a saved Google page.
            raise FetchError(
                f"{path} is a saved {snapshot.engine} page but {request.query!r} is tracked on "
                f"{request.engine}; replay file names carry no engine, so keep each engine's "
                "pages in a replay folder of its own",
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


def _content_type(path: Path, data: bytes) -> str:
    kind = sniff_kind(data)
    if kind == "json":
        return "application/json"
    if kind == "html":
        return "text/html"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
