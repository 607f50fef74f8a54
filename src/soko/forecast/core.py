"""Model choice by rolling-origin backtest, and conformal quantiles, over many series.

The run, for series in the Nixtla layout (``unique_id``, ``ds``, ``y``):

1. **Weekday profile** (and campaign index). Daily retail demand has a strong weekly rhythm that the
   intermittent-demand methods (Croston, ADIDA, TSB) cannot see. Each series is divided by
   its weekday index (its last year's weekday means over its mean, shrunk towards the
   pooled index by ``PROFILE_SHRINK`` units of evidence), the level models run on the
   adjusted series, and their forecasts are multiplied back: classical multiplicative
   decomposition, as in the M4 Theta benchmark (Assimakopoulos & Nikolopoulos 2000).
2. **Cheap candidates** run on every series in a rolling-origin backtest
   (``n_windows`` origins, ``h`` days each; Tashman 2000): simple exponential smoothing,
   Croston SBA (Syntetos & Boylan 2005), ADIDA (Nikolopoulos et al. 2011), IMAPA
   (Petropoulos & Kourentzes 2015), TSB (Teunter, Syntetos & Babai 2011), a 28-day
   window average, their equal-weight combination, and the seasonal naive.
3. **Choice per group.** Series are grouped by the Syntetos–Boylan–Croston demand class
   (ADI 1.32, CV² 0.49; Syntetos, Boylan & Croston 2005); each group takes the candidate
   with the lowest mean RMSSE over its series' backtests, but a single model must beat the
   equal-weight combination by ``COMBINATION_MARGIN`` to displace it: the "forecast
   combination puzzle" (Claeskens, Magnus, Vasnev & Wang 2016) is that estimated choices
   rarely beat equal weights out of sample. A choice per group is far less noisy than one
   per series (per-series choice by backtest loses to plain SES on M5).
4. **Expensive candidates** (AutoETS, Hyndman et al. 2002, with a weekly season) are
   screened: they run on a sample of each group's series first, and on the whole group
   only when they beat the group's cheap winner there by ``EXPENSIVE_GAIN``.
5. **Global model.** A LightGBM model across series with calendar, holiday and exogenous
   features (:mod:`soko.forecast.global_model`) is backtested on the same origins (on a
   sample of at most ``global_model.TRAIN_SERIES`` series) and takes a class only where it
   beats the class's choice by ``GLOBAL_GAIN``; exogenous columns (campaigns, discounts,
   prices) reach only this model, so they are used exactly where they pay.
6. **Conformal quantiles.** The chosen model's backtest residuals, per series, divided by
   the weekday index, give empirical residual quantiles at the finite-sample-corrected
   levels of split conformal prediction (Vovk et al. 2005; Angelopoulos & Bates 2021);
   a quantile is the forecast plus that residual quantile times the day's index, never
   below zero. Series too short to backtest borrow the pooled residual quantiles of their
   class, relative to their level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonSBA,
    Naive,
    SeasonalNaive,
    SimpleExponentialSmoothingOptimized,
    WindowAverage,
)

from soko.forecast import global_model
from soko.forecast.metrics import naive_scales, rmsse

Progress = Callable[[str, int, int], None]
Expensive = Literal["auto", "none", "all"]

PROFILE_DAYS = 364
PROFILE_SHRINK = 300.0  # units of pooled evidence a series' own weekday profile must outweigh
ADI_CUT = 1.32  # Syntetos, Boylan & Croston (2005)
CV2_CUT = 0.49
COMBINATION_MARGIN = 0.02  # a single model must beat the combination by this much to win
EXPENSIVE_SAMPLE = 40
EXPENSIVE_GAIN = 0.02  # relative RMSSE gain the expensive model must show on the sample
GLOBAL_GAIN = 0.02  # relative RMSSE gain the global model must show over a class's choice
GLOBAL_MIN_CLASS = 10  # series of a class the global model's backtest must score
MAX_HISTORY = 3 * 364  # older days add little to level models and cost time
COMBINED = ("SES", "ADIDA", "TSB", "WindowAverage")
CHEAP = ("SES", "CrostonSBA", "ADIDA", "IMAPA", "TSB", "WindowAverage", "Combination")
BASELINES = ("Naive", "SeasonalNaive")


class ForecastInputError(ValueError):
    """The history cannot be forecast as given; the message names the column or series."""


@dataclass(frozen=True)
class ForecastResult:
    """The outcome of :func:`run`.

    ``forecast``: ``unique_id``, ``ds``, ``mean``, ``model`` and one float column
    ``q_<τ>`` per quantile (continuous, ≥ 0). ``series``: one row per series with
    ``model``, ``demand_class``, ``history_days``, ``scaled_error`` (the chosen model's
    backtest RMSSE) and the backtest RMSSE of ``naive`` and ``seasonal_naive``.
    ``backtest``: the chosen model's backtest rows (``unique_id``, ``ds``, ``cutoff``,
    ``y``, ``mean``, ``q_<τ>``), which the accuracy report scores.
    ``model_counts``: how many series chose each model. ``expensive_groups``: the classes
    where the expensive candidate ran on every series. ``global_groups``: the classes the
    global model won.
    """

    forecast: pl.DataFrame
    series: pl.DataFrame
    backtest: pl.DataFrame
    model_counts: dict[str, int]
    expensive_groups: tuple[str, ...]
    quantiles: tuple[float, ...]
    global_groups: tuple[str, ...] = ()


def quantile_column(q: float) -> str:
    """Column name of quantile ``q`` (``q_0.9``)."""
    return f"q_{q:g}"


def _cheap_models(season_length: int) -> list[Any]:
    return [
        SimpleExponentialSmoothingOptimized(alias="SES"),
        CrostonSBA(),
        ADIDA(),
        IMAPA(),
        TSB(alpha_d=0.1, alpha_p=0.1),
        WindowAverage(window_size=28 if season_length == 7 else 4),
    ]


def _baseline_models(season_length: int) -> list[Any]:
    return [Naive(), SeasonalNaive(season_length=max(season_length, 1))]


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    pdf = frame.select("unique_id", "ds", "y").to_pandas()
    pdf["ds"] = pd.to_datetime(pdf["ds"])
    return pdf


def _from_pandas(pdf: Any) -> pl.DataFrame:
    if hasattr(pdf, "compute"):  # a Dask frame from the distributed path
        pdf = pdf.compute()
    if isinstance(pdf, pd.DataFrame):
        pdf = pdf.reset_index(drop="unique_id" in pdf.columns)
        out = pl.from_pandas(pdf)
    else:
        out = pl.DataFrame(pdf)
    return out.with_columns(pl.col("ds").cast(pl.Date), pl.col("unique_id").cast(pl.String))


def _statsforecast(
    models: list[Any],
    frame: pl.DataFrame,
    freq: str,
    *,
    h: int,
    n_windows: int | None,
    partitions: int | None,
) -> pl.DataFrame:
    """Forecast (``n_windows`` None) or backtest through StatsForecast; with ``partitions``
    the frame goes to Dask and StatsForecast distributes it by series through Fugue."""
    pdf: Any = _to_pandas(frame)
    if partitions:
        import dask.dataframe as dd

        pdf = dd.from_pandas(pdf, npartitions=partitions)  # type: ignore[no-untyped-call]
    sf = StatsForecast(models=models, freq=freq, n_jobs=1)
    if n_windows is None:
        return _from_pandas(sf.forecast(df=pdf, h=h))
    result = sf.cross_validation(df=pdf, h=h, n_windows=n_windows, step_size=h)
    return _from_pandas(result)


def validate_history(frame: pl.DataFrame) -> pl.DataFrame:
    """Checked, typed history: ``unique_id`` str, ``ds`` Date, ``y`` float ≥ 0, one row
    per series and day, sorted."""
    missing = [c for c in ("unique_id", "ds", "y") if c not in frame.columns]
    if missing:
        raise ForecastInputError(f"history lacks column(s) {', '.join(missing)}")
    if frame.height == 0:
        raise ForecastInputError("history is empty")
    out = frame.with_columns(
        pl.col("unique_id").cast(pl.String),
        pl.col("ds").cast(pl.Date),
        pl.col("y").cast(pl.Float64),
    )
    bad = out.filter(pl.col("y").is_nan() | (pl.col("y") < 0))
    if bad.height:
        row = bad.row(0, named=True)
        raise ForecastInputError(
            f"y must be a number ≥ 0: series {row['unique_id']!r} on {row['ds']} has {row['y']}"
        )
    dupes = out.group_by("unique_id", "ds").len().filter(pl.col("len") > 1)
    if dupes.height:
        row = dupes.row(0, named=True)
        raise ForecastInputError(f"series {row['unique_id']!r} has {row['ds']} twice")
    return out.with_columns(pl.col("y").fill_null(0.0)).sort("unique_id", "ds")


def fill_days(frame: pl.DataFrame, every: str) -> pl.DataFrame:
    """Every period from a series' first to its last row; a missing period sold nothing."""
    return (
        frame.sort("unique_id", "ds")
        .upsample(time_column="ds", every=every, group_by="unique_id")
        .with_columns(pl.col("unique_id").forward_fill(), pl.col("y").fill_null(0.0))
    )


