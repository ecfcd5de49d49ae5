"""Benchmark: parse a ~600 KB saved Google result page, lxml tree builder vs html.parser.

Run: .venv/bin/python benchmarks/bench_parse.py [--size-kb 600] [--seconds 3]

The page is built from the current-layout test fixture, grown the way a page saved from a
browser is: inline scripts and styles (most of a real page), SVG icons, a people-also-ask
box, and more results (10 organic on the page, as Google serves since September 2025),
each wrapped in the nested, attribute-heavy markup Google ships. Target: at most 50 ms per
page on one core with lxml.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from serptrack.parsers import html as html_module
from serptrack.parsers import parse_content
from serptrack.parsers.google import parse_google
from serptrack.parsers.html import detect_engine, prepare

__all__ = ["build_page", "main", "measure"]

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/html/google-desktop-current.html"
TARGET_MS = 50.0

_RESULT = """
<div class="MjjYud"><div class="g Ww4FFb vt6azd tF2Cxc asEBEc" jscontroller="SC7lYd"
 jsaction="{action}" data-hveid="CA{n}QAA" data-ved="2ahUKEwi{ved}"><div class="N54PNb BToiNc"
 data-snc="ih6Jnb_DIvMtb"><div class="kb0PBd A9Y9g jGGQ5e" data-snf="x5WNvb" data-snhf="0">
<div class="yuRUbf"><div><span jscontroller="msmzHf" jsaction="{action}"><a jsname="UWckNb"
 class="zReHs" href="https://site{n}.example/articles/{n}/acme-kettle" data-ved="2ahUKEwi{ved}"
 ping="/url?sa=t&amp;source=web&amp;rct=j&amp;opi=89978449&amp;url=https://site{n}.example/"><br>
<h3 class="LC20lb MBeuO DKV0Md">Result {n}: what the Acme kettle recall means for owners</h3>
<div class="notranslate HGLrXd NJjxre iUh30 ojE3Fb"><div class="q0vns"><span class="DDKf1c">
<div class="eqA2re NjwKYd Vwoesf" aria-hidden="true">{svg}</div></span><div class="CA5RN"><div>
<span class="VuuXrf">Site {n}</span></div><div class="byrV5b"><cite class="qLRx3b tjvcx GvPZzd cHaqb"
 role="text">https://site{n}.example<span class="ylgVCe ob9lvb" role="text"> › articles › {n}</span>
