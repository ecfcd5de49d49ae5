"""Typed reads of a parsed HTML page: each asserts that what the test expects is there.

bs4 types its look-ups as optional (``soup.h1`` is ``Tag | None``) and an attribute as a
string or a list of values; these helpers narrow them and fail with what was missing.
"""

from __future__ import annotations

from bs4 import Tag


def tag(element: object) -> Tag:
    """``element``, the result of a bs4 look-up, which must have found an element."""
    assert isinstance(element, Tag), f"expected an element, found {element!r}"
    return element


def string(element: object) -> str:
    """The one string inside ``element`` (bs4's ``.string``), which it must have."""
    value = tag(element).string
    assert value is not None, f"{element!r} holds no single string"
    return value


def attr(element: object, name: str) -> str:
    """The value of the single-valued attribute ``name`` of ``element``."""
    value = tag(element).get(name)
    assert isinstance(value, str), f"{element!r} has no single-valued attribute {name!r}"
    return value
