"""Customer value over a store loaded with the small demo preset, checked against its truth.

The store is generated once per module (``generate_into_store(…, "small", 1)``);
the truth is read from ``data_dir/truth/*.parquet``, never typed in here.
Measured on seed 1 (docs/customer-value.md keeps the table):

- BG/NBD mean purchase rate r/α +2.8 % of the truth's mean λ (over the 2,948 customers
  with an order); mean dropout a/(a+b) of the plain fit (all causes) +16.6 % of the mean
  p, of the fit with each customer's stockout-lapse hazard (natural dropout) +5.1 %;
- purchases meeting a stockout, estimated from the store's stock history: 10.3 %, against
  10.2 % implied by the truth's lapses (353 ÷ (0.3 × 11,574 purchases));
- Gamma-Gamma mean spend pγ/(q−1) +11.3 % of the truth's mean ζ;
- gateway SKUs: precision 1.0, recall 1.0 (15 of 15);
- P(lapse | stockout met), restock-notice proxy: 0.264 (0.187–0.344), truth 0.3.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from soko.cli_customers import customers_app
from soko.data.demo import generate_into_store
from soko.insight import customer_value as cv
from soko.settings import Settings
from soko.store.db import make_engine

SEED = 1


@dataclass(frozen=True)
class Loaded:
    settings: Settings
    data: cv.CustomerData
    models: cv.CustomerModels
    lapse: cv.LapseAnalysis
    exposure: pl.DataFrame
    truth: dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    settings = Settings(data_dir=tmp_path_factory.mktemp("customer_value"))
    generate_into_store(settings, "small", SEED)
    truth = {p.stem: pl.read_parquet(p) for p in (settings.data_dir / "truth").glob("*.parquet")}
    engine = make_engine(settings)
    try:
        data = cv.load_customer_data(engine)
    finally:
        engine.dispose()
    models = cv.fit_customer_models(data)
    lapse = models.lapses or cv.lapse_analysis(data)
    return Loaded(settings, data, models, lapse, cv.sku_exposure(data, models, lapse), truth)


def seen_customers(loaded: Loaded) -> pl.DataFrame:
    """The truth of the customers the fit sees (those with an order in the store)."""
    return loaded.truth["customers"].join(
        loaded.models.summary.select("customer_id"), on="customer_id", how="semi"
    )


def mean(column: pl.Series) -> float:
    return float(column.to_numpy().mean())


def relative_gap(estimate: float, truth: float) -> float:
    return estimate / truth - 1.0


def test_bgnbd_mean_rate_and_natural_dropout_are_within_10_percent_of_the_generators(
    loaded: Loaded,
) -> None:
    plain, natural = loaded.models.bgnbd, loaded.models.natural
    assert natural is not None
    truth = seen_customers(loaded)
    true_rate, true_dropout = mean(truth["lambda_per_day"]), mean(truth["dropout_p"])
    rate_gap = relative_gap(natural.r / natural.alpha, true_rate)
    plain_rate_gap = relative_gap(plain.r / plain.alpha, true_rate)
    natural_gap = relative_gap(natural.a / (natural.a + natural.b), true_dropout)
    all_causes_gap = relative_gap(plain.a / (plain.a + plain.b), true_dropout)
    print(
        f"\nseed {SEED}: rate {rate_gap:+.1%} (plain {plain_rate_gap:+.1%}); dropout, all "
        f"causes {all_causes_gap:+.1%}; natural dropout {natural_gap:+.1%}"
    )
    assert plain.converged
    assert natural.converged
    # Issue 5: both within 10 %. The plain fit reads the customers who lapse after a stockout
    # (353 of the 2,948) as dropout, which the truth's p leaves out; the lapse model takes
    # them out with a hazard estimated from the store alone (docs/customer-value.md).
    assert abs(rate_gap) <= 0.10, rate_gap
    assert abs(plain_rate_gap) <= 0.10, plain_rate_gap
    assert abs(natural_gap) <= 0.10, natural_gap
    assert all_causes_gap > natural_gap


def test_purchases_meeting_a_stockout_match_the_generators_lapses(loaded: Loaded) -> None:
    """Each meeting ends in a lapse with the truth's probability, so lapses ÷ that probability
    counts the meetings; the store's estimate comes from its stock history only."""
    churn = loaded.models.churn
    assert churn is not None
    truth = seen_customers(loaded).join(
        loaded.models.summary.select("customer_id", "x", "first_purchase"), on="customer_id"
    )
    true_lapse = float(loaded.truth["lapse"]["lapse_probability"][0])
    purchases = int((truth["x"] + 1).sum())
    implied = int(truth["lapsed"].sum()) / true_lapse / purchases
    after_repeat = truth.filter(
        pl.col("lapsed") & (pl.col("lapsed_on") > pl.col("first_purchase").cast(pl.Date))
    ).height
    demand = loaded.truth["demand"]
    lost = demand.group_by(pl.col("location_code").alias("location")).agg(
        (1 - pl.col("sold_units").sum() / pl.col("demand_units").sum()).alias("truth_lost_units")
    )
    print(
        f"\nseed {SEED}: purchases meeting a stockout {churn.meets_stockout:.2%}, implied by the "
        f"truth's lapses {implied:.2%}; lapse hazard per repeat purchase {churn.lapse_hazard:.4f}, "
        f"truth {after_repeat / int(truth['x'].sum()):.4f}; customers lost to stockouts "
        f"{churn.customers_lost_to_stockouts:.0f} of {churn.customers_lost:.0f} "
        f"({churn.share_from_stockouts:.1%}), truth {after_repeat} lapsed after a repeat purchase"
    )
    print(churn.shares.join(lost, on="location").sort("location"))
    # Measured +1 % on seed 1 (+19 % and +9 % on seeds 2 and 3, docs/customer-value.md);
    # the bound is the worst of the three rounded up.
    assert churn.meets_stockout == pytest.approx(implied, rel=0.20)
    assert 0.0 < churn.share_from_stockouts < 0.5


