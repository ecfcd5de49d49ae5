"""Saved Google result pages (desktop and mobile, current and older layouts) → Snapshot.

Class names rotate, so the parser anchors on structure and attributes, with fallbacks:

* an organic title is an ``<h3>`` inside a link (current ``MjjYud``/``jscontroller`` blocks,
  older ``div.g``, the basic no-JavaScript page) or an older ``h3.r > a``; when a page has
  none, a ``[role=heading]``/``[role=link]`` inside a link (the mobile layout);
* an ad is a ``[data-text-ad]`` block (older: ``li.ads-ad``; a Local Services ad: a
  ``gls-profile-entrypoint``; last resort: an ``/aclk`` link); it is ``top`` or ``bottom``
  by the region holding it (``#tads``/``#tvcap`` or ``#tadsb``/``#bottomads``; ``side`` in
  ``#rhs``), else by where it sits relative to the main column. Its ``url`` is the
  advertiser's landing page (``data-pcu``, a direct link, the ``adurl`` of the tracking
  link, or the displayed URL; a Local Services ad's is the provider's profile on Google's
  host, made absolute); the ``/aclk`` link is kept as ``tracking_url`` (in the 2019 layout
  it is the ``href`` of the hidden link whose id is the title link's without its ``v``,
  which ``google.arwt`` swaps in on a click);
* a product ad (2019: a ``pla-unit`` card) is a ``shopping`` item, ``side`` in ``#rhs``;
* top stories, featured snippets and AI overviews are recognised by attributes
  (``data-news-cluster-id``, ``block-component``, ``data-subtree="aio"``) or by their
  heading's text; a local pack is read place by place (one result for each place name,
  from its website link, a sponsored place's click link included); a "People also ask"
  question (``[data-q]``) is read with its answer's source; of the right-hand panel only
  the knowledge panel's facts' links are read (``knowledge_panel``); a card link with
  ``data-arwt`` (an activity ad) is an ad.

Reading order is document order: top ads, then the main column, then bottom ads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement

from ..errors import ParseError
from ..snapshot import Item, Snapshot, number_items
from ..vocabulary import Device, Placement
from . import HtmlFormat, register_html
from .html import (
    MAX_ITEMS,
    Link,
    ancestors,
    answered_query,
    attr,
    classes,
    clean,
    declares_device_width,
    displayed_url,
    is_engine_page,
    page_language,
    query_from_page,
    read_results,
    resolve_link,
    text_of,
)

__all__ = ["FORMAT", "SOURCE", "matches", "parse", "parse_google"]

SOURCE = "google-html"
_BASE = "https://www.google.com"
_TITLE = re.compile(r"^(.*\S)\s+[-–—]\s+[^-–—]*\bGoogle\b[^-–—]*$")

_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "g-heading"})
_LABEL_TAGS = _HEADING_TAGS | {"div", "span"}
_SKIP, _NEWS, _FEATURED, _AIO = "skip", "news", "featured", "aio"
_SOCIAL, _VIDEO, _LOCAL, _PAA = "perspectives", "video", "local", "paa"
_AD, _ADS_TOP, _ADS_BOTTOM, _ADS_SIDE = "ad", "top", "bottom", "side"
_REGION_IDS = {
    "tads": _ADS_TOP,
    "tvcap": _ADS_TOP,
    "tadsb": _ADS_BOTTOM,
    "bottomads": _ADS_BOTTOM,
    "rhs": _SKIP,
}
#: The targeted tree: the results area of a desktop page (the main column and side panel).
_REGIONS = ("rcnt", "center_col")
_MAIN_IDS = ("center_col", "rcnt", "search", "rso", "main")
_SKELETON_IDS = frozenset({"rso", "search", "center_col", "rcnt", "main", "res", "cnt"})
_LABELS = {
    _NEWS: {
        "top stories",
        "news",
        "schlagzeilen",
        "top-meldungen",
        "à la une",
        "noticias destacadas",
        "principales noticias",
        "notícias principais",
        "notizie principali",
        "topnieuws",
    },
    _SOCIAL: {
        "what people are saying",
        "perspectives",
        "perspectives & opinions",
        "discussions and forums",
        "questions & answers",
    },
    _VIDEO: {"videos", "short videos", "vidéos", "vídeos", "video", "trailers & clips"},
    _LOCAL: {"places", "businesses", "locations", "local results"},
    _FEATURED: {"featured snippet from the web", "snippet from the web"},
    _AIO: {
        "ai overview",
        "übersicht mit ki",
        "aperçu ia",
        "aperçu généré par l'ia",
        "vista creada con ia",
        "resumen creado con ia",
        "visão geral criada por ia",
        "panoramica ai",
        "overzicht met ai",
    },
}
#: Headings that start a block's name: "Latest from nytimes.com" is news, "Latest posts from
#: Donald Trump" (a person's own posts) is a perspectives block.
_LABEL_PREFIXES = (
    ("latest posts from ", _SOCIAL),
    ("recent posts", _SOCIAL),
    ("latest from ", _NEWS),
    ("latest in local", _NEWS),
    ("local news", _NEWS),
)
#: What each kind of block is stored as.
_FEATURE_PLACEMENTS = {
    _NEWS: Placement.NEWS,
    _SOCIAL: Placement.PERSPECTIVES,
    _VIDEO: Placement.VIDEO,
    _LOCAL: Placement.LOCAL,
}
_AD_LABELS = {
    "sponsored",
    "ad",
    "ads",
    "sponsored result",
    "gesponsert",
    "anzeige",
    "annonce",
    "sponsorisé",
    "patrocinado",
    "anuncio",
    "sponsorizzato",
    "annuncio",
}
_CONTAINER_CLASSES = frozenset({"MjjYud", "g", "tF2Cxc", "mnr-c", "xpd", "ZINbbc", "Gx5Zad"})
_SNIPPETS = (
    ".VwiC3b",
    '[data-sncf="1"]',
    "[data-sncf]",
    ".IsZvec",
    ".aCOpRe",
    ".st",
    ".lEBKkf",
    ".MUxGbd.yDYNvb",
    ".BNeawe.s3v9rd",
    '[style*="-webkit-line-clamp"]',
)
_AD_SNIPPETS = (".ads-creative", ".MUxGbd.yDYNvb", ".VwiC3b", ".p4wth")
_FEATURED_SNIPPETS = (
    '[data-attrid="wa:/description"]',
    ".hgKElc",
    '[data-tts="answers"]',
    ".LGOjhe",
    ".di3YZe",
)
_ANSWER_PARAMS = frozenset({"top_ans", "comment_id", "reply_comment_id"})
#: Google's own help, policy and account pages: a panel's furniture, never a source it cites.
_GOOGLE_SERVICE = re.compile(r"^(?:support|policies|posts|accounts|myactivity)\.google\.")
_OFFSET = re.compile(r"([?&])t=\d+s?(?:&|$)")
_TRACKING = re.compile(r"^(?:https?://[^/]*google[^/]*)?/(?:aclk|pagead/aclk)\b")


def matches(data: bytes) -> bool:
    """Whether ``data`` looks like a saved Google result page."""
    return is_engine_page(data, "google")


def parse(data: bytes) -> Snapshot:
    """Parse a saved Google result page (the registered format's entry point)."""
    return parse_google(data)


def parse_google(data: bytes, *, parser: str = "lxml", targeted: bool = True) -> Snapshot:
    """Parse a saved Google result page with the given BeautifulSoup tree builder.

    ``targeted`` builds only the results area when the page has one (the whole tree is
    the fallback when that finds nothing); False always builds the whole tree.
    """
    page, scan, items = read_results(
        data,
        parser,
        "google",
        _Scan,
        _Scan.items,
        regions=_REGIONS if targeted else (),
        also=_REGION_IDS,
    )
    return Snapshot(
        query=query_from_page(page.soup, _TITLE, page.prepared.location),
        results=number_items(items),
        engine="google",
        country=_country(page.soup),
        language=page_language(page.markup),
        device=Device.MOBILE if declares_device_width(page.markup) else scan.device(),
        source=SOURCE,
        answered_query=answered_query(page, items),
    )


FORMAT = register_html(HtmlFormat(SOURCE, matches, parse))


@dataclass
class _Scan:
    """One pass over the tree, indexing what the parser needs, then the items in order."""

    soup: BeautifulSoup
    order: dict[int, int] = field(default_factory=dict)
    by_id: dict[str, Tag] = field(default_factory=dict)
    region: dict[int, str] = field(default_factory=dict)
    roots: dict[str, list[Tag]] = field(default_factory=dict)
    ad_roots: list[Tag] = field(default_factory=list)
    tracking_links: list[Tag] = field(default_factory=list)
    h3s: list[Tag] = field(default_factory=list)
    role_titles: list[Tag] = field(default_factory=list)
    labels: list[tuple[Tag, str]] = field(default_factory=list)
    clusters: list[Tag] = field(default_factory=list)
    products: list[Tag] = field(default_factory=list)
    mobile: bool = False

    def __post_init__(self) -> None:
        for index, tag in enumerate(self.soup.find_all(True)):
            self._index(index, tag)
        self.main = next((self.by_id[i] for i in _MAIN_IDS if i in self.by_id), None)
        for label, text in self.labels:
            self._label_region(label, text)
        for card in self.clusters:
            self._mark(card, self._cluster_kind(card))

    def _index(self, index: int, tag: Tag) -> None:
        self.order[id(tag)] = index
        attrs = tag.attrs
        name = tag.name
        tag_id = attrs.get("id")
        if isinstance(tag_id, str):
            self.by_id.setdefault(tag_id, tag)
            if tag_id in _REGION_IDS:
                self._mark(tag, _REGION_IDS[tag_id])
        if (
            "data-text-ad" in attrs
            or (name == "li" and "ads-ad" in classes(tag))
            or (name == "a" and "data-arwt" in attrs)  # a card ad (travel activities)
            or name == "gls-profile-entrypoint"  # a Local Services ad (a provider's profile)
        ):
            self.ad_roots.append(tag)
        if name == "h3":
            self.h3s.append(tag)
        elif "pla-unit" in classes(tag):
            self.products.append(tag)
        role = attrs.get("role")
        if role in ("heading", "link"):
            self.role_titles.append(tag)
        if "data-q" in attrs:
            self._mark(tag, _PAA)
        elif "data-initq" in attrs or name == "related-question-pair":
            self._mark(tag, _SKIP)
        elif "data-news-cluster-id" in attrs:
            self.clusters.append(tag)
        elif name == "block-component" or attr(tag, "data-attrid").startswith("lab/"):
            # "lab/…" blocks ("Things to know") quote a source per sub-question.
            self._mark(tag, _FEATURED)
        elif (
            attrs.get("data-subtree") == "aio" or "ai overview" in attr(tag, "data-attrid").lower()
        ):
            self._mark(tag, _AIO)
        if name == "a" and (
            "data-rw" in attrs or "data-pcu" in attrs or _TRACKING.match(attr(tag, "href"))
        ):
            self.tracking_links.append(tag)
        if name in _LABEL_TAGS or role == "heading":
            label = _short_text(tag)
            if label is not None:
                self.labels.append((tag, label))

    def _mark(self, tag: Tag, kind: str) -> None:
        if id(tag) not in self.region:
            self.region[id(tag)] = kind
            self.roots.setdefault(kind, []).append(tag)

    def _label_region(self, label: Tag, text: str) -> None:
        """Mark the block a region's heading ("Top stories", "AI Overview") belongs to.

        The block is the nearest ancestor holding a result link, at most a direct child of
        the results list. "News" and featured-snippet labels must be headings, and no label
        may sit in a link: the "News" tab is not a news box.
        """
        kind = _label_kind(text)
        if kind is None or (kind != _AIO and not _is_heading(label)):
            return
        if _link_around(label) is not None:
            return
        for depth, parent in enumerate(ancestors(label, self.main)):
            if depth >= 6 or attr(parent, "id") in _SKELETON_IDS:
                return
            if kind == _FEATURED:
                found = any(_title_link(h3) for h3 in parent.find_all("h3"))
            else:
                found = any(_external(a) for a in parent.find_all("a", href=True))
            if found:
                self._mark(parent, kind)
                return

    def _cluster_kind(self, card: Tag) -> str:
        """A story card (``data-news-cluster-id``) is news unless its block is another kind.

        Google uses the same card for social posts ("What people are saying") and a
        person's own posts as for top stories; the block's heading tells them apart.
        """
        for parent in ancestors(card, self.main):
            kind = self.region.get(id(parent))
            if kind in (_NEWS, _SOCIAL, _VIDEO):
                return kind
        return _NEWS

    # --- classification ---------------------------------------------------------------------

    def kind_of(self, tag: Tag) -> str | None:
        """The kind of the nearest special region holding ``tag`` (None: the main column)."""
        for parent in ancestors(tag):
            kind = self.region.get(id(parent))
            if kind is not None:
                return kind
        return None

    def pos(self, tag: Tag) -> int:
        """Document order of ``tag``."""
        return self.order.get(id(tag), -1)

    # --- items ------------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """Every result on the page, in reading order."""
        for root in self._ad_roots():
            self._mark(root, _AD)
        found: list[tuple[int, Item]] = []
        found += self._organic()
        for kind in _FEATURE_PLACEMENTS:
            found += self._feature(kind)
        found += self._featured()
        found += self._people_also_ask()
        found += self._ai_overview()
        found += self._knowledge_panel()
        found += self._products()
        main_positions = [position for position, _ in found]
        found += self._ads(main_positions)
        if len(found) > MAX_ITEMS:
            raise ParseError(f"more than {MAX_ITEMS} results on one page: not a result page")
        found.sort(key=lambda pair: pair[0])
        return [item for _, item in found]

    def device(self) -> Device | None:
        """``mobile`` or ``desktop`` when the layout tells, else None."""
        if self.mobile:
            return Device.MOBILE
        return Device.DESKTOP if "center_col" in self.by_id or "rcnt" in self.by_id else None

    def _ad_roots(self) -> list[Tag]:
        marked = {id(root) for root in self.ad_roots}
        roots = [r for r in self.ad_roots if not any(id(p) in marked for p in ancestors(r))]
        if roots:
            return roots
        # No marked ad blocks (an older or unusual layout): each tracking link is one ad,
        # except in shopping units, which are not text ads. The ad is the block around its
        # link (``data-hveid``), or else the largest element holding no other ad's link and
        # no result's title (the basic page's ad card, whose creative text is beside the
        # link, not in it).
        fallback: list[Tag] = []
        counts: dict[int, int] | None = None
        for link in self.tracking_links:
            if any(_is_shopping(parent) for parent in ancestors(link)):
                continue
            root = next((p for p in ancestors(link) if "data-hveid" in p.attrs), None)
            if root is None:
                if counts is None:
                    titles = (_title_link(h3) for h3 in self.h3s)
                    markers = [*self.tracking_links, *(a for a in titles if a is not None)]
                    counts = _subtree_counts(markers, self.main)
                root = _container(link, counts, self.main)
            fallback.append(root)
        return _unique(fallback)

    def _title_links(self) -> list[Tag]:
        links = _unique(_title_link(h3) for h3 in self.h3s)
        organic = [a for a in links if self.kind_of(a) is None]
        if organic:
            return links
        # The mobile layout: titles are [role=heading] / [role=link] inside the link.
        mobile = _unique(_link_around(tag) for tag in self.role_titles)
        mobile = [a for a in mobile if self.kind_of(a) is None and _external(a)]
        if mobile:
            self.mobile = True
        return links + mobile

    def _organic(self) -> list[tuple[int, Item]]:
        links = self._title_links()
        counts = _subtree_counts(
            [*links, *(root for roots in self.roots.values() for root in roots)], self.main
        )
        found = []
        for link in links:
            if self.kind_of(link) is not None:
                continue
            container = _container(link, counts, self.main)
            if "mnr-c" in classes(container):
                self.mobile = True
            item = _organic_item(link, container)
            if item is not None:
                found.append((self.pos(link), item))
        return found

    def _feature(self, kind: str) -> list[tuple[int, Item]]:
        """The linked cards of every block of one kind (news, perspectives, video, local).

        Where a block is made of story cards, each card is one result, read from its first
        titled link: a post's author link, a thread's comment links and a block's "Learn
        more" link are not results of their own.
        """
        placement = _FEATURE_PLACEMENTS[kind]
        found = []
        seen: set[str] = set()
        for root in self._outermost(kind):
            if kind == _LOCAL and (places := _places(root)):
                for link, item in places:
                    if item.url not in seen:
                        seen.add(item.url)
                        found.append((self.pos(link), item))
                continue
            cards = [c for c in self.clusters if c is root or _inside(c, root)]
            groups = [_links(card) for card in cards] if cards else [[a] for a in _links(root)]
            threads: list[str] = []
            for links in groups:
                read = _first_card_item(links, placement)
                if read is None or _without_offset(read[1].url) in seen:
                    continue  # a card shown twice is one result, never its author link
                link, item = read
                seen.add(_without_offset(item.url))
                if kind == _SOCIAL and _in_thread(item.url, threads):
                    continue  # a comment of a thread already read
                found.append((self.pos(link), item))
        return found

    def _people_also_ask(self) -> list[tuple[int, Item]]:
        """Each question of "People also ask" whose saved answer names its source: the
        question as title, the source's link as URL (the first one an AI answer cites)."""
        found = []
        for root in self._outermost(_PAA):
            question = clean(attr(root, "data-q"))
            for link in _links(root):
                resolved = resolve_link(attr(link, "href"), _BASE, result=True)
                if resolved is None or resolved.opaque or _is_google_service(resolved.url):
                    continue  # Google's privacy or help link under an answer cites nothing
                heading = link.find("h3") or link.select_one('[role="heading"]')
                source = text_of(heading if isinstance(heading, Tag) else link)
                item = Item(
                    Placement.PEOPLE_ALSO_ASK,
                    resolved.url,
                    question,
                    source,
                    tracking_url=resolved.tracking,
                )
                found.append((self.pos(root), item))
                break
        return found

    def _featured(self) -> list[tuple[int, Item]]:
        found = []
        for root in self._outermost(_FEATURED):
            link = _first_title_link(root)
            if link is None:
                continue
            resolved = _resolve(link, root)
            if resolved is None:
                continue
            snippet_tag = _first(root, _FEATURED_SNIPPETS, outside=link)
            snippet = text_of(snippet_tag) if snippet_tag else _rest_text(root, link)
            title = text_of(link.find("h3"))
            item = Item(
                Placement.FEATURED_SNIPPET,
                resolved.url,
                title,
                snippet,
                tracking_url=resolved.tracking,
            )
            found.append((self.pos(link), item))
        return found

    def _ai_overview(self) -> list[tuple[int, Item]]:
        found = []
        seen: set[str] = set()
        for root in self._outermost(_AIO):
            for link in root.find_all("a", href=True):
                resolved = resolve_link(attr(link, "href"), _BASE)
                if resolved is None or resolved.opaque or resolved.url in seen:
                    continue
                if _is_google_service(resolved.url):
                    continue  # "Learn more about Generative AI" is not a source
                seen.add(resolved.url)
                title = attr(link, "aria-label") or text_of(link)
                item = Item(
                    Placement.AI_OVERVIEW, resolved.url, title, tracking_url=resolved.tracking
                )
                found.append((self.pos(link), item))
        return found

    def _knowledge_panel(self) -> list[tuple[int, Item]]:
        """The links a knowledge panel gives for its entity, in panel order.

        Each sits in one of the panel's facts (a ``[data-attrid]`` block): the official
        website, the source of the description, the entity's profiles, its reviews. Links to
        Google itself (maps, "Claim this knowledge panel") and to the panel's other
        carousels ("Things to do", searches) are not results; an ad in the panel is an ad.
        """
        panel = self.by_id.get("rhs")
        if panel is None:
            return []
        found = []
        seen: set[str] = set()
        for link in _links(panel):
            if self.kind_of(link) != _SKIP or not any(
                attr(parent, "data-attrid") for parent in ancestors(link, panel)
            ):
                continue
            resolved = resolve_link(attr(link, "href"), _BASE)
            if (
                resolved is None
                or resolved.opaque
                or resolved.url in seen
                or _is_google_service(resolved.url)
            ):
                continue
            seen.add(resolved.url)
            title = text_of(link) or attr(link, "aria-label")
            item = Item(
                Placement.KNOWLEDGE_PANEL, resolved.url, title, tracking_url=resolved.tracking
            )
            found.append((self.pos(link), item))
        return found

    def _ads(self, main_positions: Sequence[int]) -> list[tuple[int, Item]]:
        first = min(main_positions, default=None)
        last = max(main_positions, default=None)
        found = []
        for root in self.roots.get(_AD, []):
            block = self._ad_block(root, first, last)
            item = _ad_item(root, block)
            if item is not None:
                found.append((self.pos(root), item))
        return found

    def _products(self) -> list[tuple[int, Item]]:
        """Product ads (2019 layout): each ``pla-unit`` card is one ``shopping`` item.

        Its title link (``pla-unit-title-link``) leads to the shop and carries the product's
        name, written once per column width (the first is read); its click link is the hidden
        twin of that link. A card of the right column is in the ``side`` block.
        """
        found = []
        marked = {id(unit) for unit in self.products}
        for unit in self.products:
            if any(id(parent) in marked for parent in ancestors(unit)):
                continue
            link = unit.select_one("a.pla-unit-title-link[href]")
            if link is None:
                continue
            resolved = resolve_link(attr(link, "href"), _BASE)
            if resolved is None:
                continue
            name = link.find("span", class_="pymv4e") or link
            twin = _click_twin(unit, link)
            tracking = resolved.tracking or (attr(twin, "href") if twin is not None else None)
            side = any(attr(parent, "id") == "rhs" for parent in ancestors(unit))
            block = _ADS_SIDE if side else _ADS_TOP
            item = Item(
                Placement.SHOPPING,
                resolved.url,
                text_of(name if isinstance(name, Tag) else link),
                "",
                block=block,
                tracking_url=_absolute(tracking or "") or None,
            )
            found.append((self.pos(unit), item))
        return found

    def _ad_block(self, root: Tag, first: int | None, last: int | None) -> str:
        for parent in ancestors(root):
            kind = self.region.get(id(parent))
            if kind in (_ADS_TOP, _ADS_BOTTOM, _ADS_SIDE):
                return kind
            if attr(parent, "id") == "rhs":
                return _ADS_SIDE
        position = self.pos(root)
        if first is None or last is None or position < first:
            return _ADS_TOP
        return _ADS_BOTTOM if position > last else "middle"

    def _outermost(self, kind: str) -> list[Tag]:
        roots = self.roots.get(kind, [])
        marked = {id(root) for root in roots}
        return [r for r in roots if not any(id(p) in marked for p in ancestors(r))]


# --- helpers --------------------------------------------------------------------------------


def _links(root: Tag) -> list[Tag]:
    return [a for a in root.find_all("a", href=True) if isinstance(a, Tag)]


def _first_card_item(links: Sequence[Tag], placement: str) -> tuple[Tag, Item] | None:
    """The first of a card's links that stands for a result, with that result."""
    for link in links:
        item = _card_item(link, placement)
        if item is not None:
            return link, item
    return None


def _card_item(link: Tag, placement: str) -> Item | None:
    """The result a feature card's link stands for; None for navigation or untitled links."""
    resolved = resolve_link(attr(link, "href"), _BASE)
    if resolved is None:
        return None
    heading = link.select_one('[role="heading"]') or link.find(["h3", "h4"])
    title = text_of(heading) or attr(link, "aria-label") or text_of(link)
    if not title:
        return None
    snippet = text_of(link, [heading] if isinstance(heading, Tag) else [])
    return Item(placement, resolved.url, title, snippet, tracking_url=resolved.tracking)


def _places(root: Tag) -> list[tuple[Tag, Item]]:
    """The places of a local pack, one result each, with the link it is read from.

    A place is the largest element around one place name (``[role=heading]``) that holds no
    other; its result is its first link that leads off the search (its website), titled by
    its name: its "Directions" and call links are the same place. A sponsored place's
    website link is Google's click link (``/aclk`` with no ``adurl``); it is still the
    place's result, with that link as URL and as ``tracking_url``.
    """
    headings = [
        h
        for h in root.select('[role="heading"]')
        if text_of(h) and not any(_is_popup(parent) for parent in ancestors(h, root))
    ]
    counts = _subtree_counts(headings, root)
    found = []
    for heading in headings:
        card = heading
        for parent in ancestors(heading, root):
            if counts.get(id(parent), 0) > 1:
                break
            card = parent
        for link in _links(card):
            resolved = resolve_link(attr(link, "href"), _BASE)
            if resolved is None:
                continue
            popups = [t for t in heading.find_all(True) if _is_popup(t)]
            tracking = _absolute(resolved.tracking) if resolved.tracking else None
            item = Item(
                Placement.LOCAL,
                resolved.url,
                text_of(heading, popups),
                text_of(card, [heading, *_links(card)]),
                tracking_url=tracking,
            )
            found.append((link, item))
            break
    return found


def _is_heading(tag: Tag) -> bool:
    """Whether ``tag`` is a heading or the text of one: a knowledge panel's section heading
    ("Trailers & clips") wraps its text in a (link-less) ``role=link`` and two ``div``s."""
    if tag.name in _HEADING_TAGS or attr(tag, "role") == "heading":
        return True
    for depth, parent in enumerate(ancestors(tag)):
        if depth >= 3:
            return False
        if parent.name in _HEADING_TAGS or attr(parent, "role") == "heading":
            return True
    return False


def _is_popup(tag: Tag) -> bool:
    """A dialog ("Why this ad?", "Scan to call"): its headings name no result."""
    return tag.name == "g-dialog" or attr(tag, "role") in ("dialog", "heading")


def _in_thread(url: str, threads: list[str]) -> bool:
    """Whether ``url`` is a thread already listed or an answer under one, and list it.

    A forum block links each answer it quotes: Reddit below the thread's path
    (``…/comments/id/slug/commentid/``), Quora and Facebook with an answer parameter
    (``?top_ans=``, ``?comment_id=``) on the thread's own address.
    """
    parts = urlsplit(url)
    query = "&".join(
        p for p in parts.query.split("&") if p and p.split("=", 1)[0] not in _ANSWER_PARAMS
    )
    page = f"{parts.netloc.lower()}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")
    if any(page == t or (not query and page.startswith(t + "/")) for t in threads):
        return True
    threads.append(page)
    return False


