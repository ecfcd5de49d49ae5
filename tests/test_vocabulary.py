"""Each vocabulary (check statuses, failure kinds, devices, placements, keyword identity) has one
definition, in :mod:`serptrack.vocabulary`, and every value stored or printed is one of it."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlmodel import Session

import serptrack
from serptrack import errors, models, store, tracker
from serptrack.campaign import parse_campaign
from serptrack.cli import cli
from serptrack.errors import BlockedError, BlockedPageError, FetchError
from serptrack.parsers import parse_content
from serptrack.providers import PROVIDERS, HttpProvider, provider_class
from serptrack.snapshot import PLACEMENTS, Item
from serptrack.store import campaigns as store_campaigns
from serptrack.vocabulary import (
    CHECK_STATUS_VALUES,
    DEVICE_VALUES,
    FAILURE_KIND_VALUES,
    FAILURE_STATUSES,
    KEYWORD_IDENTITY,
    PLACEMENT_VALUES,
    CheckStatus,
    Device,
    FailureKind,
    OutcomeStatus,
    Placement,
    identity_fields,
    identity_of,
)

PACKAGE = Path(serptrack.__file__).parent
HTML = Path(__file__).parent / "fixtures" / "html"

# --- the values themselves -------------------------------------------------------------------


def test_vocabulary_loads_nothing_but_the_standard_library() -> None:
    script = (
        "import json, sys; before = set(sys.modules); import serptrack.vocabulary; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "serptrack" in loaded
    assert sorted(loaded - set(sys.stdlib_module_names) - {"serptrack"}) == []


def test_check_statuses_are_the_stored_strings() -> None:
    assert models.CHECK_STATUSES == ("ok", "failed", "blocked")
    assert tuple(CheckStatus) == models.CHECK_STATUSES
    assert set(models.CHECK_STATUSES) == CHECK_STATUS_VALUES
    assert {"failed", "blocked"} == FAILURE_STATUSES
    assert FetchError.status is CheckStatus.FAILED
    assert BlockedError.status is CheckStatus.BLOCKED
    assert BlockedPageError("captcha").status is CheckStatus.BLOCKED


def test_outcome_status_adds_skipped_to_the_stored_statuses() -> None:
    assert [s.value for s in OutcomeStatus] == [*models.CHECK_STATUSES, "skipped"]
    assert "skipped" not in CHECK_STATUS_VALUES  # never stored
    for status in CheckStatus:
        assert OutcomeStatus.of(status) == status.value
        assert OutcomeStatus.of(status) is OutcomeStatus(status.value)


def test_failure_kinds_are_the_strings_stored_and_printed() -> None:
    assert {
        "error",
        "blocked",
        "missing-fixture",
        "engine-mismatch",
        "parse-error",
        "query-relaxed",
        "bad-response",
        "unsupported",
        "auth",
        "quota",
        "http-429",
        "provider-error",
        "provider-unavailable",
        "timeout",
        "connect",
        "network",
        "http-error",
        "skipped",
    } == FAILURE_KIND_VALUES
    assert FetchError("x").kind is FailureKind.ERROR
    assert BlockedPageError("captcha").kind is FailureKind.BLOCKED


def test_server_errors_keep_their_status_in_the_kind() -> None:
    kind = FailureKind.for_http_status(503)
    assert kind == "http-503"
    assert isinstance(kind, FailureKind)
    assert kind is FailureKind("http-503") is FailureKind.for_http_status(503)
    assert FailureKind.for_http_status(429) is FailureKind.HTTP_429
    assert "http-503" not in FAILURE_KIND_VALUES  # the family is not listed
    with pytest.raises(ValueError):
        FailureKind("http-404")
    assert _serpapi().http_error(502, None).kind is FailureKind.for_http_status(502)


def test_retry_decisions_compare_against_the_members() -> None:
    down = FetchError("down", kind=FailureKind.PROVIDER_UNAVAILABLE)
    refused = FetchError("refused", kind=FailureKind.PROVIDER_ERROR)
    assert _serpapi().retryable_doc_error(down) is True
    assert _serpapi().retryable_doc_error(refused) is False


def _serpapi() -> HttpProvider:
    provider = provider_class("serpapi")({}, environ={"SERPAPI_API_KEY": "k"})
    assert isinstance(provider, HttpProvider)
    return provider


@pytest.mark.parametrize(
    "member", [CheckStatus.BLOCKED, OutcomeStatus.SKIPPED, FailureKind.HTTP_429, Device.TABLET]
)
def test_members_are_their_strings(
    member: CheckStatus | OutcomeStatus | FailureKind | Device,
) -> None:
    value = member.value
    assert member == value
    assert hash(member) == hash(value)
    assert {value: 1}[member] == 1
    assert str(member) == f"{member}" == value
    assert json.dumps({"v": member}) == json.dumps({"v": value})


def test_devices_are_those_campaigns_accept_and_import_serp_offers(tmp_path: Path) -> None:
    assert [d.value for d in Device] == ["desktop", "mobile", "tablet"]
    (tmp_path / "pages").mkdir()
    for device in Device:
        text = CAMPAIGN.replace('device = "tablet"', f'device = "{device}"\nengine = "bing"')
        spec = parse_campaign(text, "c.toml", base_dir=tmp_path)
        assert spec.keywords[1].device is device
    command = cli.commands["import-serp"]
    option = next(p for p in command.params if p.name == "device")
    assert isinstance(option.type, click.Choice)
    assert set(option.type.choices) == DEVICE_VALUES


def test_every_provider_names_known_devices_and_placements() -> None:
    assert PROVIDERS
    for cls in PROVIDERS.values():
        assert set(cls.placements) <= PLACEMENT_VALUES, cls.name
        if issubclass(cls, HttpProvider):
            assert set(cls.devices) <= DEVICE_VALUES, cls.name


def test_placements_cover_the_contract() -> None:
    documented = {"organic", "paid", "news", "ai_overview", "featured_snippet"}  # SPEC 3
    documented |= {"ai_mode", "ai_answer"}  # SPEC 7, critical-in-feature
    assert documented <= PLACEMENT_VALUES
    assert tuple(p.value for p in Placement) == PLACEMENTS


def test_a_parsed_page_names_its_device_and_placements_from_the_vocabulary() -> None:
    snapshot = parse_content((HTML / "google-mobile.html").read_bytes(), where="page")
    assert snapshot.device is Device.MOBILE
    assert snapshot.results
    assert {item.placement for item in snapshot.results} <= PLACEMENT_VALUES
    # held as plain strings (cheaper to store), equal to the members the parser gave
    assert {type(item.placement) for item in snapshot.results} == {str}
    assert Item(Placement.PAID, "https://acme.example/").placement.__class__ is str


# --- no bare strings left in the code --------------------------------------------------------

_ERROR_CLASSES = frozenset(errors.__all__)
_SERVER_KIND = re.compile(r"http-[0-9]{3}")


def _literal(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _failure_kind_literals(node: ast.AST) -> list[str]:
    """The string constants in ``node`` (a constant or a tuple/list/set of them) that are
    failure kinds."""
    values = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [
        v.value
        for v in values
        if isinstance(v, ast.Constant)
        and isinstance(v.value, str)
        and (v.value in FAILURE_KIND_VALUES or _SERVER_KIND.fullmatch(v.value))
    ]


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "__init__":
        func = func.value
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _is_kind(node: ast.AST) -> bool:
    names = ("kind", "error_kind")
    return (isinstance(node, ast.Attribute) and node.attr in names) or (
        isinstance(node, ast.Name) and node.id == "error_kind"
    )


def _bare_failure_kinds(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "error_kind" or (
                    keyword.arg == "kind" and _callee(node) in _ERROR_CLASSES
                ):
                    if _literal(keyword.value):
                        found.append((node.lineno, f"{keyword.arg}= a bare string"))
                    found += _unknown_members(keyword.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_kind(t) for t in targets) and _literal(node.value):
                found.append((node.lineno, "assigns a bare string kind"))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_kind(operand) for operand in operands):
                for operand in operands:
                    for value in _failure_kind_literals(operand):
                        found.append((node.lineno, f"compares a kind with {value!r}"))
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            for argument, default in _defaults(node.args):
                if argument.arg in ("kind", "error_kind") and _literal(default):
                    found.append((node.lineno, f"{argument.arg} defaults to a bare string"))
    return sorted(found)


def _defaults(arguments: ast.arguments) -> list[tuple[ast.arg, ast.expr]]:
    """(argument, default) for every argument of a signature that has a default."""
    positional = arguments.posonlyargs + arguments.args
    with_default = positional[len(positional) - len(arguments.defaults) :]
    pairs = list(zip(with_default, arguments.defaults, strict=True))
    keywords = zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    return pairs + [(argument, default) for argument, default in keywords if default is not None]


def _unknown_members(node: ast.AST) -> list[tuple[int, str]]:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "FailureKind"
        and not node.attr.startswith("for_")
        and node.attr not in FailureKind.__members__
    ):
        return [(node.lineno, f"FailureKind.{node.attr} is no member")]
    return []


def _sources() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    )


def test_no_failure_kind_is_a_bare_string() -> None:
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [
            f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
            for line, what in _bare_failure_kinds(tree)
        ]
    assert found == []


def test_the_walk_finds_what_it_looks_for() -> None:
    code = """