def test_gamma_gamma_mean_spend_is_near_the_generators(loaded: Loaded) -> None:
    g = loaded.models.gamma_gamma
    truth = seen_customers(loaded)
    gap = relative_gap(g.population_mean_spend(), mean(truth["mean_spend"]))
    # Measured +11.8 %: the generator turns a target spend into whole units (at least
    # one per line, at most six) at reference prices, so realised spend follows
    # Gamma-Gamma only approximately (docs/ground-truth.md says so). Bound: measured,
    # rounded up.
    assert abs(gap) <= 0.12, gap


def test_flagged_gateway_skus_match_the_truth(loaded: Loaded) -> None:
    true_gateways = set(loaded.truth["gateway_skus"]["sku"])
    flagged = set(loaded.exposure.filter(pl.col("gateway"))["sku"])
    hits = len(true_gateways & flagged)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(true_gateways)
    assert precision >= 0.8, (precision, sorted(flagged - true_gateways))
    assert recall >= 0.8, (recall, sorted(true_gateways - flagged))


def test_lapse_interval_from_restock_notices_holds_the_truth_within_a_tenth(
    loaded: Loaded,
) -> None:
    true_lapse = float(loaded.truth["lapse"]["lapse_probability"][0])
    estimate = loaded.lapse.overall["restock_notice"]
    assert estimate.proxy == "restock_notice"
    assert estimate.treated >= 100
    assert estimate.low <= true_lapse <= estimate.high, estimate
    assert estimate.high - estimate.low <= 0.2, estimate


def test_buying_during_a_stockout_is_a_diluted_proxy(loaded: Loaded) -> None:
    """Most buyers of a product on a day one of its SKUs was out never wanted that SKU,
    so this proxy's estimate falls well below the truth; it is reported as such."""
    true_lapse = float(loaded.truth["lapse"]["lapse_probability"][0])
    diluted = loaded.lapse.overall["bought_during_stockout"]
    assert diluted.treated > loaded.lapse.overall["restock_notice"].treated
    assert diluted.high < true_lapse


