#!/usr/bin/env python3
"""Write the bundled demo scenarios: ``skype-2008`` and ``eurostar-2009``.

Both are ILLUSTRATIVE RECONSTRUCTIONS, NOT RECORDED RESULTS. The crises are real and the dates
in the annotations were checked against contemporary sources; every result page, rank, title
and snippet below was written for the demo. Official pages use the brands' real domains and
critical coverage real news domains, with plausible paths.

Each scenario becomes ``serptrack/data/demo/<name>/`` holding:

- ``campaign.toml``: the campaign (provider ``replay``, labels, annotations);
- ``fixtures/<YYYY-MM-DD>/<slug>.json``: one ``serptrack-snapshot/1`` page per keyword and day,
  ``"source": "illustrative reconstruction"``; a few days have no file (a failed check), a
  Google "unusual traffic" page (``.html``, a blocked check) or a SerpApi error body;
- ``README.md``: the storyline and the events it produces under SPEC section 6, as computed
  here from the pages this script writes.

The script is deterministic (every random choice comes from a ``random.Random`` seeded with
the scenario, keyword and day), so rerunning it reproduces the files byte for byte::

    .venv/bin/python tools/make_demo_data.py            # writes serptrack/data/demo/...
    .venv/bin/python tools/make_demo_data.py --check    # fails if the files on disk differ

How to read a storyline (the scenario data below): per keyword, ``phases`` give the best organic
rank of an official result (``O``) and of a critical one (``C``) day by day (``None``: none in
the top 20; a pair ``(a, b)`` moves linearly from a to b over the phase), ``lead_*`` name the
page holding that rank, ``ads`` the days an official ad runs (top or bottom block), ``news``
the days a news box shows and after which organic result, and ``missing`` / ``blocked`` /
``api_error`` the failed checks. Every other result (more critical and official pages below
their best one, neutral pages, rival ads) is filled in around those fixed points.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "serptrack" / "data" / "demo"
SOURCE = "illustrative reconstruction"
REPORT_AGENCY = "serptrack demo"
REPORT_NOTICE = (
    "Illustrative reconstruction, not recorded results. The crisis and the dated events are "
    "real; every search result page behind this report was written for the serptrack demo."
)
# the demo's "agency logo": a wordmark, so the demo reports show branding at work
LOGO_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="220" height="48" viewBox="0 0 220 48">
<rect width="220" height="48" rx="6" fill="#ffffff"/>
<polyline points="10,36 20,28 30,31 40,16 50,12" fill="none" stroke="#15803d" stroke-width="4"
 stroke-linecap="round" stroke-linejoin="round"/>
<polyline points="10,14 20,20 30,18 40,30 50,34" fill="none" stroke="#b91c1c" stroke-width="4"
 stroke-linecap="round" stroke-linejoin="round" stroke-dasharray="6 4"/>
<text x="62" y="31" font-family="Helvetica, Arial, sans-serif" font-size="19" font-weight="700"
 fill="#1f2937">serptrack demo</text>
</svg>
"""
ORGANIC_DEPTH = 20  # two pages of ten
FORMAT = "serptrack-snapshot/1"

Rank = int | tuple[int, int] | None


# --- the shapes of a storyline ---------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A result that can appear: where it points, what it shows, from when, how strong."""

    url: str
    title: str
    snippet: str
    since: str | None = None  # first day it can appear (ISO date)
    base: float = 10.0  # its usual organic rank when the storyline does not pin it


@dataclass(frozen=True)
class Phase:
    """Days ``first``..``last``: best official (O) and critical (C) organic ranks."""

    first: str
    last: str
    official: Rank
    critical: Rank
    lead_official: str | None = None  # which page holds O (default: first available)
    lead_critical: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Ad:
    """An official ad running from ``first`` to ``last`` in the ``block`` block."""

    first: str
    last: str
    page: str
    block: str = "top"


@dataclass(frozen=True)
class NewsBox:
    """A news box from ``first`` to ``last``, placed after organic result ``after`` (0: on top)."""

    first: str
    last: str
    after: int
    pages: tuple[str, ...]


@dataclass(frozen=True)
class Storyline:
    """One keyword of a scenario."""

    query: str
    country: str
    language: str
    summary: str
    phases: tuple[Phase, ...]
    official: tuple[str, ...]  # official pages that may rank, lead first
    critical: tuple[str, ...]
    neutral: tuple[str, ...]  # neutral pages in their usual order
    ads: tuple[Ad, ...] = ()
    rival_ads: tuple[str, ...] = ()  # neutral advertisers on this query
    bottom_rivals: tuple[str, ...] = ()
    news: tuple[NewsBox, ...] = ()
    missing: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    api_error: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    extra_official: int = 1  # further official pages (below O) when available
    extra_critical: int = 4  # further critical pages (below C) when available
    file_suffix: str = ""  # ".gb-en-desktop" when two keywords share a slug


@dataclass(frozen=True)
class Annotation:
    date: str
    text: str
    query: str | None = None


@dataclass
class Scenario:
    """A campaign: its file's settings, its pages and its keywords."""

    name: str
    brand: str
    description: str
    header: str
    crisis_start: str
    first: str
    last: str
    observed_time: str  # HH:MM:SS UTC, the same every day
    defaults: dict[str, str]
    domains: tuple[str, ...]
    accounts: tuple[str, ...]
    official_labels: tuple[str, ...]
    critical_labels: tuple[str, ...]
    annotations: tuple[Annotation, ...]
    pages: dict[str, Page]
    keywords: tuple[Storyline, ...]
    missing_days: tuple[str, ...] = ()  # days without any file (collector down)
    sources: tuple[str, ...] = ()  # where the annotated facts were checked
    accent: str = "#1f4e79"  # the report's accent colour


def P(url: str, title: str, snippet: str, since: str | None = None, base: float = 10.0) -> Page:
    """Shorthand for the page tables below."""
    return Page(url, title, snippet, since, base)


# =============================================================================================
# Scenario 1: Skype, autumn 2008 (TOM-Skype surveillance)
# =============================================================================================

SKYPE_STATEMENT = "http://share.skype.com/sites/en/2008/10/skype_president_addresses_chin.html"

