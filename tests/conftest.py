"""Shared fixtures: a fresh store on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine

from soko.settings import Settings
from soko.store.db import make_engine, migrate

# Two shared cores make timings noisy: properties are judged on their outcome, never on time.
hypothesis_settings.register_profile(
    "soko", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("soko")

POSTGRES_URL = os.environ.get(
    "SOKO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"  # shared/ beside the repo


def _postgres_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the browser tests' screenshot folder once per run (in the controller, not in
    each xdist worker), so it shows exactly this run's pages."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(
            Path(__file__).resolve().parents[1] / "test-output" / "screenshots", ignore_errors=True
        )


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    return _postgres_reachable()


def _postgres_settings(tmp_path: Path, reason: str | None) -> Iterator[Settings]:
    """A schema of its own on the shared server, dropped afterwards."""
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"soko_test_{uuid.uuid4().hex[:12]}"
    plain = POSTGRES_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Settings(
            data_dir=tmp_path, database_url=f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_reason: str | None
) -> Iterator[Settings]:
    """Settings of an empty, migrated store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path / "data")
        migrate(make_engine(settings))
        yield settings
    else:
        for settings in _postgres_settings(tmp_path, postgres_reason):
            migrate(make_engine(settings))
            yield settings


@pytest.fixture
def engine(store: Settings) -> Iterator[Engine]:
    eng = make_engine(store)
    yield eng
    eng.dispose()
