"""Saved DuckDuckGo result pages (the HTML endpoint, and its lite variant) → Snapshot.

* results are ``div.result`` blocks (title and link ``a.result__a``, snippet
  ``.result__snippet``); ads carry ``result--ad``: ``top`` above the first result (the
  JavaScript page's ``#ads``), ``bottom`` below it, ``side`` in the right rail;
* links through ``/l/?uddg=`` are decoded; an ad's ``/y.js?…&u3=`` link is followed to the
  Bing ad click behind it (through Yahoo's click link when there is one) and decoded to the
  landing page, else the displayed URL or the ``ad_domain`` is used; the raw link is kept
  as ``tracking_url``;
* the lite page (``lite.duckduckgo.com``) lists ``a.result-link`` rows, ads in
  ``tr.result-sponsored``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qs

from bs4 import Tag

from ..errors import ParseError
from ..snapshot import Item, Snapshot, number_items
from ..vocabulary import Placement
from . import HtmlFormat, register_html
from .html import (
    MAX_ITEMS,
    Link,
    ancestors,
    answered_query,
    attr,
    classes,
    displayed_url,
    is_engine_page,
    page_language,
    query_from_page,
    read_results,
    resolve_link,
    split_url,
    text_of,
)

__all__ = ["FORMAT", "SOURCE", "matches", "parse", "parse_duckduckgo"]

SOURCE = "duckduckgo-html"
_BASE = "https://duckduckgo.com"
_TITLE = re.compile(r"^(.*\S)\s+at\s+DuckDuckGo\s*$", re.IGNORECASE)
#: The results area, outermost first: the main column (top ads ``#ads``, results and bottom
#: ads ``#links``) with the right rail (its ads) is ``#links_wrapper``; the HTML endpoint has
#: only ``#links``.
_REGIONS = ("links_wrapper", "links")


def matches(data: bytes) -> bool:
    """Whether ``data`` looks like a saved DuckDuckGo result page."""
    return is_engine_page(data, "duckduckgo")


def parse(data: bytes) -> Snapshot:
    """Parse a saved DuckDuckGo result page (the registered format's entry point)."""
    return parse_duckduckgo(data)


def parse_duckduckgo(data: bytes, *, parser: str = "lxml") -> Snapshot:
    """Parse a saved DuckDuckGo result page with the given BeautifulSoup tree builder."""
    page, _, items = read_results(data, parser, "duckduckgo", _items, list, regions=_REGIONS)
    country, language = _region(page.soup)
    return Snapshot(
        query=query_from_page(page.soup, _TITLE, page.prepared.location),
        results=number_items(items),
        engine="duckduckgo",
        country=country,
        language=language or page_language(page.markup),
        source=SOURCE,
        answered_query=answered_query(page, items),
    )


FORMAT = register_html(HtmlFormat(SOURCE, matches, parse))


def _items(root: Tag) -> list[Item]:
    items: list[Item] = []
    seen: set[int] = set()
    for block in root.find_all("div"):
        names = classes(block)
        if "result" not in names or any(id(parent) in seen for parent in ancestors(block)):
            continue
        seen.add(id(block))
        item = _result(block, "result--ad" in names)
        if item is not None and item.placement == Placement.PAID and _in_rail(block):
            item = replace(item, block="side")
        if item is not None:
            items.append(item)
    if not items:
        items = _lite_items(root)
    if len(items) > MAX_ITEMS:
        raise ParseError(f"more than {MAX_ITEMS} results on one page: not a result page")
    return _place_ads(items)


def _result(block: Tag, is_ad: bool) -> Item | None:
    link = block.select_one("a.result__a[href], a.result--ad__a[href]")
    if link is None:  # the "No results." placeholder is a result block with no link
        return None
    shown = text_of(block.select_one(".result__url"))
    resolved = _resolve(link, shown)
    if resolved is None:
        return None
    snippet = text_of(block.select_one(".result__snippet"))
    placement = Placement.PAID if is_ad else Placement.ORGANIC
    return Item(placement, resolved.url, text_of(link), snippet, tracking_url=resolved.tracking)


def _lite_items(root: Tag) -> list[Item]:
    items = []
    for link in root.select("a.result-link[href]"):
        row = link.find_parent("tr")
        is_ad = row is not None and "result-sponsored" in classes(row)
        snippet_tag: Tag | None = None
        shown = ""
        for sibling in row.find_next_siblings("tr") if row is not None else []:
            if sibling.select_one("a.result-link") is not None:
                break
            snippet_tag = snippet_tag or sibling.select_one(".result-snippet")
            shown = shown or text_of(sibling.select_one(".link-text"))
        resolved = _resolve(link, shown)
        if resolved is None:
            continue
        placement = Placement.PAID if is_ad else Placement.ORGANIC
        items.append(
            Item(
                placement,
                resolved.url,
                text_of(link),
                text_of(snippet_tag),
                tracking_url=resolved.tracking,
            )
        )
    return items


def _resolve(link: Tag, shown: str) -> Link | None:
    """The landing URL: decoded wrapper, else the displayed URL, else the ad's domain."""
    resolved = resolve_link(attr(link, "href"), _BASE, result=True)
    if resolved is None or not resolved.opaque:
        return resolved
    landing = displayed_url(shown)
    if landing is None:
        parts = split_url(resolved.url)
        domain = parse_qs(parts.query).get("ad_domain", [""])[0] if parts else ""
        landing = f"https://{domain}" if re.fullmatch(r"[\w.-]+\.[a-z]{2,}", domain) else None
    return Link(landing, resolved.tracking) if landing else resolved


def _in_rail(block: Tag) -> bool:
    """Whether a result sits in the right rail (``.results--sidebar``), beside the results."""
    return any("results--sidebar" in classes(parent) for parent in ancestors(block))


def _place_ads(items: list[Item]) -> list[Item]:
    """Ads are ``top`` above the first organic result, ``bottom`` below it, ``side`` in the
    right rail."""
    first = next(
        (i for i, item in enumerate(items) if item.placement == Placement.ORGANIC), len(items)
    )
    return [
        replace(item, block="top" if index < first else "bottom")
        if item.placement == Placement.PAID and item.block != "side"
        else item
        for index, item in enumerate(items)
    ]


def _region(root: Tag) -> tuple[str | None, str | None]:
    """Country and language from the ``kl`` region setting (``us-en``), if the page has one."""
    field = root.select_one('input[name="kl"]')
    value = attr(field, "value").strip().lower()
    found = re.fullmatch(r"([a-z]{2})-([a-z]{2})", value)
    if not found or found.group(1) in ("wt", "xa", "xl"):
        return None, None
    return found.group(1), found.group(2)
