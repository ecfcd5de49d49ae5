"""The closed vocabularies serptrack stores, prints and compares, each defined once.

Every vocabulary is an :class:`enum.StrEnum`: a member *is* its string, so it compares equal
to, hashes like, formats as and JSON-encodes as the very value stored in the database and
printed by ``--json`` (``CheckStatus.OK == "ok"``, ``json.dumps(CheckStatus.OK) == '"ok"'``).
Values read back from the database are plain strings and compare equal to the members.
Beware ``repr()`` (``<CheckStatus.OK: 'ok'>``) and, on Python 3.11, ``"ok" in CheckStatus``
(a TypeError): use :func:`str` and the ``*_VALUES`` sets below.

Standard library only: the CLI imports this module at load time, before any database, HTTP
or parser machinery.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, Final, cast

__all__ = [
    "CHECK_STATUS_VALUES",
    "DEVICE_VALUES",
    "FAILURE_KIND_VALUES",
    "FAILURE_STATUSES",
    "KEYWORD_IDENTITY",
    "PLACEMENT_VALUES",
    "CheckStatus",
    "Device",
    "FailureKind",
    "OutcomeStatus",
    "Ownership",
    "Placement",
    "Stance",
    "View",
    "failure_words",
    "identity_fields",
    "identity_of",
]


class CheckStatus(enum.StrEnum):
    """How a stored check ended: the ``checks.status`` column.

    ``skipped`` is not here: a skipped check is never stored (see :class:`OutcomeStatus`).
    """

    # Contractual: SPEC section 5 and 6 (`status` of history --json and check --json rows).
    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"


class OutcomeStatus(enum.StrEnum):
    """How one check of a run ended: a stored :class:`CheckStatus`, or ``skipped``.

    A separate enum rather than a fourth :class:`CheckStatus` member, because ``skipped``
    never reaches the database (the check did not run, or its slot was taken over), while
    every ``CheckStatus`` value does. The shared values are the same strings, so
    ``OutcomeStatus.OK == CheckStatus.OK``; :meth:`of` converts a stored status.
    """

    # Contractual: the `status` of check --json objects (SPEC section 6, plus `skipped`).
    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"

    @classmethod
    def of(cls, status: CheckStatus) -> OutcomeStatus:
        """The outcome status of a check stored with ``status``."""
        return cls(status.value)


#: The statuses of a check that did not deliver results (failed and blocked checks are not
#: evidence of a rank: SPEC section 6). Holds for CheckStatus, OutcomeStatus and plain strings.
FAILURE_STATUSES: Final[frozenset[str]] = frozenset({CheckStatus.FAILED, CheckStatus.BLOCKED})

_SERVER_ERROR = re.compile(r"http-5[0-9][0-9]")


class FailureKind(enum.StrEnum):
    """Why a check failed: ``FetchError.kind``, the ``checks.error_kind`` column.

    Besides the members listed, server errors form a family: :meth:`for_http_status` gives
    ``http-500`` ... ``http-599`` as members made on first use (``FailureKind("http-503")``
    works and is a ``FailureKind``), so the stored value keeps naming the status seen. They
    are not listed by ``list(FailureKind)``.
    """

    # Contractual: stored in checks.error_kind and printed as `error_kind` by check --json;
    # reports and failure summaries group by it.
    ERROR = "error"  # a FetchError that names no reason
    BLOCKED = "blocked"  # a captcha, "unusual traffic" or anomaly page
    MISSING_FIXTURE = "missing-fixture"  # replay: no file (or an unreadable one) for the day
    ENGINE_MISMATCH = "engine-mismatch"  # replay: a saved page of another engine
    PARSE_ERROR = "parse-error"  # content serptrack cannot read
    QUERY_RELAXED = "query-relaxed"  # the engine answered another query (no exact results)
    BAD_RESPONSE = "bad-response"  # a body that is not the JSON asked for, or was cut off
    UNSUPPORTED = "unsupported"  # a device or location the provider cannot emulate
    AUTH = "auth"  # the key was rejected
    QUOTA = "quota"  # the account cannot pay for the search
    HTTP_429 = "http-429"  # rate limited
    PROVIDER_ERROR = "provider-error"  # the API refused the request
    PROVIDER_UNAVAILABLE = "provider-unavailable"  # the API is down for now: worth a retry
    TIMEOUT = "timeout"  # no answer in time (one request, or the check's whole budget)
    CONNECT = "connect"  # no connection to the API
    NETWORK = "network"  # another transport failure
    HTTP_ERROR = "http-error"  # an httpx error that escaped a provider
    SKIPPED = "skipped"  # never stored: the check did not run (OutcomeStatus.SKIPPED)

    @classmethod
    def for_http_status(cls, status: int) -> FailureKind:
        """``http-<status>``: :attr:`HTTP_429`, or a server error ``http-5xx``."""
        return cls(f"http-{status}")

    @property
    def words(self) -> str:
        """What this failure means, in words a client reading a report understands."""
        if self.value in _FAILURE_WORDS:
            return _FAILURE_WORDS[self.value]
        return f"the provider had a server error (HTTP {self.value.removeprefix('http-')})"

    @classmethod
    def _missing_(cls, value: object) -> FailureKind | None:
        """Make the ``http-5xx`` member for a server error status on first use."""
        if not isinstance(value, str) or not _SERVER_ERROR.fullmatch(value):
            return None
        member = str.__new__(cls, value)
        member._name_ = "HTTP_" + value.removeprefix("http-")
        member._value_ = value
        # As enum.Flag does for its pseudo-members: one object per value, found by lookup.
        return cast(FailureKind, cls._value2member_map_.setdefault(value, member))


_FAILURE_WORDS = {
    "error": "the provider failed without saying why",
    "blocked": "the engine showed a captcha or 'unusual traffic' page",
    "missing-fixture": "no saved page for that day",
    "engine-mismatch": "the saved page is from another search engine",
    "parse-error": "a page serptrack could not read",
    "query-relaxed": "the engine answered a looser query instead",
    "bad-response": "the provider's answer was not a result page",
    "unsupported": "the provider cannot search this device or location",
    "auth": "the API key was refused",
    "quota": "the account ran out of searches",
    "http-429": "the provider asked to slow down (rate limit)",
    "provider-error": "the provider refused the request",
    "provider-unavailable": "the provider was down",
    "timeout": "no answer in time",
    "connect": "no connection to the provider",
    "network": "a network error",
    "http-error": "an HTTP error",
    "skipped": "not run",
}


def failure_words(status: str, error_kind: str | None) -> str:
    """A failed or blocked check in words: ``failed: no saved page for that day``."""
    try:
        reason = FailureKind(error_kind).words if error_kind else "no reason recorded"
    except ValueError:  # a kind recorded by another release
        reason = error_kind or "no reason recorded"
    return f"{status}: {reason}"


class Device(enum.StrEnum):
    """The device a keyword's searches emulate (``keywords.device``)."""

    # Contractual: the campaign file's `device` (SPEC section 2, which names desktop and
    # mobile; tablet is an addition for the APIs that emulate it), `device` of every JSON row,
    # replay file names (SPEC section 5) and `import-serp --device`.
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"


