"""Rebuild tests/fixtures/real/websearcher*/ from WebSearcher's published source archives.

WebSearcher (https://github.com/gitronald/WebSearcher, GPL-3.0) ships real Google result
pages (``tests/fixtures/serps-*.json.bz2``, one JSON object a line with the page in
``html``) and, for most, the parse its authors published as the expected output
(``tests/__snapshots__/test_parse_serp/test_parse_serp[<id>].json``). This script copies
the chosen pages (xz-compressed) and turns those snapshots into expected URL lists per
serptrack placement. Pages without a snapshot carry the expectations its authors assert
in their other tests (``CLAIMS``). It is run by hand, never by the tests:

    pip download --no-deps --no-binary :all: WebSearcher==0.7.0 -d /tmp/ws
    python tools/import_real_pages.py /tmp/ws/websearcher-0.7.0.tar.gz

0.8.4 needs Python 3.12, so pip on 3.11 will not fetch it; take the sdist's address from
https://pypi.org/pypi/WebSearcher/0.8.4/json and download it with curl, then run the script
on it the same way (it writes ``websearcher-2024/``).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import lzma
import sys
import tarfile
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real"

#: The pages kept from 0.7.0 (their ``serp_id`` prefix), saved in 2026: chosen to cover every
#: block the snapshots name (ads top and bottom, top stories, local news, posts, forums,
#: videos, local packs, results on Google's own hosts) in about 5 MB.
PAGES_2026 = (
    "01f85d1329ba", "0d3fc3b49b76", "0ed311025efc", "130eba186e94", "2d1b05a046b2",
    "305b53af69be", "30c5d6bdb650", "3c03a4a2cb7c", "39617f527744", "4c8d8d2f226c", "53940e35cc92",
    "56cbcf8cd4dc", "5898b04fb534", "6e401e618433", "811a27f92284", "82e35954f552",
    "83b17a6a7750", "8e820f7b024f", "8f98fa9c0bef", "9101d12ab778", "a6c881e003e2",
    "d1855fa9cd1c", "d920789249af", "da9b4fce9ab0", "e828d00dc1b3", "f6fae1c9a96e",
    "faa9c7c889db",
)  # fmt: skip

#: The pages kept from 0.8.4 that 0.7.0 did not have, saved in 2024 and 2025 by another
#: crawler (Firefox on Windows): the four with snapshots (two ad layouts, a jobs box, a
#: whole-page knowledge panel), the 2024-era AI overviews and a knowledge panel.
PAGES_2024 = (
    "0410241ce1e2", "30926d7c7ae9", "6dc5bc34ff55", "b186024ec98a",
    "86cc98fe45fc", "bb50002482cc", "ad1eb5594673", "052072e83c79", "363db5067378",
    "8d435893480b", "2d6557bbff20", "334a0bfcce0b",
)  # fmt: skip

#: What WebSearcher's own tests assert of pages that have no snapshot, by query:
#: ``tests/test_ai_overview_legacy_sge.py`` (an AI overview with its sources recovered, or
#: Google's "Can't generate an AI overview right now", which has none) and
#: ``tests/test_parser_coverage.py`` (a knowledge panel with a source URL).
CLAIMS = {
    "my work is done why wait": {"ai_overview": "sources"},
    "metropolitan los angeles area": {"ai_overview": "sources"},
    "barclays job cuts": {"ai_overview": "sources"},
    "cancer deaths per year in the usa": {"ai_overview": "sources"},
    "problems with bible translations": {"ai_overview": "sources"},
    "tesla manifesto": {"ai_overview": "none"},
    "honeywell c level management figures": {"ai_overview": "none"},
    "prouve": {"knowledge_panel": "sources"},
}
CLAIM_TESTS = {
    "ai_overview": "tests/test_ai_overview_legacy_sge.py",
    "knowledge_panel": "tests/test_parser_coverage.py",
}

ARCHIVES = {"0.7.0": ("websearcher", PAGES_2026), "0.8.4": ("websearcher-2024", PAGES_2024)}

#: WebSearcher's component types → the serptrack placement they are stored as.
PLACEMENTS = {
    "general": "organic",
    "ad": "paid",
    "top_stories": "news",
    "local_news": "news",
    "latest_from": "news",
    "videos": "video",
    "short_videos": "video",
    "local_results": "local",
    "perspectives": "perspectives",
    "recent_posts": "perspectives",
    "discussions_and_forums": "perspectives",
}
#: The right-hand knowledge panel's source link (``knowledge``/``panel_rhs``).
PANEL = ("knowledge", "panel_rhs")


def main(archive: str) -> None:
    with tarfile.open(archive) as tar:
        members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix(): m for m in tar}
        version = Path(tar.getnames()[0]).parts[0]
        folder, pages = ARCHIVES[version.removeprefix("websearcher-")]
        out = REAL / folder
        records = {}
        sources = {}
        for name, member in members.items():
            if name.startswith("tests/fixtures/serps-") and name.endswith(".json.bz2"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                with bz2.open(io.BytesIO(data), "rt", encoding="utf-8") as lines:
                    for line in lines:
                        record = json.loads(line)
                        records[record["serp_id"][:12]] = record
                        sources[record["serp_id"][:12]] = name
        out.mkdir(parents=True, exist_ok=True)
        expected = {}
        for page in pages:
            record = records[page]
            html = record["html"].encode("utf-8")
            (out / f"{page}.html.xz").write_bytes(lzma.compress(html, preset=9))
            entry = {
                "query": record["qry"],
                "saved_at": record["timestamp"],
                "user_agent": record["user_agent"],
                "page": f"{version}/{sources[page]}",
                "sha256": hashlib.sha256(html).hexdigest(),
            }
            snapshot_name = f"tests/__snapshots__/test_parse_serp/test_parse_serp[{page}].json"
            if snapshot_name in members:
                snapshot = json.loads(tar.extractfile(members[snapshot_name]).read())  # type: ignore[union-attr]
                entry["expectation"] = f"{version}/{snapshot_name}"
                entry["urls"] = _placement_urls(snapshot["results"])
            else:
                claims = CLAIMS[record["qry"]]
                entry["expectation"] = ", ".join(
                    f"{version}/{CLAIM_TESTS[placement]}" for placement in claims
                )
                entry["claims"] = claims
            expected[page] = entry
        (out / "expected.json").write_text(
            json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
        )
        license_text = tar.extractfile(members["LICENSE"]).read()  # type: ignore[union-attr]
        (out / "LICENSE").write_bytes(license_text)


def _placement_urls(results: list[dict[str, str]]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {p: [] for p in sorted(set(PLACEMENTS.values()))}
    for result in results:
        if (result["type"], result.get("sub_type")) == PANEL and result["url"]:
            lists.setdefault("knowledge_panel", []).append(result["url"])
        placement = PLACEMENTS.get(result["type"])
        if placement and result["url"]:
            lists[placement].append(result["url"])
    return lists


if __name__ == "__main__":
    main(sys.argv[1])
