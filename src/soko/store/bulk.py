"""Set-based writes of Polars frames: upsert by a natural key, and plain inserts.

Both take a frame whose columns are the table's column names, so that callers
never loop over rows in Python; the driver's executemany does the batching.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

BATCH = 50_000


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _fill(rows: pl.DataFrame, defaults: dict[str, Any]) -> pl.DataFrame:
    return rows.with_columns(
        pl.col(c).fill_null(pl.lit(v, dtype=rows.schema[c])) for c, v in defaults.items()
        if c in rows.columns
    )


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
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=key,
            set_={c: func.coalesce(stmt.excluded[c], table.c[c]) for c in update},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    for batch in rows.iter_slices(BATCH):
        conn.execute(stmt, batch.to_dicts())
    return _count(conn, table) - before


def insert(conn: Connection, table: Table, rows: pl.DataFrame) -> int:
    """Insert every row; returns how many."""
    for batch in rows.iter_slices(BATCH):
        conn.execute(table.insert(), batch.to_dicts())
    return rows.height
