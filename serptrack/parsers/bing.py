"""Saved Bing result pages → Snapshot.

* organic results are ``li.b_algo`` (title and link ``h2 a``, snippet ``.b_caption p``);
* ads are ``li.b_ad`` blocks, ``top`` with ``b_adTop``, ``bottom`` with ``b_adBottom``,
  ``side`` in the ``#b_context`` column; each ad in a block is one ``li`` of its list (the
  lists inside an ad, its sitelinks, are part of it), its "Ad" label no part of its snippet;
* links through ``/ck/a?…&u=a1<base64>`` and ads through ``/aclick?…&u=<base64>`` (``/aclk``
  on 2019 pages) are decoded to the landing page; the wrapper is kept as ``tracking_url``;
* answers (``li.b_ans``) and pagination are not results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

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
    text_of,
)

__all__ = ["FORMAT", "SOURCE", "matches", "parse", "parse_bing"]

SOURCE = "bing-html"
_BASE = "https://www.bing.com"
_TITLE = re.compile(
    r"^(.*\S)\s+[-–—]\s+(?:Search|Bing|Suche|Recherche|Buscar|Pesquisa|Cerca|Zoeken)\s*$",
    re.IGNORECASE,
)
_REGIONS = ("b_content",)
_SNIPPETS = (".b_caption p", "p.b_lineclamp4", "p.b_lineclamp3", "p.b_lineclamp2", ".b_algoSlug")
_NOT_SNIPPET = ("h2", "cite", ".b_attribution", ".b_adSlug", ".b_adurl", "a.tilk", ".b_tpcn")


def matches(data: bytes) -> bool:
    """Whether ``data`` looks like a saved Bing result page."""
    return is_engine_page(data, "bing")


def parse(data: bytes) -> Snapshot:
    """Parse a saved Bing result page (the registered format's entry point)."""
    return parse_bing(data)


def parse_bing(data: bytes, *, parser: str = "lxml") -> Snapshot:
    """Parse a saved Bing result page with the given BeautifulSoup tree builder."""
    page, _, items = read_results(data, parser, "bing", _items, list, regions=_REGIONS)
    return Snapshot(
        query=query_from_page(page.soup, _TITLE, page.prepared.location),
        results=number_items(items),
        engine="bing",
        language=page_language(page.markup),
        source=SOURCE,
        answered_query=answered_query(page, items),
    )


FORMAT = register_html(HtmlFormat(SOURCE, matches, parse))


def _items(root: Tag) -> list[Item]:
    found: list[tuple[Item, bool]] = []  # (item, whether its block still needs placing)
    done: set[int] = set()
    for li in root.find_all("li"):
        if any(id(parent) in done for parent in ancestors(li)):
            continue
        names = classes(li)
        is_ad_algo = "b_algo" in names and (
            "b_adTop" in names or "b_adBottom" in names or li.has_attr("data-apurl")
        )
        if "b_ad" in names or is_ad_algo:
            done.add(id(li))
            block = _block(li, names)
            for ad in _ads_in(li):
                item = _ad(ad, block or "top")
                if item is not None:
                    found.append((item, block is None))
        elif "b_algo" in names:
            done.add(id(li))
            item = _organic(li)
            if item is not None:
                found.append((item, False))
        if len(found) > MAX_ITEMS:
            raise ParseError(f"more than {MAX_ITEMS} results on one page: not a result page")
    return _place_blocks(found)


def _block(li: Tag, names: Sequence[str]) -> str | None:
    if "b_adTop" in names:
        return "top"
    if "b_adBottom" in names:
        return "bottom"
    if any(attr(parent, "id") == "b_context" for parent in ancestors(li)):
        return "side"
    return None


def _place_blocks(found: list[tuple[Item, bool]]) -> list[Item]:
    """Ads with no block class are top before the first organic result, else bottom."""
    first = next(
        (i for i, (item, _) in enumerate(found) if item.placement == Placement.ORGANIC), None
    )
    out = []
    for index, (item, unplaced) in enumerate(found):
        if unplaced and first is not None and index > first:
            item = replace(item, block="bottom")
        out.append(item)
    return out


def _ads_in(block: Tag) -> list[Tag]:
    """The ads of a ``li.b_ad`` block: each item of its list, or the block itself.

    An ad's own lists (its sitelinks, ``.b_vlist2col``/``.b_deep``) are part of that ad,
    not ads of their own: an item inside an ad already taken is skipped.
    """
    inner: list[Tag] = []
    taken: set[int] = set()
    for li in block.find_all("li"):
        if any(id(parent) in taken for parent in ancestors(li, block)):
            continue
        if li.select_one("h2 a[href], a.b_adurl[href], .sb_add a[href]") is not None:
            inner.append(li)
            taken.add(id(li))
    return inner or [block]


def _title_link(root: Tag) -> Tag | None:
    return root.select_one("h2 a[href]") or root.select_one(
        ".b_title a[href], .b_algoheader a[href]"
    )


def _organic(li: Tag) -> Item | None:
    link = _title_link(li)
    if link is None:
        return None
    resolved = _resolve(link, li)
    if resolved is None:
        return None
    return Item(
        Placement.ORGANIC, resolved.url, text_of(link), _snippet(li), tracking_url=resolved.tracking
    )


def _ad(ad: Tag, block: str) -> Item | None:
    link = _title_link(ad) or ad.select_one("a[href]")
    if link is None:
        return None
    resolved = _resolve(link, ad)
    if resolved is None:
        return None
    return Item(
        Placement.PAID,
        resolved.url,
        text_of(link),
        _snippet(ad),
        block=block,
        tracking_url=resolved.tracking,
    )


def _resolve(link: Tag, root: Tag) -> Link | None:
    """The link's landing URL; the displayed URL when a wrapper cannot be decoded."""
    resolved = resolve_link(attr(link, "href"), _BASE, result=True)
    if resolved is None or not resolved.opaque:
        return resolved
    shown = displayed_url(text_of(root.select_one(".b_adurl cite, .b_attribution cite, cite")))
    return Link(shown, resolved.tracking) if shown else resolved


def _snippet(root: Tag) -> str:
    for selector in _SNIPPETS:
        tag = root.select_one(selector)
        if tag is None:
            continue
        # An ad's description starts with its "Ad" label (span.b_adSlug): not snippet text.
        text = text_of(tag, tag.select(".b_adSlug"))
        if text:
            return text
    skip = root.select(", ".join(_NOT_SNIPPET))
    caption = root.select_one(".b_caption")
    return text_of(caption if caption is not None else root, skip)
