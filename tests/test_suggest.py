"""``labels suggest``: unlabelled URLs of the top 20, most exposed first, with a guess and why."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from serptrack import store, suggest
from serptrack.campaign import parse_campaign
from serptrack.classify import Labeller
from serptrack.snapshot import Item
from serptrack.store import checks as store_checks
from serptrack.suggest import crisis_word, guess_stance, suggest_labels
from tests.crisis_scenario import BL, HELP, LI, TITLES, TWS, build, invoke, json_of, relabel

SNIPPET = "Everything about Acme and its customers."
NOBODY = Labeller([])


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Acme breach exposed millions", "breach"),
        ("Acme sued by regulators", "sued"),
        ("Kettles catch fire", "fire"),
        ("Acme : la polémique enfle", "polémique"),
        ("Vidéo CENSURÉE par Acme", "CENSURÉE"),
        ("Faille de sécurité chez Acme", "Faille"),
        ("Rappel de bouilloires Acme", "Rappel"),
        ("Procès contre Acme", "Procès"),
        # folding keeps every character in its place, so the word is cut out as written:
        # İ lower-cases to two characters, ﬁ decomposes to two; each stays one
        ("İSTANBUL: Acme SUED", "SUED"),
        ("ﬁnance: Acme recall", "recall"),
        ("Fireplace ideas", None),
        ("The process explained", None),
        ("Acme launches a new kettle", None),
    ],
)
def test_crisis_words_in_english_and_french(text: str, word: str | None) -> None:
    assert crisis_word(text) == word


def _lower_fold(text: str) -> str:
    """The folding the crisis pattern was first matched on, with IGNORECASE: per character,
    lower-cased, then decomposed without its accents when that leaves one character."""
    folded = []
    for char in text:
        lower = char.lower()
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c)
        )
        folded.append(plain if len(plain) == 1 else lower[:1] or char)
    return "".join(folded)


IGNORING_CASE = re.compile(suggest._CRISIS.pattern, re.IGNORECASE)
# letters the regex module matches across case in its own ways, look-alikes that fold to
# ASCII capitals, accents to strip, a few non-letters
TRICKY = "aAeEiIıİsSſkKKcCℂßẞσςΣéÉ\u0301ﬁ \t-'._0"
SPECIAL = {"i": "ıİ", "s": "ſ", "k": "K", "c": "ℂ", "e": "éÉ", "r": "ℝ"}


def spellings(letter: str) -> list[str]:
    """``letter`` in either case, in mathematical bold of either case, and look-alikes."""
    bold = ord(letter) - ord("a")
    return [
        letter,
        letter.upper(),
        chr(0x1D400 + bold),
        chr(0x1D41A + bold),
        *SPECIAL.get(letter, ""),
    ]


def spelled(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from(spellings(c)) for c in word)).map("".join)


texts = st.lists(
    st.one_of(
        st.sampled_from(suggest._STEMS + suggest._WORDS).flatmap(spelled),
        st.text(TRICKY, max_size=4),
    ),
    max_size=6,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_crisis_words_as_a_case_blind_search_finds_them(text: str) -> None:
    # the case-sensitive pattern on the folded text finds what IGNORECASE found
    match = IGNORING_CASE.search(_lower_fold(text))
    assert crisis_word(text) == (text[match.start() : match.end()] if match else None)


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(["Acme", "ACME ſ", "Kıtchen", "Σιγμα", "ℂorp"]))
def test_the_brand_is_found_as_a_case_blind_search_finds_it(text: str, brand: str) -> None:
    folded_brand = _lower_fold(brand)
    pattern = re.compile(r"(?<!\w)" + re.escape(folded_brand) + r"(?!\w)", re.IGNORECASE)
    brand_re = suggest._brand_pattern(brand)
    assert brand_re is not None
    assert bool(brand_re.search(suggest._fold(text))) == bool(pattern.search(_lower_fold(text)))


def test_crisis_vocabulary_is_lower_case_ascii() -> None:
    # what lets the pattern match folded text case-sensitively (see suggest._Folds)
    assert all(word.isascii() and word.islower() for word in suggest._STEMS + suggest._WORDS)


@pytest.mark.parametrize(
    ("title", "snippet", "brand", "expected"),
    [
        (
            "Acme breach: millions exposed",
            "",
            "Acme",
            ("critical", "title names Acme with 'breach'"),
        ),
        ("Le scandale Acme", "", "Acme", ("critical", "title names Acme with 'scandale'")),
        (
            "Kettle review",
            "Acme kettles were recalled in March",
            "Acme",
            ("critical", "snippet names Acme with 'recalled'"),
        ),
        (
            "Acme kettle review",
            "Recalled in March",
            "Acme",
            ("critical", "title names Acme, snippet says 'Recalled'"),
        ),
        (
            "Acme kettle review",
            "A sturdy kettle",
            "Acme",
            ("neutral", "names Acme without crisis vocabulary"),
        ),
        (
            "Data breach checklist",
            "",
            "Acme",
            ("neutral", "crisis vocabulary ('breach') but not about Acme"),
        ),
        ("Acmeville fair", "", "Acme", ("neutral", "not the brand's, and no crisis vocabulary")),
        ("Data breach checklist", "", "", ("critical", "title uses crisis vocabulary ('breach')")),
    ],
)
def test_guess_from_title_and_snippet(
    title: str, snippet: str, brand: str, expected: tuple[str, str]
) -> None:
    url = "https://example.org/page"
    assert guess_stance(url, title, snippet, brand=brand, owned=NOBODY) == (*expected, url)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("crisis")
    return folder, build(CliRunner(), folder)


def suggestion(
    url: str, norm_url: str, domain: str, stance: str, reason: str, pattern: str, **fields: Any
) -> dict[str, Any]:
    return {
        "url": url,
        "norm_url": norm_url,
        "domain": domain,
        "suggested_stance": stance,
        "reason": reason,
        "pattern": pattern,
        "title": TITLES[url],
        "snippet": SNIPPET,
        "placement": "organic",
        "checks": 1,
        "keywords": 1,
        "first_seen": "2026-04-07T07:00:00Z",
        "last_seen": "2026-04-07T07:00:00Z",
        "ctr_curve": "sistrix-2020",
        **fields,
    }


def test_suggestions_every_field(runner: CliRunner, scenario: Any) -> None:
    _folder, db = scenario
    rows = json_of(runner, "labels", "suggest", "acme-breach", "--db", db)
    by_url = {row["norm_url"]: row for row in rows}
    assert by_url["https://blog.example/acme-leak"] == suggestion(
        BL,
        "https://blog.example/acme-leak",
        "blog.example",
        "critical",
        "title names Acme with 'leak'",
        "https://blog.example/acme-leak",
        checks=3,
        best_rank=1,
        exposure=round(28.5 + 28.5 + 15.7, 2),  # #1 on days 6 and 7, #2 on day 8
        first_seen="2026-04-06T07:00:00Z",
        last_seen="2026-04-08T07:00:00Z",
    )
    assert by_url["https://support.acme-help.example/faq"] == suggestion(
        HELP,
        "https://support.acme-help.example/faq",
        "acme-help.example",
        "official",
        "on the brand's domain acme-help.example ([campaign] domains)",
        "acme-help.example",
        best_rank=6,
        exposure=5.1,
    )
    assert by_url["https://linkedin.com/company/acme/posts/42"] == suggestion(
        LI,
        "https://linkedin.com/company/acme/posts/42",
        "linkedin.com",
        "official",
        "under the brand's account https://linkedin.com/company/acme ([campaign] accounts)",
        "https://linkedin.com/company/acme/*",
        best_rank=7,
        exposure=4.0,
    )
    # crisis vocabulary in the title, but the brand's own account comes first
    assert by_url["https://twitter.com/acme_help/status/1"] == suggestion(
        TWS,
        "https://twitter.com/acme_help/status/1",
        "twitter.com",
        "official",
        "under https://twitter.com/acme_help, which is labelled official",
        "https://twitter.com/acme_help/*",
        best_rank=8,
        exposure=3.2,
    )


def test_only_unlabelled_urls_most_exposed_first(runner: CliRunner, scenario: Any) -> None:
    _folder, db = scenario
    rows = json_of(runner, "labels", "suggest", "acme-breach", "--db", db)
    assert {row["norm_url"] for row in rows} == {
        *(f"https://site{i}.example/acme" for i in range(1, 5)),
        *(f"https://forum{i}.example/acme" for i in range(1, 6)),
        "https://blog.example/acme-leak",
        "https://support.acme-help.example/faq",
        "https://linkedin.com/company/acme/posts/42",
        "https://twitter.com/acme_help/status/1",
    }
    exposures = [row["exposure"] for row in rows]
    assert exposures == sorted(exposures, reverse=True)
    neutral = [row for row in rows if row["norm_url"].startswith(("https://site", "https://forum"))]
    assert {(row["suggested_stance"], row["reason"]) for row in neutral} == {
        ("neutral", "names Acme without crisis vocabulary")
    }
    limited = json_of(runner, "labels", "suggest", "acme-breach", "--db", db, "--limit", "2")
    assert limited == rows[:2]


def test_a_labelled_url_is_no_longer_suggested(runner: CliRunner, tmp_path: Path) -> None:
    db = build(runner, tmp_path)
    relabel(runner, tmp_path, db, version=2)
    rows = json_of(runner, "labels", "suggest", "acme-breach", "--db", db)
    assert "https://blog.example/acme-leak" not in {row["norm_url"] for row in rows}
    assert len(rows) == 12


def test_table_and_csv(runner: CliRunner, scenario: Any) -> None:
    _folder, db = scenario
    table = invoke(runner, "labels", "suggest", "acme-breach", "--db", db, "--limit", "1")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["exposure", "suggested_stance", "pattern", "reason", "title"]
    assert lines[-1] == "Exposure: CTR curve sistrix-2020, summed over appearances."
    csv_out = invoke(
        runner, "labels", "suggest", "acme-breach", "--db", db, "--csv", "--limit", "1"
    )
    assert csv_out.stdout.splitlines()[0] == (
        "url,norm_url,domain,suggested_stance,reason,pattern,title,snippet,placement,checks,"
        "keywords,best_rank,exposure,first_seen,last_seen,ctr_curve"
    )


def test_nothing_to_suggest(db_url: str, runner: CliRunner, tmp_path: Path) -> None:
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        '[campaign]\nname = "quiet"\n[defaults]\nprovider = "replay"\n'
        '[providers.replay]\npath = "."\n[[keywords]]\nquery = "acme"\n',
        encoding="utf-8",
    )
    db = db_url
    assert invoke(runner, "apply", str(campaign), "--db", db).exit_code == 0
    assert json_of(runner, "labels", "suggest", "quiet", "--db", db) == []
    result = invoke(runner, "labels", "suggest", "quiet", "--db", db)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "",
        "No checks stored yet for quiet: run `serptrack check quiet` (or `serptrack backfill`) first.\n",
    )


MIXED = """\
[campaign]
name = "{name}"
brand = "Acme"