def f(error, record):
    raise FetchError("x", kind="auth")
    raise BlockedError("x", kind=f"http-{status}")
    record.error_kind = "timeout"
    if error.kind == "provider-unavailable": pass
    if rule.kind == "url": pass
    FetchError("x", kind=FailureKind.AUHT)
class FetchError:
    def __init__(self, message, *, kind="error"): pass
"""
    found = [what for _, what in _bare_failure_kinds(ast.parse(code))]
    assert found == [
        "kind= a bare string",  # line 3
        "kind= a bare string",
        "assigns a bare string kind",
        "compares a kind with 'provider-unavailable'",
        "FailureKind.AUHT is no member",  # line 8 (rule.kind == "url" is another vocabulary)
        "kind defaults to a bare string",
    ]


# --- stored and printed values ---------------------------------------------------------------

CAMPAIGN = """\
[campaign]
name = "acme"

[defaults]
provider = "replay"
country = "us"
language = "en"

[providers.replay]
path = "pages"

[[keywords]]
query = "acme recall"

[[keywords]]
query = "acme recall"
device = "tablet"

[labels]
official = ["acme.example"]
"""

RESULTS = [
    {"placement": "paid", "block": "top", "url": "https://acme.example/ad", "title": "Ad"},
    {"placement": "organic", "url": "https://acme.example/statement", "title": "Statement"},
    {"placement": "news", "url": "https://news.example/acme", "title": "News"},
]


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    (folder / "pages").mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    return folder


@pytest.fixture
def db(db_url: str, runner: CliRunner, campaign_dir: Path) -> str:
    result = runner.invoke(cli, ["apply", str(campaign_dir / "campaign.toml"), "--db", db_url])
    assert result.exit_code == 0, result.output
    return db_url


def _snapshot(folder: Path, name: str, **fields: Any) -> Path:
    doc = {"format": "serptrack-snapshot/1", "query": "acme recall", "results": RESULTS}
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**doc, **fields}), encoding="utf-8")
    return path


def test_import_serp_takes_a_tablet_keyword(runner: CliRunner, db: str, tmp_path: Path) -> None:
    page = _snapshot(tmp_path, "tablet.json", device="tablet")
    args = ["import-serp", str(page), "--campaign", "acme", "--query", "acme recall"]
    args += ["--observed-at", "2026-03-03T07:00:00Z", "--device", "tablet", "--db", db, "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert (outcome["device"], outcome["status"], outcome["results"]) == ("tablet", "ok", 3)
    assert outcome["warnings"] == []


def test_import_serp_warns_with_plain_values(runner: CliRunner, db: str) -> None:
    args = ["import-serp", str(HTML / "google-mobile.html"), "--campaign", "acme"]
    args += ["--query", "acme recall", "--observed-at", "2026-03-03T07:00:00Z"]
    args += ["--device", "tablet", "--db", db, "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert "the page's device is 'mobile', the keyword's 'tablet'" in warnings


def test_statuses_kinds_and_placements_stored_are_the_enum_values(
    runner: CliRunner, db: str, campaign_dir: Path
) -> None:
    pages = campaign_dir / "pages"
    _snapshot(pages, "2026-03-01/acme-recall.json")  # ok
    (pages / "2026-03-02").mkdir()  # no file: failed, missing-fixture
    (pages / "2026-03-03").mkdir()
    (pages / "2026-03-03" / "acme-recall.html").write_bytes(
        (HTML / "google-sorry.html").read_bytes()
    )
    args = ["backfill", "acme", "--from", "2026-03-01", "--to", "2026-03-03", "--db", db]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output  # some checks failed, on purpose
    engine = store.connect(db)
    try:
        with engine.connect() as connection:
            checks = connection.execute(text("SELECT status, error_kind FROM checks")).all()
            placements = connection.execute(text("SELECT placement FROM results")).scalars().all()
    finally:
        engine.dispose()
    assert {type(status) for status, _ in checks} == {str}
    assert {status for status, _ in checks} == CHECK_STATUS_VALUES
    assert {kind for _, kind in checks} == {None, "missing-fixture", "blocked"}
    assert set(placements) == {"paid", "organic", "news"} <= PLACEMENT_VALUES

    history = runner.invoke(cli, ["history", "acme", "--json", "--db", db])
    assert history.exit_code == 0, history.output
    assert {row["status"] for row in json.loads(history.stdout)} == CHECK_STATUS_VALUES


def test_a_run_reports_outcome_statuses(runner: CliRunner, db: str, campaign_dir: Path) -> None:
    _snapshot(campaign_dir / "pages", "2026-03-01/acme-recall.json")
    args = ["check", "acme", "--as-of", "2026-03-01T07:00:00Z", "--json", "--db", db]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert [row["status"] for row in json.loads(result.stdout)] == ["ok", "ok"]
    assert sorted(row["device"] for row in json.loads(result.stdout)) == ["desktop", "tablet"]


# --- keyword identity ------------------------------------------------------------------------


def test_keyword_identity_is_the_tables_unique_key(engine: Any) -> None:
    constraints = inspect(engine).get_unique_constraints("keywords")
    columns = [c["column_names"] for c in constraints if c["name"] == "uq_keywords_identity"]
    assert columns == [["campaign_id", *KEYWORD_IDENTITY]]


def test_every_keyword_shape_has_the_same_identity(engine: Any, tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    spec = parse_campaign(CAMPAIGN, "c.toml", base_dir=tmp_path)
    store.apply_campaign(engine, spec)
    with Session(engine) as session:
        campaign = store.get_campaign(session, "acme")
        keywords = store.campaign_keywords(session, campaign)
        tasks = tracker.plan_checks(session, campaign, models.utcnow())
    assert [k.identity for k in spec.keywords] == [identity_of(k) for k in keywords]
    assert [store_campaigns._identity(k) for k in keywords] == [identity_of(k) for k in keywords]
    assert [identity_of(task.request) for task in tasks] == [identity_of(k) for k in keywords]
    tablet = spec.keywords[1]
    assert tablet.identity == ("acme recall", "google", "us", "en", "tablet", "")
    assert identity_fields(tablet) == dict(zip(KEYWORD_IDENTITY, tablet.identity, strict=True))
    assert identity_of(identity_fields(tablet)) == tablet.identity
    assert {type(value) for value in tablet.identity} == {str}


def test_every_failure_kind_has_words_for_a_report() -> None:
    from serptrack.vocabulary import _FAILURE_WORDS, failure_words

    assert set(_FAILURE_WORDS) == {kind.value for kind in FailureKind}
    assert FailureKind("http-503").words == "the provider had a server error (HTTP 503)"
    assert failure_words("blocked", None) == "blocked: no reason recorded"
    assert failure_words("failed", "from-a-later-release") == "failed: from-a-later-release"
