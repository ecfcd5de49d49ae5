"""OpenAI's Responses API with the web search tool (``POST https://api.openai.com/v1/responses``):
the sources an answer cites (developers.openai.com/api/docs/guides/tools-web-search).

The body is ``{"model", "tools": [{"type": "web_search"}], "input": prompt}`` (``web_search``,
not the legacy ``web_search_preview``), the tool given ``user_location`` ``{"type":
"approximate", "country"}`` when the keyword has a country. One call per check, billed per
OpenAI's token pricing plus its web search tool calls.
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..parsers.openai import openai_error, parse_openai
from ..snapshot import Snapshot
from ..vocabulary import FailureKind
from . import register
from .answer import AnswerEngineProvider
from .base import SearchRequest

__all__ = ["OpenAIProvider"]


@register
class OpenAIProvider(AnswerEngineProvider):
    """The sources OpenAI's answers with web search cite."""

    name = "openai"
    label = "OpenAI"
    description = "OpenAI Responses API with web search: the sources each answer cites (ai_answer)"
    key_env = ("OPENAI_API_KEY",)
    engines = ("openai",)
    default_base_url = "https://api.openai.com"
    endpoint = "/v1/responses"
    default_model = "gpt-4.1-mini"
    notes = (
        "one response per check (tokens plus web search calls); the prompt is the query or "
        "the keyword's prompt template; the country is sent as the user's approximate "
        "location, the language and device are not"
    )

    def body(self, request: SearchRequest) -> dict[str, Any]:
        """The Responses request with the ``web_search`` tool, the country as its location."""
        tool: dict[str, Any] = {"type": "web_search"}
        if request.country:
            tool["user_location"] = {"type": "approximate", "country": request.country.upper()}
        return {"model": self.model, "tools": [tool], "input": request.prompt_text}

    def parse_page(self, doc: Any) -> Snapshot:
        """Map the response with :func:`~serptrack.parsers.openai.parse_openai`."""
        return parse_openai(doc)

    def doc_error(self, doc: Any) -> FetchError | None:
        """The response's own ``error`` or unfinished ``status``."""
        return openai_error(doc) if isinstance(doc, dict) else None

    def retryable(self, status: int, doc: Any) -> bool:
        """A 429 that says the quota is used up is not retried (no wait will help)."""
        if status == 429 and _out_of_quota(doc):
            return False
        return super().retryable(status, doc)

    def http_error(self, status: int, doc: Any) -> FetchError:
        """A 429 ``insufficient_quota`` is a quota failure, not a rate limit."""
        if status == 429 and _out_of_quota(doc):
            said = self.error_message(doc) or "insufficient_quota"
            return FetchError(
                f"OpenAI says the account has no quota left (HTTP 429): {said}; check the "
                "plan and billing details",
                kind=FailureKind.QUOTA,
            )
        return super().http_error(status, doc)


def _out_of_quota(doc: Any) -> bool:
    """Whether an error body is OpenAI's ``insufficient_quota`` (a 429 that no wait fixes)."""
    error = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(error, dict) and error.get("code") == "insufficient_quota"
