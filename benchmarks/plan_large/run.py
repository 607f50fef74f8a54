"""Claim: ``soko plan`` on the large preset, with the policy and purchase-order-list stages
timed apart from the forecast.

Loads the large preset (≈40 s, ≈3 GB) into a fresh SQLite store (or reuses the
store in ``$SOKO_BENCH_DIR`` when it already holds data), runs one plan run and
prints each stage's seconds as the run itself recorded them, and the lines
and SKU × locations the policy priced.

Baseline, in the same process: the policy engine called one SKU × location at
a time (one-row arrays), as a per-item loop would, on a sample of rows from
the same run; its time is scaled linearly to every row and compared with the
vectorised policy stage.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from soko.data.demo import generate_into_store, store_is_empty
from soko.planning.run import (
    PlanSettings,
    compute_lines,
    demand_per_line,
    first_day_of,
    load_catalogue,
    load_positions,
    run_plan,
)
from soko.settings import Settings
from soko.store.db import make_engine, migrate
from soko.store.tables import Location

PRESET = os.environ.get("SOKO_BENCH_PRESET", "large")
SAMPLE = 300


def main() -> None:
    folder = Path(os.environ.get("SOKO_BENCH_DIR") or tempfile.mkdtemp(prefix="soko-plan-"))
    settings = Settings(data_dir=folder)
    engine = make_engine(settings)
    migrate(engine)
    if store_is_empty(settings):
        start = time.perf_counter()
        generate_into_store(settings, PRESET, 1)
        print(f"loaded the {PRESET} preset in {time.perf_counter() - start:.1f} s ({folder})")
    start = time.perf_counter()
    outcome = run_plan(engine)
    total = time.perf_counter() - start
    print(f"soko plan, {PRESET} preset: {total:.1f} s in all")
    for stage, seconds in outcome.timings.items():
        print(f"  {stage:<22} {seconds:8.2f} s")
    apart = sum(s for k, s in outcome.timings.items() if k != "forecast")
    print(f"  {'all but the forecast':<22} {apart:8.2f} s")
    print(f"  lines to order: {outcome.lines:,}, units {outcome.units:,}")

    # Baseline: the same policy inputs, one row at a time, on a sample.
    from soko.forecast.service import latest_forecast

    forecast = latest_forecast(engine)
    assert forecast is not None
    daily = forecast.daily
    first = first_day_of(daily)
    plan_settings = PlanSettings()
    with engine.connect() as conn:
        catalogue = load_catalogue(conn, forecast.as_of, plan_settings)
        positions = load_positions(conn)
        locations = dict(conn.execute(select(Location.code, Location.id)).all())
    demand = demand_per_line(daily, catalogue, locations, first)
    start = time.perf_counter()
    compute_lines(demand, catalogue, positions, {}, first, plan_settings)
    vector = time.perf_counter() - start
    rows = demand.height
    sample = demand.sample(min(SAMPLE, rows), seed=1)
    start = time.perf_counter()
    for i in range(sample.height):
        compute_lines(sample.slice(i, 1), catalogue, positions, {}, first, plan_settings)
    loop = (time.perf_counter() - start) / sample.height * rows
    print(
        f"policy over {rows:,} SKU × locations: vectorised {vector:.2f} s; "
        f"baseline one row at a time {loop:.1f} s (from {sample.height} rows), "
        f"×{loop / vector:.0f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
