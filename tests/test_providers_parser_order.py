"""Formats are tried in the order declared in serptrack.parsers, whatever the import order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from serptrack import parsers
from serptrack.parsers import (
    HTML_FORMATS,
    HTML_ORDER,
    JSON_FORMATS,
    JSON_ORDER,
    HtmlFormat,
    JsonFormat,
    UndeclaredFormatError,
    register_html,
    register_json,
)
from serptrack.parsers.payload import PAGES_FORMAT
from serptrack.snapshot import FORMAT

PARSER_MODULES = sorted(
    path.stem
    for path in Path(parsers.__file__).parent.glob("*.py")
    if path.stem not in ("__init__", "formats")
)

# Imports the parser modules in the order given on the command line, with the module that
# imports them all stubbed out, and prints the resulting orders; one run per order.
SCRIPT = """\
import importlib, json, sys, types
results = []
for order in json.loads(sys.argv[1]):
    for name in [name for name in sys.modules if name.startswith("serptrack.parsers")]:
        del sys.modules[name]
    sys.modules["serptrack.parsers.formats"] = types.ModuleType("serptrack.parsers.formats")
    for module in order:
        importlib.import_module("serptrack.parsers." + module)
    parsers = sys.modules["serptrack.parsers"]
    results.append({
        "json": [fmt.name for fmt in parsers.JSON_FORMATS],
        "html": [fmt.name for fmt in parsers.HTML_FORMATS],
    })
print(json.dumps(results))
"""


def test_formats_are_tried_in_the_declared_order() -> None:
    assert [fmt.name for fmt in JSON_FORMATS] == list(JSON_ORDER)
    assert [fmt.name for fmt in HTML_FORMATS] == list(HTML_ORDER)
    assert JSON_ORDER[:2] == (FORMAT, PAGES_FORMAT)
    assert HTML_ORDER[0] == "block-page"


def test_another_import_order_gives_the_same_order() -> None:
    orders = [
        PARSER_MODULES[::-1],
        ["valueserp", "google", "serpapi", "payload", "html", *PARSER_MODULES],
        PARSER_MODULES[1::2] + PARSER_MODULES[::2],
    ]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(orders)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    expected = {"json": list(JSON_ORDER), "html": list(HTML_ORDER)}
    assert json.loads(done.stdout) == [expected] * len(orders)


def test_registering_in_reverse_keeps_the_declared_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "JSON_FORMATS", [])
    monkeypatch.setattr(parsers, "HTML_FORMATS", [])
    for json_fmt in reversed(JSON_FORMATS):
        register_json(json_fmt)
    for html_fmt in reversed(HTML_FORMATS):
        register_html(html_fmt)
    register_json(JSON_FORMATS[3])  # registering again replaces, it does not add
    assert parsers.JSON_FORMATS == JSON_FORMATS
    assert parsers.HTML_FORMATS == HTML_FORMATS


def test_a_format_without_a_declared_place_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "JSON_FORMATS", [])
    monkeypatch.setattr(parsers, "HTML_FORMATS", [])
    with pytest.raises(UndeclaredFormatError, match=r"'bingo' has no place in .*JSON_ORDER"):
        register_json(JsonFormat("bingo", lambda doc: True, JSON_FORMATS[0].parse))
    with pytest.raises(UndeclaredFormatError, match=r"'yandex-html' has no place in .*HTML_ORDER"):
        register_html(HtmlFormat("yandex-html", lambda data: True, HTML_FORMATS[1].parse))
    assert parsers.JSON_FORMATS == [] and parsers.HTML_FORMATS == []


def test_saved_page_parsers_load_at_the_first_page_read() -> None:
    script = (
        "import sys\n"
        "from serptrack import parsers\n"
        "before = sorted(m for m in ('bs4', 'lxml', 'serptrack.parsers.google') if m in sys.modules)\n"
        "names = [fmt.name for fmt in parsers.HTML_FORMATS]\n"
        "page = open(sys.argv[1], 'rb').read()\n"
        "snapshot = parsers.parse_content(page)\n"
        "after = sorted(m for m in ('bs4', 'lxml', 'serptrack.parsers.google') if m in sys.modules)\n"
        "real = all(fmt.parse.__module__ != 'serptrack.parsers.formats' for fmt in parsers.HTML_FORMATS)\n"
        "print(before, names, after, real, snapshot.source, len(snapshot.results) > 0)\n"
    )
    page = Path(__file__).parent / "fixtures" / "html" / "google-basic.html"
    done = subprocess.run(
        [sys.executable, "-c", script, str(page)], capture_output=True, text=True, check=True
    )
    assert done.stdout == (
        f"[] {list(HTML_ORDER)} ['bs4', 'lxml', 'serptrack.parsers.google'] True google-html True\n"
    )
