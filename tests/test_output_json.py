"""JSON documents: orjson writes what ``json.dumps(indent=2, ensure_ascii=False)`` would."""

from __future__ import annotations

import datetime as dt
import io
import json
from enum import StrEnum
from typing import Any

import pytest

from serptrack.output import json_default, json_text, write_json


class Colour(StrEnum):
    RED = "red"


DOCUMENT: dict[Any, Any] = {
    "text": 'Ünïcode — “quotes” \u2028 \x7f \x00 \x1f \b\f\n\r\t \\ " / </script>',
    "emoji": "🙂",
    "numbers": [0, -1, 2**53, 0.1, 1.5, -0.25, 123456.789, 1e-4, 0.0],
    "empty": {"list": [], "dict": {}, "string": ""},
    "nested": [[1, [2, []]], {"a": {"b": None}}],
    "flags": [True, False, None],
    "at": dt.datetime(2026, 12, 4, 7, 30, tzinfo=dt.UTC),
    "naive_day": dt.date(2026, 12, 4),
    "tuple": (1, "two"),
    "set": {3},
    1: "an integer key",
    "enum": Colour.RED,
}


def standard(document: Any) -> str:
    return json.dumps(document, default=json_default, ensure_ascii=False, indent=2)


def test_json_text_is_the_standard_librarys_text() -> None:
    assert json_text(DOCUMENT) == standard(DOCUMENT)
    assert json.loads(json_text(DOCUMENT))["at"] == "2026-12-04T07:30:00Z"


def test_write_json_ends_with_a_newline() -> None:
    stream = io.StringIO()
    write_json({"a": [1]}, stream)
    assert stream.getvalue() == '{\n  "a": [\n    1\n  ]\n}\n'


def test_what_cannot_be_encoded_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        json_text({"x": object()})
    with pytest.raises(TypeError):
        standard({"x": object()})
