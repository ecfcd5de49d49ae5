"""Shared fixtures: every test gets its own user directory and database, and no API keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from serptrack import storage

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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A database for one test: a SQLite file in tmp_path."""
    return str(tmp_path / "serptrack.db")


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """An open, migrated engine on the test database."""
    eng = storage.connect(db_url)
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
