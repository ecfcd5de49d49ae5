"""The ``serptrack`` command line: parse options, call one library function, format the answer."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlmodel import Session

from . import __version__, demo, diagnostics, storage, tracker
from .campaign import load_campaign_file
from .errors import SerptrackError
from .models import utcnow
from .output import write_json, write_rows
from .snapshot import parse_datetime


class SerptrackGroup(click.Group):
    """Turns every :class:`SerptrackError` into ``Error: <message>`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SerptrackError as error:
            raise click.ClickException(str(error)) from None


class IsoDateTime(click.ParamType):
    """An ISO 8601 datetime; a value without a zone is taken as UTC."""

    name = "ISO-DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            return parse_datetime(value)
        except SerptrackError:
            self.fail(
                f"{value!r} is not an ISO 8601 datetime (e.g. 2026-03-13T07:00:00Z)", param, ctx
            )


class IsoDate(click.ParamType):
    """A calendar date, YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (use YYYY-MM-DD, e.g. 2026-03-01)", param, ctx)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--db TARGET``: a SQLAlchemy URL or a SQLite file path (env ``SERPTRACK_DB``)."""
    return click.option(
        "--db",
        "db",
        envvar="SERPTRACK_DB",
        metavar="TARGET",
        help="Database: a SQLAlchemy URL or a SQLite file path [env SERPTRACK_DB; default: see doctor].",
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: print exactly one JSON document on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(fn)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` or ``--csv`` (default: an aligned table)."""
    fn = click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")(fn)
    return json_option(fn)


def _format(as_json: bool, as_csv: bool = False) -> str:
    if as_json and as_csv:
        raise click.UsageError("use --json or --csv, not both")
    return "json" if as_json else "csv" if as_csv else "table"


@contextmanager
def _database(db: str | None) -> Iterator[Engine]:
    engine = storage.connect(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _progress(tasks: Sequence[Any], quiet: bool) -> Any:
    """A progress bar on stderr when it is a terminal, else nothing."""
    if quiet or len(tasks) < 2 or not sys.stderr.isatty():
        return None
    return click.progressbar(length=len(tasks), label="Checking", file=sys.stderr)


@click.group(cls=SerptrackGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="serptrack")
def cli() -> None:
    """Track where a brand's official response and its critics rank, organic and paid.

    Start with `serptrack demo`, then describe your own campaign in a TOML file and
    `serptrack apply` it.
    """


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@json_option
def apply(file: Path, db: str | None, as_json: bool) -> None:
    """Create or update a campaign from its TOML file.

    Idempotent: applying the same file twice changes nothing. Keywords missing from the
    file are deactivated, never deleted.

    Example: serptrack apply campaign.toml
    """
    spec = load_campaign_file(file)
    with _database(db) as engine:
        summary = storage.apply_campaign(engine, spec)
    if as_json:
        write_json(summary.__dict__, sys.stdout)
        return
    verb = "Created" if summary.created else "Updated"
    click.echo(
        f"{verb} campaign {summary.campaign}: {summary.keywords_active} active keywords, "
        f"{summary.rules} label rules, {summary.annotations} annotations."
    )
    for label, names in (
        ("added", summary.keywords_added),
        ("updated", summary.keywords_updated),
        ("reactivated", summary.keywords_reactivated),
        ("deactivated", summary.keywords_deactivated),
    ):
        if names:
            click.echo(f"  {label}: {', '.join(names)}")


@cli.command()
@db_option
@json_option
def campaigns(db: str | None, as_json: bool) -> None:
    """List campaigns with their keyword and check counts.

    Example: serptrack campaigns --json
    """
    with _database(db) as engine, Session(engine) as session:
        rows = storage.list_campaigns(session)
    if not rows and not as_json:
        click.echo("No campaigns yet: create one with `serptrack apply FILE`.")
        return
    write_rows(rows, _format(as_json), sys.stdout)


@cli.command()
@click.argument("campaign", required=False)
@click.option(
    "--due", is_flag=True, help="Only keywords whose latest schedule slot has no check yet."
)
@click.option(
    "--as-of", type=IsoDateTime(), help="Check as of this time (replays read that UTC date)."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 500),
    default=tracker.DEFAULT_CONCURRENCY,
    show_default=True,
)
@db_option
@json_option
def check(
    campaign: str | None,
    due: bool,
    as_of: dt.datetime | None,
    concurrency: int,
    db: str | None,
    as_json: bool,
) -> None:
    """Run the checks of every active keyword now (or --as-of a time).

    Without CAMPAIGN, every campaign is checked. With --due, only the keywords whose
    latest schedule slot has passed without a check. Exits 1 if any check failed, after
    storing every check.

    Example: serptrack check acme-recall --as-of 2026-03-13T07:00:00Z --json
    """
    when = as_of or utcnow()
    plan = tracker.plan_due if due else tracker.plan_checks
    with _database(db) as engine:
        with Session(engine) as session:
            chosen = _campaigns(session, campaign)
            tasks = [task for c in chosen for task in plan(session, c, when)]
        _run_and_report(engine, chosen, tasks, concurrency, as_json)


@cli.command()
@click.argument("campaign")
@click.option("--from", "first_day", type=IsoDate(), required=True, help="First day (inclusive).")
@click.option("--to", "last_day", type=IsoDate(), required=True, help="Last day (inclusive).")
@click.option("--retry-failed", is_flag=True, help="Also rerun slots whose checks all failed.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 500),
    default=tracker.DEFAULT_CONCURRENCY,
    show_default=True,
)
@db_option
@json_option
def backfill(
    campaign: str,
    first_day: dt.date,
    last_day: dt.date,
    retry_failed: bool,
    concurrency: int,
    db: str | None,
    as_json: bool,
) -> None:
    """Run every scheduled slot from --from to --to, each as of its slot.

    Slots that already have a check are skipped. Exits 1 if any check failed.

    Example: serptrack backfill acme-recall --from 2026-03-01 --to 2026-03-12
    """
    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with _database(db) as engine:
        with Session(engine) as session:
            chosen = storage.get_campaign(session, campaign)
            tasks = tracker.plan_backfill(
                session, chosen, first_day, last_day, now=utcnow(), retry_failed=retry_failed
            )
        _run_and_report(engine, [chosen], tasks, concurrency, as_json)


def _campaigns(session: Session, name: str | None) -> list[Any]:
    if name:
        return [storage.get_campaign(session, name)]
    found = [storage.get_campaign(session, row["name"]) for row in storage.list_campaigns(session)]
    if not found:
        raise SerptrackError("no campaigns yet: create one with `serptrack apply FILE`")
    return found


def _run_and_report(
    engine: Engine, campaigns: list[Any], tasks: list[Any], concurrency: int, as_json: bool
) -> None:
    providers = tracker.build_providers(campaigns, tasks)
    bar = _progress(tasks, quiet=as_json)
    on_done = (lambda _outcome: bar.update(1)) if bar else None
    if bar:
        with bar:
            outcomes = tracker.run_checks(
                engine, tasks, providers, concurrency=concurrency, on_done=on_done
            )
    else:
        outcomes = tracker.run_checks(engine, tasks, providers, concurrency=concurrency)
    if as_json:
        write_json([outcome.to_json() for outcome in outcomes], sys.stdout)
    else:
        ok = sum(1 for outcome in outcomes if outcome.status == "ok")
        click.echo(f"{len(outcomes)} checks: {ok} ok, {len(outcomes) - ok} failed or blocked.")
    failures = tracker.failure_summary(outcomes)
    for reason, count, example in failures:
        click.echo(f"  {reason}: {count} (e.g. {example})", err=True)
    if failures:
        raise click.ClickException(
            f"{sum(count for _, count, _ in failures)} of {len(outcomes)} checks failed"
        )


@cli.command()
@click.argument("campaign")
@click.option("--query", "-q", help="Only this keyword's query.")
@click.option("--from", "first_day", type=IsoDate(), help="From this UTC day (inclusive).")
@click.option("--to", "last_day", type=IsoDate(), help="To this UTC day (inclusive).")
@db_option
@output_options
def history(
    campaign: str,
    query: str | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    db: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Every stored result of a campaign, one row each, with its stance.

    A failed or blocked check is one row with its error and empty result fields.

    Example: serptrack history acme-recall --query "acme recall" --csv > history.csv
    """
    fmt = _format(as_json, as_csv)
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC) if first_day else None
    end = (
        dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if last_day
        else None
    )
    with _database(db) as engine, Session(engine) as session:
        chosen = storage.get_campaign(session, campaign)
        rows = storage.history_rows(session, chosen, query=query, start=start, end=end)
        columns = storage.HISTORY_COLUMNS if fmt != "table" else _TABLE_HISTORY
        count = write_rows(rows, fmt, sys.stdout, columns)
    if count == 0 and fmt == "table":
        click.echo("No checks stored yet for this selection.", err=True)


