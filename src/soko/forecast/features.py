"""What the seller's campaign calendar does to a SKU's daily demand.

Two uses, both from the ``campaigns`` and ``campaign_skus`` the seller imports, past and
planned:

- :func:`campaign_uplifts` measures each past campaign's lift on its channel (sales of the
  SKUs it covered, and of the others, over their own days before it) and pools them by
  kind of campaign, so a planned one takes the lift its kind has shown;
  :func:`campaign_index` turns those lifts into a multiplier per SKU and day, weighted by
  the SKU's channel mix. The forecast divides history by it (so a super-sale does not
  pass for a higher level) and multiplies the forecast by it (so a planned one raises
  demand in its window), the multiplicative decomposition the weekday index also uses.
- :func:`campaign_features` gives the same calendar as columns for the global model.

A campaign lifts the demand of the SKUs it covers on the channel it runs on (a Rakuten
super-sale lifts Rakuten's sales, not the stores'). A SKU's exposure to a campaign is
therefore the share of its demand that comes through that channel. For each channel
``c`` the feature ``campaign_<c>`` is that share on the days a campaign of ``c`` (or of
every channel) covers the SKU, else 0; ``discount`` is the share-weighted discount of the
covering campaigns (a fraction). Future campaigns, entered ahead as sellers plan them,
give the same features over the forecast horizon, so the global model
(:mod:`soko.forecast.global_model`) can raise demand in their window.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

SHARE_DAYS = 364  # the channel mix of a SKU's last year of sales


def feature_name(channel: str) -> str:
    """``campaign_<channel>`` with anything but letters, digits and _ replaced."""
    return "campaign_" + re.sub(r"\W", "_", channel)


def channel_shares(by_channel: pl.DataFrame, skus: pl.Series, *, as_of: dt.date) -> pl.DataFrame:
    """``sku``, ``channel``, ``share`` of each SKU's units over the last ``SHARE_DAYS``
    days (``by_channel``: ``sku``, ``channel``, ``ds``, ``y``); a SKU with no sales there
    takes the store's mix."""
    recent = by_channel.filter(pl.col("ds") >= as_of - dt.timedelta(days=SHARE_DAYS))
    if recent.height == 0:
        recent = by_channel
    own = (
        recent.group_by("sku", "channel")
        .agg(pl.col("y").sum())
        .filter(pl.col("y") > 0)
        .with_columns((pl.col("y") / pl.col("y").sum().over("sku")).alias("share"))
        .select("sku", "channel", "share")
    )
    store = (
        recent.group_by("channel")
        .agg(pl.col("y").sum())
        .with_columns((pl.col("y") / pl.col("y").sum()).alias("share"))
        .select("channel", "share")
    )
    missing = skus.to_frame("sku").unique().join(own.select("sku").unique(), on="sku", how="anti")
    return pl.concat([own, missing.join(store, how="cross").select(own.columns)])


