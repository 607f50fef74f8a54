"""Set-based writes of Polars frames: upsert by a natural key, and plain inserts.

Callers never loop over rows in Python. Plain inserts take the driver's
fastest path inside the caller's transaction: ``executemany`` on SQLite with
values already in SQLAlchemy's storage format, ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

BATCH = 100_000


@contextmanager
def load_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a bulk load, committed only if every foreign key holds.

    On SQLite, per-row foreign-key checks cost about a fifth of a large import,
    so they are switched off for the load and the whole store is checked once
    (``PRAGMA foreign_key_check``) before commit; a violation rolls back.
    PostgreSQL keeps its own checks.
    """
    with engine.connect() as conn:
        sqlite_store = conn.dialect.name == "sqlite"
        if sqlite_store:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # a PRAGMA outside the load's transaction, where SQLite honours it
        try:
            with conn.begin():
                yield conn
                if sqlite_store:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the load: {broken[:5]}")
        finally:
            if sqlite_store:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _fill(rows: pl.DataFrame, defaults: dict[str, Any]) -> pl.DataFrame:
    return rows.with_columns(
        pl.col(c).fill_null(pl.lit(v, dtype=rows.schema[c]))
        for c, v in defaults.items()
        if c in rows.columns
    )


def _sqlite_values(rows: pl.DataFrame) -> pl.DataFrame:
    """Cells as SQLAlchemy stores them in SQLite, so reads and comparisons agree."""
    out = []
    for name, dtype in rows.schema.items():
        col = pl.col(name)
        if dtype == pl.Datetime:
            out.append(col.dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif dtype == pl.Date:
            out.append(col.dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Decimal:
            out.append(col.cast(pl.Float64))
        elif dtype == pl.Boolean:
            out.append(col.cast(pl.Int8))
        else:
            out.append(col)
    return rows.select(out)


def upsert(
    conn: Connection,
    table: Table,
    rows: pl.DataFrame,
    key: list[str],
    update: list[str],
    defaults: dict[str, Any],
) -> int:
    """Insert rows new by ``key``; for existing ones set the ``update`` columns whose
    new cell is not empty. Returns how many rows were new."""
    if rows.is_empty():
        return 0
    before = _count(conn, table)
    rows = _fill(rows, defaults)
    postgres = conn.dialect.name == "postgresql"
    stmt = (postgresql if postgres else sqlite).insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=key,
            set_={c: func.coalesce(stmt.excluded[c], table.c[c]) for c in update},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    if postgres:
        for batch in rows.iter_slices(BATCH):
            conn.execute(stmt, batch.to_dicts())
    else:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=rows.columns)
        order = list(compiled.positiontup or [])
        scalar_defaults = {  # columns the statement fills from their Python-side default
            name: table.c[name].default.arg for name in order if name not in rows.columns
        }
        values = _sqlite_values(
            rows.with_columns(pl.lit(v).alias(k) for k, v in scalar_defaults.items())
        ).select(order)
        cursor = conn.connection.cursor()
        for batch in values.iter_slices(BATCH):
            cursor.executemany(str(compiled), batch.rows())
    return _count(conn, table) - before


def insert(conn: Connection, table: Table, rows: pl.DataFrame) -> int:
    """Insert every row; returns how many."""
    if rows.is_empty():
        return 0
    columns = ", ".join(f'"{c}"' for c in rows.columns)
    cursor = conn.connection.cursor()
    if conn.dialect.name == "postgresql":
        sql = f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT csv)'
        for batch in rows.iter_slices(BATCH):
            buffer = io.BytesIO()
            batch.write_csv(buffer, include_header=False)
            with cursor.copy(sql) as copy:  # psycopg 3
                copy.write(buffer.getvalue())
    else:
        marks = ", ".join("?" for _ in rows.columns)
        sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
        for batch in _sqlite_values(rows).iter_slices(BATCH):
            cursor.executemany(sql, batch.rows())
    return rows.height
