"""The store: migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from soko.settings import Settings
from soko.store.db import migrate, schema_is_current
from soko.store.tables import Base


def test_migrations_match_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "write a migration: the tables and the migrations differ"


def test_migrating_twice_is_harmless_and_the_schema_is_current(
    store: Settings, engine: Engine
) -> None:
    migrate(engine)
    assert schema_is_current(engine)


def test_the_store_is_a_sqlite_file_in_the_data_folder_unless_a_url_is_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'soko.sqlite3'}"
    assert Settings(database_url="postgresql+psycopg://x@h/db").sqlalchemy_url.startswith(
        "postgresql"
    )
