"""Per-SKU LTV exposure: how much future customer value depends on a SKU being there.

Three measures per SKU, each a pure function over Polars frames and numpy arrays
(no database):

- **Residual CLV of its customers** (:func:`residual_clv_by_sku`): the mean and
  total residual CLV of the distinct customers who bought it.
- **Gateway score** (:func:`gateway_scores`): of the customers whose *first*
  order held the item, the share who are top-quintile value customers, against
  the base rate (0.2 by construction), with its Wilson (1927) interval; flagged
  by a one-sided binomial test under the Benjamini–Hochberg procedure. The shell
  scores products (styles) and flags every SKU of a flagged product: a colour
  or size rarely has enough first buyers of its own.
- **P(lapse | stockout met)** (:func:`lapse_events` and :func:`lapse_by_sku`):
  a matched comparison. Every purchase day of every customer is an *event*;
  an event is *treated* when the customer met a stockout that day. Events are
  matched on strata of prior purchases × tenure × calendar quarter, and the
  repurchase rate after treated events is compared with the rate of untreated
  events in the same stratum. If a share L of the customers who meet a
  stockout lapse and the others behave like their matches, the treated
  repurchase count O has expectation (1 − L)·E, E = Σ over treated events of
  their stratum's control rate, so L̂ = 1 − O/E. The interval is the Wilson
  interval of O/n scaled by n/E (the control rates, estimated from many times
  more events, are taken as known). Per SKU the estimate is shrunk toward its
  category (and the category toward all SKUs) with a Beta prior of strength
  :data:`PRIOR_STRENGTH` (see :func:`shrink`).

Which customers "met" a stockout is seen only through a proxy, named in the
``proxy`` column of every estimate:

- ``restock_notice``: the customer signed up for a restock notice of the SKU
  (the met day is the sign-up day). Unbiased where sign-up is random among
  those who meet a stockout, but only online channels offer notices.
- ``bought_during_stockout``: the customer bought from the SKU's product (or
  category) on a day the SKU was out. Diluted, since many such buyers never
  wanted the missing SKU, so it biases the lapse effect toward zero.

Stockout days (:func:`stockout_days_from_notices`): a store keeps no daily
stock history, so days out are inferred from restock notices: a SKU is out
from the day of each sign-up up to the day before the customer was notified
(the receipt day); a notice never answered counts as out until ``end``.
Overlapping notices of a SKU merge into one run.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special, stats

from soko.customers._arrays import F64

Proxy = Literal["restock_notice", "bought_during_stockout"]
PROXIES: tuple[Proxy, ...] = ("restock_notice", "bought_during_stockout")

PRIOR_STRENGTH = 20.0
"""κ: a SKU's lapse prior is Beta(κ·L_cat, κ·(1 − L_cat)), worth κ expected repurchasers."""

TOP_SHARE = 0.2
"""Top-quintile customers are the top 20 % by value; the gateway base rate."""

GATEWAY_FDR = 0.1
"""False discovery rate of the gateway flag: about one flagged item in ten may be a false alarm."""


@dataclass(frozen=True, slots=True)
class ShortageCost:
    """Cost of one unit short, with its parts (DESIGN.md, "LTV-aware shortage cost").

    ``total`` = ``unit_margin`` + ``ltv_at_risk_per_unit``, where
    ``ltv_at_risk_per_unit`` = ``p_lapse`` × ``residual_clv`` ÷ ``units_per_order``:
    a short unit turns away a share 1/units_per_order of a customer, who lapses
    with probability ``p_lapse`` and takes their residual CLV along. Money in
    the shop's currency; estimates, hence floats.
    """

    sku: str
    unit_margin: float
    p_lapse: float
    residual_clv: float
    units_per_order: float
    ltv_at_risk_per_unit: float
    total: float
    proxy: str