def campaign_features(
    campaigns: pl.DataFrame,
    coverage: pl.DataFrame,
    shares: pl.DataFrame,
    *,
    first: dt.date,
    last: dt.date,
) -> pl.DataFrame:
    """Per SKU and day from ``first`` to ``last`` with a campaign: ``sku``, ``ds``,
    ``campaign_<channel>`` for every channel of ``shares`` and ``discount``.

    ``campaigns``: ``campaign_code``, ``channel`` (null: every channel), ``starts_on``,
    ``ends_on``, ``discount_pct``; ``coverage``: ``campaign_code``, ``sku`` (a campaign
    with no rows covers every SKU); ``shares``: :func:`channel_shares`. Days and SKUs
    without a campaign are absent: their features are 0.
    """
    channels = sorted(shares["channel"].unique().to_list())
    names = [feature_name(c) for c in channels]
    empty = pl.DataFrame(
        schema={"sku": pl.String, "ds": pl.Date}
        | dict.fromkeys(names, pl.Float64)
        | {"discount": pl.Float64}
    )
    running = (
        campaigns.filter((pl.col("ends_on") >= first) & (pl.col("starts_on") <= last))
        .with_columns(
            pl.max_horizontal("starts_on", pl.lit(first)).alias("_from"),
            pl.min_horizontal("ends_on", pl.lit(last)).alias("_to"),
        )
        .select(
            "campaign_code",
            "channel",
            pl.col("discount_pct").fill_null(0.0).cast(pl.Float64) / 100.0,
            pl.date_ranges("_from", "_to").alias("ds"),
        )
        .explode("ds")
    )
    if running.height == 0 or not channels:
        return empty
    # A campaign on every channel runs on each of them.
    running = pl.concat(
        [
            running.filter(pl.col("channel").is_not_null()),
            running.filter(pl.col("channel").is_null())
            .drop("channel")
            .join(pl.DataFrame({"channel": channels}), how="cross")
            .select(running.columns),
        ]
    )
    codes = running.select("campaign_code").unique()
    covered = running.join(
        _covered(codes, coverage, shares.select("sku").unique()), on="campaign_code"
    )
    exposure = (
        covered.group_by("sku", "ds", "channel")
        .agg(pl.col("discount_pct").max())
        .join(shares, on=["sku", "channel"])
    )
    wide = exposure.pivot(
        on="channel", index=["sku", "ds"], values="share", aggregate_function="max"
    )
    discount = exposure.group_by("sku", "ds").agg(
        (pl.col("share") * pl.col("discount_pct")).sum().alias("discount")
    )
    wide = wide.rename({c: feature_name(c) for c in channels if c in wide.columns})
    out = wide.join(discount, on=["sku", "ds"])
    return out.select(
        "sku",
        "ds",
        *(pl.col(n).fill_null(0.0) if n in out.columns else pl.lit(0.0).alias(n) for n in names),
        "discount",
    ).sort("sku", "ds")


BASELINE_DAYS = 28  # the days before a campaign its lift is measured against
GROUPS = ("covered", "other")


def _running(campaigns: pl.DataFrame, channels: list[str]) -> pl.DataFrame:
    """One row per campaign, channel and day it runs (a campaign on every channel runs
    on each)."""
    days = campaigns.select(
        "campaign_code",
        "channel",
        pl.date_ranges("starts_on", "ends_on").alias("ds"),
    ).explode("ds")
    return pl.concat(
        [
            days.filter(pl.col("channel").is_not_null()),
            days.filter(pl.col("channel").is_null())
            .drop("channel")
            .join(pl.DataFrame({"channel": channels}), how="cross")
            .select(days.columns),
        ]
    )


def _covered(codes: pl.DataFrame, coverage: pl.DataFrame, skus: pl.DataFrame) -> pl.DataFrame:
    """``campaign_code``, ``sku``: what each campaign of ``codes`` covers, the SKUs it
    lists in ``coverage`` or, listing none, every SKU of ``skus``."""
    listed = coverage.select("campaign_code").unique()
    return pl.concat(
        [
            coverage.join(codes, on="campaign_code"),
            codes.join(listed, on="campaign_code", how="anti").join(skus, how="cross"),
        ]
    )


def _family(campaigns: pl.DataFrame) -> pl.Expr:
    """Campaigns of one kind on one channel at one discount are expected to lift alike."""
    return pl.concat_str(
        pl.col("channel").fill_null("*"),
        pl.col("kind").fill_null(""),
        pl.col("discount_pct").fill_null(0.0).round(0).cast(pl.Int64).cast(pl.String),
        separator="|",
    ).alias("family")