SKYPE_PAGES: dict[str, Page] = {
    # --- official (skype.com and its subdomains, the Skype Twitter account) ---
    "statement": P(
        SKYPE_STATEMENT,
        "Skype President Addresses Chinese Privacy Breach - Skype Blogs",
        "Josh Silverman on the breach found in the software of our Chinese partner TOM Online: "
        "where Skype stands and what we are doing about it.",
        since="2008-10-02",
    ),
    "statement_ad": P(
        SKYPE_STATEMENT + "?utm_source=google&utm_medium=cpc&utm_campaign=tom-statement",
        "Skype statement on TOM-Skype",
        "What happened with our partner TOM Online in China, and what Skype is doing about it. "
        "Read the president's answer.",
    ),
    "home": P(
        "http://www.skype.com/",
        "Skype - Free calls over the internet",
        "Download Skype and call other Skype users for free. Low-cost calls to phones and "
        "mobiles worldwide.",
        base=1,
    ),
    "privacy": P(
        "http://www.skype.com/intl/en/legal/privacy/general/",
        "Skype Privacy Policy",
        "How Skype collects, uses and protects the personal information of the people who use "
        "its software and services.",
        base=2,
    ),
    "security": P(
        "http://www.skype.com/security/",
        "Skype Security Resource Center",
        "How Skype encrypts calls and chats, how to report a vulnerability, and security advice "
        "for users.",
        base=6,
    ),
    "twitter": P(
        "http://www.twitter.com/skype/",
        "Skype (skype) on Twitter",
        "News and tips from the Skype team.",
        base=8,
    ),
    # --- critical coverage ---
    "nyt": P(
        "http://www.nytimes.com/2008/10/02/technology/internet/02skype.html",
        "Surveillance of Skype Messages Found in China - NYTimes.com",
        "Researchers in Toronto found that the Chinese version of Skype scans text chats for "
        "sensitive words and keeps copies on servers anyone could reach.",
        since="2008-10-02",
        base=1,
    ),
    "report": P(
        "http://www.infowar-monitor.net/breachingtrust/",
        "Breaching Trust: surveillance and security practices on China's TOM-Skype platform",
        "Information Warfare Monitor / Citizen Lab report by Nart Villeneuve on how TOM-Skype "
        "captures chats and stores them on insecure servers.",
        since="2008-10-02",
        base=2,
    ),
    "bbc": P(
        "http://news.bbc.co.uk/2/hi/technology/7649231.stm",
        "BBC NEWS | Technology | Chinese Skype 'logged users' chats'",
        "Researchers say the Chinese version of Skype filtered and stored messages containing "
        "politically sensitive words.",
        since="2008-10-02",
        base=3,
    ),
    "register": P(
        "http://www.theregister.co.uk/2008/10/02/tom_skype_logging/",
        "TOM-Skype logged chats on open servers, say researchers • The Register",
        "Messages with keywords such as Tibet and Falun Gong were captured and stored on "
        "servers with the key to decrypt them.",
        since="2008-10-02",
        base=5,
    ),
    "register_followup": P(
        "http://www.theregister.co.uk/2008/10/20/skype_china_questions_remain/",
        "Skype in China: the questions that remain • The Register",
        "Weeks after the TOM-Skype revelations, users ask what Skype knew and what changes "
        "for chats with China.",
        since="2008-10-20",
        base=4,
    ),
    "cnet": P(
        "http://news.cnet.com/8301-1009_3-10056187-83.html",
        "Report: Chinese Skype partner logged text chats | Security - CNET News",
        "A Citizen Lab report says TOM-Skype monitored and stored text messages with certain "
        "keywords.",
        since="2008-10-02",
        base=4,
    ),
    "guardian": P(
        "http://www.guardian.co.uk/technology/2008/oct/02/skype.china",
        "Skype's Chinese partner monitored chats, researchers say | Technology | guardian.co.uk",
        "Canadian researchers found a list of banned words and millions of logged records on "
        "TOM Online servers.",
        since="2008-10-02",
        base=6,
    ),
    "wired": P(
        "http://blog.wired.com/27bstroke6/2008/10/skype-in-china.html",
        "Skype's Chinese partner caught logging chats | Threat Level from Wired.com",
        "The Chinese Skype client quietly uploads chats containing sensitive words, researchers "
        "report.",
        since="2008-10-02",
        base=7,
    ),
    "pcworld": P(
        "http://www.pcworld.com/article/151772/skype_china.html",
        "Skype says Chinese partner logged chats without its knowledge - PC World",
        "Skype says it did not know TOM Online uploaded and stored chats, and that it is "
        "addressing the issue with its partner.",
        since="2008-10-03",
        base=4,
    ),
    # --- neutral: reference pages ---
    "wiki_skype": P(
        "http://en.wikipedia.org/wiki/Skype",
        "Skype - Wikipedia, the free encyclopedia",
        "Skype is software that lets users make voice calls over the internet; calls to other "
        "Skype users are free.",
    ),
    "wiki_tom": P(
        "http://en.wikipedia.org/wiki/TOM_Online",
        "TOM Online - Wikipedia, the free encyclopedia",
        "TOM Online is a Chinese internet company and the majority partner in TOM-Skype.",
    ),
    "tom_site": P(
        "http://skype.tom.com/",
        "TOM-Skype",
        "Download TOM-Skype, the Skype client distributed in mainland China by TOM Online.",
    ),
    "tom_ir": P(
        "http://www.tomonline-inc.com/",
        "TOM Online Inc.",
        "Corporate site of TOM Online, a wireless value-added services and internet company in "
        "China.",
    ),
    "wiki_censorship": P(
        "http://en.wikipedia.org/wiki/Internet_censorship_in_the_People%27s_Republic_of_China",
        "Internet censorship in the People's Republic of China - Wikipedia",
        "Overview of the laws, filtering systems and practices that restrict internet access in "
        "mainland China.",
    ),
    "wiki_golden_shield": P(
        "http://en.wikipedia.org/wiki/Golden_Shield_Project",
        "Golden Shield Project - Wikipedia, the free encyclopedia",
        "The surveillance and filtering project run by China's Ministry of Public Security.",
    ),
    "hrw": P(
        "http://www.hrw.org/en/reports/2006/08/09/race-bottom",
        "Race to the Bottom: Corporate Complicity in Chinese Internet Censorship",
        "A 2006 Human Rights Watch report on how internet companies in China take part in "
        "filtering.",
    ),
    "opennet": P(
        "http://opennet.net/research/profiles/china",
        "China | OpenNet Initiative",
        "Country profile of internet filtering in China: methods, scope and legal framework.",
    ),
    "forbes_2006": P(
        "http://www.forbes.com/2006/04/20/skype-china-filter-cx_pp_0420skype.html",
        "Skype confirms text filter in China - Forbes.com",
        "In 2006 Skype said its Chinese partner filters chat messages to comply with local rules.",
    ),
    "businessweek": P(
        "http://www.businessweek.com/globalbiz/content/apr2006/gb20060421_skype_china.htm",
        "Skype's China compromise - BusinessWeek",
        "How the internet phone company entered the Chinese market through a joint venture with "
        "TOM.",
    ),
    "voip_info": P(
        "http://www.voip-info.org/wiki/view/Skype",
        "Skype - VoIP-Info.org",
        "Wiki page on Skype: features, clients, protocol notes and links.",
    ),
    "skypejournal": P(
        "http://skypejournal.com/blog/",
        "Skype Journal",
        "Independent news and commentary about Skype and its ecosystem.",
    ),
    "ebay_ir": P(
        "http://investor.ebay.com/",
        "eBay Inc. - Investor Relations",
        "Financial results, presentations and filings of eBay Inc., owner of Skype.",
    ),
    "globalvoices": P(
        "http://globalvoicesonline.org/-/world/east-asia/china/",
        "China · Global Voices",
        "Citizen media and blog coverage from China, translated and summarised.",
    ),
    "cdt": P(
        "http://chinadigitaltimes.net/",
        "China Digital Times",
        "News and commentary on China, with a focus on censorship and online expression.",
    ),
    "rsf": P(
        "http://www.rsf.org/en-pays53-China.html",
        "China - Reporters Without Borders",
        "Press freedom in China: jailed journalists and netizens, online censorship.",
    ),
    "irrepressible": P(
        "http://irrepressible.info/",
        "irrepressible.info - Amnesty International",
        "Amnesty International's campaign against internet repression.",
    ),
    "cnet_download": P(
        "http://download.cnet.com/Skype/3000-2349_4-10225260.html",
        "Skype - CNET Download.com",
        "Free download of Skype for Windows, with editor and user reviews.",
    ),
    "eff": P(
        "http://www.eff.org/issues/privacy",
        "Privacy | Electronic Frontier Foundation",
        "EFF's work on privacy: surveillance, data retention and anonymity online.",
    ),
    "epic": P(
        "http://epic.org/privacy/",
        "EPIC - Electronic Privacy Information Center",
        "Resources on privacy law and policy from the Electronic Privacy Information Center.",
    ),
    "howstuffworks": P(
        "http://computer.howstuffworks.com/ip-telephony.htm",
        'HowStuffWorks "How VoIP Works"',
        "How internet telephony carries calls over data networks.",
    ),
    "berson": P(
        "http://www.anagram.com/berson/skyperep.pdf",
        "Skype Security Evaluation (Anagram Laboratories, 2005)",
        "An independent 2005 review of Skype's cryptography and security design.",
    ),
    "pcmag": P(
        "http://www.pcmag.com/article2/0,2817,2325412,00.asp",
        "Skype 4.0 for Windows review - PCMag.com",
        "A review of the full-screen video calling client released in 2008.",
    ),
    "wikihow": P(
        "http://www.wikihow.com/Use-Skype",
        "How to Use Skype - wikiHow",
        "Step by step: install Skype, add contacts and make your first call.",
    ),
    "numerology": P(
        "http://skypenumerology.blogspot.com/",
        "Skype Numerology",
        "A blog tracking how many people are online on Skype.",
    ),
    "gigaom": P(
        "http://gigaom.com/tag/skype/",
        "skype - GigaOM",
        "GigaOM stories about Skype.",
    ),
    "techcrunch_tag": P(
        "http://www.techcrunch.com/tag/skype/",
        "skype | TechCrunch",
        "TechCrunch coverage of Skype.",
    ),
    "gtalk": P(
        "http://www.google.com/talk/",
        "Google Talk",
        "Call and instant message your friends for free.",
    ),
    "yahoo_answers": P(
        "http://answers.yahoo.com/question/index?qid=20080712083412AAx1Qp7",
        "Is Skype safe to use? - Yahoo! Answers",
        "Questions and answers about whether Skype calls and chats can be listened to.",
    ),
    "privacyrights": P(
        "http://www.privacyrights.org/",
        "Privacy Rights Clearinghouse",
        "Consumer information and advocacy on privacy.",
    ),
    "zdnet_asia": P(
        "http://www.zdnetasia.com/news/communications/",
        "Communications news - ZDNet Asia",
        "Telecommunications and VoIP news from Asia.",
    ),
    "wiki_voip": P(
        "http://en.wikipedia.org/wiki/Voice_over_Internet_Protocol",
        "Voice over Internet Protocol - Wikipedia, the free encyclopedia",
        "VoIP: technologies for delivering voice calls over IP networks.",
    ),
    # --- neutral: coverage and commentary nobody has labelled (``labels suggest`` material) ---
    "slashdot": P(
        "http://yro.slashdot.org/article.pl?sid=08/10/02/1420233",
        "Slashdot | Skype Messages Monitored In China",
        "Readers discuss the Citizen Lab findings on the Chinese version of Skype.",
        since="2008-10-02",
        base=6,
    ),
    "deibert": P(
        "http://deibert.citizenlab.ca/2008/10/breaching-trust/",
        "Breaching Trust « Ronald Deibert",
        "Announcing the Breaching Trust report on surveillance in TOM-Skype.",
        since="2008-10-02",
        base=5,
    ),
    "nartv": P(
        "http://www.nartv.org/2008/10/05/notable-quotes-on-tom-skype-story/",
        "Notable quotes on TOM-Skype story « Nart Villeneuve",
        "What Skype, TOM Online and researchers said after the report.",
        since="2008-10-06",
        base=7,
    ),
    "reuters": P(
        "http://www.reuters.com/article/technologyNews/idUSTRE4916Z720081002",
        "Skype says Chinese partner stored messages without its knowledge | Reuters",
        "Skype says TOM Online changed its practice without Skype's knowledge and that the "
        "security flaw has been fixed.",
        since="2008-10-03",
        base=5,
    ),
    "techdirt": P(
        "http://www.techdirt.com/articles/20081002/1245372431.shtml",
        "Skype's Chinese partner caught logging chats | Techdirt",
        "Commentary on what the TOM-Skype findings mean for users' trust.",
        since="2008-10-02",
        base=9,
    ),
    # --- neutral advertisers ---
    "ad_vonage": P(
        "http://www.vonage.com/",
        "Vonage® Official Site",
        "Home phone service over your high-speed internet connection.",
    ),
    "ad_oovoo": P(
        "http://www.oovoo.com/",
        "ooVoo - free video chat",
        "Video chat with up to six people. Free download.",
    ),
    "ad_hotspot": P(
        "http://www.hotspotshield.com/",
        "Hotspot Shield - browse privately",
        "Protect your connection on public Wi-Fi. Free download.",
    ),
    "ad_rebtel": P(
        "http://www.rebtel.com/",
        "Cheap calls to China - Rebtel",
        "Call China from your mobile at low rates.",
    ),
}

_SKYPE_CHINA_NEUTRAL = (
    "wiki_tom",
    "tom_site",
    "wiki_censorship",
    "hrw",
    "opennet",
    "forbes_2006",
    "businessweek",
    "wiki_skype",
    "tom_ir",
    "wiki_golden_shield",
    "globalvoices",
    "cdt",
    "rsf",
    "irrepressible",
    "voip_info",
    "skypejournal",
    "ebay_ir",
    "zdnet_asia",
    "wiki_voip",
    "gigaom",
    "techcrunch_tag",
    "cnet_download",
    "eff",
)
_SKYPE_CRISIS_NEUTRAL = ("slashdot", "deibert", "nartv", "reuters", "techdirt")
_SKYPE_GENERAL_NEUTRAL = (
    "wiki_skype",
    "cnet_download",
    "wikihow",
    "voip_info",
    "pcmag",
    "howstuffworks",
    "skypejournal",
    "gtalk",
    "wiki_voip",
    "numerology",
    "gigaom",
    "techcrunch_tag",
    "berson",
    "yahoo_answers",
    "eff",
    "epic",
    "privacyrights",
    "ebay_ir",
    "tom_site",
    "wiki_tom",
    "globalvoices",
    "zdnet_asia",
)