def _without_offset(url: str) -> str:
    """``url`` without a time offset: a video's "key moments" link to the video itself."""
    return _OFFSET.sub(r"\1", url).rstrip("?&")


def _label_kind(text: str) -> str | None:
    """The kind of block a heading names, if any."""
    for kind, names in _LABELS.items():
        if text in names:
            return kind
    return next((kind for prefix, kind in _LABEL_PREFIXES if text.startswith(prefix)), None)


def _short_text(tag: Tag) -> str | None:
    """The text of an element holding one short string (through single-child wrappers).

    ``Tag.string`` would do, but it recurses, and a page can nest deeper than Python allows.
    """
    node: PageElement = tag
    for _ in range(6):
        if isinstance(node, NavigableString):
            text = clean(str(node))
            return text.casefold() if 0 < len(text) <= 60 else None
        if not isinstance(node, Tag) or len(node.contents) != 1:
            return None
        node = node.contents[0]
    return None


def _unique(tags: Iterable[Tag | None]) -> list[Tag]:
    seen: set[int] = set()
    out = []
    for tag in tags:
        if tag is not None and id(tag) not in seen:
            seen.add(id(tag))
            out.append(tag)
    return out


def _link_around(tag: Tag) -> Tag | None:
    for depth, parent in enumerate(ancestors(tag)):
        if depth >= 5:
            return None
        if parent.name == "a" and parent.get("href"):
            return parent
    return None


