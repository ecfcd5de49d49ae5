"""Perplexity's Sonar API (``POST https://api.perplexity.ai/chat/completions``): the sources a
Sonar answer cites (docs.perplexity.ai/api-reference/chat-completions-post).

The body is ``{"model", "messages": [{"role": "user", "content": prompt}]}``, plus
``web_search_options.user_location.country`` (ISO 3166-1 alpha-2, upper case) when the keyword
has a country. One call per check, billed per Perplexity's token and request pricing.
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..parsers.perplexity import parse_perplexity, perplexity_error
from ..snapshot import Snapshot
from . import register
from .answer import AnswerEngineProvider
from .base import SearchRequest

__all__ = ["PerplexityProvider"]


@register
class PerplexityProvider(AnswerEngineProvider):
    """The sources Perplexity's Sonar answers cite."""

    name = "perplexity"
    label = "Perplexity"
    description = "Perplexity Sonar answers: the sources each answer cites (ai_answer)"
    key_env = ("PERPLEXITY_API_KEY",)
    engines = ("perplexity",)
    default_base_url = "https://api.perplexity.ai"
    endpoint = "/chat/completions"
    default_model = "sonar"
    notes = (
        "one chat completion per check (token and request pricing); the prompt is the query "
        "or the keyword's prompt template; the country is sent as the user's location, the "
        "language and device are not"
    )

    def body(self, request: SearchRequest) -> dict[str, Any]:
        """The Sonar chat completion request, the country as ``user_location``."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": request.prompt_text}],
        }
        if request.country:
            body["web_search_options"] = {"user_location": {"country": request.country.upper()}}
        return body

    def parse_page(self, doc: Any) -> Snapshot:
        """Map the answer with :func:`~serptrack.parsers.perplexity.parse_perplexity`."""
        return parse_perplexity(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """Perplexity's ``{"error": {...}}`` body."""
        return perplexity_error(doc) if isinstance(doc, dict) else None