[defaults]
provider = "replay"

[providers.replay]
path = "."

{keywords}
[labels]
official = ["acme.example"]
"""


def apply_mixed(engine: Any, tmp_path: Path, name: str, *queries: str) -> dict[str, int]:
    keywords = "".join(f'[[keywords]]\nquery = "{query}"\n' for query in queries)
    text_ = MIXED.format(name=name, keywords=keywords)
    store.apply_campaign(engine, parse_campaign(text_, f"{name}.toml", base_dir=tmp_path))
    with Session(engine) as session:
        campaign = store.get_campaign(session, name)
        return {k.query: k.id for k in store.campaign_keywords(session, campaign) if k.id}


@pytest.mark.parametrize("stances_stored", [True, False])
def test_sightings_outside_the_campaigns_successful_checks_do_not_count(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stances_stored: bool
) -> None:
    # Sightings in a failed check (its results written by another writer), in another
    # campaign's checks (among the campaign's check ids and after them), in an inactive
    # keyword's and in a second sample do not count; a check stored late for an earlier day
    # is the first sighting; a URL twice on one page is one check; ranks past the curve's 10
    # bring no exposure (ties broken by checks, best rank, URL), past the top 20 nothing.
    # The same whether url_stances holds the URLs or only reads label them (another writer).
    if not stances_stored:
        monkeypatch.setattr(store_checks, "remember_url_stances", lambda *args: None)
    ids = apply_mixed(engine, tmp_path, "mixed", "acme a", "acme b", "acme c")
    other = apply_mixed(engine, tmp_path, "other", "acme a")["acme a"]
    a, b, c = ids["acme a"], ids["acme b"], ids["acme c"]
    o = "organic"

    def day(n: int) -> dt.datetime:
        return dt.datetime(2026, 4, n, 7, tzinfo=dt.UTC)

    def items(n: int, *placed: tuple[str, str, int]) -> list[Item]:
        return [
            Item(placement, f"https://{path}", f"{path} on day {n}", rank=rank)
            for placement, path, rank in placed
        ]

    def check(keyword_id: int, n: int, *placed: tuple[str, str, int]) -> int:
        record = store.CheckRecord(keyword_id, "replay", day(n), items=items(n, *placed))
        return store.record_check(engine, record)

    check(a, 3, (o, "acme.example/s", 1), (o, "u.example/dup", 2), (o, "u.example/two", 3),
          (o, "u.example/early", 4), ("news", "u.example/dup", 1))  # fmt: skip
    check(other, 3, (o, "u.example/two", 1), (o, "u.example/dup", 2))
    check(b, 4, (o, "u.example/two", 1), (o, "u.example/late", 2))
    failed = check(a, 5, (o, "u.example/failed", 1), (o, "u.example/two", 2))
    check(a, 1, (o, "u.example/early", 1), (o, "u.example/zero1", 12), (o, "u.example/zero4", 13))
    check(c, 2, (o, "u.example/inactive", 1), (o, "u.example/two", 2))
    check(a, 6, (o, "u.example/early", 1), (o, "u.example/zero3", 12), (o, "u.example/zero2", 15),
          (o, "u.example/zero4", 13), (o, "u.example/deep", 21))  # fmt: skip
    first, second = items(8, (o, "u.example/late", 3)), items(8, (o, "u.example/sampled", 1))
    samples = [store.SampleRecord(1, items=first), store.SampleRecord(2, items=second)]
    store.record_check(engine, store.CheckRecord(b, "replay", day(8), items=first, samples=samples))
    check(other, 7, (o, "u.example/late", 1))
    with engine.begin() as connection:  # as another writer would
        connection.execute(
            text("UPDATE checks SET status = 'failed' WHERE id = :id"), {"id": failed}
        )
        connection.execute(text("UPDATE keywords SET active = false WHERE id = :id"), {"id": c})
    with Session(engine) as session:
        found = suggest_labels(session, store.get_campaign(session, "mixed"))

    assert [
        (s.norm_url.removeprefix("https://u.example/"), s.checks, s.keywords, s.best_rank,
         s.exposure, s.first_seen, s.last_seen, s.title)
        for s in found
    ] == [
        ("early", 3, 1, 1, 8.0 + 28.5 + 28.5, day(1), day(6), "u.example/early on day 6"),
        ("dup", 1, 1, 1, 28.5 + 15.7, day(3), day(3), "u.example/dup on day 3"),
        ("two", 2, 2, 1, 11.0 + 28.5, day(3), day(4), "u.example/two on day 4"),
        ("late", 2, 1, 2, 15.7 + 11.0, day(4), day(8), "u.example/late on day 8"),
        ("zero4", 2, 1, 13, 0.0, day(1), day(6), "u.example/zero4 on day 6"),
        ("zero1", 1, 1, 12, 0.0, day(1), day(1), "u.example/zero1 on day 1"),
        ("zero3", 1, 1, 12, 0.0, day(6), day(6), "u.example/zero3 on day 6"),
        ("zero2", 1, 1, 15, 0.0, day(6), day(6), "u.example/zero2 on day 6"),
    ]  # fmt: skip