SKYPE = Scenario(
    name="skype-2008",
    brand="Skype",
    description=(
        "TOM-Skype surveillance revelations, autumn 2008: illustrative reconstruction, "
        "not recorded results"
    ),
    header=(
        "Skype, autumn 2008: the TOM-Skype surveillance revelations.\n"
        "ILLUSTRATIVE RECONSTRUCTION, NOT RECORDED RESULTS. The events and their dates are real;\n"
        "every result page under fixtures/ (ranks, titles, snippets) was written for this demo\n"
        "by tools/make_demo_data.py, which regenerates this folder. Run it with: serptrack demo"
    ),
    crisis_start="2008-10-01",
    first="2008-09-29",
    last="2008-11-16",
    observed_time="12:00:00",  # 08:00 in New York (07:00 after 2 November)
    defaults={"country": "us", "language": "en"},
    domains=("skype.com",),
    accounts=("twitter.com/skype",),
    official_labels=(
        "skype.com",
        "https://twitter.com/skype",
        "https://share.skype.com/sites/en/2008/10/skype_president_addresses_chin.html",
    ),
    critical_labels=(
        "https://nytimes.com/2008/10/02/technology/internet/02skype.html",
        "https://infowar-monitor.net/breachingtrust",
        "https://news.bbc.co.uk/2/hi/technology/7649231.stm",
        "https://news.cnet.com/8301-1009_3-10056187-83.html",
        "https://guardian.co.uk/technology/2008/oct/02/skype.china",
        "https://blog.wired.com/27bstroke6/2008/10/skype-in-china.html",
        "theregister.co.uk/2008/10/*",
        "re:pcworld\\.com/article/\\d+/skype_",
    ),
    annotations=(
        Annotation(
            "2008-10-01",
            "Citizen Lab / Information Warfare Monitor publish 'Breaching Trust' (Nart Villeneuve): "
            "TOM-Skype scans chats for sensitive keywords and stores them on publicly reachable "
            "servers",
        ),
        Annotation(
            "2008-10-02",
            "New York Times: 'Surveillance of Skype Messages Found in China' (John Markoff; "
            "online the evening before)",
        ),
        Annotation(
            "2008-10-02",
            "Skype president Josh Silverman answers on the Skype blog: 'Skype President "
            "Addresses Chinese Privacy Breach'",
        ),
        Annotation(
            "2008-10-03",
            "Skype's community team relays the statement in the comment threads of the sites "
            "covering the story (illustrative date)",
        ),
        Annotation(
            "2008-10-04",
            "Paid search campaign starts: the statement bought into first place on 'skype china', "
            "'skype censorship' and 'tom-skype' (illustrative date)",
        ),
        Annotation(
            "2008-10-06",
            "Paid search extended to 'skype privacy' (illustrative date)",
            query="skype privacy",
        ),
        Annotation(
            "2008-10-20",
            "Follow-up coverage (The Register) puts the critics back on top organically; the ad "
            "keeps the page (illustrative)",
            query="skype censorship",
        ),
        Annotation("2008-10-20", "Ads stop on 'skype privacy'", query="skype privacy"),
        Annotation("2008-10-27", "Ads stop on 'skype china'", query="skype china"),
        Annotation("2008-10-27", "Ads stop on 'tom-skype'", query="tom-skype"),
        Annotation("2008-11-03", "Ads stop on 'skype censorship'", query="skype censorship"),
        Annotation("2008-11-01", "Collector down: no check on any keyword"),
    ),
    pages=SKYPE_PAGES,
    missing_days=("2008-11-01",),
    accent="#0b5f8a",
    keywords=(
        Storyline(
            query="skype china",
            country="us",
            language="en",
            tags=("china",),
            summary=(
                "The statement enters at #8 the day after the NYT story and climbs; the top ad "
                "from 4 Oct gives the official side the page at once, a week before it takes "
                "organic #1 (11 Oct). The ad keeps running on #1 until 26 Oct (redundant ad days)."
            ),
            phases=(
                Phase(
                    "2008-09-29",
                    "2008-10-01",
                    None,
                    None,
                    note="before the report: only neutral pages",
                ),
                Phase("2008-10-02", "2008-10-02", None, 1, note="NYT story on top"),
                Phase("2008-10-03", "2008-10-10", (8, 2), 1, note="the statement climbs"),
                Phase("2008-10-11", "2008-11-16", 1, (2, 5), note="the statement is #1"),
            ),
            official=("statement", "home", "security"),
            critical=("nyt", "report", "bbc", "register", "cnet", "guardian", "wired", "pcworld"),
            neutral=_SKYPE_CRISIS_NEUTRAL + _SKYPE_CHINA_NEUTRAL,
            ads=(Ad("2008-10-04", "2008-10-26", "statement_ad"),),
            rival_ads=("ad_rebtel", "ad_vonage"),
            bottom_rivals=("ad_oovoo",),
            news=(NewsBox("2008-10-02", "2008-10-12", 3, ("nyt", "reuters", "bbc")),),
        ),
        Storyline(
            query="skype censorship",
            country="us",
            language="en",
            tags=("china",),
            summary=(
                "Top ad from 4 Oct (page overtake), organic #1 on 13 Oct. A Register follow-up "
                "takes organic #1 from 20 to 23 Oct (organic lost, regained 24 Oct) while the "
                "ad, still running, keeps the page. Blocked check on 22 Oct. Ads stop 3 Nov."
            ),
            phases=(
                Phase("2008-09-29", "2008-10-01", None, None),
                Phase("2008-10-02", "2008-10-02", None, 1),
                Phase("2008-10-03", "2008-10-12", (9, 2), 1),
                Phase("2008-10-13", "2008-10-19", 1, 2),
                Phase(
                    "2008-10-20",
                    "2008-10-23",
                    2,
                    1,
                    lead_critical="register_followup",
                    note="follow-up article on top",
                ),
                Phase("2008-10-24", "2008-11-16", 1, (2, 4)),
            ),
            official=("statement", "security"),
            critical=(
                "report",
                "nyt",
                "register",
                "wired",
                "guardian",
                "pcworld",
                "register_followup",
            ),
            neutral=_SKYPE_CRISIS_NEUTRAL + _SKYPE_CHINA_NEUTRAL,
            ads=(Ad("2008-10-04", "2008-11-02", "statement_ad"),),
            rival_ads=("ad_hotspot",),
            news=(NewsBox("2008-10-02", "2008-10-09", 3, ("nyt", "bbc", "reuters")),),
            blocked=("2008-10-22",),
        ),
        Storyline(
            query="tom-skype",
            country="us",
            language="en",
            tags=("china",),
            summary=(
                "The report and the press hold organic #1 throughout; the statement never gets "
                "above #4. Only the ad (4-26 Oct) gives the official side the page: page "
                "overtake on 4 Oct, page lost on 27 Oct when the ad stops. No file on 9 Oct."
            ),
            phases=(
                Phase("2008-09-29", "2008-10-01", None, None),
                Phase("2008-10-02", "2008-10-02", None, 1, lead_critical="report"),
                Phase("2008-10-03", "2008-10-12", (14, 4), 1, lead_critical="report"),
                Phase("2008-10-13", "2008-11-16", (4, 6), 1, lead_critical="report"),
            ),
            official=("statement",),
            critical=("report", "nyt", "register", "cnet", "wired", "bbc", "guardian"),
            neutral=_SKYPE_CRISIS_NEUTRAL + _SKYPE_CHINA_NEUTRAL,
            ads=(Ad("2008-10-04", "2008-10-26", "statement_ad"),),
            rival_ads=("ad_rebtel",),
            news=(NewsBox("2008-10-02", "2008-10-08", 4, ("nyt", "cnet", "reuters")),),
            missing=("2008-10-09",),
            extra_official=0,
        ),
        Storyline(
            query="skype privacy",
            country="us",
            language="en",
            tags=("privacy",),
            summary=(
                "Before the crisis Skype's privacy policy leads (#2, no critic in the top 20). "
                "The NYT story takes #1 on 2 Oct (lost in both views). The ad from 6 Oct wins "
                "the page back; the statement reaches organic #1 on 16 Oct. Ads stop 20 Oct."
            ),
            phases=(
                Phase("2008-09-29", "2008-10-01", 2, None, lead_official="privacy"),
                Phase("2008-10-02", "2008-10-05", 3, 1, lead_official="privacy"),
                Phase("2008-10-06", "2008-10-15", (3, 2), 1),
                Phase("2008-10-16", "2008-11-16", 1, (2, 3)),
            ),
            official=("statement", "privacy", "security"),
            critical=("nyt", "guardian", "cnet", "register", "wired"),
            neutral=(*_SKYPE_GENERAL_NEUTRAL, "slashdot", "techdirt"),
            ads=(Ad("2008-10-06", "2008-10-19", "statement_ad"),),
            rival_ads=("ad_hotspot",),
            news=(NewsBox("2008-10-02", "2008-10-07", 5, ("nyt", "reuters")),),
        ),
        Storyline(
            query="skype",
            country="us",
            language="en",
            tags=("brand",),
            summary=(
                "The brand query never changes hands: skype.com stays #1; critical coverage "
                "shows in the news box (2-8 Oct) and low on page 1 for three weeks. No events."
            ),
            phases=(
                Phase("2008-09-29", "2008-10-01", 1, None, lead_official="home"),
                Phase("2008-10-02", "2008-10-09", 1, (5, 7), lead_official="home"),
                Phase("2008-10-10", "2008-10-21", 1, (8, 14), lead_official="home"),
                Phase("2008-10-22", "2008-11-16", 1, None, lead_official="home"),
            ),
            official=("home", "twitter", "security"),
            critical=("nyt", "cnet"),
            neutral=_SKYPE_GENERAL_NEUTRAL,
            rival_ads=("ad_vonage", "ad_oovoo"),
            news=(NewsBox("2008-10-02", "2008-10-08", 1, ("nyt", "bbc", "reuters")),),
            extra_official=2,
            extra_critical=1,
        ),
    ),
    sources=(
        "Breaching Trust report, JR01-2008, dated October 1, 2008 (Information Warfare Monitor / "
        "ONI Asia; Nart Villeneuve, Citizen Lab)",
        "deibert.citizenlab.ca/2008/10/breaching-trust: report release; NYT story by John "
        "Markoff online that day, in print the next",
        "IHT/NYT 'Surveillance of Skype messages found in China', 2 October 2008 "
        "(web.archive.org copy of iht.com/articles/2008/10/02/technology/02skype.php)",
        "share.skype.com/sites/en/2008/10/skype_president_addresses_chin.html: 'Skype President "
        "Addresses Chinese Privacy Breach', Josh Silverman, October 2, 2008 (archived 3 Oct 2008)",
        "Reuters via ITWeb, 'Skype says sorry', 3 October 2008",
    ),
)


# =============================================================================================
# Scenario 2: Eurostar, December 2009 (trains stranded in the Channel Tunnel)
# =============================================================================================

EUROSTAR_UPDATE = "http://www.eurostar.com/UK/uk/leisure/travel_information/travel_update.jsp"
EUROSTAR_FAQ_FR = (
    "http://www.eurostar.com/FR/fr/leisure/infos_voyageurs/remboursement_indemnisation.jsp"
)
EUROSTAR_REVIEW = "http://www.eurostar.com/UK/uk/leisure/about_eurostar/independent_review.jsp"
_CPC = "?utm_source=google&utm_medium=cpc&utm_campaign=disruption"

