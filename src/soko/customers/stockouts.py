"""How often a purchase meets a stockout, from the store's own stock history.

The stockout-lapse hazard of :func:`soko.customers.bgnbd.fit_bgnbd_with_lapse` is
c_i = P(lapse | stockout met) × s_i, s_i the probability that a purchase of
customer i meets a stockout: one of its lines finds less on the shelf than it
wants. The store never records what a cut line wanted, so s_i is estimated in
two steps.

**Short lines per location** (:func:`short_line_shares`). Stock on hand at the end
of each day is rebuilt per SKU × location from the last count and the flows
(:func:`soko.forecast.history.on_hand_end_of_day`); a day that ends with nothing
on hand while the SKU is active there is *censored* (as in the forecast's
history cleaning). A censored day is one of two kinds:

- *out all day* (no sale): every line wanted that day was short. Their number is
  the SKU's mean lines per day over its uncensored active days around that day (the
  rule of :func:`soko.forecast.history.estimate_censored`, on line counts, with its
  window on both sides: see :func:`_censored_level`).
- *ran out* (sales, then nothing left): the lines after the last sale were short,
  that mean times the share of the location's lines that fall later in the day
  than that sale. Arrivals after the shelf empties do not depend on what
  emptied it, which is why a rate, not that day's sales, prices them; and the
  last line itself was cut with probability κ(R) = P(W > R | W ≥ R), R the
  units it got (all that was left) and W the units a line of that SKU wants
  (its lines on other days, shrunk toward its category's with the weight of
  :data:`SIZE_PRIOR_LINES` lines).

Ignoring the last line, or pricing censored days by their sales as a demand
estimate does, misses most of the short lines of the days a shelf runs out: on
the small demo preset those are lines of two to six units meeting the last one
or two left, and they are a third of all short lines.

short share q_ℓ = short lines ÷ (lines sold + lines never sold) at location ℓ.

**Per purchase** (:func:`purchase_stockout_probability`): a purchase meets a
stockout unless every line of it was served, 1 − Π_lines (1 − q_ℓ(line)), its
lines being those the store recorded (a line cut to nothing leaves no row, so
this is slightly low); s_i is the mean over the customer's purchases (same-day
orders merged, as the customer models count them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from soko.customers._arrays import F64, I64, Bools
from soko.forecast import history

SIZE_PRIOR_LINES = 10.0
"""A SKU's line sizes are shrunk toward its category's with the weight of this many lines."""

BLOCK_KEYS = 4096
"""SKU × location series rebuilt at a time: 4,096 × 730 days is 24 MB a matrix."""

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class StockHistory:
    """What the store knows about stock, per SKU × location: ``sku`` and ``location`` are
    codes or ids, of one type in every frame (the shell passes integer ids).

    ``sales``: ``sku``, ``location``, ``date``, ``lines``, ``units``, ``last_minute``
    (minute of the day of the last sale line), ``last_quantity`` (its units).
    ``flows``: ``sku``, ``location``, ``date``, ``units``: receipts, returns and
    adjustments, signed. ``on_hand``: ``sku``, ``location``, ``on_hand`` at the end of
    ``count_day``. ``skus``: ``sku``, ``category``, ``season_start``, ``season_end``
    (null for staples). ``line_sizes``: ``sku``, ``quantity``, ``lines`` (sale lines
    of each size). ``sale_minutes``: ``location``, ``minute``, ``lines`` (when in the
    day lines are sold there).
    """

    sales: pl.DataFrame
    flows: pl.DataFrame
    on_hand: pl.DataFrame
    skus: pl.DataFrame
    line_sizes: pl.DataFrame
    sale_minutes: pl.DataFrame
    count_day: dt.date


SHARES_SCHEMA: dict[str, type[pl.DataType]] = {
    "lines": pl.Float64,
    "lost_lines": pl.Float64,
    "short_lines": pl.Float64,
    "short_share": pl.Float64,
}


def short_line_shares(stock: StockHistory) -> pl.DataFrame:
    """Per location: ``lines`` sold, ``lost_lines`` (wanted, never sold), ``short_lines``
    (lost plus the last lines cut on days a shelf ran out) and ``short_share`` =
    short ÷ (lines + lost). Empty when the store has no sales with a location, or no
    stock count to rebuild the stock from."""
    sales = stock.sales.filter(
        pl.col("location").is_not_null() & (pl.col("date") <= stock.count_day)
    )
    if sales.is_empty() or stock.on_hand.is_empty():
        return pl.DataFrame(schema={"location": sales["location"].dtype, **SHARES_SCHEMA})
    first = sales["date"].min()
    assert isinstance(first, dt.date)
    n_days = (stock.count_day - first).days + 1
    flows = stock.flows.filter(
        pl.col("location").is_not_null()
        & (pl.col("date") >= first)
        & (pl.col("date") <= stock.count_day)
    )
    keys = (
        pl.concat(
            [
                sales.select("sku", "location").unique(),
                flows.select("sku", "location").unique(),
                stock.on_hand.select("sku", "location"),
            ]
        )
        .unique()
        .sort("sku", "location")
        .with_row_index("_k")
        .with_columns(pl.col("_k").cast(pl.Int64))
    )
    locations = keys["location"].unique().sort()
    keys = keys.join(
        pl.DataFrame({"location": locations, "_l": np.arange(locations.len(), dtype=np.int64)}),
        on="location",
    ).sort("_k")
    seasons = keys.join(
        stock.skus.select("sku", "season_start", "season_end"), on="sku", how="left"
    )
    season_from = _day_index(seasons["season_start"], first, default=0)
    season_to = _day_index(seasons["season_end"], first, default=n_days)

    def located(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(
            keys.select("sku", "location", "_k"), on=["sku", "location"]
        ).with_columns((pl.col("date") - pl.lit(first)).dt.total_days().cast(pl.Int64).alias("_d"))

    sales_at = located(sales)
    flows_at = located(flows)
    # Rows grouped by series, so each block of series is a contiguous slice.
    s_order = np.argsort(sales_at["_k"].to_numpy(), kind="stable")
    f_order = np.argsort(flows_at["_k"].to_numpy(), kind="stable")
    s_k, s_d = sales_at["_k"].to_numpy()[s_order], sales_at["_d"].to_numpy()[s_order]
    s_units = sales_at["units"].to_numpy().astype(np.float64)[s_order]
    s_lines = sales_at["lines"].to_numpy().astype(np.float64)[s_order]
    f_k, f_d = flows_at["_k"].to_numpy()[f_order], flows_at["_d"].to_numpy()[f_order]
    f_units = flows_at["units"].to_numpy().astype(np.float64)[f_order]
    final = np.zeros(keys.height)
    counted = stock.on_hand.join(keys.select("sku", "location", "_k"), on=["sku", "location"])
    final[counted["_k"].to_numpy()] = counted["on_hand"].to_numpy().astype(np.float64)

    key_location = keys["_l"].to_numpy()
    lost = np.zeros(locations.len())
    ran_out = np.zeros(s_k.size, dtype=np.bool_)
    ran_out_level = np.zeros(s_k.size)
    for lo in range(0, keys.height, BLOCK_KEYS):
        hi = min(lo + BLOCK_KEYS, keys.height)
        s_lo, s_hi = (int(i) for i in np.searchsorted(s_k, [lo, hi]))
        f_lo, f_hi = (int(i) for i in np.searchsorted(f_k, [lo, hi]))
        rows, cols = s_k[s_lo:s_hi] - lo, s_d[s_lo:s_hi]
        level, censored, out_all_day = _censored_level(
            (rows, cols, s_units[s_lo:s_hi], s_lines[s_lo:s_hi]),
            (f_k[f_lo:f_hi] - lo, f_d[f_lo:f_hi], f_units[f_lo:f_hi]),
            final[lo:hi],
            season_from[lo:hi],
            season_to[lo:hi],
            n_days=n_days,
        )
        lost += np.bincount(key_location[lo:hi], weights=out_all_day, minlength=lost.size)
        ran_out[s_lo:s_hi] = censored[rows, cols]
        ran_out_level[s_lo:s_hi] = level[rows, cols]
    days_out = (
        sales_at[s_order].with_columns(pl.Series("level", ran_out_level)).filter(pl.Series(ran_out))
    )
    later = _later_share(stock.sale_minutes, days_out)
    cut = _last_line_cut(stock, days_out)
    after = (
        days_out.with_columns(
            (pl.col("level") * later).alias("after"), pl.Series("cut", cut, dtype=pl.Float64)
        )
        .group_by("location")
        .agg(pl.col("after").sum(), pl.col("cut").sum())
    )
    sold = sales.group_by("location").agg(pl.col("lines").sum().cast(pl.Float64))
    return (
        pl.DataFrame({"location": locations, "full": lost})
        .join(sold, on="location", how="left")
        .join(after, on="location", how="left")
        .with_columns(pl.col("lines", "after", "cut").fill_null(0.0))
        .select(
            "location",
            "lines",
            (pl.col("full") + pl.col("after")).alias("lost_lines"),
            (pl.col("full") + pl.col("after") + pl.col("cut")).alias("short_lines"),
        )
        .with_columns(
            (pl.col("short_lines") / (pl.col("lines") + pl.col("lost_lines"))).alias("short_share")
        )
        .cast(SHARES_SCHEMA)  # type: ignore[arg-type]
    )


def purchase_stockout_probability(lines: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """Per customer: ``purchases`` and ``meets_stockout``, the mean over their purchases of
    1 − Π_lines (1 − q_ℓ), q_ℓ the ``short_share`` of the line's location.

    ``lines`` has ``customer_id``, ``date`` and ``location`` per sale line (a purchase is
    a customer's day). A line without a location, or at a location without a share,
    takes the share of all lines.
    """
    total = shares.select(
        pl.col("short_lines").sum() / (pl.col("lines") + pl.col("lost_lines")).sum()
    ).item()
    overall = float(total) if total is not None and np.isfinite(total) else 0.0
    return (
        lines.select("customer_id", "date", "location")
        .join(shares.select("location", "short_share"), on="location", how="left")
        .with_columns(
            (1.0 - pl.col("short_share").fill_null(overall).clip(0.0, 1.0)).log().alias("_kept")
        )
        .group_by("customer_id", "date")
        .agg((1.0 - pl.col("_kept").sum().exp()).alias("met"))
        .group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("purchases"), pl.col("met").mean().alias("meets_stockout")
        )
        .sort("customer_id")
    )


def _day_index(dates: pl.Series, first: dt.date, *, default: int) -> I64:
    """Days from ``first`` to each date; ``default`` where the date is null."""
    frame = pl.DataFrame({"d": dates.cast(pl.Date)}).select(
        (pl.col("d") - pl.lit(first)).dt.total_days().fill_null(default).cast(pl.Int64)
    )
    return frame["d"].to_numpy()


def _censored_level(
    sales: tuple[I64, I64, F64, F64],
    flows: tuple[I64, I64, F64],
    final: F64,
    season_from: I64,
    season_to: I64,
    *,
    n_days: int,
) -> tuple[F64, Bools, F64]:
    """For one block of series: the lines-per-day level on censored days (0 elsewhere),
    the censored days, and per series the lines of its days out all day.

    ``sales`` are (series, day, units, lines) and ``flows`` (series, day, units), series
    numbered from 0 within the block. The level is
    :func:`soko.forecast.history.estimate_censored`'s rule with its window on both sides
    of the day: the mean over the uncensored active days within ``WINDOW`` days before or
    after, else within ``LONG_WINDOW``, else the series' mean. A forecast can only look
    back; a measure of the past should not, because a shelf empties after unusually
    strong days, which a trailing window then counts as the rate (on the small preset it
    put s 6–28 % above what the truth's lapses imply, against 1–19 % centred). Evaluated
    on censored days only, where this reads it: the full matrices that function builds
    cost three times as much on a large store.
    """
    size = final.size
    cells = size * n_days

    def dense(rows: I64, cols: I64, values: F64) -> F64:
        flat = np.bincount(rows * n_days + cols, weights=values, minlength=cells)
        return np.asarray(flat.reshape(size, n_days), dtype=np.float64)

    s_rows, s_cols, s_units, s_lines = sales
    units = dense(s_rows, s_cols, s_units)
    net = dense(flows[0], flows[1], flows[2]) - units
    # history.on_hand_end_of_day's rebuild, final − Σ_{t>d} net(t), written as
    # final − Σ net + Σ_{t≤d} net(t): one forward running sum, half the time.
    running = np.cumsum(net, axis=1)
    on_hand = (final - running[:, -1])[:, None] + running
    # Active from the first sale or receipt on (as the forecast's history), in season.
    touched = (units > 0) | (net > 0)
    first = np.where(touched.any(axis=1), touched.argmax(axis=1), n_days)
    del units, net, running, touched
    day = np.arange(n_days)[None, :]
    start = np.maximum(first, season_from)[:, None]
    active = (day >= start) & (day <= season_to[:, None])
    censored = active & (on_hand <= 0)
    del on_hand
    level = np.zeros((size, n_days))
    out_all_day = np.zeros(size)
    some = np.flatnonzero(censored.any(axis=1))
    if some.size == 0:
        return level, censored, out_all_day
    lines = dense(s_rows, s_cols, s_lines)[some]
    out, clean = censored[some], active[some] & ~censored[some]
    zero = np.zeros((some.size, 1), dtype=np.int64)
    whole_lines = np.where(clean, lines, 0.0).astype(np.int64)  # counts of lines
    clean_lines = np.concatenate([zero, np.cumsum(whole_lines, axis=1)], axis=1)
    clean_days = np.concatenate([zero, np.cumsum(clean, axis=1, dtype=np.int64)], axis=1)
    rows, cols = np.nonzero(out)

    def around(window: int) -> tuple[F64, F64]:
        lo = np.maximum(cols - window, 0)
        hi = np.minimum(cols + window + 1, n_days)
        return (
            (clean_lines[rows, hi] - clean_lines[rows, lo]).astype(np.float64),
            (clean_days[rows, hi] - clean_days[rows, lo]).astype(np.float64),
        )

    s_short, n_short = around(history.WINDOW)
    s_long, n_long = around(history.LONG_WINDOW)
    n_all = clean_days[rows, -1].astype(np.float64)
    all_lines = clean_lines[rows, -1].astype(np.float64)
    overall = np.divide(all_lines, n_all, out=np.zeros_like(n_all), where=n_all > 0)
    values = np.where(
        n_short >= history.MIN_CLEAN_DAYS,
        s_short / np.maximum(n_short, 1.0),
        np.where(n_long >= history.MIN_CLEAN_DAYS, s_long / np.maximum(n_long, 1.0), overall),
    )
    level[some[rows], cols] = values
    no_sale = lines[rows, cols] == 0
    out_all_day[some] = np.bincount(rows[no_sale], weights=values[no_sale], minlength=some.size)
    return level, censored, out_all_day


def _later_share(sale_minutes: pl.DataFrame, days_out: pl.DataFrame) -> F64:
    """Per row of ``days_out``: the share of its location's sale lines sold later in the
    day than its ``last_minute``."""
    if days_out.is_empty():
        return np.zeros(0)
    grid = (
        sale_minutes.select("location")
        .unique()
        .join(pl.DataFrame({"minute": np.arange(MINUTES_PER_DAY, dtype=np.int64)}), how="cross")
        .join(
            sale_minutes.with_columns(pl.col("minute").cast(pl.Int64)),
            on=["location", "minute"],
            how="left",
        )
        .with_columns(pl.col("lines").fill_null(0).cast(pl.Float64))
        .sort("location", "minute")
        .with_columns(
            pl.col("lines").cum_sum().over("location").alias("_upto"),
            pl.col("lines").sum().over("location").alias("_all"),
        )
        .select(
            "location",
            pl.col("minute").alias("last_minute"),
            ((pl.col("_all") - pl.col("_upto")) / pl.col("_all")).alias("later"),
        )
    )
    later = (
        days_out.select("location", pl.col("last_minute").cast(pl.Int64))
        .with_row_index("_row")
        .join(grid, on=["location", "last_minute"], how="left")
        .sort("_row")["later"]
        .fill_null(0.0)
    )
    return later.to_numpy().astype(np.float64)


def _last_line_cut(stock: StockHistory, days_out: pl.DataFrame) -> F64:
    """Per row of ``days_out``: κ(R) = P(W > R | W ≥ R), R its ``last_quantity``, W the
    units a line of its SKU wants (shrunk toward the category's sizes)."""
    if days_out.is_empty():
        return np.zeros(0)
    # The last lines of those days got what was left, not what they wanted: left out.
    truncated = days_out.group_by("sku", pl.col("last_quantity").alias("quantity")).agg(
        pl.len().alias("_cut")
    )
    sizes = (
        stock.line_sizes.with_columns(pl.col("quantity").cast(pl.Int64))
        .join(
            truncated.with_columns(pl.col("quantity").cast(pl.Int64)),
            on=["sku", "quantity"],
            how="left",
        )
        .select(
            "sku",
            "quantity",
            (pl.col("lines") - pl.col("_cut").fill_null(0))
            .clip(lower_bound=0)
            .cast(pl.Float64)
            .alias("n"),
        )
        .join(stock.skus.select("sku", "category"), on="sku", how="left")
        .with_columns(pl.col("category").fill_null(""))
    )
    by_category = sizes.group_by("category", "quantity").agg(pl.col("n").sum())
    rows = (
        days_out.select("sku", pl.col("last_quantity").cast(pl.Int64).alias("got"))
        .with_row_index("_row")
        .join(stock.skus.select("sku", "category"), on="sku", how="left")
        .with_columns(pl.col("category").fill_null(""))
    )
    needed = rows.select("sku", "category", "got").unique()

    def tails(table: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
        return (
            needed.select(key, "got")
            .unique()
            .join(table.select(key, "quantity", "n"), on=key, how="left")
            .group_by(key, "got")
            .agg(
                pl.col("n").filter(pl.col("quantity") >= pl.col("got")).sum().alias(f"{prefix}_ge"),
                pl.col("n").filter(pl.col("quantity") > pl.col("got")).sum().alias(f"{prefix}_gt"),
                pl.col("n").sum().alias(f"{prefix}_n"),
            )
        )

    m = SIZE_PRIOR_LINES
    shrunk = (
        needed.join(tails(sizes, "sku", "own"), on=["sku", "got"], how="left")
        .join(tails(by_category, "category", "cat"), on=["category", "got"], how="left")
        .with_columns(pl.col("^(own|cat)_.*$").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("cat_n") > 0)
            .then(pl.col("cat_ge") / pl.col("cat_n"))
            .otherwise(0.0)
            .alias("_pge"),
            pl.when(pl.col("cat_n") > 0)
            .then(pl.col("cat_gt") / pl.col("cat_n"))
            .otherwise(0.0)
            .alias("_pgt"),
        )
        .with_columns(
            ((pl.col("own_ge") + m * pl.col("_pge")) / (pl.col("own_n") + m)).alias("_ge"),
            ((pl.col("own_gt") + m * pl.col("_pgt")) / (pl.col("own_n") + m)).alias("_gt"),
        )
        .select(
            "sku",
            "got",
            pl.when(pl.col("_ge") > 0)
            .then(pl.col("_gt") / pl.col("_ge"))
            .otherwise(0.0)
            .alias("kappa"),
        )
    )
    kappa = rows.join(shrunk, on=["sku", "got"], how="left").sort("_row")["kappa"].fill_null(0.0)
    return kappa.to_numpy().astype(np.float64)