def _title_link(h3: Tag) -> Tag | None:
    link = _link_around(h3)
    if link is not None:
        return link
    # Older layouts put the link inside the heading (h3.r > a); sitelinks did too, in tables.
    inner = h3.find("a", href=True)
    if isinstance(inner, Tag) and "r" in classes(h3) and not h3.find_parent("table"):
        return inner
    return None


def _external(link: Tag) -> bool:
    resolved = resolve_link(attr(link, "href"), _BASE)
    return resolved is not None


def _subtree_counts(markers: Sequence[Tag], stop: Tag | None) -> dict[int, int]:
    """How many markers (result links, region roots) each ancestor holds."""
    counts: dict[int, int] = {}
    for marker in markers:
        counts[id(marker)] = counts.get(id(marker), 0) + 1
        for parent in ancestors(marker, stop):
            counts[id(parent)] = counts.get(id(parent), 0) + 1
    return counts


def _container(link: Tag, counts: dict[int, int], stop: Tag | None) -> Tag:
    """The largest element around ``link`` holding no other result (a known block if any)."""
    chain = [link]
    for parent in ancestors(link, stop):
        if counts.get(id(parent), 0) > 1:
            break
        chain.append(parent)
    known = [
        tag
        for tag in chain
        if _CONTAINER_CLASSES.intersection(classes(tag)) or attr(tag, "jscontroller") == "SC7lYd"
    ]
    return known[-1] if known else chain[-1]