EUROSTAR_PAGES: dict[str, Page] = {
    # --- official: eurostar.com, the @little_break account, the CEO's video post ---
    "home_uk": P(
        "http://www.eurostar.com/UK/uk/leisure/index.jsp",
        "Eurostar - high-speed trains to Paris, Brussels and beyond",
        "Book Eurostar tickets from London St Pancras to Paris, Brussels, Lille and Disneyland "
        "Paris.",
        base=1,
    ),
    "update_uk": P(
        EUROSTAR_UPDATE,
        "Eurostar travel update - latest service information",
        "Latest information on Eurostar services after the disruption in the Channel Tunnel: "
        "timetable, refunds and exchanges.",
        since="2009-12-19",
    ),
    "faq_uk": P(
        "http://www.eurostar.com/UK/uk/leisure/travel_information/disruption_faq.jsp",
        "Disruption: your questions answered - Eurostar",
        "Can I travel? How do I get a refund or exchange? How do I claim compensation? "
        "Answers, updated as the situation changes.",
        since="2009-12-19",
    ),
    "twitter": P(
        "http://twitter.com/little_break/",
        "little_break (little_break) on Twitter",
        "Eurostar's 'Little break, big difference' account, posting service updates during "
        "the disruption.",
        since="2009-12-19",
    ),
    "ceo_video": P(
        "http://www.littlebreakbigdifference.com/2009/12/a-message-from-richard-brown/",
        "A message from Richard Brown, Eurostar chief executive (video)",
        "Eurostar's chief executive on what went wrong in the tunnel, the restart of services "
        "and refunds.",
        since="2009-12-21",
    ),
    "review_response": P(
        EUROSTAR_REVIEW,
        "Independent Review: Eurostar's response",
        "The review's recommendations and the changes Eurostar is making to trains, "
        "information and passenger care.",
        since="2010-02-12",
    ),
    "home_fr": P(
        "http://www.eurostar.com/FR/fr/leisure/index.jsp",
        "Eurostar - trains à grande vitesse vers Londres et Bruxelles",
        "Réservez vos billets Eurostar Paris - Londres et Lille - Londres au meilleur prix.",
        base=1,
    ),
    "info_fr": P(
        "http://www.eurostar.com/FR/fr/leisure/infos_voyageurs/info_trafic.jsp",
        "Eurostar - informations trafic",
        "Reprise progressive du service : horaires, trains annulés et conseils aux voyageurs.",
        since="2009-12-19",
    ),
    "faq_fr": P(
        EUROSTAR_FAQ_FR,
        "Remboursement et indemnisation - Eurostar",
        "Voyageurs touchés par les perturbations de décembre : comment obtenir le remboursement "
        "et l'indemnisation.",
        since="2009-12-21",
    ),
    "conditions_fr": P(
        "http://www.eurostar.com/FR/fr/leisure/infos_voyageurs/conditions_remboursement.jsp",
        "Conditions d'échange et de remboursement - Eurostar",
        "Billets échangeables et remboursables : conditions selon le tarif.",
        base=1,
    ),
    "blog_home": P(
        "http://www.littlebreakbigdifference.com/",
        "Little break, big difference - Eurostar",
        "Ideas for a short break in Paris, Brussels and Lille.",
        base=9,
    ),
    # --- official ads ---
    "ad_brand_uk": P(
        "http://www.eurostar.com/UK/uk/leisure/index.jsp?utm_source=google&utm_medium=cpc&utm_campaign=brand",
        "Eurostar™ Official Site",
        "Trains to Paris and Brussels from London St Pancras. Book direct with Eurostar.",
    ),
    "ad_update_uk": P(
        EUROSTAR_UPDATE + _CPC,
        "Eurostar Travel Update",
        "Latest service information, refunds and exchanges. Check before you travel.",
    ),
    "ad_faq_fr": P(
        EUROSTAR_FAQ_FR + _CPC,
        "Eurostar : infos trafic et remboursement",
        "Reprise du service, remboursements et indemnisations : toutes les informations.",
    ),
    "ad_review_uk": P(
        EUROSTAR_REVIEW + "?utm_source=google&utm_medium=cpc&utm_campaign=review",
        "Eurostar Independent Review",
        "Read the review and what we are changing for our passengers.",
    ),
    # --- critical coverage (English) ---
    "bbc_freed": P(
        "http://news.bbc.co.uk/2/hi/uk_news/8421875.stm",
        "BBC News - Thousands freed from Channel Tunnel after trains fail",
        "More than 2,000 people spent hours inside the tunnel after five Eurostar trains broke "
        "down in the cold.",
        since="2009-12-19",
        base=1,
    ),
    "guardian_trapped": P(
        "http://www.guardian.co.uk/uk/2009/dec/19/eurostar-passengers-trapped-channel-tunnel",
        "Eurostar passengers trapped for hours in Channel tunnel | UK news | guardian.co.uk",
        "Passengers describe a night without power, food or information after their trains failed.",
        since="2009-12-19",
        base=2,
    ),
    "telegraph_chaos": P(
        "http://www.telegraph.co.uk/travel/travelnews/6846213/Eurostar-chaos-passengers-stranded-in-Channel-Tunnel.html",
        "Eurostar chaos: passengers stranded in Channel Tunnel - Telegraph",
        "All services cancelled after trains broke down; passengers criticise the lack of "
        "information.",
        since="2009-12-19",
        base=3,
    ),
    "techcrunch": P(
        "http://techcrunch.com/2009/12/19/as-hundreds-of-eurostar-passengers-languish-eurostar-ignores-twitter/",
        "As hundreds of Eurostar passengers languish, Eurostar ignores Twitter",
        "Stranded travellers turned to Twitter for news while the company's own accounts said "
        "little.",
        since="2009-12-20",
        base=4,
    ),
    "telegraph_anger": P(
        "http://www.telegraph.co.uk/travel/travelnews/6852740/Eurostar-passengers-angry-at-lack-of-information.html",
        "Eurostar passengers angry at lack of information - Telegraph",
        "Travellers queueing at St Pancras say they were told nothing for hours.",
        since="2009-12-20",
        base=5,
    ),
    "independent": P(
        "http://www.independent.co.uk/travel/news-and-advice/eurostar-what-went-wrong-1846102.html",
        "Eurostar: what went wrong in the tunnel - The Independent",
        "Snow, condensation and an evacuation plan that did not work: the questions Eurostar "
        "must answer.",
        since="2009-12-21",
        base=6,
    ),
    "guardian_jan7": P(
        "http://www.guardian.co.uk/travel/2010/jan/07/eurostar-train-breaks-down-channel-tunnel",
        "Eurostar train breaks down in Channel tunnel | Travel | guardian.co.uk",
        "Another Eurostar train was stranded in the tunnel this morning and had to be towed out.",
        since="2010-01-08",
        base=2,
    ),
    "bbc_review": P(
        "http://news.bbc.co.uk/2/hi/uk_news/8511232.stm",
        "BBC News - Eurostar independent review published",
        "The review of the December breakdowns sets out what went wrong in the tunnel and in "
        "passenger care.",
        since="2010-02-13",
        base=1,
    ),
    "guardian_review": P(
        "http://www.guardian.co.uk/uk/2010/feb/12/eurostar-review-channel-tunnel",
        "Eurostar review: lessons of the Channel tunnel breakdowns | UK news | guardian.co.uk",
        "The joint Anglo-French review publishes its findings and recommendations.",
        since="2010-02-13",
        base=3,
    ),
    # --- critical coverage (French) ---
    "lemonde": P(
        "http://www.lemonde.fr/europe/article/2009/12/19/eurostar-des-milliers-de-voyageurs-bloques-sous-la-manche_1283031_3214.html",
        "Eurostar : des milliers de voyageurs bloqués sous la Manche - LeMonde.fr",
        "Cinq trains en panne dans le tunnel, plus de 2 000 passagers bloqués pendant des heures.",
        since="2009-12-19",
        base=1,
    ),
    "figaro": P(
        "http://www.lefigaro.fr/actualite-france/2009/12/19/01016-20091219ARTFIG00190-eurostar-nuit-de-cauchemar-sous-la-manche-.php",
        "Eurostar : nuit de cauchemar sous la Manche - Le Figaro",
        "Sans lumière ni information, des passagers racontent leur nuit dans le tunnel.",
        since="2009-12-19",
        base=2,
    ),
    "figaro_claims": P(
        "http://www.lefigaro.fr/conso/2009/12/20/05007-20091220ARTFIG00150-eurostar-les-voyageurs-reclament-des-comptes-.php",
        "Eurostar : les voyageurs réclament des comptes - Le Figaro",
        "Remboursement, indemnisation : les passagers bloqués veulent savoir ce qu'ils peuvent "
        "obtenir.",
        since="2009-12-20",
        base=1,
    ),
    "leparisien": P(
        "http://www.leparisien.fr/faits-divers/eurostar-la-panne-geante-19-12-2009-743120.php",
        "Eurostar : la panne géante - leparisien.fr",
        "Trains immobilisés, voyageurs évacués : le récit d'une nuit de chaos.",
        since="2009-12-19",
        base=3,
    ),
    "20minutes": P(
        "http://www.20minutes.fr/article/371652/Monde-Eurostar-les-passagers-bloques-dans-le-tunnel.php",
        "Eurostar : les passagers bloqués dans le tunnel - 20minutes.fr",
        "Le trafic est interrompu après la panne de plusieurs trains sous la Manche.",
        since="2009-12-19",
        base=4,
    ),
    "lemonde_jan7": P(
        "http://www.lemonde.fr/europe/article/2010/01/07/nouvelle-panne-d-un-eurostar-sous-la-manche_1288593_3214.html",
        "Nouvelle panne d'un Eurostar sous la Manche - LeMonde.fr",
        "Un train Bruxelles - Londres a dû être remorqué hors du tunnel.",
        since="2010-01-08",
        base=3,
    ),
    # --- neutral (English) ---
    "wiki_eurostar": P(
        "http://en.wikipedia.org/wiki/Eurostar",
        "Eurostar - Wikipedia, the free encyclopedia",
        "Eurostar is a high-speed railway service connecting London with Paris and Brussels.",
    ),
    "wiki_tunnel": P(
        "http://en.wikipedia.org/wiki/Channel_Tunnel",
        "Channel Tunnel - Wikipedia, the free encyclopedia",
        "The 50.5 km rail tunnel beneath the English Channel linking Folkestone and Coquelles.",
    ),
    "seat61": P(
        "http://www.seat61.com/London-to-Paris-by-train.htm",
        "London to Paris by Eurostar | The Man in Seat 61",
        "How to travel from London to Paris by train: times, fares and tips.",
    ),
    "eurotunnel": P(
        "http://www.eurotunnel.com/",
        "Eurotunnel Le Shuttle - Folkestone to Calais",
        "Take your car through the Channel Tunnel in 35 minutes.",
    ),
    "stpancras": P(
        "http://www.stpancras.com/",
        "St Pancras International",
        "Station information, shops and restaurants at London St Pancras.",
    ),
    "tripadvisor": P(
        "http://www.tripadvisor.co.uk/ShowTopic-g187147-i14-k2198734-Eurostar_tips-Paris_Ile_de_France.html",
        "Eurostar tips - Paris Forum - TripAdvisor",
        "Travellers share advice on Eurostar tickets, seats and check-in.",
    ),
    "raileurope": P(
        "http://www.raileurope.co.uk/",
        "Rail Europe - train tickets to Europe",
        "Train tickets and passes across Europe.",
    ),
    "nationalrail": P(
        "http://www.nationalrail.co.uk/",
        "National Rail Enquiries",
        "Train times, live departures and journey planning in Great Britain.",
    ),
    "trainline": P(
        "http://www.thetrainline.com/",
        "thetrainline.com - cheap train tickets",
        "Buy UK train tickets online.",
    ),
    "wiki_373": P(
        "http://en.wikipedia.org/wiki/British_Rail_Class_373",
        "British Rail Class 373 - Wikipedia, the free encyclopedia",
        "The TGV-derived trains that run Eurostar services.",
    ),
    "wiki_hs1": P(
        "http://en.wikipedia.org/wiki/High_Speed_1",
        "High Speed 1 - Wikipedia, the free encyclopedia",
        "The high-speed line between London St Pancras and the Channel Tunnel.",
    ),
    "wiki_fire": P(
        "http://en.wikipedia.org/wiki/2008_Channel_Tunnel_fire",
        "2008 Channel Tunnel fire - Wikipedia, the free encyclopedia",
        "The September 2008 fire on a freight shuttle and the months of reduced service.",
    ),
    "railfan": P(
        "http://www.railfaneurope.net/tgv/eurostar.html",
        "Eurostar trainsets - RailfanEurope",
        "Technical notes and photographs of the Eurostar fleet.",
    ),
    "lonelyplanet": P(
        "http://www.lonelyplanet.com/thorntree/forum.jspa?forumID=9",
        "Thorn Tree Travel Forum: Western Europe - Lonely Planet",
        "Questions and answers about travel in Western Europe.",
    ),
    "disney_uk": P(
        "http://www.disneylandparis.co.uk/travel/eurostar.xhtml",
        "Travel to Disneyland Paris by Eurostar",
        "Direct trains from London to Disneyland Paris.",
    ),
    "wiki_ebbsfleet": P(
        "http://en.wikipedia.org/wiki/Ebbsfleet_International_railway_station",
        "Ebbsfleet International railway station - Wikipedia",
        "The Kent station served by Eurostar and Southeastern high-speed trains.",
    ),
    "eurotunnel_group": P(
        "http://www.eurotunnelgroup.com/uk/home/",
        "Groupe Eurotunnel",
        "The company that operates the Channel Tunnel.",
    ),
    "railjournal": P(
        "http://www.railjournal.com/",
        "International Railway Journal",
        "News and analysis for the railway industry.",
    ),
    "mse": P(
        "http://www.moneysavingexpert.com/travel/cheap-eurostar-tickets",
        "Cheap Eurostar tickets - MoneySavingExpert",
        "How to find the cheapest Eurostar fares.",
    ),
    "which": P(
        "http://www.which.co.uk/consumer-rights/train-delays",
        "Train delays: your rights - Which?",
        "What to claim when your train is delayed or cancelled.",
    ),
    "flickr": P(
        "http://www.flickr.com/photos/tags/eurostar/",
        "Flickr: Items tagged with eurostar",
        "Photos of Eurostar trains and stations.",
    ),
    "wiki_gdn": P(
        "http://en.wikipedia.org/wiki/Gare_du_Nord",
        "Gare du Nord - Wikipedia, the free encyclopedia",
        "The Paris terminus of Eurostar and northern lines.",
    ),
    "wiki_tgv": P(
        "http://en.wikipedia.org/wiki/TGV",
        "TGV - Wikipedia, the free encyclopedia",
        "France's high-speed rail service.",
    ),
    "kentonline": P(
        "http://www.kentonline.co.uk/",
        "Kent Online - news for Kent",
        "News from Kent, including Ashford, Ebbsfleet and Folkestone.",
    ),
    # --- neutral coverage and commentary (unlabelled) ---
    "wearesocial": P(
        "http://wearesocial.net/blog/2009/12/note-todays-eurostar-crisis/",
        "Eurostar's social media crisis - We Are Social",
        "The agency behind the Little break campaign on how it used Twitter and Facebook for "
        "Eurostar updates.",
        since="2009-12-20",
        base=6,
    ),
    "brandrepublic": P(
        "http://www.brandrepublic.com/news/974801/crisis-hit-eurostar-turns-social-media/",
        "Crisis-hit Eurostar turns to social media - Brand Republic",
        "Eurostar's marketing accounts became its crisis channel overnight.",
        since="2009-12-21",
        base=8,
    ),
    "cityam": P(
        "http://www.cityam.com/news/eurostar-launches-probe-limited-services-resume-today",
        "Eurostar launches probe as limited services resume today - City A.M.",
        "An independent review will examine the breakdowns; two thirds of trains are expected to "
        "run.",
        since="2009-12-22",
        base=5,
    ),
    "railjournal_heat": P(
        "http://www.railjournal.com/index.php/europe/eurostar-and-eurotunnel-face-heat-over-christmas-failures.html",
        "Eurostar and Eurotunnel face heat over Christmas failures - IRJ",
        "What failed on 18 December and the questions for the independent review.",
        since="2010-01-12",
        base=8,
    ),
    # --- neutral (French) ---
    "wiki_fr_eurostar": P(
        "http://fr.wikipedia.org/wiki/Eurostar",
        "Eurostar — Wikipédia",
        "Eurostar est un service ferroviaire à grande vitesse reliant Londres à Paris et "
        "Bruxelles.",
    ),
    "wiki_fr_tunnel": P(
        "http://fr.wikipedia.org/wiki/Tunnel_sous_la_Manche",
        "Tunnel sous la Manche — Wikipédia",
        "Tunnel ferroviaire de 50,5 km reliant Coquelles à Folkestone.",
    ),
    "vsncf": P(
        "http://www.voyages-sncf.com/train/eurostar",
        "Eurostar : billets de train Paris - Londres | voyages-sncf.com",
        "Réservez votre billet Eurostar pour Londres.",
    ),
    "sncf": P(
        "http://www.sncf.com/",
        "SNCF - Société nationale des chemins de fer français",
        "Informations voyageurs, horaires et services de la SNCF.",
    ),
    "eurotunnel_fr": P(
        "http://www.eurotunnel.com/fr/",
        "Eurotunnel Le Shuttle - Calais - Folkestone",
        "Traversez la Manche avec votre voiture en 35 minutes.",
    ),
    "routard": P(
        "http://www.routard.com/forum_message/1726534/eurostar.htm",
        "Eurostar - Forum Grande-Bretagne - Routard.com",
        "Conseils de voyageurs sur les billets et les horaires Eurostar.",
    ),
    "wiki_fr_gdn": P(
        "http://fr.wikipedia.org/wiki/Gare_de_Paris-Nord",
        "Gare de Paris-Nord — Wikipédia",
        "La gare parisienne des Eurostar et des Thalys.",
    ),
    "wiki_fr_tmst": P(
        "http://fr.wikipedia.org/wiki/TGV_TMST",
        "TGV TMST — Wikipédia",
        "Les rames à grande vitesse utilisées par Eurostar.",
    ),
    "service_public": P(
        "http://vosdroits.service-public.fr/particuliers/F2362.xhtml",
        "Transport ferroviaire : droits des voyageurs - service-public.fr",
        "Retard, annulation : les droits des voyageurs et les démarches.",
    ),
    "quechoisir": P(
        "http://www.quechoisir.org/transport/train/",
        "Train - UFC-Que Choisir",
        "Tarifs, retards, remboursements : les conseils de l'UFC-Que Choisir.",
    ),
    "dailymotion": P(
        "http://www.dailymotion.com/tag/eurostar",
        "Vidéos eurostar - Dailymotion",
        "Vidéos sur Eurostar.",
    ),
    "tripadvisor_fr": P(
        "http://www.tripadvisor.fr/ShowTopic-g186338-i90-k2201345-Eurostar-Londres.html",
        "Eurostar - Forum Londres - TripAdvisor",
        "Questions de voyageurs sur Eurostar.",
    ),
    "thalys": P(
        "http://www.thalys.com/fr/fr/",
        "Thalys - trains à grande vitesse vers Bruxelles, Amsterdam et Cologne",
        "Réservez votre billet Thalys.",
    ),
    "disney_fr": P(
        "http://www.disneylandparis.fr/",
        "Disneyland Paris",
        "Séjours et billets pour Disneyland Paris.",
    ),
    "fnaut": P(
        "http://www.fnaut.fr/",
        "FNAUT - Fédération nationale des associations d'usagers des transports",
        "La fédération des usagers des transports.",
    ),
    "cec": P(
        "http://www.europe-consommateurs.eu/",
        "Centre Européen des Consommateurs France",
        "Litiges de consommation transfrontaliers : informations et aide.",
    ),
    "ec_rail": P(
        "http://ec.europa.eu/transport/passengers/rail/index_fr.htm",
        "Droits des passagers ferroviaires - Commission européenne",
        "Le règlement européen sur les droits des voyageurs ferroviaires.",
    ),
    "idtgv": P(
        "http://www.idtgv.com/",
        "iDTGV - billets de train",
        "Trains à petits prix.",
    ),
    "visitlondon_fr": P(
        "http://www.visitlondon.com/fr/",
        "Visiter Londres - visitlondon.com",
        "Le guide officiel de Londres.",
    ),
    "wiki_fr_incendie": P(
        "http://fr.wikipedia.org/wiki/Incendie_du_tunnel_sous_la_Manche_de_2008",
        "Incendie du tunnel sous la Manche de 2008 — Wikipédia",
        "L'incendie de septembre 2008 et ses conséquences sur le trafic.",
    ),
    "lexpress_voyage": P(
        "http://www.lexpress.fr/styles/voyage/",
        "Voyage - L'Express",
        "Destinations, bons plans et actualité du voyage.",
    ),
    "rail_passion": P(
        "http://www.rail-passion.net/",
        "Rail Passion",
        "Le magazine de l'actualité ferroviaire.",
    ),
    # --- neutral French coverage (unlabelled) ---
    "france24": P(
        "http://www.france24.com/fr/20091219-eurostar-trafic-interrompu-pannes-tunnel-manche",
        "Eurostar : trafic interrompu après des pannes sous la Manche - France 24",
        "Le trafic Eurostar est suspendu après l'immobilisation de cinq trains dans le tunnel.",
        since="2009-12-19",
        base=5,
    ),
    "liberation": P(
        "http://www.liberation.fr/societe/0101609761-eurostar-reprise-partielle-du-trafic",
        "Eurostar : reprise partielle du trafic - Libération",
        "Les trains circulent de nouveau, avec un service réduit jusqu'à Noël.",
        since="2009-12-22",
        base=6,
    ),
    # --- neutral advertisers ---
    "ad_po": P(
        "http://www.poferries.com/",
        "P&O Ferries - Dover to Calais",
        "Sailings every day between Dover and Calais. Book online.",
    ),
    "ad_easyjet": P(
        "http://www.easyjet.com/en/",
        "easyJet - flights to Paris",
        "Flights from London to Paris. Book online.",
    ),
    "ad_brittany": P(
        "http://www.brittany-ferries.fr/",
        "Brittany Ferries - traversées vers l'Angleterre",
        "Réservez votre traversée Manche en ligne.",
    ),
    "ad_airfrance": P(
        "http://www.airfrance.fr/",
        "Air France - vols Paris - Londres",
        "Réservez votre vol pour Londres.",
    ),
    "ad_vsncf": P(
        "http://www.voyages-sncf.com/",
        "voyages-sncf.com - billets de train",
        "Billets de train en France et en Europe.",
    ),
}

