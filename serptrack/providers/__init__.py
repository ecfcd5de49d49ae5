"""The registry of result sources. Each provider lives in its own module and registers here.

:class:`Provider` (``base``) is the interface every source implements; HTTP APIs derive from
:class:`HttpProvider` (``http``), the request, retry and paging machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UnknownProviderError
from .base import Fetched, Provider, RawPage, SearchRequest, SettingError
from .http import HttpProvider

__all__ = [
    "PROVIDERS",
    "Fetched",
    "HttpProvider",
    "Provider",
    "RawPage",
    "SearchRequest",
    "SettingError",
    "build_provider",
    "provider_class",
    "register",
]

PROVIDERS: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make a provider known by its ``name``."""
    PROVIDERS[cls.name] = cls
    return cls


def provider_class(name: str) -> type[Provider]:
    """The provider class called ``name``, or an error that lists the known ones."""
    try:
        return PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownProviderError(f"unknown provider {name!r}; known providers: {known}") from None


def build_provider(
    name: str, settings: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Provider:
    """An instance of provider ``name`` configured with a campaign's settings for it."""
    return provider_class(name)(settings, environ)


# Importing a provider module registers it; keep one line per module.
from . import brave as _brave  # noqa: E402, F401
from . import dataforseo as _dataforseo  # noqa: E402, F401
from . import google_cse as _google_cse  # noqa: E402, F401
from . import openai as _openai  # noqa: E402, F401
from . import perplexity as _perplexity  # noqa: E402, F401
from . import replay as _replay  # noqa: E402, F401
from . import searxng as _searxng  # noqa: E402, F401
from . import serpapi as _serpapi  # noqa: E402, F401
from . import serper as _serper  # noqa: E402, F401
from . import valueserp as _valueserp  # noqa: E402, F401