def campaign_uplifts(
    sales: pl.DataFrame,
    campaigns: pl.DataFrame,
    coverage: pl.DataFrame,
    *,
    as_of: dt.date,
) -> pl.DataFrame:
    """The lift of every campaign: ``campaign_code``, ``channel``, ``group`` (``covered``:
    the SKUs it covers; ``other``: the rest of the channel, lifted by the traffic alone),
    ``uplift``, ``measured`` (False: taken from its family).

    ``sales``: ``sku``, ``channel``, ``ds``, ``y`` (units). A past campaign's lift is its
    SKUs' mean daily units on the channel while it ran over their mean on the
    ``BASELINE_DAYS`` days before it that had no campaign on that channel. A campaign
    not yet run (or with nothing to measure against) takes the median lift of its family
    (same channel, kind and discount), else 1.
    """
    schema = {
        "campaign_code": pl.String,
        "channel": pl.String,
        "group": pl.String,
        "uplift": pl.Float64,
        "measured": pl.Boolean,
    }
    channels = sorted(sales["channel"].unique().to_list())
    if campaigns.height == 0 or not channels:
        return pl.DataFrame(schema=schema)
    camp = campaigns.with_columns(_family(campaigns))
    running = _running(camp, channels)
    busy = running.select("channel", "ds").unique()
    skus = sales.select("sku").unique()
    past = camp.filter(pl.col("ends_on") < as_of)
    covered = _covered(past.select("campaign_code"), coverage, skus).with_columns(
        pl.lit("covered").alias("group")
    )
    during = running.join(past.select("campaign_code"), on="campaign_code").with_columns(
        pl.lit("during").alias("_when")
    )
    before = (
        during.group_by("campaign_code", "channel")
        .agg(pl.col("ds").min().alias("_start"))
        .with_columns(
            pl.date_ranges(
                pl.col("_start") - dt.timedelta(days=BASELINE_DAYS),
                pl.col("_start") - dt.timedelta(days=1),
            ).alias("ds")
        )
        .explode("ds")
        .join(busy, on=["channel", "ds"], how="anti")
        .select("campaign_code", "channel", "ds", pl.lit("before").alias("_when"))
    )
    calendar = pl.concat([during, before.select(during.columns)])
    rows = (
        calendar.join(sales.select("sku", "channel", "ds", "y"), on=["channel", "ds"])
        .join(covered, on=["campaign_code", "sku"], how="left")
        .with_columns(pl.col("group").fill_null("other"))
    )
    days = calendar.group_by("campaign_code", "channel", "_when").agg(
        pl.col("ds").n_unique().alias("_days")
    )
    measured = (
        rows.group_by("campaign_code", "channel", "group", "_when")
        .agg(pl.col("y").sum())
        .join(days, on=["campaign_code", "channel", "_when"])
        .with_columns((pl.col("y") / pl.col("_days")).alias("_rate"))
        .pivot(on="_when", index=["campaign_code", "channel", "group"], values="_rate")
    )
    if "before" not in measured.columns or "during" not in measured.columns:
        measured = pl.DataFrame(schema=schema).drop("measured")
    else:
        measured = measured.filter(pl.col("before") > 0).select(
            "campaign_code",
            "channel",
            "group",
            (pl.col("during").fill_null(0.0) / pl.col("before")).alias("uplift"),
        )
    family = camp.select("campaign_code", "family")
    by_family = (
        measured.join(family, on="campaign_code")
        .group_by("family", "channel", "group")
        .agg(pl.col("uplift").median().alias("_pooled"))
    )
    every = (
        running.select("campaign_code", "channel")
        .unique()
        .join(pl.DataFrame({"group": list(GROUPS)}), how="cross")
        .join(family, on="campaign_code")
    )
    return (
        every.join(measured, on=["campaign_code", "channel", "group"], how="left")
        .join(by_family, on=["family", "channel", "group"], how="left")
        .select(
            "campaign_code",
            "channel",
            "group",
            pl.coalesce("uplift", "_pooled", pl.lit(1.0)).alias("uplift"),
            pl.col("uplift").is_not_null().alias("measured"),
        )
        .sort("campaign_code", "channel", "group")
    )


def base_channel_shares(
    sales: pl.DataFrame, campaigns: pl.DataFrame, skus: pl.Series, *, as_of: dt.date
) -> pl.DataFrame:
    """Like :func:`channel_shares`, but each channel's daily rate is taken on its days
    without a campaign, so a channel's sales events do not inflate its share."""
    channels = sorted(sales["channel"].unique().to_list())
    busy = (
        _running(campaigns, channels).select("channel", "ds").unique()
        if campaigns.height
        else pl.DataFrame(schema={"channel": pl.String, "ds": pl.Date})
    )
    recent = sales.filter(pl.col("ds") >= as_of - dt.timedelta(days=SHARE_DAYS))
    calm = recent.join(busy, on=["channel", "ds"], how="anti")
    quiet_days = (
        pl.DataFrame(
            {
                "ds": pl.date_range(
                    as_of - dt.timedelta(days=SHARE_DAYS), as_of - dt.timedelta(days=1), eager=True
                )
            }
        )
        .join(pl.DataFrame({"channel": channels}), how="cross")
        .join(busy, on=["channel", "ds"], how="anti")
        .group_by("channel")
        .len("_days")
    )
    rates = (
        calm.group_by("sku", "channel")
        .agg(pl.col("y").sum())
        .join(quiet_days, on="channel")
        .with_columns((pl.col("y") / pl.col("_days")).alias("y"))
        .select("sku", "channel", pl.lit(as_of).alias("ds"), "y")
    )
    return channel_shares(rates, skus, as_of=as_of)


