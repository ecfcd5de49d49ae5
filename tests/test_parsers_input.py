"""Input hygiene for saved pages: any encoding, MHTML, truncated, broken, huge or not HTML at
all. The parser returns a snapshot or raises serptrack's own ParseError, never anything else.
"""

from __future__ import annotations

import json
import quopri
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serptrack import importer
from serptrack.errors import ParseError
from serptrack.parsers import html as html_module
from serptrack.parsers import parse_content
from serptrack.snapshot import PLACEMENTS, Snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "html"
PAGES = sorted(path.name for path in FIXTURES.glob("*.html"))
CURRENT = (FIXTURES / "google-desktop-current.html").read_bytes()
EXPECTED = parse_content(CURRENT).to_json()


def same_results(data: bytes) -> None:
    assert parse_content(data).to_json() == EXPECTED


# --- encodings --------------------------------------------------------------------------------


def test_declared_windows_1252() -> None:
    text = CURRENT.decode("utf-8").replace(
        '<meta charset="UTF-8">', '<meta charset="windows-1252">'
    )
    same_results(text.encode("windows-1252", errors="xmlcharrefreplace"))


def test_declared_in_an_http_equiv_meta() -> None:
    text = CURRENT.decode("utf-8").replace(
        '<meta charset="UTF-8">',
        '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15">',
    )
    same_results(text.encode("iso-8859-15", errors="xmlcharrefreplace"))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_encodings_with_or_without_a_byte_order_mark(codec: str) -> None:
    same_results(CURRENT.decode("utf-8").encode(codec))


def test_undeclared_shift_jis_is_sniffed() -> None:
    query = "アクメ 電気ケトル リコール 回収"
    text = (
        CURRENT.decode("utf-8")
        .replace('<meta charset="UTF-8">', "")
        .replace("acme recall", query)
        .replace("Acme recalls 2 million kettles after fires", "アクメ、電気ケトル２００万台を回収")
    )
    snapshot = parse_content(text.encode("shift_jis", errors="xmlcharrefreplace"))
    assert snapshot.query == query
    assert snapshot.results[2].title == "アクメ、電気ケトル２００万台を回収"


def test_an_unknown_declared_charset_falls_back_to_utf_8() -> None:
    same_results(CURRENT.replace(b'<meta charset="UTF-8">', b'<meta charset="x-no-such-thing">'))


def test_a_file_cut_inside_a_multibyte_character() -> None:
    cut = CURRENT.index(b"Affected models") + 200
    data = CURRENT[:cut] + "–".encode()[:2]
    snapshot = parse_content(data)
    assert [item.url for item in snapshot.results][:1] == ["https://www.acme.example/recall"]


def test_nul_bytes_are_dropped() -> None:
    same_results(CURRENT.replace(b"<h3 ", b"\x00<h3 ", 2))


def test_mhtml_single_file_archive() -> None:
    archive = (
        b"From: <Saved by Blink>\r\n"
        b"Snapshot-Content-Location: https://www.google.com/search?q=acme+recall&gl=us\r\n"
        b"Subject: acme recall - Google Search\r\n"
        b"Date: Tue, 3 Mar 2026 07:00:00 -0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n'
        b'\tboundary="----MultipartBoundary--x1----"\r\n\r\n\r\n'
        b"------MultipartBoundary--x1----\r\n"
        b"Content-Type: text/html\r\n"
        b"Content-ID: <frame-1@mhtml.blink>\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"Content-Location: https://www.google.com/search?q=acme+recall&gl=us\r\n\r\n"
        + quopri.encodestring(CURRENT).replace(b"\n", b"\r\n")
        + b"\r\n------MultipartBoundary--x1----\r\n"
        b"Content-Type: text/css\r\nContent-Location: https://www.gstatic.com/a.css\r\n\r\n"
        b".a{color:red}\r\n------MultipartBoundary--x1------\r\n"
    )
    same_results(archive)


def test_an_mhtml_archive_without_a_page() -> None:
    archive = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/css\r\n\r\n<html>.a{}\r\n--b--\r\n"
    )
    with pytest.raises(ParseError, match=r"^x\.mht: an MHTML archive with no HTML page in it$"):
        parse_content(archive, where="x.mht")


