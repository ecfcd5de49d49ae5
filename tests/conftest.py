"""Shared fixtures: every test gets its own user directory and database, and no API keys."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from serptrack import store

KEY_VARIABLES = (
    "SERPAPI_API_KEY",
    "SERPER_API_KEY",
    "DATAFORSEO_LOGIN",
    "DATAFORSEO_PASSWORD",
    "BRAVE_API_KEY",
    "GOOGLE_CSE_KEY",
    "GOOGLE_CSE_CX",
    "VALUESERP_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the user directory at tmp_path; drop the database variable and every key."""
    monkeypatch.setenv("SERPTRACK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SERPTRACK_DB", raising=False)
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: the test is about SQLite itself (skipped on PostgreSQL)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get(PG_VARIABLE):
        return
    skip = pytest.mark.skip(
        reason=f"about SQLite itself; {PG_VARIABLE} runs the suite on PostgreSQL"
    )
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


PG_VARIABLE = "SERPTRACK_TEST_POSTGRES"


_CREATED: list[str] = []


def new_database(folder: Path) -> str:
    """A fresh database outside the fixtures (for module-scoped scenarios): a SQLite file in
    ``folder``, or with SERPTRACK_TEST_POSTGRES a new PostgreSQL database dropped at the end."""
    server = os.environ.get(PG_VARIABLE)
    if not server:
        return str(folder / f"serptrack-{uuid.uuid4().hex[:8]}.db")
    name = f"serptrack_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    _CREATED.append(name)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def drop_created_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases :func:`new_database` made, once the session ends."""
    yield
    server = os.environ.get(PG_VARIABLE)
    if not server or not _CREATED:
        return
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in _CREATED:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, str] | None]:
    """With SERPTRACK_TEST_POSTGRES=postgresql+psycopg://user@host/db, a migrated template
    database that each test's database is copied from (fast: no migrations per test)."""
    server = os.environ.get(PG_VARIABLE)
    if not server:
        yield None
        return
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    template = f"serptrack_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{template}"')
    url = make_url(server).set(database=template).render_as_string(hide_password=False)
    store.connect(url).dispose()
    yield server, template
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def db_url(tmp_path: Path, postgres_template: tuple[str, str] | None) -> Iterator[str]:
    """A fresh database for one test: a SQLite file in tmp_path, or with SERPTRACK_TEST_POSTGRES
    a new PostgreSQL database copied from the migrated template and dropped afterwards."""
    if postgres_template is None:
        yield str(tmp_path / "serptrack.db")
        return
    server, template = postgres_template
    name = f"serptrack_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """An open, migrated engine on the test database."""
    eng = store.connect(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def runner() -> CliRunner:
    """A CliRunner that keeps stderr apart from stdout."""
    return CliRunner()


def write_snapshot(
    folder: Path,
    day: str,
    query: str,
    results: list[dict[str, Any]],
    *,
    slug: str | None = None,
    **fields: Any,
) -> Path:
    """Write a serptrack-snapshot/1 replay file at <folder>/<day>/<slug>.json."""
    from serptrack.providers.replay import slugify

    directory = folder / day
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug or slugify(query)}.json"
    doc = {"format": "serptrack-snapshot/1", "query": query, "results": results, **fields}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def snapshot_writer() -> Callable[..., Path]:
    """The :func:`write_snapshot` helper, as a fixture."""
    return write_snapshot
