"""Every error serptrack raises on purpose.

The CLI turns each into one line, ``Error: <message>``, and exit code 1. Library code raises
them and never prints or exits.

    SerptrackError
    ├── CampaignFileError        a campaign file that cannot be applied (names file and key)
    ├── NotFoundError            a campaign, keyword or file that does not exist
    ├── DatabaseError            the database cannot be opened or is not ours
    │   ├── DamagedDatabaseError the database file is corrupt (says how to restore or salvage it)
    │   └── StorageFullError     the disk (or database size limit) is full mid-transaction
    ├── ProviderError            a provider cannot be used or did not deliver
    │   ├── UnknownProviderError a provider name nobody registered
    │   ├── MissingKeyError      an API key the environment does not hold
    │   │   └── InvalidKeyError  one it holds that no API can take (inner space, non-ASCII)
    │   ├── LivePastError        a live API asked for a past slot (it can only answer for now)
    │   └── FetchError           a request that failed after its retries (status_code, kind)
    │       └── BlockedError     a captcha, "unusual traffic" or anomaly page instead of results
    ├── ParseError               content that is not a page or payload serptrack knows
    │   └── BlockedPageError     a saved page that is a block page (also a BlockedError)
    ├── ScheduleError            a schedule that is neither an interval nor a cron expression
    ├── CurveError               a CTR curve that is unknown or whose file cannot be used
    ├── ReportError              a report that cannot be made (empty period, bad logo or colour)
    └── RecordError              a ``check --record`` file that cannot be written (names the file)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from .vocabulary import CheckStatus, FailureKind

if TYPE_CHECKING:
    from .providers.base import RawPage
    from .tracker import CheckOutcome

__all__ = [
    "BlockedError",
    "BlockedPageError",
    "CampaignFileError",
    "CurveError",
    "DamagedDatabaseError",
    "DatabaseError",
    "FetchError",
    "InvalidKeyError",
    "LivePastError",
    "MissingKeyError",
    "NotFoundError",
    "ParseError",
    "ProviderError",
    "RecordError",
    "ReportError",
    "ScheduleError",
    "SerptrackError",
    "StorageFullError",
    "UnknownEngineError",
    "UnknownProviderError",
]


class SerptrackError(Exception):
    """Base class: an error the user can act on."""


class CampaignFileError(SerptrackError):
    """A campaign file that cannot be applied."""

    def __init__(self, path: str, where: str | None, message: str) -> None:
        """Reads ``path: where: message``; ``where`` (a key or table) is left out when None."""
        self.path = path
        self.where = where
        self.message = message
        location = f"{path}: {where}" if where else path
        super().__init__(f"{location}: {message}")


class NotFoundError(SerptrackError):
    """Something the user named does not exist."""


class DatabaseError(SerptrackError):
    """The database cannot be opened, created or upgraded."""


class DamagedDatabaseError(DatabaseError):
    """The database file is corrupt: SQLite calls it malformed, or its text is not UTF-8.

    The message says how to restore it (a backup) or salvage it (``sqlite3 FILE ".recover"``).
    """


class StorageFullError(DatabaseError):
    """The disk, or the database's size limit, filled during a write.

    Only the transaction that was being written is lost; everything stored before it is intact.
    """


class ProviderError(SerptrackError):
    """A provider cannot be used, or did not deliver a result page."""


class UnknownEngineError(ProviderError):
    """``SERPTRACK_HTTP_ENGINE`` names no HTTP engine serptrack has."""


class UnknownProviderError(ProviderError):
    """A provider name that nobody registered."""


class MissingKeyError(ProviderError):
    """An API key or login that the environment does not hold."""


class InvalidKeyError(MissingKeyError):
    """A key the environment holds that no API could take: whitespace inside it, a control or
    non-ASCII character. The message names the variable, never the value."""


class FetchError(ProviderError):
    """A check that could not get its result page.

    ``kind`` is a :class:`~serptrack.vocabulary.FailureKind`, the short reason used to group
    failures (``http-429``, ``timeout``, ``missing-fixture`` ...); ``status_code`` is the last
    HTTP status seen. ``pages`` holds whatever raw evidence was received before the failure.
    """

    #: how a check that ends with this error is stored
    status: ClassVar[CheckStatus] = CheckStatus.FAILED

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.ERROR,
        status_code: int | None = None,
        pages: list[RawPage] | None = None,
    ) -> None:
        """``pages`` (the raw pages received before the failure) defaults to an empty list."""
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code
        self.pages = pages or []


class BlockedError(FetchError):
    """The engine answered with a block page (captcha, unusual traffic, anomaly)."""

    status: ClassVar[CheckStatus] = CheckStatus.BLOCKED


class LivePastError(ProviderError):
    """A live API asked to answer for a past slot: it would return today's page, paid for."""


class ParseError(SerptrackError):
    """Content that is not a result page or payload serptrack can read."""


class BlockedPageError(ParseError, BlockedError):
    """A saved or fetched page that is a block page, not results."""

    def __init__(self, message: str) -> None:
        """A block page's failure kind is always ``blocked``."""
        BlockedError.__init__(self, message, kind=FailureKind.BLOCKED)


class ScheduleError(SerptrackError):
    """A schedule that is neither an interval nor a 5-field cron expression."""


class CurveError(SerptrackError):
    """A CTR curve name nobody ships, or a curve file that cannot be read or is invalid."""


class ReportError(SerptrackError):
    """A report that cannot be made: a period without checks, a logo or colour that is unusable."""


class RecordError(SerptrackError):
    """A ``check --record`` file that cannot be written (the message names it and why).

    A run raises it only once every check is stored; ``outcomes`` then holds those checks,
    for a caller that still wants to report them.
    """

    def __init__(self, message: str, outcomes: Sequence[CheckOutcome] = ()) -> None:
        """``outcomes`` are the run's stored checks, when raised at the end of a run."""
        super().__init__(message)
        self.outcomes = list(outcomes)
