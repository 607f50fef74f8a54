"""Claim: importing the full Online Retail file costs at most ~10× a bare Polars read of it.

Prints the time of a bare ``polars.read_csv`` of the same file (the baseline,
run in the same process) and of ``soko import`` into a fresh SQLite store, and
into a fresh PostgreSQL schema when the server is reachable, with the ratios.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl
import psycopg

from soko.data.importer import import_paths
from soko.settings import Settings

FILE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "refdata"
    / "online_retail"
    / "online_retail_2010_2011.csv.gz"
)
PG = "postgresql://postgres@127.0.0.1:5432/test"


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    if not FILE.exists():
        sys.exit(f"reference data not found: {FILE}")
    baseline = statistics.median(
        timed(lambda: pl.read_csv(FILE, infer_schema=False)) for _ in range(3)
    )
    print(f"baseline  polars.read_csv            {baseline:7.2f} s")
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp))
            runs.append(timed(lambda s=settings: import_paths(s, [FILE])))
    sqlite_s = min(runs)
    ratio = sqlite_s / baseline
    print(f"soko import, SQLite (best of 2)      {sqlite_s:7.2f} s   {ratio:5.1f}× baseline")
    try:
        conn = psycopg.connect(PG, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {exc}")
        return
    schema = f"soko_bench_{uuid.uuid4().hex[:8]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url)
        pg_s = timed(lambda: import_paths(settings, [FILE]))
        print(
            f"soko import, PostgreSQL              {pg_s:7.2f} s   {pg_s / baseline:5.1f}× baseline"
        )
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


if __name__ == "__main__":
    main()