def test_stockout_days_inferred_from_notices_are_mostly_true_stockouts(loaded: Loaded) -> None:
    inferred = loaded.lapse.stockout_days
    true_out = loaded.truth["stockouts"].filter(pl.col("location_code") == "WH-KANTO")
    hits = inferred.join(true_out.select("sku", "date"), on=["sku", "date"], how="semi").height
    # A notice is told at 10:00 on the receipt day, so the day before is the last day out;
    # sign-ups come from stock that ran out during the day, which the truth records.
    assert inferred.height > 0
    assert hits / inferred.height >= 0.9, hits / inferred.height


def test_shortage_cost_adds_margin_and_ltv_at_risk(loaded: Loaded) -> None:
    engine = make_engine(loaded.settings)
    try:
        costs = cv.shortage_costs(engine, data=loaded.data, models=loaded.models)
    finally:
        engine.dispose()
    assert set(costs) == set(loaded.data.skus["sku"])
    for cost in costs.values():
        assert cost.total == pytest.approx(
            cost.unit_margin + cost.p_lapse * cost.residual_clv / cost.units_per_order
        )
        assert cost.proxy.startswith(("restock_notice", "bought_during_stockout"))
    # Priced at the value customers keep when no stockout meets them: the lapse model's.
    values = cv.customer_values(loaded.models)
    sku = max(costs, key=lambda code: costs[code].ltv_at_risk_per_unit)
    buyers = loaded.data.lines.filter(pl.col("sku") == sku).select("customer_id").unique()
    natural = values.join(buyers, on="customer_id")["clv_natural"].mean()
    assert costs[sku].residual_clv == pytest.approx(natural)
    assert float(values["clv_natural"].sum()) > float(values["clv"].sum())
    # The LTV part matters: for the median SKU it is a sizeable share of the margin.
    ratios = [c.ltv_at_risk_per_unit / c.unit_margin for c in costs.values() if c.unit_margin > 0]
    assert float(np.median(ratios)) > 0.1


def test_export_lists_every_customer_and_what_they_wait_for_in_cp932(
    loaded: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOKO_DATA_DIR", str(loaded.settings.data_dir))
    out = tmp_path / "segments.csv"
    result = CliRunner().invoke(customers_app, ["export", "--out", str(out), "--encoding", "cp932"])
    assert result.exit_code == 0, result.output
    exported = pl.read_csv(out.read_bytes().decode("cp932").encode(), infer_schema_length=0)
    assert exported.columns == [
        "customer_id",
        "segment",
        "r_score",
        "f_score",
        "m_score",
        "clv",
        "p_alive",
        "waiting_for",
    ]
    assert exported.height == loaded.models.summary.height
    open_notices = loaded.data.notices.filter(pl.col("notified_at").is_null())
    waiting = exported.filter(pl.col("waiting_for").is_not_null())
    assert set(waiting["customer_id"]) == set(open_notices["customer_id"])
    for row in open_notices.iter_rows(named=True):
        listed = waiting.filter(pl.col("customer_id") == row["customer_id"])["waiting_for"][0]
        assert row["sku"] in listed.split(" ")


def test_fit_prints_the_fitted_parameters(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOKO_DATA_DIR", str(loaded.settings.data_dir))
    result = CliRunner().invoke(customers_app, ["fit"])
    assert result.exit_code == 0, result.output
    b = loaded.models.bgnbd
    assert f"{b.r:,.4f}" in result.output
    assert f"{b.alpha:,.4f}" in result.output
    assert f"{loaded.models.gamma_gamma.q:,.4f}" in result.output


def test_report_shows_segments_and_the_skus_with_most_ltv_at_stake(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOKO_DATA_DIR", str(loaded.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(customers_app, ["report", "--top", "3"])
    assert result.exit_code == 0, result.output
    top = loaded.exposure.sort("ltv_at_stake", descending=True).head(3)["sku"].to_list()
    for sku in top:
        assert sku in result.output
    assert "Champions" in result.output
    assert "repeat rate" in result.output


def test_an_empty_store_is_refused_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOKO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(customers_app, ["fit"])
    assert result.exit_code == 1
    assert "no orders with a customer" in result.output
    assert "Traceback" not in result.output


def test_as_of_is_the_last_order_day(loaded: Loaded) -> None:
    assert loaded.data.as_of == dt.date(2026, 10, 31)