class Placement(enum.StrEnum):
    """Where on the result page an item sits (``results.placement``)."""

    # Contractual: SPEC section 3 (organic, paid, news, ai_overview, featured_snippet "or
    # another documented value") and section 7 (ai_mode, ai_answer); shopping, video and local
    # were already listed by snapshot.PLACEMENTS. The README lists them all. Stored in
    # results.placement and printed by history --json and parse --json.
    ORGANIC = "organic"
    PAID = "paid"
    NEWS = "news"  # top stories / a news box
    AI_OVERVIEW = "ai_overview"  # a source an AI overview cites
    AI_MODE = "ai_mode"  # a source an AI-mode answer cites
    AI_ANSWER = "ai_answer"  # a source another engine's AI answer cites
    FEATURED_SNIPPET = "featured_snippet"
    SHOPPING = "shopping"
    VIDEO = "video"
    LOCAL = "local"  # a local pack (places on a map)
    PERSPECTIVES = "perspectives"  # social and forum posts ("What people are saying")
    PEOPLE_ALSO_ASK = "people_also_ask"  # a question's answer source ("People also ask")
    KNOWLEDGE_PANEL = "knowledge_panel"  # a link a knowledge panel gives for its entity


class Stance(enum.StrEnum):
    """What a result is to the campaign (``url_stances.stance``, label rules)."""

    # Contractual: SPEC section 2 ([labels] keys) and `stance` of history --json rows.
    OFFICIAL = "official"
    CRITICAL = "critical"
    NEUTRAL = "neutral"  # no rule matches


class Ownership(enum.StrEnum):
    """Who controls a result (optional ``[labels.ownership]``): beside its stance, never
    instead of it."""

    # An addition to SPEC section 2 (README "Ownership classes"): the keys of
    # [labels.ownership] and `ownership` of report --format json rows.
    OWNED = "owned"  # the brand's own pages and accounts
    EARNED = "earned"  # coverage the brand did not pay for or write
    THIRD_PARTY = "third_party"  # reference and other pages nobody on either side controls
    HOSTILE = "hostile"  # pages written against the brand

    @property
    def words(self) -> str:
        """The class as a client reads it (``third-party``)."""
        return self.value.replace("_", "-")


class View(enum.StrEnum):
    """How positions compare (SPEC section 6): organic ranks only, or the whole page."""

    # Contractual: `view` of overtakes --json and status --json keys, `overtakes --view`.
    ORGANIC = "organic"  # organic `rank` among organic results only
    PAGE = "page"  # `page_position` across every placement, ads included


#: Every value of each vocabulary as a set of plain strings, for membership tests.
CHECK_STATUS_VALUES: Final[frozenset[str]] = frozenset(s.value for s in CheckStatus)
FAILURE_KIND_VALUES: Final[frozenset[str]] = frozenset(k.value for k in FailureKind)
DEVICE_VALUES: Final[frozenset[str]] = frozenset(d.value for d in Device)
PLACEMENT_VALUES: Final[frozenset[str]] = frozenset(p.value for p in Placement)

#: What makes two keywords of a campaign the same keyword (its history follows it): the
#: columns of the keywords table's unique constraint, after campaign_id.
KEYWORD_IDENTITY: Final = ("query", "engine", "country", "language", "device", "location")


def identity_of(keyword: object) -> tuple[str, ...]:
    """The :data:`KEYWORD_IDENTITY` of a keyword-like object or mapping, as plain strings.

    Works for a stored ``Keyword``, a ``KeywordSpec``, a ``SearchRequest`` or a JSON row;
    members such as ``Device.MOBILE`` become their values and None becomes ``""`` (the
    stored "unspecified"), so identities compare and hash alike wherever they come from.
    """
    return tuple("" if value is None else str(value) for value in _identity_values(keyword))


def identity_fields(keyword: object) -> dict[str, str]:
    """The :data:`KEYWORD_IDENTITY` of a keyword-like object as a dict, for JSON rows."""
    return dict(zip(KEYWORD_IDENTITY, identity_of(keyword), strict=True))


def _identity_values(keyword: object) -> list[Any]:
    if isinstance(keyword, Mapping):
        return [keyword[name] for name in KEYWORD_IDENTITY]
    return [getattr(keyword, name) for name in KEYWORD_IDENTITY]
