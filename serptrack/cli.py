"""The ``serptrack`` command line: parse options, call one library function, format the answer.

A command imports what it uses: at load time this module imports only click, the standard
library and stdlib-only serptrack modules (defaults, errors, snapshot), so that ``--help``
costs no database, parser, HTTP or report machinery; each command imports its subsystems.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .defaults import (
    DEFAULT_ALERT_BUDGET,
    DEFAULT_CONCURRENCY,
    DEFAULT_LEASE,
    DEFAULT_POLL,
    PLOTLYJS_MODES,
    REPORT_FORMATS,
)
from .errors import SerptrackError
from .snapshot import parse_datetime
from .vocabulary import Device, View

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from .tracker import CheckOutcome


class SerptrackGroup(click.Group):
    """Turns every :class:`SerptrackError` into ``Error: <message>`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a :class:`SerptrackError` it raises becomes a ``ClickException``."""
        try:
            return super().invoke(ctx)
        except SerptrackError as error:
            raise click.ClickException(str(error)) from None


class IsoDateTime(click.ParamType[dt.datetime]):
    """An ISO 8601 datetime; a value without a zone is taken as UTC."""

    name = "ISO-DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        """Parse an option's text; a datetime (a default given in code) is returned as it is."""
        if isinstance(value, dt.datetime):
            return value
        try:
            return parse_datetime(value)
        except SerptrackError:
            self.fail(
                f"{value!r} is not an ISO 8601 datetime (e.g. 2026-03-13T07:00:00Z)", param, ctx
            )


class IsoDate(click.ParamType[dt.date]):
    """A calendar date, YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        """Parse an option's text; a date (a default given in code) is returned as it is."""
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


def range_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--from DAY --to DAY``: UTC days, inclusive."""
    fn = click.option("--to", "last_day", type=IsoDate(), help="To this UTC day (inclusive).")(fn)
    return click.option(
        "--from", "first_day", type=IsoDate(), help="From this UTC day (inclusive)."
    )(fn)


_LIVE_GRACE = dt.timedelta(hours=1)  # an --as-of this recent still stands for now


def _past(as_of: dt.datetime | None) -> bool:
    """Whether ``--as-of`` stands for a moment a live API can no longer see."""
    from .models import utcnow

    return as_of is not None and as_of < utcnow() - _LIVE_GRACE


def allow_live_past_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--allow-live-past``: run past slots on live APIs anyway."""
    return click.option(
        "--allow-live-past",
        is_flag=True,
        help="Also run past slots on live APIs: each call is paid and returns today's page, "
        "stored as the past.",
    )(fn)


def alert_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--no-alerts`` and ``--alert-budget SECONDS``, for commands that store checks."""
    fn = click.option(
        "--alert-budget",
        type=click.FloatRange(0, 600),
        default=DEFAULT_ALERT_BUDGET,
        show_default=True,
        help="Seconds spent delivering alerts before exiting (the rest stays pending).",
    )(fn)
    return click.option(
        "--no-alerts", is_flag=True, help="Find and deliver no alert events for these checks."
    )(fn)


def _deliver_alerts(engine: Engine, budget: float) -> None:
    """Deliver pending alerts for at most ``budget`` seconds; one line on stderr if any."""
    from .alerts import dispatch

    report = dispatch.deliver_pending(engine, environ=os.environ, budget=budget)
    for line in report.lines():
        click.echo(line, err=True)


def _day_range(
    first_day: dt.date | None, last_day: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC) if first_day else None
    end = (
        dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if last_day
        else None
    )
    if start and end and end <= start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    return start, end


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _format(as_json: bool, as_csv: bool = False) -> str:
    if as_json and as_csv:
        raise click.UsageError("use --json or --csv, not both")
    return "json" if as_json else "csv" if as_csv else "table"


@contextmanager
def _database(db: str | None, *, create: bool = False) -> Iterator[Engine]:
    """The database at ``db``; only commands that store data (``create``) may make a new one."""
    from . import store
    from .store.engine import opened_read_only

    engine = store.connect(db, create=create)
    why = opened_read_only(engine)
    if why:
        click.echo(f"Note: {why}", err=True)
    context = click.get_current_context(silent=True)
    if context is not None and (context.find_root().obj or {}).get("verbose"):
        shown = store.describe_target(engine.url.render_as_string(hide_password=False))
        click.echo(f"Database: {shown}", err=True)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    from sqlmodel import Session

    with _database(db) as engine, Session(engine) as session:
        yield session


def _progress(tasks: Sequence[Any], quiet: bool) -> Any:
    """A progress bar on stderr when it is a terminal, else nothing."""
    if quiet or len(tasks) < 2 or not sys.stderr.isatty():
        return None
    return click.progressbar(length=len(tasks), label="Checking", file=sys.stderr)


@click.group(cls=SerptrackGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="serptrack")
@click.option(
    "--verbose", "-v", is_flag=True, help="Say on stderr which database each command opens."
)
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Track where a brand's official response and its critics rank, organic and paid.

    Start with `serptrack demo`, then describe your own campaign in a TOML file and
    `serptrack apply` it.
    """
    ctx.obj = {"verbose": verbose}


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
    from . import store
    from .campaign import load_campaign_file
    from .output import write_json

    spec = load_campaign_file(file)
    with _database(db, create=True) as engine:
        summary = store.apply_campaign(engine, spec)
    for warning in spec.warnings:  # on stderr: --json stays one document
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        write_json(summary.__dict__, sys.stdout)
        return
    counts = (
        f"{_count(summary.keywords_active, 'active keyword')}, "
        f"{_count(summary.rules, 'label rule')}, {_count(summary.annotations, 'annotation')}"
    )
    if summary.created:
        click.echo(f"Created campaign {summary.campaign}: {counts}.")
    elif summary.changed:
        click.echo(f"Updated campaign {summary.campaign}: {counts}.")
    else:
        click.echo(f"Campaign {summary.campaign} unchanged: {counts}.")
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
    from . import store
    from .output import write_rows

    with _session(db) as session:
        rows = store.list_campaigns(session)
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
    default=DEFAULT_CONCURRENCY,
    show_default=True,
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each raw payload (keys stripped) into DIR in the replay layout.",
)
@allow_live_past_option
@alert_options
@db_option
@json_option
def check(
    campaign: str | None,
    due: bool,
    as_of: dt.datetime | None,
    concurrency: int,
    record_dir: Path | None,
    allow_live_past: bool,
    no_alerts: bool,
    alert_budget: float,
    db: str | None,
    as_json: bool,
) -> None:
    """Run the checks of every active keyword now (or --as-of a time).

    Without CAMPAIGN, every campaign is checked. With --due, only the keywords whose
    latest schedule slot has passed without a check. Exits 1 if any check failed, after
    storing every check. With --record DIR, each raw payload is also written to
    DIR/<YYYY-MM-DD>/<slug>.<country>-<language>-<device>.json, ready for the replay provider.
    The alert events the checks fire are delivered before the command exits, for at most
    --alert-budget seconds (what is left stays pending for `serptrack alerts send`).

    Example: serptrack check acme-recall --as-of 2026-03-13T07:00:00Z --json
    """
    from sqlmodel import Session

    from . import tracker
    from .fetch import chosen_engine
    from .models import utcnow

    chosen_engine(os.environ)  # a wrong SERPTRACK_HTTP_ENGINE fails before anything is claimed
    when = as_of or utcnow()
    with _database(db, create=True) as engine:
        if due:
            from . import worker

            # Due slots are claimed first, so concurrent runs never check a slot twice.
            report = worker.run_round(
                engine,
                now=when,
                campaign=campaign,
                concurrency=concurrency,
                strict_keys=True,
                record_dir=record_dir,
                refuse_live=_past(as_of) and not allow_live_past,
                alerts=not no_alerts,
            )
            if not no_alerts:
                _deliver_alerts(engine, alert_budget)
            _report_outcomes(report.outcomes, as_json)
            return
        with Session(engine) as session:
            chosen = _campaigns(session, campaign)
            tasks = [task for c in chosen for task in tracker.plan_checks(session, c, when)]
        if _past(as_of):
            tasks = [dataclasses.replace(task, past=True) for task in tasks]
        if no_alerts:
            tasks = [dataclasses.replace(task, alerts=False) for task in tasks]
        alerts = None if no_alerts else alert_budget
        _run_and_report(
            engine, chosen, tasks, concurrency, as_json, record_dir, allow_live_past, alerts
        )


@cli.command()
@click.argument("campaign")
@click.option("--from", "first_day", type=IsoDate(), required=True, help="First day (inclusive).")
@click.option("--to", "last_day", type=IsoDate(), required=True, help="Last day (inclusive).")
@click.option("--retry-failed", is_flag=True, help="Also rerun slots whose checks all failed.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 500),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
)
@click.option(
    "--alerts",
    "find_alerts",
    is_flag=True,
    help="Find (and deliver) alert events for these past checks too; by default a backfill "
    "fires none.",
)
@allow_live_past_option
@db_option
@json_option
def backfill(
    campaign: str,
    first_day: dt.date,
    last_day: dt.date,
    retry_failed: bool,
    concurrency: int,
    find_alerts: bool,
    allow_live_past: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Run every scheduled slot from --from to --to, each as of its slot.

    Slots that already have a check are skipped. Each slot is claimed in the database
    first, as `check --due` and the worker claim theirs, so a backfill beside them or
    beside another backfill never checks (nor pays for) a slot twice. Exits 1 if any check
    failed. A live API can only answer for now, so past slots on one are refused unless
    --allow-live-past.

    Example: serptrack backfill acme-recall --from 2026-03-01 --to 2026-03-12
    """
    from sqlmodel import Session

    from . import store, tracker, worker
    from .fetch import chosen_engine
    from .models import utcnow

    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    chosen_engine(os.environ)
    with _database(db, create=True) as engine:
        with Session(engine) as session:
            chosen = store.get_campaign(session, campaign)
            tasks = tracker.plan_backfill(
                session, chosen, first_day, last_day, now=utcnow(), retry_failed=retry_failed
            )
        # Events are found once every check is stored, in time order (checks finish in any
        # order); without --alerts, none are.
        tasks = [dataclasses.replace(task, alerts=False) for task in tasks]
        providers = tracker.build_providers([chosen], tasks)
        if not allow_live_past:
            tracker.refuse_live_past(tasks, providers)
        bar = _progress(tasks, quiet=as_json)

        def run() -> Any:
            return worker.run_claimed(
                engine,
                tasks,
                providers,
                concurrency=concurrency,
                retry_failed=retry_failed,
                on_done=(lambda _outcome: bar.update(1)) if bar else None,
            )

        if bar:
            with bar:
                report = run()
        else:
            report = run()
        if find_alerts:
            from .store import outbox

            with engine.begin() as connection:
                stored = [outcome.check_id for outcome in report.outcomes if outcome.check_id]
                outbox.replay_events(connection, stored, utcnow())
            _deliver_alerts(engine, DEFAULT_ALERT_BUDGET)
    taken = len(tasks) - report.claimed
    if taken:
        click.echo(
            f"{_count(taken, 'slot')} not checked here: another run claimed or checked "
            f"{'it' if taken == 1 else 'them'} meanwhile.",
            err=True,
        )
    _report_outcomes(report.outcomes, as_json)


def _campaigns(session: Session, name: str | None) -> list[Any]:

    from . import store

    if name:
        return [store.get_campaign(session, name)]
    found = [store.get_campaign(session, row["name"]) for row in store.list_campaigns(session)]
    if not found:
        raise SerptrackError("no campaigns yet: create one with `serptrack apply FILE`")
    return found


def _run_and_report(
    engine: Engine,
    campaigns: list[Any],
    tasks: list[Any],
    concurrency: int,
    as_json: bool,
    record_dir: Path | None = None,
    allow_live_past: bool = False,
    alert_budget: float | None = None,
) -> None:
    from . import tracker

    providers = tracker.build_providers(campaigns, tasks)
    if not allow_live_past:
        tracker.refuse_live_past(tasks, providers)
    bar = _progress(tasks, quiet=as_json)
    on_done = (lambda _outcome: bar.update(1)) if bar else None

    def run() -> list[CheckOutcome]:
        return tracker.run_checks(
            engine,
            tasks,
            providers,
            concurrency=concurrency,
            on_done=on_done,
            record_dir=record_dir,
        )

    from .errors import RecordError

    try:
        if bar:
            with bar:
                outcomes = run()
        else:
            outcomes = run()
    except RecordError as error:  # every check is stored: report them, then the file error
        if alert_budget is not None:
            _deliver_alerts(engine, alert_budget)
        if error.outcomes:
            _report_outcomes(error.outcomes, as_json, raise_on_failure=False)
        raise
    if alert_budget is not None:
        _deliver_alerts(engine, alert_budget)
    _report_outcomes(outcomes, as_json)


def _report_outcomes(
    outcomes: list[CheckOutcome], as_json: bool, *, raise_on_failure: bool = True
) -> None:
    from . import tracker
    from .output import write_json

    if as_json:
        write_json([outcome.to_json() for outcome in outcomes], sys.stdout)
    else:
        ok = sum(1 for outcome in outcomes if outcome.status == "ok")
        skipped = sum(1 for outcome in outcomes if outcome.status == "skipped")
        line = f"{len(outcomes)} checks: {ok} ok, {len(outcomes) - ok - skipped} failed or blocked"
        click.echo(line + (f", {skipped} skipped." if skipped else "."))
    failures = tracker.failure_summary(outcomes)
    for reason, count, example in failures:
        click.echo(f"  {reason}: {count} (e.g. {example})", err=True)
    gaps = [outcome for outcome in outcomes if outcome.status == "ok" and outcome.error]
    if gaps:  # stored ok, but a block the page announced is unknown (a deferred AI overview)
        click.echo(f"  ok but incomplete: {len(gaps)} (e.g. {gaps[0].error})", err=True)
    if failures and raise_on_failure:
        raise click.ClickException(
            f"{sum(count for _, count, _ in failures)} of {len(outcomes)} checks failed"
        )


@cli.command()
@click.argument("campaign")
@click.option("--query", "-q", help="Only this keyword's query.")
@range_options
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

    A failed or blocked check is one row with its error and empty result fields. Each row
    names its sample (which answer of its check: 1 unless the keyword has samples = N) with
    that sample's sample_status and sample_error; in an ok check of several samples, a
    sample with no result (a failed one, or an answer citing nothing) is one row of its own.

    Example: serptrack history acme-recall --query "acme recall" --csv > history.csv
    """
    from . import store
    from .output import write_rows

    fmt = _format(as_json, as_csv)
    start, end = _day_range(first_day, last_day)
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        rows = store.history_rows(session, chosen, query=query, start=start, end=end)
        columns = store.HISTORY_COLUMNS if fmt != "table" else _TABLE_HISTORY
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
    from . import diagnostics, store
    from .errors import NotFoundError
    from .models import utcnow
    from .output import write_json

    try:
        with _database(db) as engine:
            report = diagnostics.doctor_report(engine, os.environ, now=utcnow())
    except NotFoundError:  # no database there yet: say where it would be, create nothing
        url = store.database_url(db, create=False)
        report = diagnostics.missing_database_report(url, os.environ, now=utcnow())
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
    from . import diagnostics
    from .output import write_json, write_rows

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


@cli.command(name="worker")
@click.option("--once", is_flag=True, help="Run one round of due checks, then exit.")
@click.option(
    "--poll",
    type=click.FloatRange(1, 86400),
    default=DEFAULT_POLL,
    show_default=True,
    help="Longest sleep between rounds, in seconds (to pick up newly applied campaigns).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 500),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
)
@click.option(
    "--lease",
    type=click.FloatRange(10, 86400),
    default=DEFAULT_LEASE.total_seconds(),
    show_default=True,
    help="Seconds after which another worker may take over a slot this one claimed but never stored.",
)
@alert_options
@db_option
def worker_command(
    once: bool,
    poll: float,
    concurrency: int,
    lease: float,
    no_alerts: bool,
    alert_budget: float,
    db: str | None,
) -> None:
    """Run due checks until stopped, sleeping until the next schedule slot.

    Each slot is claimed in the database first, so any number of workers (on one SQLite
    file, or on many machines sharing PostgreSQL) check every slot exactly once. SIGTERM or
    SIGINT lets the checks in flight finish and be stored, then exits 0. One log line per
    round goes to stderr. After each round the pending alerts are delivered (for at most
    --alert-budget seconds).

    Example: serptrack worker --db postgresql+psycopg://serp@db.internal/serptrack
    """
    from . import worker
    from .fetch import chosen_engine

    chosen_engine(os.environ)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with _database(db, create=True) as engine:
        worker.run_worker(
            engine,
            stop=stop,
            log=lambda line: click.echo(line, err=True),
            once=once,
            poll=poll,
            concurrency=concurrency,
            lease=dt.timedelta(seconds=lease),
            alerts=not no_alerts,
            alert_budget=alert_budget,
        )


@cli.command()
@click.option(
    "--cron", "fmt", flag_value="cron", help="Print a crontab line running `check --due`."
)
@click.option(
    "--systemd", "fmt", flag_value="systemd", help="Print systemd units (a worker, or a timer)."
)
@click.option(
    "--every",
    type=click.IntRange(1, 59),
    default=5,
    show_default=True,
    help="Cron: minutes between runs.",
)
@click.option("--user", help="systemd: the user the units run as.")
@db_option
def schedule(fmt: str | None, every: int, user: str | None, db: str | None) -> None:
    """Print ready-made cron or systemd configuration for scheduled checks.

    Slots are claimed in the database, so however often cron fires, each keyword's slot is
    checked once.

    Example: serptrack schedule --cron >> my-crontab
    """
    from . import store, units

    if fmt is None:
        raise click.UsageError("choose --cron or --systemd")
    executable = units.serptrack_command()
    # cron and systemd run elsewhere, without this shell's folder or SERPTRACK_* variables:
    # name the database this command would open, by absolute path
    default = store.default_db_path()
    target = units.absolute_target(db or str(default))
    if fmt == "cron":
        log = Path(units.absolute_target(str(default.parent / "cron.log")))
        click.echo(units.cron_line(executable, target, log, every))
        click.echo(f"# database: {store.describe_target(target)}; log: {log}", err=True)
        return
    for name, content in units.systemd_units(executable, target, user).items():
        click.echo(f"# /etc/systemd/system/{name}")
        click.echo(content)


@cli.command(name="demo")
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default="serptrack-demo.db",
    show_default=True,
    help="Where to write the demo database (replaced on each run).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="reports",
    show_default=True,
    help="Folder for the reports (created if needed).",
)
@json_option
def demo_command(db: Path, out_dir: Path, as_json: bool) -> None:
    """Replay the bundled crisis scenarios offline and write their reports.

    Two illustrative reconstructions (not recorded results): Skype, autumn 2008, and
    Eurostar, December 2009. Each is replayed into a fresh database and gets a report
    covering its whole period in --out. Needs no API key and no network.

    Example: serptrack demo
    """
    from . import demo
    from .models import utcnow
    from .output import write_json

    result = demo.run_demo(db, now=utcnow(), out_dir=out_dir)
    if as_json:
        write_json(result, sys.stdout)
        return
    for line in demo.summary_lines(result):
        click.echo(line)


# --- counter-narrative analysis: status, overtakes, paid, labels suggest ----------------------


def hold_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--hold N``: a new leader counts once it has led N consecutive successful checks."""
    return click.option(
        "--hold",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="A new leader counts once it has led N consecutive successful checks.",
    )(fn)


def queries_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--query Q`` (repeatable): only these keywords."""
    return click.option(
        "--query", "-q", "queries", multiple=True, help="Only this keyword's query (repeatable)."
    )(fn)


@cli.command()
@click.argument("campaign")
@queries_option
@hold_option
@click.option(
    "--samples-window",
    type=click.IntRange(min=0),
    default=7,  # analysis.DEFAULT_SAMPLES_WINDOW (not imported: --help stays light)
    show_default=True,
    metavar="DAYS",
    help="AI citation shares pool the successful samples of the checks of the DAYS days up "
    "to each keyword's latest successful check (0: that check's samples only).",
)
@range_options
@db_option
@json_option
def status(
    campaign: str,
    queries: tuple[str, ...],
    hold: int,
    samples_window: int,
    first_day: dt.date | None,
    last_day: dt.date | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Where each keyword stands at its latest successful check.

    Per keyword and view (organic, page): who leads and since when, the best official and
    critical results, critical results in the organic top 10, CTR-weighted share of voice
    by stance (naming the curve), official ads versus organic, and the days from the crisis
    start and from each annotation to the first overtake. Rank views read each check's
    sample 1. Per AI placement (ai_overview, ai_mode, ai_answer): over the successful samples
    of the --samples-window, the share of samples citing an official and a critical source
    and the share of citations by stance, each with a 95 % Wilson interval (the "ai" key of
    --json; failed samples are left out, never read as citing nothing).

    With --from/--to, only the checks of those days count (the latest, the successful ones,
    failures since, paid days, annotations); leads are still followed from before them and
    the first overtake is the first ever up to --to.

    Example: serptrack status acme-recall --samples-window 14 --json
    """
    from . import analysis, store, tables
    from .output import write_json, write_rows

    start, end = _day_range(first_day, last_day)
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        document = analysis.status(
            session,
            chosen,
            hold=hold,
            queries=queries or None,
            samples_window=samples_window,
            start=start,
            end=end,
        )
    if as_json:
        write_json(document, sys.stdout)
        return
    write_rows(tables.status_table(document), "table", sys.stdout)
    curve = document["ctr_curve"]
    click.echo(
        f"\nO vs C: best official and critical positions (organic rank, page position). "
        f"Share of voice: organic top 10 weighted by CTR curve {curve['name']} ({curve['date']})."
    )
    ai = tables.ai_lines(document)
    if ai:
        days = f"{samples_window} days up to" if samples_window else "the samples of"
        click.echo(f"\nAI citations (share [95 % interval]) over {days} each latest check:")
        for line in ai:
            click.echo(f"  {line}")


@cli.command()
@click.argument("campaign")
@click.option(
    "--view",
    type=click.Choice([*(v.value for v in View), "both", "ai", "all"]),
    default="both",
    show_default=True,
    help="organic: organic ranks only; page: page positions, ads included; both: those "
    "two; ai: AI answers (the side more of a check's samples cite leads, per AI placement); "
    "all: the three.",
)
@hold_option
@queries_option
@range_options
@db_option
@json_option
def overtakes(
    campaign: str,
    view: str,
    hold: int,
    queries: tuple[str, ...],
    first_day: dt.date | None,
    last_day: dt.date | None,
    db: str | None,
    as_json: bool,
) -> None:
    """When the official response took the lead (overtake) or lost it, oldest first.

    Failed and blocked checks are skipped; labels apply retroactively. --from and --to only
    choose which events are listed: leads are always followed over the whole history.

    Example: serptrack overtakes acme-recall --view organic --hold 2 --json
    """
    from . import analysis, lead, store, tables
    from .output import write_json, write_rows

    start, end = _day_range(first_day, last_day)
    views = {"both": lead.VIEWS, "all": (*lead.VIEWS, analysis.AI_VIEW)}.get(view, (view,))
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        events = analysis.overtakes(
            session, chosen, views=views, hold=hold, queries=queries or None, start=start, end=end
        )
    if as_json:
        write_json([event.to_json() for event in events], sys.stdout)
    elif not events:
        click.echo("No overtakes or lost leads for this selection.", err=True)
    else:
        write_rows(tables.event_table(events), "table", sys.stdout)


@cli.command()
@click.argument("campaign")
@queries_option
@range_options
@db_option
@output_options
def paid(
    campaign: str,
    queries: tuple[str, ...],
    first_day: dt.date | None,
    last_day: dt.date | None,
    db: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Per keyword and UTC day: is the official side an ad, organic on page 1, both or neither.

    The day's last successful check stands for the day. redundant_ad: an official top ad
    runs while the official result is already organic #1. ad_carries_lead: only the ad
    keeps the official side ahead in the page view.

    Example: serptrack paid acme-recall --from 2026-03-01 --csv
    """
    from . import analysis, store, tables
    from .output import write_rows

    fmt = _format(as_json, as_csv)
    start, end = _day_range(first_day, last_day)
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        rows = analysis.paid_rows(session, chosen, queries=queries or None, start=start, end=end)
    columns = tables.PAID_TABLE_COLUMNS if fmt == "table" else None
    if write_rows(rows, fmt, sys.stdout, columns) == 0 and fmt == "table":
        click.echo("No successful checks for this selection.", err=True)


def _month(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        from . import report

        try:
            report.month_period(value)
        except SerptrackError as error:
            raise click.BadParameter(str(error)) from None
    return value


def _accent(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from .campaign import check_accent

    try:
        return check_accent(value)
    except SerptrackError as error:
        raise click.BadParameter(str(error)) from None


@cli.command(name="report")
@click.argument("campaign")
@click.option(
    "--month",
    metavar="YYYY-MM",
    callback=_month,
    help="A calendar month (UTC days) [default: the month of the latest check].",
)
@range_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it; - for stdout [default: reports/<campaign>-<YYYY-MM>.<format>].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="html",
    show_default=True,
    help="html: the report; json: the numbers behind it.",
)
@click.option(
    "--plotlyjs",
    type=click.Choice(PLOTLYJS_MODES),
    default="embed",
    show_default=True,
    help="embed: opens offline (plotly.js's basic bundle, all the report needs); full: the "
    "full bundle embedded; cdn: a small file whose charts need the network.",
)
@click.option("--agency", help="Agency name [default: the campaign file's [report] agency].")
@click.option("--client", help="Client name [default: [report] client, else the brand].")
@click.option(
    "--logo",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Logo image: PNG, JPEG, GIF, WebP or SVG [default: [report] logo].",
)
@click.option(
    "--accent",
    metavar="#RRGGBB",
    callback=_accent,
    help="Accent colour [default: [report] accent].",
)
@click.option(
    "--pdf",
    "as_pdf",
    is_flag=True,
    help="Also print the report to a PDF beside it (<out>.pdf), through headless Chromium.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="The PDF's paper size.",
)
@hold_option
@queries_option
@db_option
def report_command(
    campaign: str,
    month: str | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    out: Path | None,
    fmt: str,
    plotlyjs: str,
    agency: str | None,
    client: str | None,
    logo: Path | None,
    accent: str | None,
    as_pdf: bool,
    paper: str,
    hold: int,
    queries: tuple[str, ...],
    db: str | None,
) -> None:
    """The monthly report: one self-contained HTML file to send to the client.

    Summary (who leads each keyword at the start and end, in both views; overtakes and lost
    leads; critical results on page 1; share of voice; days from the crisis start to the
    overtake), page 1 by stance over time, per keyword a chart of the best official against
    the best critical rank (every URL's line behind a button), page 1 at each check, the top
    10 at each month's end (six months) and the top 10 at the last check, paid versus organic,
    share of voice over the period, methodology. plotly.js, styles and logo are embedded: the
    file opens offline and survives email. --format json writes the numbers behind it instead
    (README "Reports" lists its page-1 and month-end fields).

    With --pdf the report is also printed, as a browser prints it, to <out>.pdf (A4 or
    --paper letter) by headless Chromium (SERPTRACK_CHROMIUM, else chromium on PATH).

    Example: serptrack report acme-recall --month 2026-03 --agency "Northwind PR" --pdf
    """
    from . import report, store
    from .models import utcnow

    if month and (first_day or last_day):
        raise click.UsageError("use --month or --from/--to, not both")
    if as_pdf:
        _check_pdf_options(fmt, plotlyjs, out)
    if first_day and last_day and last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        period = report.choose_period(session, chosen, month=month, first=first_day, last=last_day)
        path = out or report.default_path(chosen.name, period, fmt)
        branding = report.branding_for(
            chosen.settings, agency=agency, client=client, logo=logo, accent=accent
        )
        text = report.make_report(
            session,
            chosen,
            period,
            now=utcnow(),
            branding=branding,
            fmt=fmt,
            plotlyjs=plotlyjs,
            hold=hold,
            queries=queries or None,
        )
    if str(path) == "-":
        click.echo(text, nl=False)
        return
    executable = _chromium() if as_pdf else None  # before writing: a missing browser fails first
    report.save(path, text)
    size = len(text.encode("utf-8"))
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"
    hint = " Open it in a browser." if fmt == "html" and not as_pdf else ""
    click.echo(f"Wrote {path}: {period.label}, {shown}.{hint}")
    if executable is not None:
        from .report import pdf

        target = path.with_suffix(".pdf")
        printed = pdf.print_pdf(path, target, executable=executable, paper=paper)
        pages = f"{printed.pages} page" + ("s" if printed.pages != 1 else "")
        click.echo(f"Wrote {target}: {pages}, {pdf.PAPERS[paper]}.")
        if printed.clipped:
            click.echo(
                f"Warning: wider than the page, cut on paper: {', '.join(printed.clipped)}",
                err=True,
            )


def _check_pdf_options(fmt: str, plotlyjs: str, out: Path | None) -> None:
    """--pdf prints the HTML report from a file, offline: refuse what cannot be printed."""
    if fmt != "html":
        raise click.UsageError("--pdf prints the HTML report: leave out --format json")
    if out is not None and str(out) == "-":
        raise click.UsageError("--pdf prints a report file: give --out FILE, not -")
    if plotlyjs == "cdn":
        raise click.UsageError(
            "--pdf prints offline and --plotlyjs cdn needs the network for the charts: "
            "use --plotlyjs embed (the default)"
        )


def _chromium() -> str:
    from .report import pdf

    return pdf.find_chromium(os.environ)


@cli.group()
def labels() -> None:
    """Label rules: which results are official, critical or neutral."""


@labels.command(name="suggest")
@click.argument("campaign")
@click.option("--limit", type=click.IntRange(min=1), help="Only the N most exposed URLs.")
@db_option
@output_options
def labels_suggest(
    campaign: str, limit: int | None, db: str | None, as_json: bool, as_csv: bool
) -> None:
    """Unlabelled URLs seen in the top 20, most exposed first, with a suggested stance and why.

    official: on the brand's [campaign] domains or accounts, or under an official URL;
    critical: title or snippet names the brand with crisis vocabulary (English, French);
    neutral otherwise. Exposure sums the CTR curve at each appearance's rank.

    Example: serptrack labels suggest acme-recall --limit 20
    """
    from . import store, suggest
    from .output import write_rows

    fmt = _format(as_json, as_csv)
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        found = suggest.suggest_labels(session, chosen, limit=limit)
        checked = found or store.check_summary(session, chosen)[0] is not None
    rows = [item.to_json() for item in found]
    columns = ["exposure", "suggested_stance", "pattern", "reason", "title"]
    write_rows(rows, fmt, sys.stdout, columns if fmt == "table" else None)
    if fmt == "table":
        if not checked:
            click.echo(
                f"No checks stored yet for {campaign}: run `serptrack check {campaign}` "
                "(or `serptrack backfill`) first.",
                err=True,
            )
        elif not rows:
            click.echo("Every URL seen in the top 20 is labelled.", err=True)
        else:
            click.echo(f"\nExposure: CTR curve {found[0].curve}, summed over appearances.")


@cli.command(name="parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def parse_command(file: Path, as_json: bool) -> None:
    """Parse one saved result page or API payload and print its snapshot.

    The format is detected: a serptrack-snapshot/1 document, a supported API's raw
    response, or a saved Google, Bing or DuckDuckGo page (any encoding, MHTML too). A
    captcha, "unusual traffic" or anomaly page is an error (exit 1), never an empty result.

    Example: serptrack parse saved/acme-recall.html --json
    """
    from . import importer
    from .output import write_json, write_rows

    snapshot = importer.parse_file(file)
    document = snapshot.to_json()
    if as_json:
        write_json(document, sys.stdout)
        return
    click.echo(
        f"{snapshot.engine} ({snapshot.source}), query {snapshot.query!r}: "
        f"{len(snapshot.results)} results"
    )
    write_rows(document["results"], "table", sys.stdout, _PARSE_COLUMNS)


_PARSE_COLUMNS = ["placement", "block", "rank", "page_position", "url", "title"]


@cli.command(name="import-serp")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", required=True, help="The campaign whose keyword this page is.")
@click.option("--query", "-q", required=True, help="The keyword's query, as in the campaign.")
@click.option(
    "--observed-at", type=IsoDateTime(), required=True, help="When the page was seen (ISO 8601)."
)
@click.option("--country", help="The keyword's country, when several share the query.")
@click.option("--language", help="The keyword's language, when several share the query.")
@click.option(
    "--device", type=click.Choice([d.value for d in Device]), help="The keyword's device."
)
@alert_options
@db_option
@json_option
def import_serp(
    file: Path,
    campaign: str,
    query: str,
    observed_at: dt.datetime,
    country: str | None,
    language: str | None,
    device: str | None,
    no_alerts: bool,
    alert_budget: float,
    db: str | None,
    as_json: bool,
) -> None:
    """Store one saved result page or API payload as a check of a campaign's keyword.

    The raw file is kept with the check. A block page is stored as a blocked check and
    exits 1; a file serptrack cannot read stores nothing.

    Example: serptrack import-serp saved/acme.html --campaign acme-recall --query "acme recall" --observed-at 2026-03-03T07:00:00Z
    """
    from . import importer
    from .output import write_json

    data = importer.read_page(file)
    with _database(db, create=True) as engine:
        outcome = importer.import_page(
            engine,
            campaign,
            data,
            query=query,
            observed_at=observed_at,
            name=str(file),
            origin=file.resolve().as_uri(),
            country=country,
            language=language,
            device=device,
            alerts=not no_alerts,
        )
        if not no_alerts:
            _deliver_alerts(engine, alert_budget)
    if as_json:
        write_json(outcome.to_json(), sys.stdout)
    else:
        click.echo(
            f"Stored check {outcome.check_id} of {outcome.keyword.query!r} "
            f"({outcome.keyword.engine}, observed {outcome.observed_at:%Y-%m-%d %H:%M} UTC): "
            f"{outcome.status}, {outcome.results} results."
        )
    for warning in outcome.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if outcome.status != "ok":
        raise click.ClickException(
            f"{outcome.error} (stored as {outcome.status} check {outcome.check_id})"
        )


@cli.group()
def alerts() -> None:
    """Crisis alerts: the events checks fire, and their delivery (webhook, Slack, email)."""


def budget_option(default: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--budget SECONDS``: how long an ``alerts`` command may spend delivering."""
    return click.option(
        "--budget",
        type=click.FloatRange(1, 3600),
        default=default,
        show_default=True,
        help="Seconds to spend delivering, retries included.",
    )


_ALERT_COLUMNS = ("at", "kind", "query", "view", "position", "url", "state", "channels", "id")


@alerts.command(name="list")
@click.argument("campaign")
@click.option("--limit", type=click.IntRange(min=1), help="Only the N newest events.")
@db_option
@output_options
def alerts_list(
    campaign: str, limit: int | None, db: str | None, as_json: bool, as_csv: bool
) -> None:
    """The campaign's alert events, newest first, with the state of each delivery.

    state: pending, sent, failed (given up), partial (some channels failed), suppressed
    (cooldown or daily cap: kept, not sent) or no-channel.

    Example: serptrack alerts list acme-recall --json
    """
    from . import store
    from .output import write_rows
    from .store import outbox

    fmt = _format(as_json, as_csv)
    with _session(db) as session:
        chosen = store.get_campaign(session, campaign)
        assert chosen.id is not None
        events = outbox.list_events(session.connection(), chosen.id, limit=limit)
    if fmt != "json":
        events = [
            {
                **event,
                "channels": " ".join(f"{d['channel']}:{d['state']}" for d in event["deliveries"]),
            }
            for event in events
        ]
        for event in events:
            event.pop("deliveries")
    columns = None if fmt == "json" else _ALERT_COLUMNS
    if not write_rows(events, fmt, sys.stdout, columns=columns) and fmt == "table":
        click.echo(f"No alert events for {campaign!r} yet.")


@alerts.command(name="send")
@click.argument("campaign", required=False)
@budget_option(60.0)
@click.option(
    "--failed",
    "retry_failed",
    is_flag=True,
    help="Also retry the deliveries given up (once the channel is fixed).",
)
@db_option
def alerts_send(campaign: str | None, budget: float, retry_failed: bool, db: str | None) -> None:
    """Deliver every pending alert (of one campaign, or all), retries due or not.

    Exits 1 when some delivery failed or is still pending. With --failed, deliveries given
    up earlier (a channel variable unset, a receiver answering 404 ...) are tried again.

    Example: serptrack alerts send acme-recall --failed
    """
    from sqlmodel import Session

    from . import store
    from .alerts import dispatch
    from .store import outbox

    with _database(db) as engine:
        campaign_id = None
        if campaign:
            with Session(engine) as session:
                campaign_id = store.get_campaign(session, campaign).id
        if retry_failed:
            with engine.begin() as connection:
                outbox.requeue_failed(connection, campaign_id)
        report = dispatch.deliver_pending(
            engine, environ=os.environ, budget=budget, campaign_id=campaign_id, due_only=False
        )
    click.echo(report.line() or "No alerts pending.")
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    if not report.delivered_all:
        raise click.ClickException(
            f"{report.pending + report.failed} alert deliveries were not made; see why with "
            "`serptrack alerts list CAMPAIGN`, fix the channel, then run `serptrack alerts "
            "send --failed`"
        )


