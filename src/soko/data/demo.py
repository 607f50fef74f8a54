"""The shell around the demo generator: write its frames as files, or load them into the store.

Both ways give the same store: ``generate_into_store`` hands the importer the
frames under the names ``generate_to_files`` writes (``<entity>.csv``), and the
importer treats frames exactly as it treats those files. Ground truth never
enters the store; it is written beside the data as Parquet (``truth/``), which
``soko import`` skips because it does not enter sub-folders.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import func, inspect, select

from soko.data.contract import load_order
from soko.data.generate import Dataset, generate
from soko.data.importer import ImportReport, import_tables
from soko.settings import Settings
from soko.store.db import make_engine
from soko.store.tables import Sku

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


def _ordered(dataset: Dataset) -> list[tuple[str, pl.DataFrame]]:
    """(file name, frame) in load order, so a reader of the folder sees dependencies first."""
    return [
        (f"{entity.name}.csv", dataset.tables[entity.name])
        for entity in load_order()
        if entity.name in dataset.tables
    ]


def write_truth(dataset: Dataset, folder: Path) -> None:
    """Each truth frame as ``folder/<name>.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in dataset.truth.items():
        frame.write_parquet(folder / f"{name}.parquet")


def generate_to_files(preset: str, seed: int, out_dir: Path, progress: bool = False) -> None:
    """Write ``out_dir/<entity>.csv`` (UTF-8) and ``out_dir/truth/<name>.parquet``."""
    dataset = generate(preset, seed, progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, frame in _ordered(dataset):
        frame.write_csv(
            out_dir / file_name, datetime_format=DATETIME_FORMAT, date_format=DATE_FORMAT
        )
    write_truth(dataset, out_dir / "truth")


def generate_into_store(
    settings: Settings, preset: str, seed: int, progress: bool = False
) -> ImportReport:
    """Import the data set in one transaction and keep its truth in ``data_dir/truth``."""
    dataset = generate(preset, seed, progress=progress)
    report = import_tables(settings, _ordered(dataset), progress=progress)
    write_truth(dataset, settings.data_dir / "truth")
    return report


def store_is_empty(settings: Settings) -> bool:
    """True when the store has no schema yet or holds no SKU (``soko demo`` then loads one)."""
    engine = make_engine(settings)
    try:
        if not inspect(engine).has_table(Sku.__tablename__):
            return True
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(Sku)).scalar_one()
        return count == 0
    finally:
        engine.dispose()
