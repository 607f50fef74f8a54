"""The CDNOW sample and its published BG/NBD parameters, shared by the customer-value tests."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl

from soko.customers import BgNbdFit

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "refdata" / "cdnow" / "CDNOW_sample.txt"

CDNOW_BGNBD = BgNbdFit(
    r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=math.nan, n_customers=0, converged=True
)
"""Fader, Hardie & Lee (2005) published parameters, for properties that need no fit."""


def read_cdnow(path: Path = CDNOW) -> pl.DataFrame:
    """CDNOW_sample.txt: ``master_id sample_id YYYYMMDD cds dollars``, whitespace-separated."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "customer_id": [row[0] for row in rows],
            "ordered_at": [dt.datetime.strptime(row[2], "%Y%m%d").date() for row in rows],
            "revenue": [float(row[4]) for row in rows],
        }
    )
