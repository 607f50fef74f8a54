"""What a SKU's list price does to its daily demand.

A list price that moved a month ago makes the older history misstate today's level: after a
20 % rise a SKU with elasticity −2 sells about a third less than it used to. Correcting for
it needs the own-price elasticity ε, demand ∝ price^ε.

:func:`elasticities` measures ε from the store's own list-price moves (the unit price of its
sale lines, before discounts), per category. For each move, the units y₀ in the ``WINDOW``
days before it and y₁ in the ``WINDOW`` days after are compared, against the same windows of
the rest of the category (season and trend: a difference in differences), by the
conditional likelihood of two Poisson counts (see :func:`_fit`). Each category's ε is
shrunk toward the store-wide one by a random-effects meta-analysis (DerSimonian & Laird
1986): only as far as the categories differ by more than their sampling error. A store with
fewer than ``MIN_MOVES`` usable moves has no evidence: ε is 0 and price moves nothing.

:func:`price_index` turns ε into a multiplier per SKU and day, (p_t / p_0)^ε, with p_0 the
last price sold at, which the forecast holds over its horizon: the level models learn from
history divided by it (the past at today's price), the multiplicative decomposition the
weekday and campaign indexes use. The global model reads log(p_t / p_0) as a feature.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

WINDOW = 28  # days before and after a move that measure its effect
MOVE = 0.03  # a |log step| below this is rounding or a coupon, not a list-price change
MIN_MOVES = 5  # fewer moves in the whole store measure nothing
BOUNDS = (-4.0, 0.0)  # a list-price rise never raises demand in this model
INDEX_BOUNDS = (0.2, 5.0)


def price_moves(prices: pl.DataFrame) -> pl.DataFrame:
    """``sku``, ``ds`` (the first sale at the new price), ``prev`` (the last sale at the old
    one), ``step`` (log new ÷ old) of each list-price change in ``prices`` (``sku``, ``ds``,
    ``price`` on days with sales). The change itself fell somewhere between the two days."""
    return (
        prices.filter(pl.col("price") > 0)
        .sort("sku", "ds")
        .with_columns(
            pl.col("price").log().diff().over("sku").alias("step"),
            pl.col("ds").shift().over("sku").alias("prev"),
        )
        .filter(pl.col("step").abs() >= MOVE)
        .select("sku", "ds", "prev", "step")
    )


def elasticities(
    demand: pl.DataFrame, prices: pl.DataFrame, catalogue: pl.DataFrame
) -> tuple[pl.DataFrame, float, int]:
    """Per category ``category``, ``elasticity``, ``moves``; the store-wide elasticity and
    the number of moves measured.

    ``demand``: ``sku``, ``ds``, ``y`` (daily demand, censored days estimated), ``active``;
    ``prices``: ``sku``, ``ds``, ``price`` on days with sales; ``catalogue``: ``sku``,
    ``category``. The windows are the ``WINDOW`` days before the last sale at the old price
    and after the first sale at the new one: the days between, when the change fell, are left
    out, and so are those two sales, which were picked for being sales. A move counts when
    the SKU was selling on every day of both windows, sold in one of them and its price did
    not move again within them."""
    cats = catalogue.select("sku", pl.col("category").fill_null(""))
    empty = pl.DataFrame(
        schema={"category": pl.String, "elasticity": pl.Float64, "moves": pl.UInt32}
    )
    span = dt.timedelta(days=WINDOW)
    one = dt.timedelta(days=1)
    moves = price_moves(prices)
    # Another move of the same SKU within the windows blurs both.
    moves = (
        moves.sort("sku", "ds")
        .filter(
            ((pl.col("prev") - pl.col("ds").shift().over("sku")).fill_null(span * 2) > span)
            & ((pl.col("prev").shift(-1).over("sku") - pl.col("ds")).fill_null(span * 2) > span)
        )
        .join(cats, on="sku", how="left")
        .with_columns(pl.col("category").fill_null(""))
        .with_row_index("move")
    )
    if moves.height < MIN_MOVES:
        return empty, 0.0, moves.height
    windows = pl.concat(
        [
            moves.select(
                "move",
                "sku",
                "category",
                pl.date_ranges(pl.col("prev") - span, pl.col("prev") - one).alias("day"),
                pl.lit(False).alias("after"),
            ),
            moves.select(
                "move",
                "sku",
                "category",
                pl.date_ranges(pl.col("ds") + one, pl.col("ds") + span).alias("day"),
                pl.lit(True).alias("after"),
            ),
        ]
    ).explode("day")
    days = demand.join(cats, on="sku", how="left").with_columns(pl.col("category").fill_null(""))
    category_days = days.group_by("category", "ds").agg(pl.col("y").sum().alias("cy"))
    joined = windows.join(
        days.select("sku", pl.col("ds").alias("day"), "y", "active"), on=["sku", "day"]
    ).join(category_days.rename({"ds": "day"}), on=["category", "day"])
    per_move = (
        joined.with_columns((pl.col("cy") - pl.col("y")).alias("cy"))
        .group_by("move")
        .agg(
            pl.col("y").filter(pl.col("after")).sum().alias("y1"),
            pl.col("y").filter(~pl.col("after")).sum().alias("y0"),
            pl.col("cy").filter(pl.col("after")).sum().alias("c1"),
            pl.col("cy").filter(~pl.col("after")).sum().alias("c0"),
            (pl.col("active").all() & (pl.len() == 2 * WINDOW)).alias("whole"),
        )
        .join(moves.select("move", "category", "step"), on="move")
    )
    used = per_move.filter(
        pl.col("whole")
        & (pl.col("c1") > 0)
        & (pl.col("c0") > 0)
        & (pl.col("y0") + pl.col("y1") > 0)
    ).with_columns((pl.col("c1") / pl.col("c0")).log().alias("offset"))
    if used.height < MIN_MOVES:
        return empty, 0.0, used.height
    fits = {
        str(name[0]): _fit(part)
        for name, part in used.partition_by("category", as_dict=True).items()
    }
    store, _ = _fit(used)
    raw = np.array([f[0] for f in fits.values()])
    var = np.array([f[1] for f in fits.values()])
    tau2 = _between(raw, var, store)
    # Each category shrunk toward the store by precision; all the store's when τ² = 0.
    pooled = (
        (raw / var + store / tau2) / (1 / var + 1 / tau2) if tau2 > 0 else np.full(raw.size, store)
    )
    out = pl.DataFrame(
        {"category": list(fits), "elasticity": np.clip(np.nan_to_num(pooled, nan=store), *BOUNDS)}
    ).join(used.group_by("category").agg(pl.len().alias("moves")), on="category")
    return out.sort("category"), store, used.height


def _fit(moves: pl.DataFrame) -> tuple[float, float]:
    """The elasticity of ``moves`` by maximum likelihood and its variance.

    Given a move's y₀ + y₁ units in its two windows, y₁ is binomial with
    logit π = log(c₁/c₀) + ε·step: the conditional likelihood of two Poisson counts, in which
    the SKU's unknown level cancels (the fixed-effects Poisson of Hausman, Hall & Griliches
    1984, "Econometric models for count data with an application to the patents–R&D
    relationship", Econometrica 52(4)), so slow movers count without a small-count bias.
    The variance is the inverse Fisher information times Pearson's dispersion when above 1."""
    from scipy import optimize, special

    y1 = moves["y1"].to_numpy().astype(np.float64)
    n = y1 + moves["y0"].to_numpy().astype(np.float64)
    offset = moves["offset"].to_numpy()
    step = moves["step"].to_numpy()

    def nll(e: float) -> float:
        eta = offset + e * step
        return -float(np.sum(y1 * -np.logaddexp(0, -eta) + (n - y1) * -np.logaddexp(0, eta)))

    best = optimize.minimize_scalar(nll, bounds=BOUNDS, method="bounded")
    e = float(best.x)
    pi = special.expit(offset + e * step)
    info = float(np.sum(n * pi * (1 - pi) * step**2))
    pearson = float(np.sum((y1 - n * pi) ** 2 / np.maximum(n * pi * (1 - pi), 1e-12)))
    dispersion = max(1.0, pearson / max(len(y1) - 1, 1))
    return e, dispersion / info if info > 0 else np.inf