def shortage_cost(
    sku: str,
    *,
    unit_margin: float,
    p_lapse: float,
    residual_clv: float,
    units_per_order: float,
    proxy: str,
) -> ShortageCost:
    """Shortage cost per unit short: margin + P(lapse | stockout) × residual CLV ÷ units/order."""
    if not 0.0 <= p_lapse <= 1.0:
        raise ValueError(f"p_lapse must be a probability, got {p_lapse}")
    if not units_per_order >= 1.0:
        raise ValueError(f"units_per_order must be >= 1, got {units_per_order}")
    if residual_clv < 0.0:
        raise ValueError(f"residual_clv must be >= 0, got {residual_clv}")
    at_risk = p_lapse * residual_clv / units_per_order
    return ShortageCost(
        sku=sku,
        unit_margin=unit_margin,
        p_lapse=p_lapse,
        residual_clv=residual_clv,
        units_per_order=units_per_order,
        ltv_at_risk_per_unit=at_risk,
        total=unit_margin + at_risk,
        proxy=proxy,
    )


def wilson_interval(successes: F64, trials: F64, *, confidence: float = 0.95) -> tuple[F64, F64]:
    """Wilson (1927) score interval of a binomial proportion, elementwise; (0, 1) where n = 0."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    safe_n = np.where(n > 0, n, 1.0)
    phat = k / safe_n
    denom = 1.0 + z * z / safe_n
    centre = (phat + z * z / (2.0 * safe_n)) / denom
    half = z * np.sqrt(phat * (1.0 - phat) / safe_n + z * z / (4.0 * safe_n * safe_n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def shrink(
    lapsed: F64, exposed: F64, prior_mean: F64, *, strength: float = PRIOR_STRENGTH
) -> tuple[F64, F64, F64]:
    """Posterior mean and 95 % interval of a lapse share under a Beta prior.

    The data of a SKU are read as ``exposed`` = E customers who would have
    bought again, of whom ``lapsed`` = E − O did not (clipped to [0, E]); the
    prior is Beta(κ·m, κ·(1 − m)) with m the category's estimate and κ =
    ``strength``, so a SKU with E ≪ κ stays near its category and one with
    E ≫ κ speaks for itself. Posterior Beta(κm + lapsed, κ(1−m) + E − lapsed).
    """
    e = np.asarray(exposed, dtype=np.float64)
    lost = np.clip(np.asarray(lapsed, dtype=np.float64), 0.0, e)
    m = np.clip(np.asarray(prior_mean, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    alpha = strength * m + lost
    beta = strength * (1.0 - m) + (e - lost)
    mean = alpha / (alpha + beta)
    low = special.betaincinv(alpha, beta, 0.025)
    high = special.betaincinv(alpha, beta, 0.975)
    return (
        np.asarray(mean, dtype=np.float64),
        np.asarray(low, dtype=np.float64),
        np.asarray(high, dtype=np.float64),
    )


# --- stockout days and who met them ------------------------------------------------------


def stockout_days_from_notices(
    notices: pl.DataFrame,
    *,
    end: dt.date,
    restocked: pl.DataFrame | None = None,
    season_end: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Days each SKU was out, inferred from restock notices: one row per ``sku`` × ``date``.

    ``notices`` has ``sku``, ``signed_up_at`` and ``notified_at`` (null: never
    notified). Out from the sign-up day through the day before notification
    (the notice goes out on the receipt day, when stock is back), or through
    ``end`` when never notified; a notice answered on its own day still marks
    that day. ``restocked`` (``sku``, ``date``) lists days stock came back
    without a receipt, such as a customer return put back on the shelf: a run
    ends the day before the first of them after its sign-up day, since the
    notice waits for a receipt and would otherwise count days in stock.
    ``season_end`` (``sku``, ``season_end``) ends runs of seasonal items at the
    end of their season: after it the item is off sale, not out of stock.
    """
    if notices.is_empty():
        return pl.DataFrame(schema={"sku": pl.String, "date": pl.Date})
    runs = notices.select(
        "sku",
        pl.col("signed_up_at").cast(pl.Date).alias("first"),
        pl.when(pl.col("notified_at").is_null())
        .then(pl.lit(end))
        .otherwise(
            pl.max_horizontal(
                pl.col("notified_at").cast(pl.Date) - pl.duration(days=1),
                pl.col("signed_up_at").cast(pl.Date),
            )
        )
        .alias("last"),
    ).filter(pl.col("first") <= end)
    if restocked is not None and not restocked.is_empty():
        back = restocked.select("sku", pl.col("date").alias("back")).unique().sort("sku", "back")
        first_back = (
            runs.with_row_index("run")
            .join(back, on="sku")
            .filter(pl.col("back") > pl.col("first"))
            .group_by("run")
            .agg(pl.col("back").min())
        )
        runs = (
            runs.with_row_index("run")
            .join(first_back, on="run", how="left")
            .with_columns(
                pl.min_horizontal("last", pl.col("back") - pl.duration(days=1)).alias("last")
            )
            .drop("run", "back")
        )
    if season_end is not None and not season_end.is_empty():
        runs = (
            runs.join(season_end.select("sku", "season_end"), on="sku", how="left")
            .with_columns(pl.min_horizontal("last", "season_end").alias("last"))
            .drop("season_end")
            .filter(pl.col("first") <= pl.col("last"))
        )
    return (
        runs.with_columns(pl.min_horizontal("last", pl.lit(end)).alias("last"))
        .select("sku", pl.date_ranges("first", "last").alias("date"))
        .explode("date")
        .unique()
        .sort("sku", "date")
    )


