"""URL normalisation, redirect unwrapping and registrable domains (SPEC section 2)."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import tldextract

__all__ = ["host_of", "normalise_url", "registrable_domain", "unwrap_redirect"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_TRACKING_PARAMS = frozenset({"gclid", "fbclid", "msclkid"})
_MAX_UNWRAP = 4
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def normalise_url(url: str) -> str:
    """Return the form of ``url`` used for matching and grouping.

    >>> normalise_url("HTTP://WWW.Example.com:80/a/?utm_source=x&id=2#top")
    'https://example.com/a?id=2'
    """
    url = unwrap_redirect(url.strip())
    try:
        parts = urlsplit(_with_scheme(url))
        port = _port(parts)
    except ValueError:  # not a URL urllib can split (a broken IPv6 host): group it as written
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    if port and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    if scheme in _DEFAULT_PORTS:
        scheme = "https"
    return urlunsplit((scheme, netloc, path, query, ""))


def unwrap_redirect(url: str) -> str:
    """Follow redirect wrappers (Google ``/url?q=``, DuckDuckGo ``/l/?uddg=``, Bing ``/ck/a``,
    Yahoo ``r.search.yahoo.com/…/RU=``) and advertisers' click trackers (Adobe Advertising,
    eBay's rover, Search Ads 360) to the landing page."""
    for _ in range(_MAX_UNWRAP):
        try:
            target = _redirect_target(url)
        except ValueError:  # not a URL urllib can split (a broken IPv6 host): leave it
            return url
        if target is None or target == url:
            return url
        url = target
    return url


def host_of(url: str) -> str:
    """The lower-cased host of ``url`` without a leading ``www.``."""
    try:
        host = (urlsplit(_with_scheme(url.strip())).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def registrable_domain(url_or_host: str) -> str:
    """The registrable domain (``news.bbc.co.uk`` → ``bbc.co.uk``), offline, from the bundled list."""
    host = host_of(url_or_host) if "/" in url_or_host else url_or_host.lower().strip(".")
    if not host:
        return ""
    extracted = _extractor()(host)
    if extracted.top_domain_under_public_suffix:
        return extracted.top_domain_under_public_suffix
    if _IP.match(host) or ":" in host:
        return host
    # A suffix the list does not know (".example", ".local"): treat the last label as one.
    return ".".join(host.split(".")[-2:])


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # An empty URL list and no cache directory: the Public Suffix List snapshot shipped inside
    # tldextract is used, so nothing is fetched at run time. Imported here, at the first
    # domain asked for: with requests, tldextract is a quarter of a second of start-up.
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _with_scheme(url: str) -> str:
    if url.startswith("//"):
        return "https:" + url
    if "://" not in url.split("?", 1)[0]:
        return "https://" + url
    return url


def _port(parts: object) -> str:
    netloc = getattr(parts, "netloc", "")
    host_port = netloc.rsplit("@", 1)[-1]
    if host_port.startswith("["):
        return host_port.rsplit("]:", 1)[1] if "]:" in host_port else ""
    return host_port.rsplit(":", 1)[1] if ":" in host_port else ""


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith("utm_") or key in _TRACKING_PARAMS


def _redirect_target(url: str) -> str | None:
    parts = urlsplit(_with_scheme(url) if url.startswith("//") else url)
    host = (parts.hostname or "").lower()
    relative = not parts.netloc
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    path = parts.path
    if (relative or _is_engine_host(host, "google")) and path in ("/url", "/goto", "/aclk"):
        targets = [params.get(key, "") for key in ("q", "url", "adurl")]
        return next((target for target in targets if _looks_absolute(target)), None)
    if (relative or _is_engine_host(host, "duckduckgo")) and path in ("/l/", "/l"):
        target = params.get("uddg")
        return target if target and _looks_absolute(target) else None
    if (relative or _is_engine_host(host, "bing")) and path == "/ck/a":
        return _decode_bing(params.get("u", ""))
    if _is_engine_host(host, "googleadservices") and path == "/pagead/aclk":
        target = params.get("adurl")
        return target if target and _looks_absolute(target) else None
    if (relative and path == "/aclick") or (
        _is_engine_host(host, "bing") and path in ("/aclick", "/aclk")
    ):
        # Bing serves its ad clicks at /aclick, and at /aclk on 2019 pages.
        return _decode_bing_ad(params.get("u", ""))
    if (relative or _is_engine_host(host, "duckduckgo")) and path == "/y.js":
        target = params.get("u3")  # a DuckDuckGo ad: u3 is the Bing ad click behind it
        return target if target and _looks_absolute(target) else None
    tracker = _AD_TRACKERS.get(_tracker_of(host))
    if tracker is not None:
        target = params.get(tracker)
        return target if target and _looks_absolute(target) else None
    if host == "r.search.yahoo.com" and "/RU=" in path:
        # Yahoo's click link (DuckDuckGo's ads go through it to Bing's): the target is the
        # percent-encoded path segment RU=, between the segments RO= and RK=.
        target = unquote(path.split("/RU=", 1)[1].split("/", 1)[0])
        return target if _looks_absolute(target) else None
    return None


#: Advertisers' own click trackers, which an engine's ad click leads to before the landing
#: page, and the query parameter that carries the landing page. Unwrapped so that an ad is
#: recorded, and labelled, by the site it leads to, not by its advertiser's ad server.
_AD_TRACKERS = {
    "everesttech.net": "url",  # Adobe Advertising (pixel.everesttech.net/…/cq?…&url=)
    "rover.ebay": "mpre",  # eBay Partner Network (rover.ebay.<tld>/rover/…?mpre=)
    "clickserve.dartsearch.net": "ds_dest_url",  # Search Ads 360 clickserver URLs
}


def _tracker_of(host: str) -> str:
    """The key of ``host`` in :data:`_AD_TRACKERS` (``""`` for any other host)."""
    if host == "everesttech.net" or host.endswith(".everesttech.net"):
        return "everesttech.net"
    if host.startswith("rover.ebay."):
        return "rover.ebay"
    return host if host == "clickserve.dartsearch.net" else ""


def _is_engine_host(host: str, engine: str) -> bool:
    return engine in host.split(".")[:-1]


def _looks_absolute(target: str) -> bool:
    return target.startswith(("http://", "https://", "//"))


def _decode_bing(value: str) -> str | None:
    if not value.startswith("a1"):
        return None
    encoded = value[2:]
    encoded += "=" * (-len(encoded) % 4)
    try:
        target = base64.urlsafe_b64decode(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return target if _looks_absolute(target) else None


def _decode_bing_ad(value: str) -> str | None:
    # A Bing ad click (/aclick, /aclk) carries its landing URL percent-encoded, then base64-encoded.
    encoded = (value[2:] if value.startswith("a1") else value).replace(" ", "+")
    encoded += "=" * (-len(encoded) % 4)
    try:
        target = unquote(base64.b64decode(encoded, altchars=b"-_").decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return target if _looks_absolute(target) else None