# --- not a page, broken, huge -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "x: the file is empty"),
        (b"  \n\t", "x: the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "x: not a known format"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "x: not a known format"),
        (b"<html><body>\xff\xfe\xfd garbage</body></html>", "x: an HTML page of no known"),
        (b"<" + bytes(range(256)) * 4, "x: an HTML page of no known"),
        (b"null", "x: valid JSON, but null instead of a result page"),
        (b"42\n", "x: valid JSON, but the number 42 instead of a result page"),
        (b'"Service Unavailable"', "x: valid JSON, but a string instead of a result page"),
        (b"[" * 3000 + b"]" * 3000, "x: JSON nested too deeply to be a result page"),
        (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "x: JSON nested too deeply to be a result page"),
    ],
)
def test_content_that_is_not_a_result_page(data: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_content(data, where="x")
    assert str(caught.value).startswith(message)


def test_a_20_mb_page_of_inline_scripts_parses_quickly_and_correctly() -> None:
    script = (
        b"<script>" + b"var a=[1,2,3];function f(b){return a.map(c=>c*b)}" * 20_000 + b"</script>"
    )
    data = CURRENT.replace(b"</head>", script * 21 + b"</head>")
    assert len(data) > 20_000_000
    start = time.perf_counter()
    same_results(data)
    assert time.perf_counter() - start < 10  # about half a second on a laptop


def test_a_20_mb_page_of_markup_is_refused_quickly() -> None:
    data = CURRENT.replace(
        b"</body>", b'<div class="x"><span>filler</span></div>' * 500_000 + b"</body>"
    )
    assert len(data) > 20_000_000
    start = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse_content(data, where="big.html")
    assert time.perf_counter() - start < 10
    assert str(caught.value) == (
        "big.html: the page has 20.0 MB of markup once scripts and styles are dropped, "
        "more than any result page (8 MB)"
    )


def test_a_file_over_the_size_limit_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(html_module, "MAX_PAGE_BYTES", 4 * 1024 * 1024)
    data = CURRENT + b" " * (5 * 1024 * 1024)
    with pytest.raises(
        ParseError, match=r"^big\.html: the file is 5\.0 MB; a saved result page is at most 4 MB$"
    ):
        parse_content(data, where="big.html")


def test_read_page_refuses_a_huge_file_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_PAGE_BYTES", 1024 * 1024)
    path = tmp_path / "big.html"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse: nothing to read if it tried
    with pytest.raises(ParseError) as caught:
        importer.read_page(path)
    assert str(caught.value) == f"{path}: the file is 3.0 MB; a saved result page is at most 1 MB"


def test_deep_nesting_is_neither_a_crash_nor_slow() -> None:
    nest = (
        b"<div>" * 50_000
        + b'<a href="https://deep.example/"><h3>Deep</h3></a>'
        + b"</div>" * 50_000
    )
    data = CURRENT.replace(b'<div id="botstuff">', nest + b'<div id="botstuff">')
    start = time.perf_counter()
    snapshot = parse_content(data)
    assert time.perf_counter() - start < 20
    assert len(snapshot.results) >= 8


def test_too_many_results_on_one_page() -> None:
    block = b'<div class="MjjYud"><a href="https://x.example/"><h3>X</h3></a></div>'
    data = CURRENT.replace(b'<div id="botstuff">', block * 1_200 + b'<div id="botstuff">')
    with pytest.raises(ParseError, match="more than 1000 results on one page"):
        parse_content(data)


# --- property-based: mangled pages never crash the parser ------------------------------------


def check(data: bytes) -> None:
    """A snapshot that serialises, or serptrack's own ParseError; anything else fails."""
    try:
        snapshot = parse_content(data, where="mangled.html")
    except ParseError as error:
        assert str(error).startswith("mangled.html: ") or "\n" not in str(error)
        return
    assert isinstance(snapshot, Snapshot)
    document = json.loads(json.dumps(snapshot.to_json()))
    for item in document["results"]:
        assert item["placement"] in PLACEMENTS
        assert item["url"].startswith(("http://", "https://"))
        assert item["rank"] >= 1 and item["page_position"] >= 1


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
page_names = st.sampled_from(PAGES)


@PROPERTY
@given(name=page_names, fraction=st.floats(min_value=0, max_value=1))
def test_truncated_pages(name: str, fraction: float) -> None:
    data = (FIXTURES / name).read_bytes()
    check(data[: int(len(data) * fraction)])


@PROPERTY
@given(name=page_names, rng=st.randoms(use_true_random=False))
def test_shuffled_lines(name: str, rng: random.Random) -> None:
    lines = (FIXTURES / name).read_bytes().splitlines(keepends=True)
    rng.shuffle(lines)
    check(b"".join(lines))


@PROPERTY
@given(
    name=page_names,
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.sampled_from(["replace", "insert", "delete"]),
            st.binary(min_size=1, max_size=8)
            | st.sampled_from(
                [b"<", b">", b'"', b"</div>", b"<h3>", b"\x00", b"\xff\xfe", b"<!--"]
            ),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_corrupted_bytes(name: str, edits: list[tuple[float, str, bytes]]) -> None:
    data = bytearray((FIXTURES / name).read_bytes())
    for where, kind, chunk in edits:
        position = int(len(data) * where)
        if kind == "replace":
            data[position : position + len(chunk)] = chunk
        elif kind == "insert":
            data[position:position] = chunk
        else:
            del data[position : position + 16 * len(chunk)]
    check(bytes(data))