def _first_title_link(root: Tag) -> Tag | None:
    for h3 in root.find_all("h3"):
        link = _title_link(h3)
        if link is not None:
            return link
    return None


def _is_shopping(tag: Tag) -> bool:
    return any("pla-" in name or "commercial-unit" in name for name in classes(tag))


def _first(
    root: Tag, selectors: Sequence[str], outside: Tag | None = None, *, innermost: bool = False
) -> Tag | None:
    """The first element matching one of ``selectors`` (in priority order) with text.

    ``innermost`` takes, of nested matches, the first that holds no other: the basic
    (no-JavaScript) page gives a result's text block and the snippet inside it the same
    classes, and the block also holds the result's inline sitelinks in a nested one.
    """
    for selector in selectors:
        tags = root.select(selector)
        for index, tag in enumerate(tags):
            if outside is not None and (tag is outside or _inside(tag, outside)):
                continue
            if not text_of(tag):
                continue
            # Matches come in document order: a match's nested ones follow it directly.
            for nested in tags[index + 1 :] if innermost else ():
                if not _inside(nested, tag):
                    break
                if text_of(nested):
                    tag = nested
            return tag
    return None


def _inside(tag: Tag, outer: Tag) -> bool:
    return any(parent is outer for parent in ancestors(tag))