</cite></div></div></div></div></a></span><div class="B6fmyf byrV5b Mg1HEd"><div class="TbwUpd">
<div jscontroller="exgaYe" jsaction="{action}" role="button" tabindex="0" aria-label="About this result">
{svg}</div></div></div></div></div></div><div class="kb0PBd A9Y9g" data-sncf="1" data-snf="nke7rc">
<div class="VwiC3b yXK7lf p4wth r025kc hJNv6b Hdw6tb" style="-webkit-line-clamp:2">
<span class="YrbPuc"><span>Mar {day}, 2026</span> — </span><span>{words}</span></div></div>
<div class="kb0PBd A9Y9g" data-sncf="2"><div class="fG8Fp uo4vr"><span>Rating: 4.{n}</span> · <span>
Review by Reviewer {n}</span></div></div></div></div></div>
"""
_SVG = (
    '<svg focusable="false" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<path d="M12 8c1.1 0 2-.9 2-2s-.9-2-2-2-2 .9-2 2 .9 2 2 2zm0 2c-1.1 0-2 .9-2 2s.9 2 2 2 '
    '2-.9 2-2-.9-2-2-2zm0 6c-1.1 0-2 .9-2 2s.9 2 2 2 2-.9 2-2-.9-2-2-2z"></path></svg>'
)
_IMAGE = (
    '<div jsname="dTDiAc" class="eA0Zlc WghbWd FnEtTd mkpRId m3LIae RLdvSe qyKxnc ivg-i PZPZlf"'
    ' data-attrid="images universal" data-docid="d{n}" data-lpage="https://img{n}.example/"'
    ' data-hveid="CB{n}QAA" jsaction="{action}"><div class="czzyk XOEbc"><a class="EZAeBe"'
    ' jsname="sTFXNd" role="button" tabindex="0" jsaction="{action}"><div class="H8Rx8c">'
    '<g-img class="mNsIhb"><img class="YQ4gaf" alt="Kettle {n}" height="164" width="164"'
    ' src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">'
    '</g-img></div></a></div><div class="toI8Rb OSrXXb">Site {n}</div></div>'
)
_MENU_ITEM = (
    '<li class="j0Ppje" jsaction="{action}" data-ved="0ahUKEwi{n}"><a class="tX9u1b" href="https://'
    'apps{n}.example/" jsname="hSRGPd" aria-label="App {n}" data-pid="{n}"><div class="CgwTDb">'
    '<span class="MrEfLc" style="background-position:0 -{n}px"></span></div><span class="Rq5Gcb">'
    "App {n}</span></a></li>"
)
_DIALOG = (
    '<div jscontroller="Kvfe7c" jsaction="{action}" data-ved="2ahUKEwi{n}"><g-dialog jsname="bN97Pc"'
    ' class="Whe8ub" jsaction="{action}"><div class="t7xA6 qk7LXc" aria-hidden="true" tabindex="-1">'
    '<div class="mcPPZ" role="dialog" aria-label="About this result"><div class="Fzsovc">About the '
    'source</div><div class="uSZNbe"><span>Site {n} was first indexed by Google more than 10 years '
    'ago</span></div><div class="zZ5Rhd"><a class="h1u2yb" href="/search?q=about:site{n}" jsaction'
    '="{action}">More about this page</a></div><div class="pbCfAe" role="button" tabindex="0">'
    "Feedback</div></div></div></g-dialog></div>"
)
_FOOTER_LINK = (
    '<a class="pHiOh" href="https://policies.example/{n}" jsaction="{action}">Link {n}</a>'
)
_PAA = """<div class="MjjYud"><div jscontroller="ogmBcd" data-hveid="CBAQAA">{pairs}</div></div>"""
_PAIR = (
    '<div jsname="Cpkphb" class="related-question-pair" data-q="Question {n}?">'
    '<div role="button" jsaction="{action}"><span>Question {n}?</span>{svg}</div>'
    '<div class="wDYxhc"><span>{words}</span><div class="g"><div class="yuRUbf">'
    '<a href="https://answers{n}.example/"><h3 class="LC20lb">Answer {n}</h3></a></div></div></div></div>'
)


def build_page(size_kb: int, seed: int = 7) -> bytes:
    """The fixture grown to about ``size_kb`` KB, as a browser saves a 10-result page.

    Markup is about 30% of it, over half of that outside the results area (header, apps
    menu, hidden "about this result" dialogs, footer); scripts and styles are the rest.
    """
    rng = random.Random(seed)
    words = ["acme", "kettle", "recall", "owners", "refund", "base", "fire", "serial", "model"]
    action = "mousedown:h5M12e;touchstart:h5M12e;focus:AHmuwe;blur:O22p3e;keydown:wU6FVd"

    def text(count: int) -> str:
        return " ".join(rng.choice(words) for _ in range(count))

    results = "".join(
        _RESULT.format(
            n=n,
            ved=f"{rng.getrandbits(64):x}",
            action=action,
            svg=_SVG,
            day=n % 28 + 1,
            words=text(40),
        )
        for n in range(4, 11)
    )
    pairs = "".join(_PAIR.format(n=n, action=action, svg=_SVG, words=text(60)) for n in range(4))
    images = "".join(_IMAGE.format(n=n, action=action) for n in range(24))
    menu = "".join(_MENU_ITEM.format(n=n, action=action) for n in range(120))
    dialogs = "".join(_DIALOG.format(n=n, action=action) for n in range(60))
    footer = "".join(_FOOTER_LINK.format(n=n, action=action) for n in range(120))
    html = FIXTURE.read_text(encoding="utf-8")
    html = html.replace(
        '<div id="botstuff">',
        f'{results}<div class="MjjYud"><div id="iur">{images}</div></div>'
        f'{_PAA.format(pairs=pairs)}<div id="botstuff">',
    )
    html = html.replace('<div id="rcnt"', f'<div id="gb"><ul>{menu}</ul></div><div id="rcnt"')
    html = html.replace("</body>", f'{dialogs}<div id="footcnt">{footer}</div></body>')
    padding_kb = max(0, size_kb - len(html) // 1024)
    style = "".join(
        f".c{n}{{margin:{n % 9}px;padding:{n % 7}px;color:#{n:06x}}}" for n in range(3000)
    )
    numbers = ",".join(str(rng.getrandbits(24)) for _ in range(200))
    script_chunk = (
        f"(function(){{var a=[{numbers}];google.x=function(b){{return a.map(function(c)"
        "{return c*b})};})();"
    )
    scripts = []
    while sum(len(s) for s in scripts) + len(style) < padding_kb * 1024:
        scripts.append(f'<script nonce="x1">{script_chunk}</script>')
    head = f"<style>{style}</style>" + "".join(scripts[: len(scripts) // 2])
    tail = "".join(scripts[len(scripts) // 2 :])
    html = html.replace("</head>", head + "</head>").replace("</body>", tail + "</body>")
    return html.encode("utf-8")


def measure(data: bytes, parser: str, targeted: bool, seconds: float) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds per page, parsing ``data`` for ``seconds``."""
    wall: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(wall) < 5:
        prepare.cache_clear()  # measure the whole job: decoding and stripping included
        start, start_cpu = time.perf_counter(), time.process_time()
        parse_google(data, parser=parser, targeted=targeted)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    """Build the page, parse it with both tree builders, print the figures."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--size-kb", type=int, default=600)
    options.add_argument("--seconds", type=float, default=3.0)
    args = options.parse_args()
    data = build_page(args.size_kb)
    markup = prepare(data).markup
    counts: dict[str, int] = {}
    for item in parse_google(data).results:
        counts[item.placement] = counts.get(item.placement, 0) + 1
    print(
        f"page: {len(data) / 1024:.0f} KB, {len(markup) / 1024:.0f} KB of it markup once scripts "
        f"and styles are dropped; results: {counts}"
    )
    runs = (("lxml", True), ("html.parser", True), ("lxml", False), ("html.parser", False))
    medians: dict[tuple[str, bool], float] = {}
    for parser, targeted in runs:
        wall_ms, cpu_ms = measure(data, parser, targeted, args.seconds)
        medians[(parser, targeted)] = wall_ms
        tree = "targeted tree" if targeted else "whole tree"
        print(
            f"{parser:11s} {tree:13s} {1000 / wall_ms:6.1f} pages/s  {wall_ms:6.1f} ms/page "
            f"(CPU {cpu_ms:5.1f} ms)"
        )
    times = []
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline or len(times) < 5:
        prepare.cache_clear()
        detect_engine.cache_clear()
        html_module._lower.cache_clear()  # every per-page cache: measure the whole job
        start = time.perf_counter()
        parse_content(data)
        times.append(time.perf_counter() - start)
    full_ms = statistics.median(times) * 1000
    print(
        f"{'lxml':11s} {'parse_content':13s} {1000 / full_ms:6.1f} pages/s  {full_ms:6.1f} ms/page "
        "(format detection and block-page check included)"
    )
    lxml_ms = medians[("lxml", True)]
    verdict = "within" if lxml_ms <= TARGET_MS else "OVER"
    print(f"lxml, targeted: {lxml_ms / TARGET_MS:.2f} of the {TARGET_MS:.0f} ms target ({verdict})")
    print(
        f"html.parser / lxml: {medians[('html.parser', True)] / lxml_ms:.2f}x (targeted), "
        f"{medians[('html.parser', False)] / medians[('lxml', False)]:.2f}x (whole tree)"
    )


if __name__ == "__main__":
    main()
