"""Rebuild tests/fixtures/real/websearcher/ from WebSearcher's published source archive.

WebSearcher (https://github.com/gitronald/WebSearcher, GPL-3.0) ships real Google result
pages saved in 2026 (``tests/fixtures/serps-v*.json.bz2``, one JSON object a line with the
page in ``html``) and, for each, the parse its authors published as the expected output
(``tests/__snapshots__/test_parse_serp/test_parse_serp[<id>].json``). This script copies
the chosen pages (xz-compressed) and turns those snapshots into expected URL lists per
serptrack placement. It is run by hand, never by the tests:

    pip download --no-deps --no-binary :all: WebSearcher==0.7.0 -d /tmp/ws
    python tools/import_real_pages.py /tmp/ws/websearcher-0.7.0.tar.gz
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

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real" / "websearcher"

#: The pages kept (their ``serp_id`` prefix): chosen to cover every block the snapshots
#: name (ads top and bottom, top stories, local news, posts, forums, videos, local packs,
#: results on Google's own hosts) in about 5 MB.
PAGES = (
    "01f85d1329ba", "0d3fc3b49b76", "0ed311025efc", "130eba186e94", "2d1b05a046b2",
    "305b53af69be", "30c5d6bdb650", "3c03a4a2cb7c", "39617f527744", "4c8d8d2f226c", "53940e35cc92",
    "56cbcf8cd4dc", "5898b04fb534", "6e401e618433", "811a27f92284", "82e35954f552",
    "83b17a6a7750", "8e820f7b024f", "8f98fa9c0bef", "9101d12ab778", "a6c881e003e2",
    "d1855fa9cd1c", "d920789249af", "da9b4fce9ab0", "e828d00dc1b3", "f6fae1c9a96e",
    "faa9c7c889db",
)  # fmt: skip

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


def main(archive: str) -> None:
    with tarfile.open(archive) as tar:
        members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix(): m for m in tar}
        version = Path(tar.getnames()[0]).parts[0]
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
        OUT.mkdir(parents=True, exist_ok=True)
        expected = {}
        for page in PAGES:
            record = records[page]
            html = record["html"].encode("utf-8")
            (OUT / f"{page}.html.xz").write_bytes(lzma.compress(html, preset=9))
            snapshot_name = f"tests/__snapshots__/test_parse_serp/test_parse_serp[{page}].json"
            snapshot = json.loads(tar.extractfile(members[snapshot_name]).read())  # type: ignore[union-attr]
            lists: dict[str, list[str]] = {p: [] for p in sorted(set(PLACEMENTS.values()))}
            for result in snapshot["results"]:
                placement = PLACEMENTS.get(result["type"])
                if placement and result["url"]:
                    lists[placement].append(result["url"])
            expected[page] = {
                "query": record["qry"],
                "saved_at": record["timestamp"],
                "user_agent": record["user_agent"],
                "page": f"{version}/{sources[page]}",
                "expectation": f"{version}/{snapshot_name}",
                "sha256": hashlib.sha256(html).hexdigest(),
                "urls": lists,
            }
        (OUT / "expected.json").write_text(
            json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
        )
        license_text = tar.extractfile(members["LICENSE"]).read()  # type: ignore[union-attr]
        (OUT / "LICENSE").write_bytes(license_text)


if __name__ == "__main__":
    main(sys.argv[1])