_EN_NEUTRAL = (
    "wiki_eurostar",
    "seat61",
    "wiki_tunnel",
    "eurotunnel",
    "stpancras",
    "tripadvisor",
    "raileurope",
    "wiki_373",
    "nationalrail",
    "trainline",
    "wiki_hs1",
    "wiki_fire",
    "railfan",
    "lonelyplanet",
    "disney_uk",
    "wiki_ebbsfleet",
    "eurotunnel_group",
    "railjournal",
    "mse",
    "which",
    "flickr",
    "wiki_gdn",
    "wiki_tgv",
    "kentonline",
)
_EN_CRISIS_NEUTRAL = ("wearesocial", "brandrepublic", "cityam", "railjournal_heat")
_FR_NEUTRAL = (
    "wiki_fr_eurostar",
    "vsncf",
    "wiki_fr_tunnel",
    "sncf",
    "eurotunnel_fr",
    "routard",
    "wiki_fr_gdn",
    "wiki_fr_tmst",
    "service_public",
    "quechoisir",
    "dailymotion",
    "tripadvisor_fr",
    "thalys",
    "disney_fr",
    "fnaut",
    "cec",
    "ec_rail",
    "idtgv",
    "visitlondon_fr",
    "wiki_fr_incendie",
    "lexpress_voyage",
    "rail_passion",
)
_FR_CRISIS_NEUTRAL = ("france24", "liberation")

