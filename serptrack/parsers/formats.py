"""Imports every parser module so that each registers its format (the order they are tried in
is declared in ``JSON_ORDER`` and ``HTML_ORDER``, not by these imports).

Add one import line per new parser module (API payloads, saved result pages).
"""

from . import bing as _bing  # noqa: F401
from . import brave as _brave  # noqa: F401
from . import dataforseo as _dataforseo  # noqa: F401
from . import duckduckgo as _duckduckgo  # noqa: F401
from . import google as _google  # noqa: F401
from . import google_cse as _google_cse  # noqa: F401
from . import payload as _payload  # noqa: F401
from . import searxng as _searxng  # noqa: F401
from . import serpapi as _serpapi  # noqa: F401
from . import serper as _serper  # noqa: F401
from . import valueserp as _valueserp  # noqa: F401