def _rest_text(root: Tag, *skip: Tag) -> str:
    excluded: list[Tag] = [*skip]
    for tag in root.find_all(["a", "cite", "h3", "g-popup", "g-menu"]):
        excluded.append(tag)
    excluded += root.select('[role="button"], [role="heading"]')
    return text_of(root, excluded)


def _resolve(link: Tag, container: Tag) -> Link | None:
    """The link's landing URL, using the displayed URL when the link is an opaque token."""
    resolved = resolve_link(attr(link, "href"), _BASE, result=True)
    if resolved is None or not resolved.opaque:
        return resolved
    cite = container.find("cite")
    shown = displayed_url(text_of(cite if isinstance(cite, Tag) else None))
    return Link(shown, resolved.tracking) if shown else resolved


def _organic_item(link: Tag, container: Tag) -> Item | None:
    resolved = _resolve(link, container)
    if resolved is None:
        return None
    heading = link.find("h3") or link.select_one('[role="heading"], [role="link"]')
    title = text_of(heading if isinstance(heading, Tag) else link)
    snippet_tag = _first(container, _SNIPPETS, outside=link, innermost=True)
    snippet = text_of(snippet_tag) if snippet_tag else _rest_text(container, link)
    return Item(Placement.ORGANIC, resolved.url, title, snippet, tracking_url=resolved.tracking)