def meetings_from_notices(notices: pl.DataFrame) -> pl.DataFrame:
    """Proxy ``restock_notice``: (customer, SKU, day) of each customer's first sign-up per SKU."""
    return (
        notices.group_by("customer_id", "sku")
        .agg(pl.col("signed_up_at").min().cast(pl.Date).alias("met_on"))
        .with_columns(pl.lit("restock_notice").alias("proxy"))
        .sort("customer_id", "sku")
    )


def meetings_from_purchases(
    lines: pl.DataFrame,
    stockout_days: pl.DataFrame,
    skus: pl.DataFrame,
    *,
    level: Literal["product", "category"] = "product",
) -> pl.DataFrame:
    """Proxy ``bought_during_stockout``: customers who bought the SKU, its product (or, with
    ``level="category"``, its category) on a day the SKU was out; first such day per pair.

    ``lines`` has ``customer_id``, ``date``, ``sku``; ``skus`` maps ``sku`` to
    ``product_code`` and ``category``; ``stockout_days`` is
    :func:`stockout_days_from_notices`.
    """
    key = "product_code" if level == "product" else "category"
    out = stockout_days.join(skus.select("sku", key), on="sku").rename({"sku": "out_sku"})
    bought = lines.select("customer_id", "date", "sku").join(
        skus.select("sku", key), on="sku", how="inner"
    )
    return (
        bought.join(out, on=[key, "date"], how="inner")
        .group_by("customer_id", pl.col("out_sku").alias("sku"))
        .agg(pl.col("date").min().alias("met_on"))
        .with_columns(pl.lit("bought_during_stockout").alias("proxy"))
        .sort("customer_id", "sku")
    )


# --- the matched lapse comparison --------------------------------------------------------

_PRIOR_EDGES = np.array([1, 2, 3, 5, 8])
_TENURE_EDGES = np.array([1, 31, 91, 181, 366])


@dataclass(frozen=True, slots=True)
class LapseEstimate:
    """P(lapse | stockout met) over a set of treated events, with its Wilson-based interval."""

    proxy: str
    treated: int
    repurchased: int
    expected: float
    """E: repurchases the treated would have made at their matches' rates."""
    p_lapse: float
    low: float
    high: float