EUROSTAR = Scenario(
    name="eurostar-2009",
    brand="Eurostar",
    description=(
        "Eurostar trains stranded in the Channel Tunnel, December 2009: illustrative "
        "reconstruction, not recorded results"
    ),
    header=(
        "Eurostar, December 2009: five trains stranded in the Channel Tunnel.\n"
        "ILLUSTRATIVE RECONSTRUCTION, NOT RECORDED RESULTS. The events and their dates are real;\n"
        "every result page under fixtures/ (ranks, titles, snippets) was written for this demo\n"
        "by tools/make_demo_data.py, which regenerates this folder. Run it with: serptrack demo"
    ),
    crisis_start="2009-12-18",
    first="2009-12-14",
    last="2010-02-14",
    observed_time="07:00:00",  # 07:00 in London, 08:00 in Paris
    defaults={"country": "gb", "language": "en"},
    domains=("eurostar.com", "littlebreakbigdifference.com"),
    accounts=("twitter.com/little_break",),
    official_labels=(
        "eurostar.com",
        "https://twitter.com/little_break",
        "https://littlebreakbigdifference.com/2009/12/a-message-from-richard-brown",
    ),
    critical_labels=(
        "https://news.bbc.co.uk/2/hi/uk_news/8421875.stm",
        "https://news.bbc.co.uk/2/hi/uk_news/8511232.stm",
        "https://guardian.co.uk/uk/2009/dec/19/eurostar-passengers-trapped-channel-tunnel",
        "https://guardian.co.uk/travel/2010/jan/07/eurostar-train-breaks-down-channel-tunnel",
        "https://guardian.co.uk/uk/2010/feb/12/eurostar-review-channel-tunnel",
        "https://techcrunch.com/2009/12/19/as-hundreds-of-eurostar-passengers-languish-eurostar-ignores-twitter",
        "https://independent.co.uk/travel/news-and-advice/eurostar-what-went-wrong-1846102.html",
        "telegraph.co.uk/travel/travelnews/*",
        "https://lemonde.fr/europe/article/2009/12/19/eurostar-des-milliers-de-voyageurs-bloques-sous-la-manche_1283031_3214.html",
        "https://lemonde.fr/europe/article/2010/01/07/nouvelle-panne-d-un-eurostar-sous-la-manche_1288593_3214.html",
        "https://lefigaro.fr/actualite-france/2009/12/19/01016-20091219ARTFIG00190-eurostar-nuit-de-cauchemar-sous-la-manche-.php",
        "https://lefigaro.fr/conso/2009/12/20/05007-20091220ARTFIG00150-eurostar-les-voyageurs-reclament-des-comptes-.php",
        "re:(?i)^https://(leparisien|20minutes)\\.fr/.*eurostar",
    ),
    annotations=(
        Annotation(
            "2009-12-18",
            "Evening: five Eurostar trains break down in the Channel Tunnel (snow in the power "
            "cars melting in the warm tunnel); more than 2,000 passengers stranded for hours",
        ),
        Annotation(
            "2009-12-19",
            "All services cancelled; from late morning Eurostar posts updates on Twitter "
            "(@little_break) and Facebook and starts a frequently-asked-questions page",
        ),
        Annotation(
            "2009-12-20",
            "Paid search on the crisis keywords starts: the travel update bought into first "
            "place (illustrative date)",
        ),
        Annotation(
            "2009-12-20",
            "Video message from chief executive Richard Brown on the 'Little break, big "
            "difference' blog (filmed by We Are Social; day illustrative)",
        ),
        Annotation(
            "2009-12-21",
            "Third day without trains; independent review (Christopher Garnett, Claude Gressier) "
            "announced; Richard Brown's open letter in full-page press ads",
        ),
        Annotation("2009-12-22", "Limited Eurostar services resume"),
        Annotation("2009-12-25", "Collector down: no check on any keyword"),
        Annotation("2010-01-04", "Ads stop on 'eurostar panne'", query="eurostar panne"),
        Annotation("2010-01-06", "Ads stop on 'eurostar tunnel'", query="eurostar tunnel"),
        Annotation(
            "2010-01-07",
            "Another Eurostar train (Brussels-London) breaks down in the tunnel and is towed out",
        ),
        Annotation("2010-01-11", "Ads stop on 'eurostar breakdown'", query="eurostar breakdown"),
        Annotation(
            "2010-01-18",
            "Eurostar expects to pay about £10m in compensation; second letter of apology from "
            "Richard Brown",
        ),
        Annotation(
            "2010-01-18", "Ads stop on 'eurostar remboursement'", query="eurostar remboursement"
        ),
        Annotation(
            "2010-02-12",
            "Independent review published; Eurostar answers with a response page and ads on "
            "'eurostar breakdown' (ads illustrative)",
        ),
    ),
    pages=EUROSTAR_PAGES,
    missing_days=("2009-12-25",),
    accent="#1c355e",
    keywords=(
        Storyline(
            query="eurostar",
            country="gb",
            language="en",
            tags=("brand",),
            file_suffix=".gb-en-desktop",
            summary=(
                "Brand query. Breaking news outranks eurostar.com from 19 to 21 Dec (organic "
                "lost on 19 Dec, regained 22 Dec), but the brand ad Eurostar always runs keeps "
                "the page: no page event."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-18", 1, None, lead_official="home_uk"),
                Phase(
                    "2009-12-19",
                    "2009-12-21",
                    2,
                    1,
                    lead_official="home_uk",
                    lead_critical="bbc_freed",
                    note="BBC story above eurostar.com",
                ),
                Phase("2009-12-22", "2010-01-10", 1, (3, 8), lead_official="home_uk"),
                Phase("2010-01-11", "2010-02-14", 1, (9, 12), lead_official="home_uk"),
            ),
            official=("home_uk", "update_uk", "twitter"),
            critical=(
                "bbc_freed",
                "guardian_trapped",
                "telegraph_chaos",
                "techcrunch",
                "guardian_jan7",
            ),
            neutral=("blog_home", *_EN_CRISIS_NEUTRAL, *_EN_NEUTRAL),
            ads=(Ad("2009-12-14", "2010-02-14", "ad_brand_uk"),),
            rival_ads=("ad_po", "ad_easyjet"),
            news=(
                NewsBox("2009-12-19", "2009-12-23", 2, ("bbc_freed", "telegraph_chaos", "cityam")),
                NewsBox("2010-01-08", "2010-01-09", 2, ("guardian_jan7",)),
            ),
            extra_official=2,
            extra_critical=2,
        ),
        Storyline(
            query="eurostar",
            country="fr",
            language="fr",
            tags=("brand", "france"),
            file_suffix=".fr-fr-desktop",
            summary=(
                "French brand query: eurostar.com stays organic #1, no ads. A news box on top "
                "of the page (19-23 Dec) gives the critics the page view (page lost 19 Dec, "
                "page overtake 24 Dec when the box moves below #2). No file on 1 Feb."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-18", 1, None, lead_official="home_fr"),
                Phase("2009-12-19", "2010-01-10", 1, (3, 8), lead_official="home_fr"),
                Phase("2010-01-11", "2010-01-24", 1, (9, 15), lead_official="home_fr"),
                Phase("2010-01-25", "2010-02-14", 1, None, lead_official="home_fr"),
            ),
            official=("home_fr", "info_fr", "conditions_fr"),
            critical=("lemonde", "figaro", "leparisien", "20minutes"),
            neutral=_FR_CRISIS_NEUTRAL + _FR_NEUTRAL,
            rival_ads=("ad_vsncf",),
            news=(
                NewsBox("2009-12-19", "2009-12-23", 0, ("lemonde", "figaro", "france24")),
                NewsBox("2009-12-24", "2009-12-28", 2, ("liberation", "figaro")),
            ),
            missing=("2010-02-01",),
            extra_official=1,
            extra_critical=2,
        ),
        Storyline(
            query="eurostar breakdown",
            country="gb",
            language="en",
            tags=("crisis",),
            summary=(
                "The travel update enters at #9 on 20 Dec with a top ad the same day (page "
                "overtake 20 Dec) and takes organic #1 on 28 Dec. The ad keeps running until "
                "10 Jan (redundant). On 13 Feb the review coverage retakes organic #1 (organic "
                "lost) while a new ad for Eurostar's response (from 12 Feb) keeps the page. "
                "Blocked check on 30 Dec."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-18", None, None),
                Phase("2009-12-19", "2009-12-19", None, 1),
                Phase("2009-12-20", "2009-12-27", (9, 2), 1, lead_official="update_uk"),
                Phase("2009-12-28", "2010-02-12", 1, (2, 4), lead_official="faq_uk"),
                Phase(
                    "2010-02-13",
                    "2010-02-14",
                    2,
                    1,
                    lead_official="faq_uk",
                    lead_critical="bbc_review",
                    note="review coverage on top",
                ),
            ),
            official=("update_uk", "faq_uk", "twitter", "review_response"),
            critical=(
                "bbc_freed",
                "telegraph_chaos",
                "guardian_trapped",
                "techcrunch",
                "independent",
                "telegraph_anger",
                "guardian_jan7",
                "bbc_review",
                "guardian_review",
            ),
            neutral=_EN_CRISIS_NEUTRAL + _EN_NEUTRAL,
            ads=(
                Ad("2009-12-20", "2010-01-10", "ad_update_uk"),
                Ad("2010-02-12", "2010-02-14", "ad_review_uk"),
            ),
            rival_ads=("ad_po",),
            news=(
                NewsBox("2009-12-19", "2009-12-27", 3, ("bbc_freed", "guardian_trapped", "cityam")),
                NewsBox("2010-02-13", "2010-02-14", 3, ("bbc_review", "guardian_review")),
            ),
            blocked=("2009-12-30",),
            extra_official=2,
        ),
        Storyline(
            query="eurostar tunnel",
            country="gb",
            language="en",
            tags=("crisis",),
            summary=(
                "The CEO's video post enters on 21 Dec with a top ad (page overtake 21 Dec) and "
                "takes organic #1 on 30 Dec; ads stop after 5 Jan. The 7 Jan breakdown puts the "
                "Guardian on top from 8 to 11 Jan (lost in both views), and the official side "
                "regains both on 12 Jan. No file on 17 Jan."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-18", None, None),
                Phase("2009-12-19", "2009-12-20", None, 1),
                Phase("2009-12-21", "2009-12-29", (11, 2), 1, lead_official="ceo_video"),
                Phase("2009-12-30", "2010-01-07", 1, 2, lead_official="ceo_video"),
                Phase(
                    "2010-01-08",
                    "2010-01-11",
                    3,
                    1,
                    lead_official="ceo_video",
                    lead_critical="guardian_jan7",
                    note="new breakdown on 7 Jan",
                ),
                Phase("2010-01-12", "2010-02-14", 1, (2, 5), lead_official="ceo_video"),
            ),
            official=("ceo_video", "twitter", "update_uk", "faq_uk"),
            critical=(
                "bbc_freed",
                "guardian_trapped",
                "telegraph_chaos",
                "independent",
                "techcrunch",
                "guardian_jan7",
            ),
            neutral=_EN_CRISIS_NEUTRAL + _EN_NEUTRAL,
            ads=(Ad("2009-12-21", "2010-01-05", "ad_update_uk"),),
            rival_ads=("ad_po", "ad_easyjet"),
            news=(
                NewsBox("2009-12-19", "2009-12-24", 4, ("bbc_freed", "telegraph_chaos")),
                NewsBox("2010-01-08", "2010-01-10", 4, ("guardian_jan7",)),
            ),
            missing=("2010-01-17",),
            extra_official=2,
        ),
        Storyline(
            query="eurostar panne",
            country="fr",
            language="fr",
            tags=("crisis", "france"),
            summary=(
                "French coverage holds organic #1 throughout; eurostar.com's traffic page never "
                "gets above #4. The ad (20 Dec - 3 Jan) is the official side's only lead: page "
                "overtake 20 Dec, page lost 4 Jan. No file on 1 Feb."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-18", None, None),
                Phase("2009-12-19", "2009-12-20", None, 1, lead_critical="lemonde"),
                Phase(
                    "2009-12-21",
                    "2009-12-31",
                    (12, 5),
                    1,
                    lead_official="info_fr",
                    lead_critical="lemonde",
                ),
                Phase(
                    "2010-01-01",
                    "2010-01-07",
                    (5, 4),
                    1,
                    lead_official="info_fr",
                    lead_critical="lemonde",
                ),
                Phase(
                    "2010-01-08",
                    "2010-01-12",
                    4,
                    1,
                    lead_official="info_fr",
                    lead_critical="lemonde_jan7",
                ),
                Phase(
                    "2010-01-13",
                    "2010-02-14",
                    (4, 5),
                    1,
                    lead_official="info_fr",
                    lead_critical="lemonde",
                ),
            ),
            official=("info_fr", "faq_fr"),
            critical=("lemonde", "figaro", "leparisien", "20minutes", "lemonde_jan7"),
            neutral=_FR_CRISIS_NEUTRAL + _FR_NEUTRAL,
            ads=(Ad("2009-12-20", "2010-01-03", "ad_faq_fr"),),
            rival_ads=("ad_brittany", "ad_airfrance"),
            news=(NewsBox("2009-12-19", "2009-12-26", 3, ("lemonde", "figaro", "france24")),),
            missing=("2010-02-01",),
            extra_official=1,
        ),
        Storyline(
            query="eurostar remboursement",
            country="fr",
            language="fr",
            tags=("france", "refunds"),
            summary=(
                "Before the crisis Eurostar's refund conditions lead. Le Figaro's piece on "
                "passengers' claims takes #1 on 20 Dec (lost in both views). The ad from 21 Dec "
                "wins the page back; the refund FAQ is organic #1 from 23 Dec; ads run on "
                "until 17 Jan (redundant). SerpApi error on 20 Jan; no file on 1 Feb."
            ),
            phases=(
                Phase("2009-12-14", "2009-12-19", 1, None, lead_official="conditions_fr"),
                Phase(
                    "2009-12-20",
                    "2009-12-22",
                    3,
                    1,
                    lead_official="conditions_fr",
                    lead_critical="figaro_claims",
                ),
                Phase(
                    "2009-12-23",
                    "2010-02-14",
                    1,
                    (2, 4),
                    lead_official="faq_fr",
                    lead_critical="figaro_claims",
                ),
            ),
            official=("faq_fr", "conditions_fr", "info_fr"),
            critical=("figaro_claims", "lemonde", "leparisien", "20minutes"),
            neutral=(
                *_FR_CRISIS_NEUTRAL,
                "service_public",
                "quechoisir",
                "cec",
                "ec_rail",
                "fnaut",
                "vsncf",
                "wiki_fr_eurostar",
                "routard",
                "tripadvisor_fr",
                "sncf",
                "idtgv",
                "thalys",
                "eurotunnel_fr",
                "lexpress_voyage",
                "wiki_fr_tunnel",
                "dailymotion",
                "disney_fr",
                "visitlondon_fr",
                "wiki_fr_tmst",
                "rail_passion",
                "wiki_fr_gdn",
                "wiki_fr_incendie",
            ),
            ads=(Ad("2009-12-21", "2010-01-17", "ad_faq_fr"),),
            rival_ads=("ad_vsncf",),
            api_error=("2010-01-20",),
            missing=("2010-02-01",),
            extra_official=2,
            extra_critical=3,
        ),
    ),
    sources=(
        "BBC News 8421875, 19 December 2009: more than 2,000 people trapped after five Eurostar "
        "trains failed; all Saturday services cancelled",
        "International Railway Journal: 18 December 2009, five trains; services suspended 19-21 "
        "December; independent inquiry led by Christopher Garnett",
        "BBC News (via newssniffer) and Railnews 6 January 2010: services resumed on Tuesday "
        "22 December after three days with no service",
        "City A.M.: Eurostar launched an independent review (Garnett, Gressier) the day before "
        "limited services resumed",
        "Marketing Week, 21 December 2009: Richard Brown's open letter in full-page print ads",
        "We Are Social blog, 19 and 26 December 2009: Twitter (@little_break) and Facebook "
        "updates from late Saturday morning, FAQ updated many times, video Q&A with Nick "
        "Mercer (Monday 21 Dec), video message from the chief executive",
        "TechCrunch, 19 December 2009: Eurostar's Twitter account is @little_break",
        "The Guardian, 7 January 2010: a Brussels-London Eurostar breaks down in the tunnel",
        "AFP / Kent Online, 18 January 2010: about £10m compensation, second apology letter",
        "Eurostar Independent Review, dated 12 February 2010; Railnews, 12 February 2010",
    ),
)