def weekday_index(history: pl.DataFrame) -> pl.DataFrame:
    """``unique_id``, ``wd`` (1–7), ``idx``: each series' weekday index over its last
    ``PROFILE_DAYS`` days, shrunk towards the pooled index (mean 1 over the week)."""
    end = history.select(pl.col("ds").max()).item()
    recent = history.filter(pl.col("ds") > end - pl.duration(days=PROFILE_DAYS)).with_columns(
        pl.col("ds").dt.weekday().alias("wd")
    )
    pooled = (
        recent.group_by("wd")
        .agg(pl.col("y").mean().alias("m"))
        .with_columns((pl.col("m") / pl.col("m").mean()).alias("pidx"))
        .select("wd", "pidx")
    )
    own = (
        recent.group_by("unique_id", "wd")
        .agg(pl.col("y").mean().alias("m"))
        .with_columns(
            pl.col("m").mean().over("unique_id").alias("mm"),
            (pl.col("m").sum().over("unique_id") * (PROFILE_DAYS / 7)).alias("units"),
        )
    )
    ids = history.select("unique_id").unique()
    grid = ids.join(pooled, how="cross")
    return (
        grid.join(own, on=["unique_id", "wd"], how="left")
        .with_columns(
            pl.when(pl.col("mm") > 0)
            .then(pl.col("m") / pl.col("mm"))
            .otherwise(None)
            .alias("sidx"),
            pl.col("units").fill_null(0.0),
        )
        .with_columns(
            (
                (
                    pl.col("units") * pl.col("sidx").fill_null(pl.col("pidx"))
                    + PROFILE_SHRINK * pl.col("pidx")
                )
                / (pl.col("units") + PROFILE_SHRINK)
            )
            .clip(lower_bound=0.05)
            .alias("idx")
        )
        .with_columns((pl.col("idx") / pl.col("idx").mean().over("unique_id")).alias("idx"))
        .select("unique_id", "wd", "idx")
    )