def channel_lifts(
    uplifts: pl.DataFrame,
    campaigns: pl.DataFrame,
    coverage: pl.DataFrame,
    skus: pl.Series,
    channels: list[str],
    *,
    first: dt.date,
    last: dt.date,
) -> pl.DataFrame:
    """``sku``, ``channel``, ``ds``, ``uplift``: the product of the lifts of the campaigns
    running on the channel that day, for the SKU's group (covered or not); only days and
    channels with a campaign are listed."""
    empty = pl.DataFrame(
        schema={"sku": pl.String, "channel": pl.String, "ds": pl.Date, "uplift": pl.Float64}
    )
    window = campaigns.filter((pl.col("ends_on") >= first) & (pl.col("starts_on") <= last))
    if window.height == 0 or uplifts.height == 0:
        return empty
    running = _running(window, channels).filter(pl.col("ds").is_between(first, last))
    every = skus.to_frame("sku").unique()
    covered = _covered(window.select("campaign_code"), coverage, every).with_columns(
        pl.lit("covered").alias("group")
    )
    return (
        running.join(every, how="cross")
        .join(covered, on=["campaign_code", "sku"], how="left")
        .with_columns(pl.col("group").fill_null("other"))
        .join(
            uplifts.select("campaign_code", "channel", "group", "uplift"),
            on=["campaign_code", "channel", "group"],
        )
        .group_by("sku", "channel", "ds")
        .agg(pl.col("uplift").product())
        .sort("sku", "channel", "ds")
    )


def campaign_index(lifts: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """``sku``, ``ds``, ``cidx``: the campaigns' multiplier on a SKU's demand on each day a
    campaign touches it (other days: 1).

    cidx = Σ_c share_c · u_c, the SKU's channel mix (:func:`base_channel_shares`) weighting
    the lift on each channel that day (:func:`channel_lifts`), 1 on a channel without one.
    """
    return (
        lifts.join(shares, on=["sku", "channel"])
        .group_by("sku", "ds")
        .agg(((pl.col("uplift") - 1.0) * pl.col("share")).sum().alias("cidx"))
        .select("sku", "ds", (1.0 + pl.col("cidx")).clip(lower_bound=0.05).alias("cidx"))
        .sort("sku", "ds")
    )


def campaign_split(
    location_shares: pl.DataFrame, channel_mix: pl.DataFrame, lifts: pl.DataFrame
) -> pl.DataFrame:
    """``sku``, ``location``, ``ds``, ``share``: a SKU's split to locations on the days a
    campaign lifts some of its channels (other days keep ``location_shares``).

    ``channel_mix`` (``sku``, ``location``, ``channel``, ``share``) is the recent share of
    the SKU's units through each location and channel; on a campaign day a location's
    share is Σ_c mix_lc · u_c over Σ_l Σ_c mix_lc · u_c, so a Rakuten super-sale moves the
    SKU's demand toward the warehouse that ships Rakuten's orders.
    """
    days = lifts.select("sku", "ds").unique()
    weighted = (
        channel_mix.join(
            location_shares.select("sku", "location"), on=["sku", "location"], how="semi"
        )
        .join(days, on="sku")
        .join(lifts, on=["sku", "channel", "ds"], how="left")
        .with_columns((pl.col("share") * pl.col("uplift").fill_null(1.0)).alias("_w"))
        .group_by("sku", "location", "ds")
        .agg(pl.col("_w").sum())
        .with_columns((pl.col("_w") / pl.col("_w").sum().over("sku", "ds")).alias("share"))
        .select("sku", "location", "ds", "share")
    )
    # SKUs with no recent channel mix keep their plain location shares on every day.
    return weighted.join(location_shares.select("sku").unique(), on="sku", how="semi")
