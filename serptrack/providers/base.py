"""The one interface every result source implements.

A provider turns a :class:`SearchRequest` into a :class:`Fetched` page: a normalised
:class:`~serptrack.snapshot.Snapshot` plus the raw payloads it came from (keys stripped). It
never labels, stores or renders. When it cannot deliver it raises
:class:`~serptrack.errors.FetchError` (``failed``) or :class:`~serptrack.errors.BlockedError`
(``blocked``), carrying whatever raw evidence it received.

:class:`Provider` is the class attributes a listing and a campaign file need plus one async
method, :meth:`Provider.fetch`. HTTP APIs derive from
:class:`~serptrack.providers.http.HttpProvider`, which holds the request, retry and paging
machinery.
"""

from __future__ import annotations

import datetime as dt
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import InvalidKeyError, MissingKeyError
from ..snapshot import Snapshot
from ..vocabulary import Device, Placement

if TYPE_CHECKING:
    import httpx

    from ..fetch import Fetcher

__all__ = [
    "Fetched",
    "Provider",
    "RawPage",
    "SearchRequest",
    "SettingError",
    "invalid_key_message",
    "key_problem",
    "read_key",
]


class SettingError(ValueError):
    """A provider setting in a campaign file that cannot be used."""


def read_key(environ: Mapping[str, str], name: str) -> str:
    """The key in variable ``name``, without the whitespace around it (a pasted line's CR/LF)."""
    return environ.get(name, "").strip()


def key_problem(value: str) -> str | None:
    """What makes a key (already stripped) unusable in a header or a URL, or None.

    Keys are printable ASCII without spaces; the answer never quotes the key or a character
    of it.
    """
    if value.isascii() and value.isprintable() and " " not in value:
        return None  # the common case, in C: asked of every key at every check
    if any(char.isspace() for char in value):
        return "whitespace inside it"
    if any(ord(char) > 127 for char in value):
        return "a non-ASCII character"
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return "a control character"
    return None


@dataclass(frozen=True)
class SearchRequest:
    """What one check asks a provider for."""

    query: str
    engine: str = "google"
    country: str = ""
    language: str = ""
    device: str = Device.DESKTOP.value  # a Device value (keywords.device)
    location: str = ""
    depth: int = 10
    as_of: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: what an answer engine is asked, ``{query}`` standing for the query; "" asks the query
    #: itself. Search APIs ignore it; it is no part of the keyword's identity.
    prompt: str = ""
    #: which of a sampled check's calls this is (1-based; ``samples = N``): an API is simply
    #: asked again, the replay provider reads that sample's own recording
    sample: int = 1

    @property
    def prompt_text(self) -> str:
        """The text an answer engine is sent: the prompt template filled in, or the query."""
        return self.prompt.replace("{query}", self.query) if self.prompt else self.query


@dataclass
class RawPage:
    """One raw response, kept as evidence. ``url`` has every secret removed."""

    body: bytes
    content_type: str = "application/json"
    url: str = ""
    status_code: int | None = None
    name: str = ""  # a file name hint for --record (e.g. "page-2.json")


@dataclass
class Fetched:
    """A provider's answer: the normalised page and the raw pages behind it."""

    snapshot: Snapshot
    pages: list[RawPage] = field(default_factory=list)


class Provider(ABC):
    """A result source: subclasses set the class attributes and implement :meth:`fetch`.

    The few concrete methods only read the class attributes: the keys named by ``key_env``
    and the settings typed by ``settings_types``.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: environment variables that must all be set (their values are secrets)
    key_env: ClassVar[tuple[str, ...]] = ()
    #: placements this source can return (organic, paid, news, ai_overview ...)
    placements: ClassVar[tuple[Placement, ...]] = (Placement.ORGANIC,)
    engines: ClassVar[tuple[str, ...]] = ("google",)
    #: an answer engine (Perplexity, OpenAI): the query is sent as a prompt (the keyword's
    #: ``prompt`` template applies), and a keyword that names no engine gets ``engines[0]``
    answer_engine: ClassVar[bool] = False
    #: whether ``fetch`` asks the network (a page without its own time then gets the fetch time)
    uses_http: ClassVar[bool] = True
    #: settings a campaign file may give under [providers.<name>], with their types
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    required_settings: ClassVar[tuple[str, ...]] = ()
    notes: ClassVar[str] = ""

    def __init__(
        self, settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ):
        """Read the keys named by ``key_env`` from ``environ`` (default: the process's)."""
        self.settings: dict[str, Any] = dict(settings or {})
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.keys: dict[str, str] = {name: read_key(self.environ, name) for name in self.key_env}

    @abstractmethod
    async def fetch(self, request: SearchRequest, client: httpx.AsyncClient) -> Fetched:
        """Fetch and map one result page (paginating up to ``request.depth`` organic results)."""

    def attach(self, fetcher: Fetcher) -> None:  # noqa: B027 - a hook, deliberately empty
        """Use a run's fetcher (retry policy, clock, rate limiters); a source without HTTP
        ignores it."""

    def secrets(self) -> list[str]:
        """Every secret value this provider holds, for redaction."""
        return [value for value in self.keys.values() if value]

    @classmethod
    def missing_keys(cls, environ: Mapping[str, str]) -> list[str]:
        """The environment variables this provider needs that are not set."""
        return [name for name in cls.key_env if not read_key(environ, name)]

    def key_problems(self) -> dict[str, str]:
        """Each variable whose key no API could take, with why (never the value)."""
        found = {name: key_problem(value) for name, value in self.keys.items()}
        return {name: problem for name, problem in found.items() if problem}

    def require_keys(self) -> None:
        """Raise :class:`MissingKeyError` naming every variable to set, if any is missing,
        or :class:`InvalidKeyError` naming every one whose value cannot be a key."""
        missing = self.missing_keys(self.environ)
        if missing:
            names = " and ".join(missing)
            raise MissingKeyError(
                f"provider {self.name!r} needs {names} in the environment; "
                f"set it with: export {missing[0]}=..."
            )
        problems = self.key_problems()
        if problems:
            raise InvalidKeyError(invalid_key_message(self.name, problems))

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Validate the ``[providers.<name>]`` table of a campaign file; return it resolved."""
        resolved: dict[str, Any] = {}
        for key, value in settings.items():
            expected = cls.settings_types.get(key)
            if expected is None:
                known = ", ".join(sorted(cls.settings_types))
                raise SettingError(f"unknown setting {key!r} (known: {known})")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise SettingError(f"{key} has the wrong type ({type(value).__name__})")
            resolved[key] = value
        return resolved


def invalid_key_message(provider: str, problems: Mapping[str, str]) -> str:
    """The one line that says which variables hold unusable keys and why (no value in it)."""
    said = "; ".join(f"{name} has {problem}" for name, problem in problems.items())
    first = next(iter(problems))
    return (
        f"provider {provider!r} cannot use its key: {said}; a key is printable ASCII with no "
        f"spaces, so set it again with: export {first}=..."
    )