SCENARIOS = (SKYPE, EUROSTAR)


# =============================================================================================
# Building the pages
# =============================================================================================


def days(first: str, last: str) -> Iterator[dt.date]:
    """Every day from ``first`` to ``last`` inclusive."""
    day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _within(day: dt.date, first: str, last: str) -> bool:
    return dt.date.fromisoformat(first) <= day <= dt.date.fromisoformat(last)


def _available(page: Page, day: dt.date) -> bool:
    return page.since is None or dt.date.fromisoformat(page.since) <= day


def _rank_on(value: Rank, phase: Phase, day: dt.date) -> int | None:
    if value is None or isinstance(value, int):
        return value
    start, end = value
    span = (dt.date.fromisoformat(phase.last) - dt.date.fromisoformat(phase.first)).days
    done = (day - dt.date.fromisoformat(phase.first)).days
    return int(start + (end - start) * (done / span if span else 1) + 0.5)


def phase_of(story: Storyline, day: dt.date) -> Phase:
    """The phase covering ``day`` (every day of the scenario must be covered)."""
    for phase in story.phases:
        if _within(day, phase.first, phase.last):
            return phase
    raise ValueError(f"{story.query}: no phase covers {day}")


def _lead(keys: Sequence[str], chosen: str | None, pages: dict[str, Page], day: dt.date) -> str:
    if chosen is not None:
        if not _available(pages[chosen], day):
            raise ValueError(f"{chosen} leads on {day} but only appears from {pages[chosen].since}")
        return chosen
    for key in keys:
        if _available(pages[key], day):
            return key
    raise ValueError(f"no page available on {day} among {keys}")


def organic_results(
    scenario: Scenario, story: Storyline, day: dt.date, rnd: random.Random
) -> list[tuple[str, str]]:
    """The day's top 20 as (page key, stance) pairs, honouring the storyline's O and C."""
    pages = scenario.pages
    phase = phase_of(story, day)
    o_rank = _rank_on(phase.official, phase, day)
    c_rank = _rank_on(phase.critical, phase, day)
    slots: dict[int, tuple[str, str]] = {}
    used: set[str] = set()
    if o_rank is not None:
        lead = _lead(story.official, phase.lead_official, pages, day)
        slots[o_rank] = (lead, "official")
        used.add(lead)
    if c_rank is not None:
        lead = _lead(story.critical, phase.lead_critical, pages, day)
        slots[c_rank] = (lead, "critical")
        used.add(lead)

    def candidates(keys: Iterable[str], limit: int, stance: str) -> list[tuple[float, str, str]]:
        found = []
        for key in keys:
            page = pages[key]
            if key in used or not _available(page, day):
                continue
            age = (day - dt.date.fromisoformat(page.since)).days if page.since else 0
            drift = max(0, age - 7) * 0.25 if stance == "critical" else 0.0
            found.append((page.base + drift + rnd.uniform(-1.2, 1.2), key, stance))
        return sorted(found)[:limit]  # the strongest ``limit`` pages of that side

    pool = []
    if o_rank is not None:
        pool += candidates(story.official, story.extra_official, "official")
    if c_rank is not None:
        pool += candidates(story.critical, story.extra_critical, "critical")
    for index, key in enumerate(story.neutral):
        page = pages[key]
        if key in used or not _available(page, day):
            continue
        base = page.base if page.since else 4 + index * 0.9
        pool.append((base + rnd.uniform(-1.5, 1.5), key, "neutral"))
    pool.sort()

    result = []
    for position in range(1, ORGANIC_DEPTH + 1):
        if position in slots:
            result.append(slots[position])
            continue
        for index, (_score, key, stance) in enumerate(pool):
            if stance == "official" and (o_rank is None or position <= o_rank):
                continue
            if stance == "critical" and (c_rank is None or position <= c_rank):
                continue
            result.append((key, stance))
            del pool[index]
            break
        else:
            raise ValueError(f"{story.query} {day}: not enough pages to fill organic #{position}")
    return result


def build_snapshot(scenario: Scenario, story: Storyline, day: dt.date) -> dict[str, object]:
    """The ``serptrack-snapshot/1`` document of one keyword on one day."""
    rnd = random.Random(f"{scenario.name}|{story.query}|{story.country}|{day.isoformat()}")
    pages = scenario.pages
    organic = organic_results(scenario, story, day, rnd)

    top: list[dict[str, object]] = []
    bottom: list[dict[str, object]] = []
    for ad in story.ads:
        if _within(day, ad.first, ad.last):
            (top if ad.block == "top" else bottom).append(_item(pages[ad.page], "paid", ad.block))
    if story.rival_ads:
        count = rnd.choice((0, 1, 1, 2))
        for key in rnd.sample(story.rival_ads, min(count, len(story.rival_ads))):
            top.append(_item(pages[key], "paid", "top"))
    if story.bottom_rivals and rnd.random() < 0.5:
        bottom.append(_item(pages[rnd.choice(story.bottom_rivals)], "paid", "bottom"))

    news: list[dict[str, object]] = []
    after = 0
    for box in story.news:
        if _within(day, box.first, box.last):
            news = [_item(pages[k], "news") for k in box.pages if _available(pages[k], day)]
            after = box.after
    main = [_item(pages[key], "organic") for key, _stance in organic]
    page_one = main[:10]
    page_one[after:after] = news
    items = top + page_one + bottom + main[10:]
    _number(items)
    observed = f"{day.isoformat()}T{scenario.observed_time}Z"
    return {
        "format": FORMAT,
        "source": SOURCE,
        "query": story.query,
        "engine": "google",
        "country": story.country,
        "language": story.language,
        "device": "desktop",
        "observed_at": observed,
        "results": items,
    }


