"""Registers every format (the order they are tried in is declared in ``JSON_ORDER`` and
``HTML_ORDER``, not here).

The JSON parser modules are imported: each registers its format. The saved-page ones are
not, until a page is read: they need Beautiful Soup and lxml (about a quarter of a second of
start-up), which a run against an API never uses. Each is registered as a stand-in that
imports its module at the first call; the module then registers the real format in its
place, and the stand-in hands every call on to it.

Add one line per new parser module (API payloads, saved result pages).
"""

from __future__ import annotations

import importlib

from ..snapshot import Snapshot
from . import HTML_FORMATS, HtmlFormat, register_html
from . import brave as _brave  # noqa: F401
from . import dataforseo as _dataforseo  # noqa: F401
from . import google_cse as _google_cse  # noqa: F401
from . import openai as _openai  # noqa: F401
from . import payload as _payload  # noqa: F401
from . import perplexity as _perplexity  # noqa: F401
from . import searxng as _searxng  # noqa: F401
from . import serpapi as _serpapi  # noqa: F401
from . import serper as _serper  # noqa: F401
from . import valueserp as _valueserp  # noqa: F401

#: saved-page format -> the module that defines it
HTML_MODULES = {
    "block-page": "html",
    "bing-html": "bing",
    "duckduckgo-html": "duckduckgo",
    "google-html": "google",
}


def _stand_in(name: str, module: str) -> HtmlFormat:
    """A format ``name`` whose calls import ``module`` and go to the format it registers."""

    def real() -> HtmlFormat:
        importlib.import_module(f"{__package__}.{module}")
        found = next(fmt for fmt in HTML_FORMATS if fmt.name == name)
        assert found is not stand_in, f"serptrack.parsers.{module} did not register {name}"
        return found

    def matches(data: bytes) -> bool:
        return real().matches(data)

    def parse(data: bytes) -> Snapshot:
        return real().parse(data)

    stand_in = HtmlFormat(name, matches, parse)
    return stand_in


for _name, _module in HTML_MODULES.items():
    if not any(fmt.name == _name for fmt in HTML_FORMATS):  # already imported: keep the real
        register_html(_stand_in(_name, _module))