def _ad_item(root: Tag, block: str) -> Item | None:
    heading = root.select_one('[role="heading"]') or root.find(["h3", "h2"])
    heading = heading if isinstance(heading, Tag) else None
    links = [a for a in root.find_all("a", href=True) if isinstance(a, Tag)]
    if root.name == "a" and root.get("href"):
        links.insert(0, root)
    if not links:
        return None
    main = next((a for a in links if a.get("data-pcu")), None) or next(
        (a for a in links if heading is not None and (_inside(heading, a) or _inside(a, heading))),
        links[0],
    )
    title = text_of(heading) or (_first_line(root) if root is main else "") or text_of(main)
    # Only the title's links lead to the ad's landing page; the others are its sitelinks.
    title_links = [
        a
        for a in links
        if a is main or (heading is not None and (_inside(heading, a) or _inside(a, heading)))
    ]
    twin = _click_twin(root, main)
    if twin is not None:
        title_links.append(twin)
    landing, tracking = _ad_urls(root, main, title_links)
    if landing is None:
        return None
    snippet_tag = _first(root, _AD_SNIPPETS)
    snippet = text_of(snippet_tag) if snippet_tag else _ad_text(root)
    return Item(Placement.PAID, landing, title, snippet, block=block, tracking_url=tracking)