_TABLE_HISTORY = [
    "observed_at",
    "query",
    "status",
    "placement",
    "rank",
    "page_position",
    "stance",
    "url",
    "error",
]


@cli.command()
@db_option
@json_option
def doctor(db: str | None, as_json: bool) -> None:
    """Where the database is, which provider keys are set, what each campaign holds.

    Never prints a key's value.

    Example: serptrack doctor --json
    """
    with _database(db) as engine:
        report = diagnostics.doctor_report(engine, os.environ, now=utcnow())
    if as_json:
        write_json(report, sys.stdout)
        return
    for line in diagnostics.doctor_lines(report):
        click.echo(line)


@cli.command()
@json_option
def providers(as_json: bool) -> None:
    """Every provider: whether it is configured, its keys, what it can return.

    Example: serptrack providers --json
    """
    rows = diagnostics.provider_rows(os.environ)
    if as_json:
        write_json(rows, sys.stdout)
        return
    table = [
        {
            "provider": row["name"],
            "configured": "yes" if row["configured"] else "no: set " + " ".join(row["missing"]),
            "returns": ", ".join(row["placements"]),
            "notes": row["notes"],
        }
        for row in rows
    ]
    write_rows(table, "table", sys.stdout)


@cli.command(name="demo")
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default="serptrack-demo.db",
    show_default=True,
    help="Where to write the demo database (replaced on each run).",
)
@json_option
def demo_command(db: Path, as_json: bool) -> None:
    """Replay the bundled crisis campaign offline into a fresh database.

    Needs no API key and no network.

    Example: serptrack demo
    """
    result = demo.run_demo(db, now=utcnow())
    if as_json:
        write_json(result, sys.stdout)
        return
    for line in demo.summary_lines(result):
        click.echo(line)


def main() -> None:  # pragma: no cover - console script entry point
    """Run the CLI."""
    cli(prog_name="serptrack")
