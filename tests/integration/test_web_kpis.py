"""``/api/v1/kpis``: turnover, days of inventory and fill rate from the known store's rows.

The expected figures are worked out here from the rows in ``conftest`` (not
from the code under test): cost of goods sold per week, stock value walked
back from today's, and DESIGN.md's turnover = COGS ÷ average inventory value.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from fastapi.testclient import TestClient

from tests.integration.conftest import LAST_ORDER_AT, LINES, SKUS, STOCK, KnownStore

END = dt.datetime.combine(LAST_ORDER_AT.date() + dt.timedelta(days=1), dt.time())
COST = {s.code: s.unit_cost or Decimal(0) for s in SKUS}


def cogs_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    total = Decimal(0)
    for line in LINES:
        if start <= line.at < end:
            sign = 1 if line.kind == "sale" else -1
            total += sign * line.quantity * COST[line.sku]
    return total


def test_turnover_days_and_fill_rate_follow_the_textbook_formulas(
    known_store: KnownStore, client: TestClient
) -> None:
    body = client.get("/api/v1/kpis").json()
    stock_now = sum((units * COST[sku] for sku, _, units in STOCK), Decimal(0))
    # No receipts: going back a week, the stock held that week's cost of sales more.
    boundaries = [stock_now]
    for k in range(4):
        week_end = END - dt.timedelta(weeks=k)
        boundaries.append(boundaries[-1] + cogs_between(week_end - dt.timedelta(weeks=1), week_end))
    average = sum(boundaries, Decimal(0)) / len(boundaries)
    cogs = cogs_between(END - dt.timedelta(weeks=4), END)
    assert cogs > 0
    assert body["turnover"] == round(float(cogs / average) * 365 / 28, 1)
    assert body["days_of_inventory"] == round(float(average / cogs) * 28)
    # No restock requests were recorded, so every unit asked for was served.
    assert body["fill_rate"] == 1.0
    assert body["unmet_units"] == 0
    assert body["sales"] == body["revenue"]
    weekly = body["weekly"]
    assert len(weekly) == 12
    assert [w["week_start"] for w in weekly][-1] == str((END - dt.timedelta(weeks=1)).date())
    assert sum(w["sales"] for w in weekly[-4:]) == body["sales"]
    assert weekly[-1]["stock_value"] == int(stock_now.quantize(Decimal(1), ROUND_HALF_UP))


def test_an_empty_store_has_no_ratios_rather_than_zeros(empty_client: TestClient) -> None:
    body = empty_client.get("/api/v1/kpis").json()
    assert (body["turnover"], body["days_of_inventory"], body["fill_rate"]) == (None, None, None)
    assert body["weekly"] == []