def _between(raw: npt.NDArray[np.float64], var: npt.NDArray[np.float64], store: float) -> float:
    """The variance of the true elasticities between categories, by DerSimonian & Laird's
    moment estimator (1986, "Meta-analysis in clinical trials", Controlled Clinical Trials
    7(3)): τ² = max(0, (Q − (k − 1)) / (Σw − Σw² / Σw)), w = 1 / sampling variance.
    0 means the categories differ no more than their sampling error: all take the store's."""
    ok = np.isfinite(var) & (var > 0)
    if ok.sum() < 2:
        return 0.0
    w = 1.0 / var[ok]
    q_stat = float(np.sum(w * (raw[ok] - store) ** 2))
    denominator = float(w.sum() - (w**2).sum() / w.sum())
    return max(0.0, (q_stat - (ok.sum() - 1)) / denominator) if denominator > 0 else 0.0


def relative_prices(prices: pl.DataFrame, *, first: dt.date, last: dt.date) -> pl.DataFrame:
    """``sku``, ``ds``, ``price`` = log(price that day ÷ the last price sold at, which the
    forecast holds over its horizon) on the days from ``first`` to ``last`` at another price
    than that. ``prices``: ``sku``, ``ds``, ``price`` on days with sales; a day without
    sales keeps the price of the last sale, days before the first sale take the first.

    Built from the runs of one price, not a row per SKU and day: most SKUs never move."""
    seen = prices.filter((pl.col("price") > 0) & pl.col("ds").is_between(first, last))
    runs = (
        seen.sort("sku", "ds")
        .with_columns(pl.col("price").cast(pl.Float64))
        .filter(pl.col("price") != pl.col("price").shift().over("sku").fill_null(-1.0))
        .with_columns(
            pl.col("price").last().over("sku").alias("p0"),
            pl.col("ds").shift(-1).over("sku").alias("next"),
            (pl.col("ds").cum_count().over("sku") == 1).alias("opening"),
        )
        .filter(pl.col("price") != pl.col("p0"))
    )
    one = dt.timedelta(days=1)
    return (
        runs.select(
            "sku",
            pl.date_ranges(
                pl.when(pl.col("opening")).then(pl.lit(first)).otherwise(pl.col("ds")),
                pl.col("next") - one,
            ).alias("ds"),
            (pl.col("price") / pl.col("p0")).log().alias("price"),
        )
        .explode("ds")
        .sort("sku", "ds")
    )


def price_index(relative: pl.DataFrame, elasticity: pl.DataFrame) -> pl.DataFrame:
    """``sku``, ``ds``, ``pidx`` = exp(ε · log relative price) = (p / p0)^ε from
    :func:`relative_prices` and ``elasticity`` (``sku``, ``elasticity``); days whose index
    is 1 are left out."""
    return (
        relative.join(elasticity, on="sku")
        .with_columns(
            (pl.col("price") * pl.col("elasticity")).exp().clip(*INDEX_BOUNDS).alias("pidx")
        )
        .filter((pl.col("pidx") - 1.0).abs() > 1e-9)
        .select("sku", "ds", "pidx")
    )
