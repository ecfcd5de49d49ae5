"""Perplexity's Sonar chat completion (``POST /chat/completions``): the sources an answer cites.

The answer is ``choices[0].message.content``; its sources are ``citations`` (URLs, in the order
the answer's ``[1]``, ``[2]`` markers number them) and ``search_results`` (``title``, ``url``,
``date``, ``snippet`` of the same sources). Each source becomes an ``ai_answer`` item, ``rank``
its citation order, each URL once; its title and snippet come from ``search_results``. The
answer text is no item's title or snippet: it stays in the raw payload, as evidence.

What counts as an answer (docs.perplexity.ai/api-reference/chat-completions-post):

- an answer with text and no source (a refusal, a question it answers from the model alone) is
  a page on which nothing is cited: zero results, ok;
- an ``error`` object, no ``choices``, or a choice without text is no answer at all: the check
  fails (``provider-error`` for the error object, ``bad-response`` for the others), never
  "nothing cited".
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..snapshot import Snapshot
from ..vocabulary import FailureKind
from . import BadResponseError, JsonFormat, register_json
from .payload import (
    citation_items,
    clean_url,
    entries,
    json_type,
    mapping,
    require_readable,
    results_list,
    text,
    unix_datetime,
)

__all__ = ["answer_text", "is_perplexity", "parse_perplexity", "perplexity_error"]

_API = "Perplexity"


def is_perplexity(doc: Any) -> bool:
    """Whether ``doc`` is a Sonar chat completion (its choices next to its sources)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
        return False
    model = doc.get("model")
    sonar = isinstance(model, str) and model.startswith("sonar")
    return sonar or "citations" in doc or "search_results" in doc


def perplexity_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure an ``{"error": {...}}`` body reports, or None."""
    error = doc.get("error")
    if error is None:
        return None
    details = mapping(error)
    message = text(details.get("message")) or text(error) or text(details.get("type"))
    return FetchError(
        f"Perplexity returned an error: {message or 'no message'}",
        kind=FailureKind.PROVIDER_ERROR,
    )


def answer_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    parts = [part.get("text") for part in entries(content) if part.get("type") == "text"]
    return "".join(part for part in parts if isinstance(part, str))


def parse_perplexity(doc: Any) -> Snapshot:
    """Map one Sonar chat completion to a snapshot of ``ai_answer`` sources (raises FetchError
    for an error body, :class:`~serptrack.parsers.BadResponseError` when there is no answer)."""
    if not isinstance(doc, dict):
        raise BadResponseError(f"Perplexity sent {json_type(doc)} instead of a chat completion")
    error = perplexity_error(doc)
    if error is not None:
        raise error
    choices = results_list(doc, "choices", _API)
    if not choices:
        raise BadResponseError(
            "Perplexity sent no answer (an empty or missing 'choices' list): nothing it cites "
            "can be read"
        )
    choice = mapping(choices[0])
    if not answer_text(mapping(choice.get("message")).get("content")).strip():
        reason = text(choice.get("finish_reason")) or "none given"
        raise BadResponseError(
            f"Perplexity sent an answer with no text (finish_reason: {reason}): not an answer"
        )
    citations = results_list(doc, "citations", _API)
    results = results_list(doc, "search_results", _API)
    described = {clean_url(entry.get("url")): entry for entry in entries(results)}
    # citations is the answer's own numbering; search_results (newer) describes each source
    sources = [
        {**described.get(clean_url(url), {}), "url": url} for url in citations or ()
    ] or entries(results)
    cited = [(source.get("url"), source.get("title"), source.get("snippet")) for source in sources]
    items = citation_items(cited)
    key = "citations" if citations else "search_results"
    require_readable(citations or results, items, _API, key, entry="a source (an http(s) URL)")
    return Snapshot(
        query="",
        results=items,
        engine="perplexity",
        source="perplexity",
        observed_at=unix_datetime(doc.get("created")),
    )


register_json(JsonFormat("perplexity", is_perplexity, parse_perplexity))