def _item(page: Page, placement: str, block: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {"placement": placement}
    if block is not None:
        item["block"] = block
    item.update(url=page.url, title=page.title, snippet=page.snippet)
    return item


def _number(items: list[dict[str, object]]) -> None:
    """Set rank and page_position as SPEC section 3 defines them (paid: top block first)."""
    top_paid = sum(1 for i in items if i["placement"] == "paid" and i.get("block") == "top")
    counters: dict[str, int] = {}
    other_paid = 0
    for position, item in enumerate(items, start=1):
        placement = str(item["placement"])
        if placement == "paid" and item.get("block") != "top":
            other_paid += 1
            rank = top_paid + other_paid
        else:
            rank = counters[placement] = counters.get(placement, 0) + 1
        numbered: dict[str, object] = {"placement": placement}
        if "block" in item:
            numbered["block"] = item["block"]
        numbered.update(rank=rank, page_position=position)
        numbered.update({k: v for k, v in item.items() if k not in numbered})
        item.clear()
        item.update(numbered)


def snapshot_text(doc: dict[str, object]) -> str:
    """One result per line: small, diffable and easy to read.

    ``rank`` and ``page_position`` are left out (SPEC section 4: the list order is the page
    order), which keeps both scenarios under 4 MB; :func:`day_state` uses the numbers.
    """
    head = {k: v for k, v in doc.items() if k != "results"}
    lines = ["{" + json.dumps(head, ensure_ascii=False)[1:-1] + ","]
    results = doc["results"]
    assert isinstance(results, list)
    lines.append(' "results": [')
    for index, item in enumerate(results):
        comma = "," if index < len(results) - 1 else ""
        shown = {k: v for k, v in item.items() if k not in ("rank", "page_position")}
        lines.append("  " + json.dumps(shown, ensure_ascii=False) + comma)
    lines.append("]}")
    return "\n".join(lines) + "\n"


def blocked_page(query: str, day: dt.date, observed_time: str) -> str:
    """A minimal Google "unusual traffic" /sorry/ page, as a scraper would have saved it."""
    q = query.replace(" ", "+")
    return f"""<!DOCTYPE html>
<!-- illustrative reconstruction: a saved Google block page standing for a blocked check -->
<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">
<title>https://www.google.com/search?q={q}</title></head>
<body>
<div id="main"><form id="captcha-form" action="https://www.google.com/sorry/index" method="post">
<p>Our systems have detected unusual traffic from your computer network. This page checks to
see if it's really you sending the requests, and not a robot.</p>
<input type="hidden" name="continue" value="https://www.google.com/search?q={q}">
<input type="submit" value="Submit">
</form></div>
<div>IP address: 192.0.2.15<br>Time: {day.isoformat()}T{observed_time}Z<br>
URL: https://www.google.com/search?q={q}</div>
</body></html>
"""


API_ERROR_BODY = '{"error": "Your account has run out of searches."}\n'


def slugify(query: str) -> str:
    """The replay slug (SPEC section 5): the replay provider's own, so the files replay."""
    from serptrack.providers.replay import slugify as replay_slugify

    return replay_slugify(query)


# =============================================================================================
# What the pages imply: SPEC section 6 applied to the generated snapshots
# =============================================================================================


@dataclass
class DayState:
    day: dt.date
    status: str  # ok, missing, blocked, api-error
    organic: tuple[int | None, int | None] = (None, None)
    page: tuple[int | None, int | None] = (None, None)
    top_ad: bool = False
    any_ad: bool = False


def stances(scenario: Scenario) -> dict[str, str]:
    """Stance of each page key, as the campaign's labels decide (checked against serptrack)."""
    from serptrack.classify import Labeller, parse_rule
    from serptrack.urls import normalise_url

    rules = [parse_rule("official", p) for p in scenario.official_labels]
    rules += [parse_rule("critical", p) for p in scenario.critical_labels]
    labeller = Labeller(rules)
    return {
        key: labeller.stance_of(normalise_url(page.url)) for key, page in scenario.pages.items()
    }


def leader(o: int | None, c: int | None) -> str | None:
    if o is not None and (c is None or o < c):
        return "official"
    if c is not None and (o is None or c < o):
        return "critical"
    return None


def events(states: Sequence[DayState], view: str) -> list[tuple[str, dt.date]]:
    """Overtake and lost events with hold 1 (SPEC section 6)."""
    found = []
    current = None
    for state in states:
        if state.status != "ok":
            continue
        o, c = state.organic if view == "organic" else state.page
        now = leader(o, c)
        if now is None or now == current:
            continue
        if current is not None:
            found.append(("overtake" if now == "official" else "lost", state.day))
        current = now
    return found


def day_state(doc: dict[str, object], stance_of_url: dict[str, str], day: dt.date) -> DayState:
    best: dict[tuple[str, str], int] = {}
    top_ad = any_ad = False
    results = doc["results"]
    assert isinstance(results, list)
    for item in results:
        stance = stance_of_url[item["url"]]
        if item["placement"] == "paid" and stance == "official":
            any_ad = True
            top_ad = top_ad or item.get("block") == "top"
        if stance == "neutral":
            continue
        key = ("page", stance)
        best[key] = min(best.get(key, 10**6), item["page_position"])
        if item["placement"] == "organic":
            key = ("organic", stance)
            best[key] = min(best.get(key, 10**6), item["rank"])
    return DayState(
        day,
        "ok",
        (best.get(("organic", "official")), best.get(("organic", "critical"))),
        (best.get(("page", "official")), best.get(("page", "critical"))),
        top_ad,
        any_ad,
    )


# =============================================================================================
# Writing a scenario
# =============================================================================================


def campaign_toml(scenario: Scenario) -> str:
    """The campaign file, with its "illustrative reconstruction" header."""
    out = [f"# {line}" if line else "#" for line in scenario.header.splitlines()]
    out += ["", "[campaign]", f"name = {_q(scenario.name)}", f"brand = {_q(scenario.brand)}"]
    out.append(f"crisis_start = {scenario.crisis_start}")
    out.append(f"description = {_q(scenario.description)}")
    out.append(f"domains = {_list(scenario.domains)}")
    out.append(f"accounts = {_list(scenario.accounts)}")
    out += ["", "[report]", f"agency = {_q(REPORT_AGENCY)}", f"client = {_q(scenario.brand)}"]
    out += ['logo = "logo.svg"', f"accent = {_q(scenario.accent)}", f"notice = {_q(REPORT_NOTICE)}"]
    out += ["", "[defaults]", 'provider = "replay"', 'engine = "google"']
    out += [f"{k} = {_q(v)}" for k, v in scenario.defaults.items()]
    out += ['device = "desktop"', "depth = 20", 'schedule = "1d"']
    out += ["", "[providers.replay]", 'path = "fixtures"']
    for story in scenario.keywords:
        out += ["", "[[keywords]]", f"query = {_q(story.query)}"]
        if story.country != scenario.defaults["country"]:
            out.append(f"country = {_q(story.country)}")
        if story.language != scenario.defaults["language"]:
            out.append(f"language = {_q(story.language)}")
        if story.tags:
            out.append(f"tags = {_list(story.tags)}")
    out += ["", "[labels]", "official = ["]
    out += [f"    {_q(p)}," for p in scenario.official_labels]
    out += ["]", "critical = ["]
    out += [f"    {_q(p)}," for p in scenario.critical_labels]
    out.append("]")
    for note in sorted(scenario.annotations, key=lambda a: a.date):
        out += ["", "[[annotations]]", f"date = {note.date}", f"text = {_q(note.text)}"]
        if note.query:
            out.append(f"query = {_q(note.query)}")
    return "\n".join(out) + "\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


def write_scenario(scenario: Scenario, out: Path) -> list[str]:
    """Write one scenario folder; return the README's event lines (also printed)."""
    folder = out / scenario.name
    if folder.exists():
        shutil.rmtree(folder)
    fixtures = folder / "fixtures"
    fixtures.mkdir(parents=True)
    (folder / "campaign.toml").write_text(campaign_toml(scenario), encoding="utf-8")
    (folder / "logo.svg").write_text(LOGO_SVG, encoding="utf-8")
    stance_of_key = stances(scenario)
    stance_of_url = {page.url: stance_of_key[key] for key, page in scenario.pages.items()}
    _check_intended_stances(scenario, stance_of_key)

    report: list[str] = []
    for story in scenario.keywords:
        states: list[DayState] = []
        slug = slugify(story.query) + story.file_suffix
        for day in days(scenario.first, scenario.last):
            iso = day.isoformat()
            directory = fixtures / iso
            if iso in scenario.missing_days or iso in story.missing:
                states.append(DayState(day, "missing"))
                continue
            directory.mkdir(exist_ok=True)
            if iso in story.blocked:
                text = blocked_page(story.query, day, scenario.observed_time)
                (directory / f"{slug}.html").write_text(text, encoding="utf-8")
                states.append(DayState(day, "blocked"))
                continue
            if iso in story.api_error:
                (directory / f"{slug}.json").write_text(API_ERROR_BODY, encoding="utf-8")
                states.append(DayState(day, "api-error"))
                continue
            doc = build_snapshot(scenario, story, day)
            (directory / f"{slug}.json").write_text(snapshot_text(doc), encoding="utf-8")
            states.append(day_state(doc, stance_of_url, day))
        report += _keyword_report(story, states)
    (folder / "README.md").write_text(_readme(scenario, report), encoding="utf-8")
    return report


def _check_intended_stances(scenario: Scenario, stance_of_key: dict[str, str]) -> None:
    """Each storyline's official/critical pages must carry that stance under the labels."""
    for story in scenario.keywords:
        for key in story.official:
            if stance_of_key[key] != "official":
                raise ValueError(f"{key} is listed as official but labelled {stance_of_key[key]}")
        for key in story.critical:
            if stance_of_key[key] != "critical":
                raise ValueError(f"{key} is listed as critical but labelled {stance_of_key[key]}")
        for key in story.neutral + story.rival_ads + story.bottom_rivals:
            if stance_of_key[key] != "neutral":
                raise ValueError(f"{key} is listed as neutral but labelled {stance_of_key[key]}")
        for ad in story.ads:
            if stance_of_key[ad.page] != "official":
                raise ValueError(f"ad {ad.page} is not labelled official")


def _keyword_report(story: Storyline, states: Sequence[DayState]) -> list[str]:
    locale = f"{story.country}-{story.language}"
    lines = [f"### {story.query!r} ({locale})", "", story.summary, ""]
    for view in ("organic", "page"):
        found = events(states, view)
        text = ", ".join(f"{kind} {day.isoformat()}" for kind, day in found) or "none"
        lines.append(f"- {view} view: {text}")
    redundant = [s.day for s in states if s.status == "ok" and s.top_ad and s.organic[0] == 1]
    ad_days = [s.day for s in states if s.status == "ok" and s.any_ad]
    lines.append(f"- days with an official ad: {_ranges(ad_days)}")
    lines.append(f"- redundant ad days (official top ad while organic #1): {_ranges(redundant)}")
    failed = [f"{s.day.isoformat()} {_FAILURES[s.status]}" for s in states if s.status != "ok"]
    lines.append(f"- failed checks: {', '.join(failed) or 'none'}")
    lines.append("")
    return lines


_FAILURES = {
    "missing": "failed (no replay file)",
    "blocked": "blocked (Google 'unusual traffic' page)",
    "api-error": "failed (SerpApi error body)",
}


def _ranges(found: Sequence[dt.date]) -> str:
    if not found:
        return "none"
    spans: list[list[dt.date]] = []
    for day in found:
        if spans and (day - spans[-1][1]).days == 1:
            spans[-1][1] = day
        else:
            spans.append([day, day])
    parts = [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in spans]
    return f"{', '.join(parts)} ({len(found)} days)"


def _readme(scenario: Scenario, report: Sequence[str]) -> str:
    lines = [
        f"# Demo scenario `{scenario.name}`",
        "",
        "**Illustrative reconstruction, not recorded results.** The crisis and the dated "
        "events in `campaign.toml` are real; every result page in `fixtures/` was written for "
        "the demo by `tools/make_demo_data.py` (rerun it to regenerate this folder; do not "
        "edit by hand).",
        "",
        f"Daily checks at {scenario.observed_time} UTC from {scenario.first} to "
        f"{scenario.last}. Replay it: `serptrack apply campaign.toml` then "
        f"`serptrack backfill {scenario.name} --from {scenario.first} --to {scenario.last}` "
        "(exit 1: some checks fail on purpose), or `serptrack demo`.",
        "",
        "## Events the fixtures produce (SPEC section 6, `--hold 1`)",
        "",
        *report,
        "## Sources checked for the annotations",
        "",
        *[f"- {source}" for source in scenario.sources],
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="demo data folder")
    parser.add_argument(
        "--check", action="store_true", help="regenerate elsewhere and compare with --out"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            for scenario in SCENARIOS:
                write_scenario(scenario, Path(tmp))
            differ = [
                s.name for s in SCENARIOS if not _same_tree(Path(tmp) / s.name, args.out / s.name)
            ]
        if differ:
            print(
                f"out of date: {', '.join(differ)}; rerun tools/make_demo_data.py", file=sys.stderr
            )
            return 1
        print("demo data is up to date")
        return 0
    for scenario in SCENARIOS:
        report = write_scenario(scenario, args.out)
        print(f"== {scenario.name} -> {args.out / scenario.name}")
        print("\n".join(line for line in report if line.startswith(("###", "- "))))
    return 0


def _same_tree(a: Path, b: Path) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    return b.is_dir() and files(a) == files(b)


if __name__ == "__main__":
    sys.exit(main())
