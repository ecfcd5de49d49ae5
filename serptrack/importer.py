"""Saved result pages and payloads read from files: ``parse`` and ``import-serp``.

:func:`read_page` reads a file (refusing one too large to be a result page);
:func:`parse_file` turns it into a snapshot; :func:`import_page` stores it as one check of
a campaign's keyword. A block page is stored as a ``blocked`` check (it is evidence that
the engine refused), an API error body as a ``failed`` one; content serptrack cannot read
at all, JSON that is no result page included (``bad-response``), is an error and stores
nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from sqlmodel import Session

from .errors import FetchError, NotFoundError, ParseError, SerptrackError
from .models import Keyword
from .parsers import BadResponseError, parse_content, sniff_kind
from .parsers.html import MAX_PAGE_BYTES, too_large
from .providers.base import RawPage
from .snapshot import Snapshot, clean_text
from .store import CheckRecord, campaign_keywords, get_campaign, imported_check, record_check
from .vocabulary import CheckStatus

__all__ = ["PROVIDER", "ImportOutcome", "import_page", "parse_file", "read_page"]

#: The provider name imported checks are stored under.
PROVIDER = "import"


def read_page(path: Path) -> bytes:
    """The bytes of a saved page or payload; an error for a missing, unreadable or huge file."""
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise ParseError(f"{path}: {too_large(size, MAX_PAGE_BYTES)}")
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except OSError as error:
        raise SerptrackError(f"{path}: cannot read it ({error.strerror})") from None


def parse_file(path: Path) -> Snapshot:
    """Read and parse one saved page or payload, whatever its format."""
    return parse_content(read_page(path), where=str(path))


@dataclass
class ImportOutcome:
    """One imported check, as stored."""

    campaign: str
    keyword: Keyword
    check_id: int
    status: CheckStatus
    observed_at: dt.datetime
    results: int = 0
    error: str | None = None
    source: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``import-serp --json`` object (shaped like a ``check --json`` one)."""
        return {
            "campaign": self.campaign,
            "query": self.keyword.query,
            "engine": self.keyword.engine,
            "country": self.keyword.country,
            "language": self.keyword.language,
            "device": self.keyword.device,
            "provider": PROVIDER,
            "check_id": self.check_id,
            "status": self.status,
            "observed_at": self.observed_at,
            "results": self.results,
            "error": self.error,
            "source": self.source,
            "warnings": self.warnings,
        }


