"""OpenAI's Responses API with the web search tool (``POST /v1/responses``): cited sources.

The answer is the ``output`` item of ``type: "message"``; each of its ``output_text`` parts
carries ``annotations``, and those of ``type: "url_citation"`` (``url``, ``title``,
``start_index``, ``end_index``) are the sources it cites
(developers.openai.com/api/docs/guides/tools-web-search). Each becomes an ``ai_answer`` item,
``rank`` the order of its first citation in the answer text, each URL once (compared
normalised: OpenAI tags cited URLs ``?utm_source=openai``). The answer text stays in the raw
payload, as evidence.

What counts as an answer:

- a message with text and no citation, or a ``refusal``, is an answer that cites nothing:
  zero results, ok;
- an ``error`` object, a ``status`` of ``failed``, ``incomplete`` or ``cancelled``, or an
  ``output`` with no message text fails the check (``provider-error`` for what OpenAI reports,
  ``bad-response`` for the rest); ``queued`` / ``in_progress`` (background mode, which serptrack
  does not ask for) is ``provider-unavailable``, retried.
"""

from __future__ import annotations

from typing import Any

from ..errors import FetchError
from ..snapshot import Snapshot
from ..vocabulary import FailureKind
from . import BadResponseError, JsonFormat, register_json
from .payload import (
    citation_items,
    entries,
    json_type,
    mapping,
    number,
    require_readable,
    results_list,
    text,
    unix_datetime,
)

__all__ = ["is_openai_response", "openai_error", "parse_openai"]

_API = "OpenAI"
#: where an annotation without ``start_index`` sorts: after every located one
_UNPLACED = 1 << 62


def is_openai_response(doc: Any) -> bool:
    """Whether ``doc`` is a Responses API response object."""
    return isinstance(doc, dict) and doc.get("object") == "response"


def openai_error(doc: dict[str, Any]) -> FetchError | None:
    """The failure a response reports (its ``error`` object or ``status``), or None."""
    error = doc.get("error")
    if error is not None:
        details = mapping(error)
        message = text(details.get("message")) or text(error) or text(details.get("code"))
        return FetchError(
            f"OpenAI returned an error: {message or 'no message'}", kind=FailureKind.PROVIDER_ERROR
        )
    status = doc.get("status")
    if status in ("queued", "in_progress"):
        return FetchError(
            f"OpenAI has not finished the answer yet (status {status}); try again in a minute",
            kind=FailureKind.PROVIDER_UNAVAILABLE,
        )
    if status == "incomplete":
        reason = text(mapping(doc.get("incomplete_details")).get("reason")) or "no reason given"
        return FetchError(
            f"OpenAI left the answer incomplete ({reason}); its sources are unknown, not absent",
            kind=FailureKind.PROVIDER_ERROR,
        )
    if status in ("failed", "cancelled"):
        return FetchError(f"OpenAI says the answer {status}", kind=FailureKind.PROVIDER_ERROR)
    return None


def parse_openai(doc: Any) -> Snapshot:
    """Map one Responses API response to a snapshot of ``ai_answer`` sources (raises
    FetchError for an error, :class:`~serptrack.parsers.BadResponseError` for no answer)."""
    if not isinstance(doc, dict):
        raise BadResponseError(f"OpenAI sent {json_type(doc)} instead of a response object")
    error = openai_error(doc)
    if error is not None:
        raise error
    output = results_list(doc, "output", _API)
    messages = [item for item in entries(output) if item.get("type") == "message"]
    parts = [part for message in messages for part in entries(message.get("content"))]
    if not any(_says_something(part) for part in parts):
        count = len(output or [])
        raise BadResponseError(
            f"OpenAI sent no answer text ('output' has {count} "
            f"{'item' if count == 1 else 'items'}, no message with text): not an answer"
        )
    annotations = [
        annotation
        for part in parts
        if part.get("type") == "output_text"
        for annotation in sorted(
            entries(part.get("annotations")),
            key=lambda annotation: number(annotation.get("start_index"), _UNPLACED),
        )
        if annotation.get("type") == "url_citation"
    ]
    items = citation_items((a.get("url"), a.get("title"), None) for a in annotations)
    require_readable(annotations, items, _API, "url_citation", entry="a source (an http(s) URL)")
    return Snapshot(
        query="",
        results=items,
        engine="openai",
        source="openai",
        observed_at=unix_datetime(doc.get("created_at")),
    )


def _says_something(part: dict[str, Any]) -> bool:
    """Whether a message part is answer text or a refusal with words in it."""
    if part.get("type") == "output_text":
        return bool(text(part.get("text")))
    return part.get("type") == "refusal" and bool(text(part.get("refusal")))


register_json(JsonFormat("openai", is_openai_response, parse_openai))