@alerts.command(name="test")
@click.argument("campaign")
@budget_option(30.0)
@db_option
def alerts_test(campaign: str, budget: float, db: str | None) -> None:
    """Send a test event (kind "test") to every alert channel of the campaign.

    Exits 1 when a channel did not take it.

    Example: serptrack alerts test acme-recall
    """
    from sqlmodel import Session

    from . import store
    from .alerts import dispatch
    from .alerts.settings import from_settings

    with _database(db) as engine:
        with Session(engine) as session:
            chosen = store.get_campaign(session, campaign)
            names = list(from_settings(chosen.settings.get("alerts")).channels)
        if not names:
            raise SerptrackError(
                f"campaign {campaign!r} has no alert channels; add [alerts.channels.NAME] to "
                "its file and apply it"
            )
        assert chosen.id is not None
        report = dispatch.send_test(
            engine, chosen.id, campaign, names, environ=os.environ, budget=budget
        )
    for name, state, error in report.channels:
        click.echo(f"{name}: {state}" + (f" ({error})" if error else ""))
    if not report.delivered_all:
        raise click.ClickException(
            f"{report.pending + report.failed} of {len(names)} channels did not take the test alert"
        )


def main() -> None:  # pragma: no cover - console script entry point
    """Run the CLI."""
    cli(prog_name="serptrack")