def _click_twin(root: Tag, link: Tag) -> Tag | None:
    """The hidden link whose address a link takes when clicked (2019 layout).

    A link with ``onmousedown="return google.arwt(this)"`` and the id ``v<id>`` shows the
    landing page; on a click Google's script gives it the ``href`` of the hidden
    (``display:none``) link with the id ``<id>`` next to it, which is the ad's click link.
    """
    own = attr(link, "id")
    if not own.startswith("v") or len(own) < 2:
        return None
    twin = root.find("a", id=own[1:], href=True)
    return twin if isinstance(twin, Tag) and twin is not link else None


def _ad_urls(root: Tag, main: Tag, links: Sequence[Tag]) -> tuple[str | None, str | None]:
    """(landing URL, tracking link): a direct link of the title, the tracking link's
    ``adurl``, ``data-pcu``, the displayed URL, the displayed domain, in that order.

    ``data-pcu`` is only the advertiser's site (``https://www.kayak.com/``) where the title's
    own link goes to the page the ad leads to, so it comes after the links.
    """
    tracking = attr(main, "data-rw") or _absolute(attr(main, "data-arwt")) or None
    direct: str | None = None
    unwrapped: str | None = None
    for link in [main, *links]:
        # The title's link is the ad's, wherever it leads: a Local Services ad leads to the
        # provider's profile on Google's own host (/localservices/prolist?…).
        resolved = resolve_link(attr(link, "href"), _BASE, result=True)
        if resolved is None:
            continue
        if resolved.tracking is None:
            direct = direct or resolved.url
        else:
            tracking = tracking or resolved.tracking
            if not resolved.opaque:
                unwrapped = unwrapped or resolved.url
    if unwrapped is None and tracking:
        from_tracking = resolve_link(tracking, _BASE)
        if from_tracking is not None and not from_tracking.opaque:
            unwrapped = from_tracking.url
    pcu = [u.strip() for u in attr(main, "data-pcu").split(",") if u.strip()]
    site = pcu[-1] if pcu and pcu[-1].startswith(("http://", "https://")) else None
    landing = direct or unwrapped or site
    if landing is None:
        shown = root.find(["cite"]) or root.select_one('[role="text"]')
        landing = displayed_url(text_of(shown if isinstance(shown, Tag) else None))
    if landing is None and attr(root, "data-dtld"):
        landing = "https://" + attr(root, "data-dtld")
    return landing, tracking