def demand_classes(history: pl.DataFrame) -> pl.DataFrame:
    """``unique_id``, ``demand_class`` (smooth, erratic, intermittent, lumpy, none) from the
    last ``PROFILE_DAYS`` days: ADI = days per non-zero day, CV² of the non-zero sizes."""
    end = history.select(pl.col("ds").max()).item()
    recent = history.filter(pl.col("ds") > end - pl.duration(days=PROFILE_DAYS))
    stats = recent.group_by("unique_id").agg(
        pl.len().alias("n"),
        (pl.col("y") > 0).sum().alias("nz"),
        pl.col("y").filter(pl.col("y") > 0).mean().alias("mu"),
        pl.col("y").filter(pl.col("y") > 0).std(ddof=0).alias("sd"),
    )
    adi = pl.col("n") / pl.col("nz")
    cv2 = (pl.col("sd") / pl.col("mu")) ** 2
    cls = (
        pl.when(pl.col("nz") == 0)
        .then(pl.lit("none"))
        .when((adi < ADI_CUT) & (cv2 < CV2_CUT))
        .then(pl.lit("smooth"))
        .when(adi < ADI_CUT)
        .then(pl.lit("erratic"))
        .when(cv2.fill_null(0) < CV2_CUT)
        .then(pl.lit("intermittent"))
        .otherwise(pl.lit("lumpy"))
    )
    ids = history.select("unique_id").unique()
    return ids.join(
        stats.select("unique_id", cls.alias("demand_class")), on="unique_id", how="left"
    ).with_columns(pl.col("demand_class").fill_null("none"))