def import_page(
    engine: Engine,
    campaign_name: str,
    data: bytes,
    *,
    query: str,
    observed_at: dt.datetime,
    name: str = "content",
    origin: str = "",
    country: str | None = None,
    language: str | None = None,
    device: str | None = None,
    alerts: bool = True,
) -> ImportOutcome:
    """Store ``data`` (a saved page or payload) as one check of the campaign's keyword.

    ``query`` (and ``country``/``language``/``device`` when several keywords share it)
    picks the keyword; ``name`` names the content in messages; ``origin`` is kept with the
    raw page. A block page or API error body is stored with status ``blocked``/``failed``.
    With ``alerts`` (the default) the check's alert events are found as it is stored.
    """
    snapshot: Snapshot | None = None
    failure: FetchError | None = None
    try:
        snapshot = parse_content(data, where=name)
    except BadResponseError:  # JSON that is no result page: content serptrack cannot read
        raise
    except FetchError as error:  # a block page or an API error body: evidence, kept
        failure = error
    with Session(engine) as session:
        campaign = get_campaign(session, campaign_name)
        keyword = _keyword(
            campaign_keywords(session, campaign, active_only=False),
            campaign_name,
            query,
            engine=snapshot.engine if snapshot else None,
            country=country,
            language=language,
            device=device,
            name=name,
        )
        assert keyword.id is not None
        _refuse_duplicate(session, keyword, observed_at, query)
    page = RawPage(body=data, content_type=_content_type(data), url=origin, name=Path(name).name)
    record = CheckRecord(
        keyword_id=keyword.id,
        provider=PROVIDER,
        observed_at=observed_at,
        pages=[page],
        alerts=alerts,
    )
    if snapshot is not None:
        record.take(snapshot)
    elif failure is not None:
        record.status = failure.status
        record.error = str(failure)
        record.error_kind = failure.kind
        record.status_code = failure.status_code
    try:
        check_id = record_check(engine, record)
    except (ValueError, OverflowError, DataError) as error:  # one transaction: none of it kept
        cause = getattr(error, "orig", None) or error
        detail = str(cause).strip().partition("\n")[0][:200]
        raise SerptrackError(
            clean_text(
                f"{name}: the database refused a value of this page "
                f"({type(cause).__name__}: {detail}); nothing stored"
            )
        ) from None
    return ImportOutcome(
        campaign=campaign_name,
        keyword=keyword,
        check_id=check_id,
        status=record.status,
        observed_at=observed_at,
        results=len(record.items),
        error=record.error,
        source=record.source,
        warnings=_warnings(snapshot, keyword),
    )


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _keyword(
    keywords: list[Keyword],
    campaign: str,
    query: str,
    *,
    engine: str | None,
    country: str | None,
    language: str | None,
    device: str | None,
    name: str,
) -> Keyword:
    """The one keyword ``query`` (and the locale options) names, or an error that helps."""
    candidates = [k for k in keywords if _norm(k.query) == _norm(query)]
    if not candidates:
        queries = ", ".join(repr(q) for q in sorted({k.query for k in keywords if k.active}))
        raise NotFoundError(
            f"campaign {campaign!r} has no keyword {query!r}; its queries: {queries or 'none'}"
        )
    for option, value in (("country", country), ("language", language), ("device", device)):
        if value is not None:
            candidates = [k for k in candidates if _norm(getattr(k, option)) == _norm(value)]
    if not candidates:
        raise NotFoundError(
            f"campaign {campaign!r} has no keyword {query!r} for "
            f"{_locale(country, language, device)}; it tracks it for: "
            + ", ".join(_describe(k) for k in keywords if _norm(k.query) == _norm(query))
        )
    if engine is not None:
        same_engine = [k for k in candidates if k.engine == engine]
        if not same_engine:
            raise SerptrackError(
                f"{name} is a {engine} page, but campaign {campaign!r} tracks {query!r} on "
                + ", ".join(sorted({k.engine for k in candidates}))
            )
        candidates = same_engine
    active = [k for k in candidates if k.active]
    candidates = active or candidates
    if len(candidates) > 1:
        raise SerptrackError(
            f"campaign {campaign!r} tracks {query!r} several ways ("
            + ", ".join(_describe(k) for k in candidates)
            + "); pick one with --country, --language and --device"
        )
    return candidates[0]


def _describe(keyword: Keyword) -> str:
    locale = _locale(keyword.country, keyword.language, keyword.device)
    return f"{keyword.engine} {locale}" + ("" if keyword.active else " (inactive)")


def _locale(country: str | None, language: str | None, device: str | None) -> str:
    return "-".join(part or "*" for part in (country, language, device))


def _refuse_duplicate(
    session: Session, keyword: Keyword, observed_at: dt.datetime, query: str
) -> None:
    assert keyword.id is not None
    existing = imported_check(session, keyword.id, PROVIDER, observed_at)
    if existing is not None:
        raise SerptrackError(
            f"a page of {query!r} observed at {observed_at.isoformat()} is already imported "
            f"(check {existing}); nothing stored"
        )


def _content_type(data: bytes) -> str:
    kind = sniff_kind(data)
    return {"json": "application/json", "html": "text/html"}.get(kind, "application/octet-stream")


def _warnings(snapshot: Snapshot | None, keyword: Keyword) -> list[str]:
    """Where the page itself disagrees with the keyword it is stored under."""
    if snapshot is None:
        return []
    warnings = []
    if snapshot.query and _norm(snapshot.query) != _norm(keyword.query):
        warnings.append(f"the page is a search for {snapshot.query!r}, not {keyword.query!r}")
    for option in ("country", "language", "device"):
        page_value = getattr(snapshot, option)
        wanted = getattr(keyword, option)
        if page_value and wanted and _norm(page_value) != _norm(wanted):
            # str(): a parser may give a Device member, whose repr is not its value's
            warnings.append(
                f"the page's {option} is {str(page_value)!r}, the keyword's {str(wanted)!r}"
            )
    return warnings