def lapse_events(
    purchase_days: pl.DataFrame, meetings: pl.DataFrame, *, end: dt.date
) -> pl.DataFrame:
    """Every purchase event with its stratum and outcome, treated or not.

    ``purchase_days`` has ``customer_id`` and ``date`` (one row per customer and
    day bought); ``meetings`` has ``customer_id``, ``sku``, ``met_on`` (a
    customer's first meeting of each SKU). A customer's first meeting day
    (across SKUs) is their treated event; it need not be a purchase day, since a
    fully cut order leaves none. Untreated events are the purchase days of
    customers before any meeting of theirs (after one, a customer is
    no longer comparable). Columns: ``customer_id``, ``date``, ``treated``,
    ``stratum`` (prior purchase days × tenure × quarter), ``repurchased``
    (a purchase after ``date`` up to ``end``) and, for treated events, ``skus``
    (the SKUs met that day).
    """
    days = purchase_days.select("customer_id", "date").unique().sort("customer_id", "date")
    first_met = meetings.group_by("customer_id").agg(pl.col("met_on").min().alias("first_met"))
    met_skus = (
        meetings.join(first_met, on="customer_id")
        .filter(pl.col("met_on") == pl.col("first_met"))
        .group_by("customer_id")
        .agg(pl.col("sku").alias("skus"), pl.col("met_on").first().alias("date"))
    )
    controls = (
        days.join(first_met, on="customer_id", how="left")
        .filter(pl.col("first_met").is_null() | (pl.col("date") < pl.col("first_met")))
        .select("customer_id", "date")
        .with_columns(
            pl.lit(False).alias("treated"), pl.lit(None, pl.List(pl.String)).alias("skus")
        )
    )
    treated = met_skus.select(
        "customer_id",
        "date",
        pl.lit(True).alias("treated"),
        pl.col("skus").cast(pl.List(pl.String)),
    )
    events = pl.concat([controls, treated]).filter(pl.col("date") < end)
    history = days.group_by("customer_id").agg(pl.col("date").alias("all_days"))
    enriched = events.join(history, on="customer_id", how="left").with_columns(
        pl.col("all_days").fill_null(pl.lit([], pl.List(pl.Date)))
    )
    rows = enriched.with_row_index("_row").explode("all_days")
    stats_frame = rows.group_by("_row").agg(
        (pl.col("all_days") < pl.col("date")).sum().alias("prior"),
        pl.col("all_days").filter(pl.col("all_days") <= pl.col("date")).min().alias("first_day"),
        (pl.col("all_days") > pl.col("date")).any().alias("repurchased"),
    )
    out = (
        enriched.with_row_index("_row")
        .join(stats_frame, on="_row", how="left")
        .with_columns(
            pl.col("prior").fill_null(0).cast(pl.Int64),
            pl.col("repurchased").fill_null(False),
            (pl.col("date") - pl.coalesce("first_day", "date")).dt.total_days().alias("tenure"),
        )
    )
    prior_bin = np.searchsorted(_PRIOR_EDGES, out["prior"].to_numpy(), side="right")
    tenure_bin = np.searchsorted(_TENURE_EDGES, out["tenure"].to_numpy(), side="right")
    quarter = out.select(
        (pl.col("date").dt.year() * 4 + (pl.col("date").dt.month() - 1) // 3).alias("q")
    )["q"].to_numpy()
    stratum = (quarter.astype(np.int64) * 100 + prior_bin * 10 + tenure_bin).astype(np.int64)
    return out.with_columns(pl.Series("stratum", stratum)).select(
        "customer_id", "date", "treated", "stratum", "prior", "tenure", "repurchased", "skus"
    )


def matched_expectation(events: pl.DataFrame, *, smoothing: float = 5.0) -> pl.DataFrame:
    """Treated events with ``control_rate``: their stratum's repurchase rate among untreated events.

    Sparse strata borrow from all untreated events with the same prior-purchase
    and tenure bins: rate = (k + s·r̄)/(n + s), s = ``smoothing``.
    """
    controls = events.filter(~pl.col("treated")).with_columns(
        (pl.col("stratum") % 100).alias("cell")
    )
    by_cell = controls.group_by("cell").agg(pl.col("repurchased").mean().alias("cell_rate"))
    overall = float(np.mean(controls["repurchased"].to_numpy())) if controls.height else 0.0
    by_stratum = controls.group_by("stratum").agg(
        pl.col("repurchased").sum().alias("k"), pl.len().alias("n")
    )
    treated = events.filter(pl.col("treated")).with_columns((pl.col("stratum") % 100).alias("cell"))
    return (
        treated.join(by_stratum, on="stratum", how="left")
        .join(by_cell, on="cell", how="left")
        .with_columns(
            pl.col("k").fill_null(0),
            pl.col("n").fill_null(0),
            pl.col("cell_rate").fill_null(overall),
        )
        .with_columns(
            ((pl.col("k") + smoothing * pl.col("cell_rate")) / (pl.col("n") + smoothing)).alias(
                "control_rate"
            )
        )
        .drop("k", "n", "cell", "cell_rate")
    )


def lapse_estimate(matched: pl.DataFrame, *, proxy: str, confidence: float = 0.95) -> LapseEstimate:
    """L̂ = 1 − O/E over the matched treated events, interval from Wilson on O/n."""
    n = matched.height
    observed = int(matched["repurchased"].sum()) if n else 0
    expected = float(matched["control_rate"].sum()) if n else 0.0
    if n == 0 or expected <= 0.0:
        return LapseEstimate(proxy, n, observed, expected, math.nan, 0.0, 1.0)
    low_rate, high_rate = wilson_interval(
        np.array([observed], dtype=np.float64),
        np.array([n], dtype=np.float64),
        confidence=confidence,
    )
    scale = n / expected
    return LapseEstimate(
        proxy=proxy,
        treated=n,
        repurchased=observed,
        expected=expected,
        p_lapse=float(np.clip(1.0 - observed / expected, 0.0, 1.0)),
        low=float(np.clip(1.0 - high_rate[0] * scale, 0.0, 1.0)),
        high=float(np.clip(1.0 - low_rate[0] * scale, 0.0, 1.0)),
    )


def lapse_by_sku(
    matched: pl.DataFrame, skus: pl.DataFrame, *, proxy: str, strength: float = PRIOR_STRENGTH
) -> pl.DataFrame:
    """Per-SKU P(lapse | stockout met), shrunk toward its category, the category toward all.

    ``matched`` is :func:`matched_expectation`; ``skus`` maps ``sku`` to
    ``category`` and lists every SKU (those never met get the category's
    value). Columns: ``sku``, ``category``, ``treated``, ``repurchased``,
    ``expected``, ``p_lapse``, ``p_lapse_low``, ``p_lapse_high``, ``proxy``.
    """
    overall = lapse_estimate(matched, proxy=proxy)
    base = 0.0 if math.isnan(overall.p_lapse) else overall.p_lapse
    per = (
        matched.explode("skus")
        .rename({"skus": "sku"})
        .group_by("sku")
        .agg(
            pl.len().alias("treated"),
            pl.col("repurchased").sum().alias("repurchased"),
            pl.col("control_rate").sum().alias("expected"),
        )
    )
    frame = (
        skus.select("sku", "category")
        .join(per, on="sku", how="left")
        .with_columns(
            pl.col("treated").fill_null(0).cast(pl.Int64),
            pl.col("repurchased").fill_null(0).cast(pl.Int64),
            pl.col("expected").fill_null(0.0),
        )
    )
    cat = frame.group_by("category").agg(
        pl.col("repurchased").sum().alias("c_rep"), pl.col("expected").sum().alias("c_exp")
    )
    c_exp = cat["c_exp"].to_numpy().astype(np.float64)
    c_mean, _, _ = shrink(
        c_exp - cat["c_rep"].to_numpy(), c_exp, np.full(cat.height, base), strength=strength
    )
    frame = frame.join(cat.with_columns(pl.Series("prior", c_mean)), on="category", how="left")
    e = frame["expected"].to_numpy().astype(np.float64)
    mean, low, high = shrink(
        e - frame["repurchased"].to_numpy(), e, frame["prior"].to_numpy(), strength=strength
    )
    return frame.select(
        "sku",
        "category",
        "treated",
        "repurchased",
        "expected",
        pl.Series("p_lapse", mean),
        pl.Series("p_lapse_low", low),
        pl.Series("p_lapse_high", high),
        pl.lit(proxy).alias("proxy"),
    ).sort("sku")


# --- residual CLV and gateways -----------------------------------------------------------


def residual_clv_by_sku(buyers: pl.DataFrame, customer_clv: pl.DataFrame) -> pl.DataFrame:
    """Mean and total residual CLV of the distinct customers who bought each SKU.

    ``buyers`` has ``customer_id`` and ``sku`` (any number of rows per pair);
    ``customer_clv`` has ``customer_id`` and ``clv``.
    """
    return (
        buyers.select("customer_id", "sku")
        .unique()
        .join(customer_clv.select("customer_id", "clv"), on="customer_id", how="inner")
        .group_by("sku")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("clv").mean().alias("residual_clv_mean"),
            pl.col("clv").sum().alias("residual_clv_total"),
        )
        .sort("sku")
    )