def _is_google_service(url: str) -> bool:
    return _GOOGLE_SERVICE.match(urlsplit(url).hostname or "") is not None


def _first_line(card: Tag) -> str:
    """A card without a heading (an activity ad) names itself in its first line of text."""
    for tag in card.find_all(["div", "span"]):
        if tag.find(["div", "span"]) is None and text_of(tag):
            return text_of(tag)
    return ""


def _absolute(path: str) -> str:
    return urljoin(_BASE, path) if path else ""


def _ad_text(root: Tag) -> str:
    excluded: list[Tag] = [a for a in root.find_all("a") if isinstance(a, Tag)]
    excluded += [t for t in root.find_all(["cite", "h3", "g-bubble"]) if isinstance(t, Tag)]
    excluded += root.select('[role="heading"], [role="text"], [role="button"]')
    excluded += [
        t
        for t in root.find_all(["span", "div"])
        if isinstance(t, Tag) and _short_text(t) in _AD_LABELS
    ]
    return text_of(root, excluded)


def _country(soup: BeautifulSoup) -> str | None:
    field_ = soup.select_one('input[name="gl"]')
    value = attr(field_ if isinstance(field_, Tag) else None, "value").strip().lower()
    if value == "uk":  # Google's gl for the United Kingdom; ISO 3166 says gb
        return "gb"
    return value if re.fullmatch(r"[a-z]{2}", value) else None
