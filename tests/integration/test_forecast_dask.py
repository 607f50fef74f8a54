"""The same forecast run partitioned by series on a local Dask cluster gives the same answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from soko.forecast.core import run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("forecast_dask")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from dask.distributed import Client, LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)  # type: ignore[no-untyped-call]
    client = Client(local)  # type: ignore[no-untyped-call]
    yield client
    client.close()  # type: ignore[no-untyped-call]
    local.close()  # type: ignore[no-untyped-call]


def _history() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    start = dt.date(2025, 1, 1)
    days = pl.date_range(start, start + dt.timedelta(days=299), eager=True)
    return pl.concat(
        pl.DataFrame({"unique_id": f"S{i:02d}", "ds": days, "y": rng.poisson(level, 300) * 1.0})
        for i, level in enumerate(np.geomspace(0.05, 20, 24))
    )


def test_dask_partitions_give_the_same_forecast_as_one_process(cluster: object) -> None:
    history = _history()
    local = run(history, 14, expensive="none")
    spread = run(history, 14, expensive="none", partitions=4)
    columns = ["unique_id", "ds", "mean", "model", "q_0.1", "q_0.9"]
    assert_frame_equal(
        local.forecast.select(columns).sort("unique_id", "ds"),
        spread.forecast.select(columns).sort("unique_id", "ds"),
        check_exact=False,
        abs_tol=1e-4,
    )
    assert local.model_counts == spread.model_counts