def benjamini_hochberg(p_values: F64, *, fdr: float) -> npt.NDArray[np.bool_]:
    """Which hypotheses to reject at false discovery rate ``fdr`` (Benjamini & Hochberg 1995).

    Sort the m p-values, find the largest k with p_(k) ≤ k·fdr/m, reject the k smallest.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=np.bool_)
    order = np.argsort(p, kind="stable")
    passed = np.flatnonzero(p[order] <= fdr * np.arange(1, m + 1) / m)
    reject = np.zeros(m, dtype=np.bool_)
    if passed.size:
        reject[order[: passed[-1] + 1]] = True
    return reject


def gateway_scores(
    first_orders: pl.DataFrame,
    customer_value: pl.DataFrame,
    *,
    key: str = "sku",
    top_share: float = TOP_SHARE,
    fdr: float = GATEWAY_FDR,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """How often an item starts a high-value relationship.

    ``first_orders`` has ``customer_id`` and ``key`` (a SKU or a product code)
    of the lines of each customer's first order; ``customer_value`` has
    ``customer_id`` and ``value``. A customer is *top* when their value is in
    the top ``top_share``. Per item: ``first_buyers``, ``top_buyers``,
    ``top_share`` (their ratio), ``lift`` (÷ the base rate), the Wilson
    interval, ``p_value`` (one-sided binomial test of top share > base rate)
    and ``gateway``: rejected by the Benjamini–Hochberg procedure at ``fdr``
    over all items, since dozens of items are screened at once and a flag
    list should hold few false alarms.
    """
    values = customer_value.select("customer_id", "value")
    cutoff = float(values["value"].quantile(1.0 - top_share, interpolation="linear") or 0.0)
    base = float(np.mean(values["value"].to_numpy() > cutoff)) if values.height else top_share
    per = (
        first_orders.select("customer_id", key)
        .unique()
        .join(values, on="customer_id", how="inner")
        .group_by(key)
        .agg(
            pl.len().cast(pl.Int64).alias("first_buyers"),
            (pl.col("value") > cutoff).sum().cast(pl.Int64).alias("top_buyers"),
        )
        .sort(key)
    )
    k = per["top_buyers"].to_numpy().astype(np.float64)
    n = per["first_buyers"].to_numpy().astype(np.float64)
    low, high = wilson_interval(k, n, confidence=confidence)
    share = np.divide(k, n, out=np.zeros_like(k), where=n > 0)
    p_value = np.asarray(stats.binom.sf(k - 1.0, n, base), dtype=np.float64)
    return per.with_columns(
        pl.Series("top_share", share),
        pl.Series("lift", share / base if base > 0 else np.full(k.size, np.nan)),
        pl.Series("top_share_low", low),
        pl.Series("top_share_high", high),
        pl.Series("p_value", p_value),
        pl.Series("gateway", benjamini_hochberg(p_value, fdr=fdr)),
        pl.lit(base).alias("base_rate"),
    )