def _reseasonalise(
    frame: pl.DataFrame,
    index: pl.DataFrame,
    columns: Sequence[str],
    calendar: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Multiply ``columns`` back by the day's index: the weekday index times, with
    ``calendar``, the campaign index of that series and day; the product is kept as
    ``idx``, the scale of the day's residuals."""
    out = (
        frame.with_columns(pl.col("ds").dt.weekday().alias("wd"))
        .join(index, on=["unique_id", "wd"], how="left")
        .with_columns(pl.col("idx").fill_null(1.0))
    )
    if calendar is not None:
        out = (
            out.join(calendar, on=["unique_id", "ds"], how="left")
            .with_columns((pl.col("idx") * pl.col("cidx").fill_null(1.0)).alias("idx"))
            .drop("cidx")
        )
    return out.with_columns(
        (pl.col(c) * pl.col("idx")).clip(lower_bound=0.0).alias(c) for c in columns
    )


def _add_combination(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.mean_horizontal(list(COMBINED)).alias("Combination"))


def _conformal_levels(quantiles: Sequence[float], n: int) -> list[float]:
    """Split-conformal finite-sample levels: ⌈(n+1)τ⌉/n for upper, ⌊(n+1)τ⌋/n for lower."""
    out = []
    for q in quantiles:
        level = math.ceil((n + 1) * q) / n if q >= 0.5 else math.floor((n + 1) * q) / n
        out.append(min(max(level, 0.0), 1.0))
    return out


def _residual_quantiles(
    residuals: pl.DataFrame, quantiles: Sequence[float], by: str
) -> pl.DataFrame:
    """Empirical quantiles of column ``r`` per ``by``, at the conformal levels of each group."""
    sizes = residuals.group_by(by).len()
    n_typical = int(sizes["len"].median() or 1)  # type: ignore[arg-type]
    levels = _conformal_levels(quantiles, max(n_typical, 1))
    return residuals.group_by(by).agg(
        pl.col("r")
        .quantile(level, interpolation="higher" if q >= 0.5 else "lower")
        .alias(quantile_column(q))
        for q, level in zip(quantiles, levels, strict=True)
    )


def run(
    history: pl.DataFrame,
    h: int,
    *,
    quantiles: Sequence[float] = (0.1, 0.5, 0.8, 0.9, 0.95),
    freq: str = "D",
    n_windows: int = 3,
    expensive: Expensive = "auto",
    partitions: int | None = None,
    progress: Progress | None = None,
    future: pl.DataFrame | None = None,
    use_global: bool = True,
    calendar: pl.DataFrame | None = None,
) -> ForecastResult:
    """Choose a model per demand class by backtest, forecast ``h`` periods with conformal
    quantiles. ``history`` is Polars in the Nixtla layout; days must be filled (see
    :func:`fill_days`). ``partitions`` runs StatsForecast on Dask in that many parts.

    Columns of ``history`` besides ``unique_id``, ``ds`` and ``y`` are exogenous features
    of the global model; ``future`` holds their values on each series' next ``h`` days.
    ``use_global`` False leaves the global model out. ``calendar`` (``unique_id``, ``ds``,
    ``cidx``) is a known multiplier per series and day, past and future (campaigns, see
    :func:`soko.forecast.features.campaign_index`): the level models learn from history
    divided by it and their forecasts are multiplied by it, like the weekday index."""
    if h < 1:
        raise ForecastInputError(f"horizon h must be at least 1, got {h}")
    report = progress or (lambda _stage, _done, _total: None)
    quantiles = tuple(sorted(set(quantiles)))
    daily = freq.upper().startswith("D")
    season = 7 if daily else 1
    end_day = history.select(pl.col("ds").max()).item()
    # Weekly periods keep the weekday the data uses (pandas "W" alone means weeks ending Sunday).
    sf_freq = (
        "D"
        if daily
        else f"W-{('MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN')[end_day.weekday()]}"
    )
    steps = 6
    report("profile", 0, steps)
    end = history.select(pl.col("ds").max()).item()
    cutoff_days = MAX_HISTORY if daily else MAX_HISTORY // 7
    start = end - dt_days(cutoff_days * (1 if daily else 7))
    hist = history.filter(pl.col("ds") > start)
    index = (
        weekday_index(hist)
        if daily
        else hist.select("unique_id")
        .unique()
        .join(pl.DataFrame({"wd": list(range(1, 8))}), how="cross")
        .with_columns(pl.lit(1.0).alias("idx"))
    )
    classes = demand_classes(hist if daily else history)
    lengths = hist.group_by("unique_id").agg(pl.len().alias("history_days"))
    need = n_windows * h + 2 * max(season, 7)
    long_ids = lengths.filter(pl.col("history_days") >= need).select("unique_id")
    adjusted = (
        _reseasonalise(hist.with_columns(pl.lit(1.0).alias("_one")), index, ["_one"], calendar)
        .with_columns((pl.col("y") / pl.col("idx")).alias("y"))
        .select("unique_id", "ds", "y")
    )
    scales = naive_scales(hist)
    cheap = _cheap_models(season)
    report("backtest", 1, steps)
    long_adj = adjusted.join(long_ids, on="unique_id", how="semi")
    long_raw = hist.join(long_ids, on="unique_id", how="semi")
    if long_adj.height:
        cv = _statsforecast(
            cheap, long_adj, sf_freq, h=h, n_windows=n_windows, partitions=partitions
        )
        cv = _add_combination(cv)
        cv_base = _statsforecast(
            _baseline_models(season),
            long_raw,
            sf_freq,
            h=h,
            n_windows=n_windows,
            partitions=partitions,
        ).drop("y")
        cv = _reseasonalise(cv, index, CHEAP, calendar).join(
            cv_base, on=["unique_id", "ds", "cutoff"], how="left"
        )
    else:
        cv = pl.DataFrame(
            schema={
                "unique_id": pl.String,
                "ds": pl.Date,
                "cutoff": pl.Date,
                "y": pl.Float64,
                "idx": pl.Float64,
            }
            | dict.fromkeys((*CHEAP, *BASELINES), pl.Float64)
        )
    report("selection", 2, steps)
    scores = rmsse(cv, scales, [*CHEAP, *BASELINES]).join(classes, on="unique_id")
    candidates = [*CHEAP, "SeasonalNaive"]
    group_means = scores.group_by("demand_class").agg(pl.col(c).mean() for c in candidates)
    choice: dict[str, str] = {}
    for row in group_means.iter_rows(named=True):
        best = min(candidates, key=lambda c: row[c] if row[c] is not None else math.inf)
        combined = row["Combination"]
        if combined is not None and row[best] > (1 - COMBINATION_MARGIN) * combined:
            best = "Combination"  # equal weights rarely lose (Claeskens et al. 2016)
        choice[row["demand_class"]] = best
    expensive_groups: list[str] = []
    ets_cv: pl.DataFrame | None = None
    if expensive != "none" and daily and scores.height:
        rng = np.random.default_rng(0)
        for cls, best in sorted(choice.items()):
            if cls in ("none", "intermittent", "lumpy") and expensive == "auto":
                continue  # exponential smoothing on mostly-zero series is the Croston problem
            ids = scores.filter(pl.col("demand_class") == cls)["unique_id"].to_list()
            sample = (
                ids
                if expensive == "all"
                else list(rng.choice(ids, size=min(EXPENSIVE_SAMPLE, len(ids)), replace=False))
            )
            part = _ets_backtest(long_raw, sample, sf_freq, h, n_windows, partitions, calendar)
            gain = _gain(part, cv, scales, best)
            if expensive == "all" or gain > EXPENSIVE_GAIN:
                rest = [i for i in ids if i not in set(sample)]
                if rest:
                    part = pl.concat(
                        [
                            part,
                            _ets_backtest(
                                long_raw, rest, sf_freq, h, n_windows, partitions, calendar
                            ),
                        ]
                    )
                ets_cv = part if ets_cv is None else pl.concat([ets_cv, part])
                full_gain = _gain(part, cv, scales, best)
                if expensive == "all" or full_gain > 0:
                    choice[cls] = "AutoETS"
                    expensive_groups.append(cls)
    if ets_cv is not None:
        cv = cv.join(ets_cv, on=["unique_id", "ds", "cutoff"], how="left")
    picked = [*CHEAP, *BASELINES, *(["AutoETS"] if ets_cv is not None else [])]
    global_groups: list[str] = []
    if use_global and daily and scores.height >= global_model.MIN_SERIES:
        report("global model", 3, steps)
        global_cv, global_groups = _screen_global(
            long_raw, scores, cv, scales, choice, h=h, n_windows=n_windows
        )
        cv = cv.join(global_cv, on=["unique_id", "ds", "cutoff"], how="left")
        picked.append(global_model.NAME)
    report("quantiles", 3, steps)
    series = lengths.join(classes, on="unique_id", how="left").with_columns(
        pl.col("demand_class").replace_strict(choice, default="WindowAverage").alias("model")
    )
    # The global model forecasts from a series' last weeks: too short a series keeps the
    # equal-weight combination.
    series = series.with_columns(
        pl.when(
            (pl.col("model") == global_model.NAME)
            & ~pl.col("unique_id").is_in(long_ids["unique_id"].implode())
        )
        .then(pl.lit("Combination"))
        .otherwise(pl.col("model"))
        .alias("model")
    )
    # Residuals of each series' chosen model on the backtest, on the weekday-adjusted scale.
    chosen_cv = cv.join(series.select("unique_id", "model"), on="unique_id")
    chosen_cv = chosen_cv.with_columns(_pick("model", picked).alias("mean")).filter(
        pl.col("mean").is_not_null()
    )
    chosen_cv = chosen_cv.with_columns(((pl.col("y") - pl.col("mean")) / pl.col("idx")).alias("r"))
    per_series = _residual_quantiles(chosen_cv, quantiles, "unique_id")
    # Relative residuals pooled per class, for series too short to backtest.
    level = chosen_cv.group_by("unique_id").agg(
        (pl.col("mean") / pl.col("idx")).mean().alias("lvl")
    )
    rel = (
        chosen_cv.join(level, on="unique_id")
        .filter(pl.col("lvl") > 0)
        .with_columns((pl.col("r") / pl.col("lvl")).alias("r"))
        .join(classes, on="unique_id")
    )
    pooled = _residual_quantiles(rel, quantiles, "demand_class") if rel.height else None
    report("forecast", 4, steps)
    fc = _statsforecast(cheap, adjusted, sf_freq, h=h, n_windows=None, partitions=partitions)
    fc = _reseasonalise(_add_combination(fc), index, CHEAP, calendar)
    fc_base = _statsforecast(
        _baseline_models(season), hist, sf_freq, h=h, n_windows=None, partitions=partitions
    )
    fc = fc.join(fc_base, on=["unique_id", "ds"], how="left")
    columns = [*CHEAP, *BASELINES]
    if expensive_groups:
        ets_ids = series.filter(pl.col("model") == "AutoETS").select("unique_id")
        ets_fc = _statsforecast(
            [AutoETS(season_length=7)],
            _by_calendar(hist.join(ets_ids, on="unique_id", how="semi"), calendar, "y", -1),
            sf_freq,
            h=h,
            n_windows=None,
            partitions=partitions,
        )
        ets_fc = _by_calendar(ets_fc, calendar, "AutoETS", 1).with_columns(
            pl.col("AutoETS").clip(lower_bound=0.0)
        )
        fc = fc.join(ets_fc, on=["unique_id", "ds"], how="left")
        columns.append("AutoETS")
    global_ids = series.filter(pl.col("model") == global_model.NAME)["unique_id"].to_list()
    if global_ids:
        global_fc = global_model.forecast(hist, global_ids, h=h, future=future)
        fc = fc.join(global_fc, on=["unique_id", "ds"], how="left")
        columns.append(global_model.NAME)
    fc = fc.join(series.select("unique_id", "model"), on="unique_id").with_columns(
        _pick("model", columns).alias("mean")
    )
    report("intervals", 5, steps)
    qcols = [quantile_column(q) for q in quantiles]
    fc = fc.join(per_series, on="unique_id", how="left")
    short_level = fc.group_by("unique_id").agg((pl.col("mean") / pl.col("idx")).mean().alias("lvl"))
    fc = fc.join(short_level, on="unique_id")
    if pooled is not None:
        fc = fc.join(classes, on="unique_id").join(
            pooled.rename({c: f"{c}_pool" for c in qcols}), on="demand_class", how="left"
        )
        fc = fc.with_columns(
            pl.coalesce(pl.col(c), pl.col(f"{c}_pool") * pl.col("lvl"), pl.lit(0.0)).alias(c)
            for c in qcols
        )
    else:
        # Nothing could be backtested: Poisson quantiles around the level, as residuals.
        from scipy import stats

        mu = np.maximum(fc["mean"].to_numpy(), 1e-9)
        fc = fc.with_columns(
            pl.Series(quantile_column(q), stats.poisson.ppf(q, mu).astype(np.float64))
            for q in quantiles
        ).with_columns((pl.col(c) - pl.col("mean")) / pl.col("idx") for c in qcols)
    fc = fc.with_columns(
        (pl.col("mean") + pl.col(c) * pl.col("idx")).clip(lower_bound=0.0).alias(c) for c in qcols
    )
    # Quantiles must not cross; sorting each row keeps them monotone in τ.
    fc = _monotone(fc, qcols)
    forecast_frame = fc.select("unique_id", "ds", "mean", "model", *qcols).sort("unique_id", "ds")
    backtest = chosen_cv.join(per_series, on="unique_id", how="left").with_columns(
        (pl.col("mean") + pl.col(c) * pl.col("idx")).clip(lower_bound=0.0).alias(c) for c in qcols
    )
    backtest = _monotone(backtest, qcols).select("unique_id", "ds", "cutoff", "y", "mean", *qcols)
    chosen_scores = rmsse(backtest, scales, ["mean"])
    series = (
        series.join(chosen_scores.rename({"mean": "scaled_error"}), on="unique_id", how="left")
        .join(
            scores.select(
                "unique_id",
                pl.col("Naive").alias("naive"),
                pl.col("SeasonalNaive").alias("seasonal_naive"),
            ),
            on="unique_id",
            how="left",
        )
        .sort("unique_id")
    )
    counts = dict(series.group_by("model").len().iter_rows())
    report("done", steps, steps)
    return ForecastResult(
        forecast=forecast_frame,
        series=series,
        backtest=backtest,
        model_counts={str(k): int(v) for k, v in counts.items()},
        expensive_groups=tuple(expensive_groups),
        quantiles=quantiles,
        global_groups=tuple(global_groups),
    )


def dt_days(n: int) -> Any:
    import datetime

    return datetime.timedelta(days=n)


def _pick(model_col: str, columns: Sequence[str]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for c in columns:
        expr = pl.when(pl.col(model_col) == c).then(pl.col(c)).otherwise(expr)
    return expr


def _monotone(frame: pl.DataFrame, qcols: list[str]) -> pl.DataFrame:
    values = np.sort(frame.select(qcols).to_numpy(), axis=1)
    return frame.with_columns(pl.Series(c, values[:, i]) for i, c in enumerate(qcols))


def _by_calendar(
    frame: pl.DataFrame, calendar: pl.DataFrame | None, column: str, power: int
) -> pl.DataFrame:
    """``column`` times the campaign index to ``power`` (−1 takes campaigns out of a
    history, 1 puts them back into a forecast); unchanged without a calendar."""
    if calendar is None:
        return frame
    return (
        frame.join(calendar, on=["unique_id", "ds"], how="left")
        .with_columns((pl.col(column) * pl.col("cidx").fill_null(1.0) ** power).alias(column))
        .drop("cidx")
    )


def _ets_backtest(
    raw: pl.DataFrame,
    ids: list[str],
    freq: str,
    h: int,
    n_windows: int,
    partitions: int | None,
    calendar: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """AutoETS's backtest on ``ids``, fitted on the history without campaigns (its own
    weekly season stands for the weekday index) and put back on the campaign days."""
    part = _by_calendar(raw.filter(pl.col("unique_id").is_in(ids)), calendar, "y", -1)
    out = _statsforecast(
        [AutoETS(season_length=7)], part, freq, h=h, n_windows=n_windows, partitions=partitions
    )
    out = _by_calendar(out, calendar, "AutoETS", 1)
    return out.select("unique_id", "ds", "cutoff", pl.col("AutoETS").clip(lower_bound=0.0))


def _gain(ets: pl.DataFrame, cv: pl.DataFrame, scales: pl.DataFrame, best: str) -> float:
    """Relative mean-RMSSE gain of AutoETS over ``best`` on the series in ``ets``."""
    joined = cv.join(ets, on=["unique_id", "ds", "cutoff"], how="inner")
    if joined.height == 0:
        return -math.inf
    s = rmsse(joined, scales, ["AutoETS", best])
    base = float(s[best].mean())  # type: ignore[arg-type]
    ets_score = float(s["AutoETS"].mean())  # type: ignore[arg-type]
    return (base - ets_score) / base if base > 0 else -math.inf


def _screen_global(
    raw: pl.DataFrame,
    scores: pl.DataFrame,
    cv: pl.DataFrame,
    scales: pl.DataFrame,
    choice: dict[str, str],
    *,
    h: int,
    n_windows: int,
) -> tuple[pl.DataFrame, list[str]]:
    """Backtest the global model on (a sample of) the backtested series; give it each class
    where it beats the class's choice by ``GLOBAL_GAIN``. ``choice`` is updated in place."""
    ids = scores["unique_id"].to_list()
    if len(ids) > global_model.TRAIN_SERIES:
        rng = np.random.default_rng(1)
        ids = list(rng.choice(ids, size=global_model.TRAIN_SERIES, replace=False))
    part = global_model.backtest(raw, ids, h=h, n_windows=n_windows).with_columns(
        pl.col("cutoff").cast(cv.schema["cutoff"])
    )
    joined = cv.join(part, on=["unique_id", "ds", "cutoff"], how="inner")
    if joined.height == 0:
        return part, []
    rivals = sorted({*choice.values()} & set(joined.columns))
    s = rmsse(joined, scales, [global_model.NAME, *rivals]).join(
        scores.select("unique_id", "demand_class"), on="unique_id"
    )
    won: list[str] = []
    for cls, best in sorted(choice.items()):
        rows = s.filter(pl.col("demand_class") == cls)
        if rows.height < GLOBAL_MIN_CLASS or best not in rows.columns:
            continue
        base = float(rows[best].mean())  # type: ignore[arg-type]
        score = float(rows[global_model.NAME].mean())  # type: ignore[arg-type]
        if base > 0 and (base - score) / base > GLOBAL_GAIN:
            choice[cls] = global_model.NAME
            won.append(cls)
    return part, won
