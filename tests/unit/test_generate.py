"""The demo generator puts in what planning must find.

Every property is measured from the small preset's output frames (what a user
would import), not read back from the generator's parameters; truth frames are
used only where the property is about the truth itself (demand before
stockouts, true customer value).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import holidays
import polars as pl
import pytest

from soko.data.contract import BY_NAME, Kind, detect_entity
from soko.data.generate import END, START, Dataset, generate
from soko.data.readers import ROW
from soko.data.validate import parse_entity

ONLINE = ("own_web", "amazon", "rakuten", "yahoo")


@pytest.fixture(scope="session")
def small() -> Dataset:
    return generate("small", 1)


@pytest.fixture(scope="session")
def sales(small: Dataset) -> pl.DataFrame:
    return (
        small.tables["order_lines"]
        .filter(pl.col("kind") == "sale")
        .with_columns(pl.col("ordered_at").dt.date().alias("date"))
    )


def _daily(sales: pl.DataFrame, channel: str | None = None) -> pl.DataFrame:
    """Units sold per day, every day of the range present (0 where nothing sold)."""
    if channel is not None:
        sales = sales.filter(pl.col("channel_code") == channel)
    days = pl.DataFrame({"date": pl.date_range(START, END, "1d", eager=True)})
    units = sales.group_by("date").agg(pl.col("quantity").sum().alias("units"))
    return days.join(units, on="date", how="left").with_columns(pl.col("units").fill_null(0))


def _ran(small: Dataset) -> pl.DataFrame:
    """The campaigns inside the data's two years (the calendar also holds planned ones)."""
    return small.tables["campaigns"].filter(pl.col("starts_on") <= END)


def _ordinary_days(small: Dataset) -> pl.DataFrame:
    """Days with no campaign on any channel and no national holiday."""
    campaigns = small.tables["campaigns"]
    busy: set[dt.date] = set()
    for first, last in campaigns.select("starts_on", "ends_on").iter_rows():
        busy.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    japan = holidays.country_holidays("JP", years=range(START.year, END.year + 1))
    days = pl.date_range(START, END, "1d", eager=True)
    return pl.DataFrame({"date": [d for d in days if d not in busy and d not in japan]})


def _window_ratio(daily: pl.DataFrame, first: dt.date, last: dt.date) -> float:
    """Mean daily units during [first, last] over the mean of the 28 days before."""
    during = daily.filter(pl.col("date").is_between(first, last))["units"].mean()
    before = daily.filter(
        pl.col("date").is_between(first - dt.timedelta(days=28), first - dt.timedelta(days=1))
    )["units"].mean()
    assert isinstance(during, float)
    assert isinstance(before, float)
    return during / before


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the text cells a CSV export of it holds."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Datetime:
            out.append(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
        elif dtype == pl.Date:
            out.append(col.dt.strftime("%Y-%m-%d"))
        else:
            out.append(col.cast(pl.String))
    return frame.select(out).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))


# --- determinism and size ----------------------------------------------------------------


def test_same_preset_and_seed_give_identical_frames(small: Dataset) -> None:
    again = generate("small", 1)
    assert again.tables.keys() == small.tables.keys()
    assert again.truth.keys() == small.truth.keys()
    for name, frame in small.tables.items():
        assert frame.equals(again.tables[name]), name
    for name, frame in small.truth.items():
        assert frame.equals(again.truth[name]), name


def test_another_seed_gives_other_data(small: Dataset) -> None:
    other = generate("small", 2)
    assert not other.tables["order_lines"].equals(small.tables["order_lines"])
    assert not other.tables["products"].equals(small.tables["products"])


def test_small_preset_has_about_300_skus_in_60_products_and_3000_customers(
    small: Dataset,
) -> None:
    products = small.tables["products"]
    assert 250 <= products.height <= 350
    assert products["product_code"].n_unique() == 60
    assert small.tables["customers"].height == 3_000
    dates = small.tables["order_lines"]["ordered_at"].dt.date()
    assert dates.min() == START
    assert dates.max() == END
    assert (END - START).days + 1 == 730


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        generate("huge", 1)


# --- the data contract -------------------------------------------------------------------


def test_every_table_validates_against_the_data_contract(small: Dataset) -> None:
    for name, frame in small.tables.items():
        entity = BY_NAME[name]
        assert set(frame.columns) <= set(entity.names), name
        assert entity.required <= set(frame.columns), name
        assert detect_entity(frame.columns) is entity, name
        typed, problems = parse_entity(entity, _as_text(frame), f"{name}.csv")
        assert problems == [], (name, problems[:3])
        for col in entity.columns:
            if col.required:
                assert typed[col.name].null_count() == 0, (name, col.name)


def test_values_have_their_natural_types(small: Dataset) -> None:
    natural = {
        Kind.INTEGER: pl.Int64,
        Kind.DATE: pl.Date,
        Kind.BOOLEAN: pl.Boolean,
        Kind.TEXT: pl.String,
        Kind.CHOICE: pl.String,
        Kind.WEEKDAYS: pl.String,
    }
    for name, frame in small.tables.items():
        for col in BY_NAME[name].columns:
            if col.name not in frame.columns:
                continue
            dtype = frame.schema[col.name]
            if col.kind is Kind.DATETIME:
                assert isinstance(dtype, pl.Datetime), (name, col.name)
            elif col.kind is Kind.DECIMAL:
                assert dtype.is_numeric(), (name, col.name)
            else:
                assert dtype == natural[col.kind], (name, col.name, dtype)
    lines = small.tables["order_lines"]
    assert lines.schema["unit_price"] == pl.Int64  # JPY has no minor unit


def test_every_code_refers_to_an_existing_row(small: Dataset) -> None:
    for name, frame in small.tables.items():
        for col in BY_NAME[name].columns:
            if col.references is None or col.name not in frame.columns:
                continue
            target, key = col.references.split(".")
            known = set(small.tables[target][key].to_list())
            used = set(frame[col.name].drop_nulls().to_list())
            assert used <= known, (name, col.name, sorted(used - known)[:3])


def test_lines_of_one_order_share_customer_time_and_location(small: Dataset) -> None:
    per_order = (
        small.tables["order_lines"]
        .group_by("channel_code", "order_id")
        .agg(
            pl.col("customer_id").n_unique().alias("customers"),
            pl.col("ordered_at").n_unique().alias("times"),
            pl.col("location_code").n_unique().alias("locations"),
        )
    )
    assert per_order["customers"].max() == 1
    assert per_order["times"].max() == 1
    assert per_order["locations"].max() == 1


# --- channels, locations, customers ------------------------------------------------------


def test_channels_and_locations_are_a_japanese_omnichannel_seller(small: Dataset) -> None:
    channels = small.tables["channels"]
    assert set(channels["kind"]) == {"own_web", "amazon", "rakuten", "yahoo", "store_pos"}
    locations = small.tables["locations"]
    fba = locations.filter(pl.col("kind") == "marketplace_warehouse")
    assert fba.height == 1
    amazon = channels.filter(pl.col("kind") == "amazon")["channel_code"][0]
    assert fba["channel_code"][0] == amazon
    stores = locations.filter(pl.col("kind") == "store")
    assert stores.height == 3
    assert stores["prefecture"].n_unique() == 3
    assert locations.filter(pl.col("kind") == "warehouse").height == 1

    sales = small.tables["order_lines"]
    where = sales.group_by("channel_code").agg(pl.col("location_code").unique())
    by_channel = {c: set(locs) for c, locs in where.iter_rows()}
    assert by_channel[amazon] == set(fba["location_code"])
    assert by_channel["store_pos"] == set(stores["location_code"])
    warehouse = set(locations.filter(pl.col("kind") == "warehouse")["location_code"])
    for online in ("own_web", "rakuten", "yahoo"):
        assert by_channel[online] == warehouse

    listings = small.tables["listings"]
    assert set(listings["channel_code"]) == {"amazon", "rakuten", "yahoo"}
    asins = listings.filter(pl.col("channel_code") == "amazon")["external_id"]
    assert asins.str.contains(r"^B0[0-9A-Z]{8}$").all()
    listed = set(listings.filter(pl.col("channel_code") == "amazon")["sku"])
    amazon_skus = set(sales.filter(pl.col("channel_code") == amazon)["sku"])
    assert amazon_skus <= listed


def test_most_sales_are_by_known_customers_and_some_store_sales_are_anonymous(
    sales: pl.DataFrame,
) -> None:
    online = sales.filter(pl.col("channel_code").is_in(ONLINE))
    assert online["customer_id"].null_count() == 0
    store = sales.filter(pl.col("channel_code") == "store_pos")
    anonymous = store["customer_id"].null_count() / store.height
    assert 0.1 < anonymous < 0.9
    assert sales["customer_id"].null_count() / sales.height < 0.5


def test_customers_follow_the_recorded_bgnbd_and_gamma_gamma_parameters(small: Dataset) -> None:
    params = dict(small.truth["parameters"].select("name", "value").iter_rows())
    truth = small.truth["customers"]
    r, alpha, a, b = (params[k] for k in ("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b"))
    p, q, gamma = (params[k] for k in ("gg_p", "gg_q", "gg_gamma"))
    assert truth["lambda_per_day"].mean() == pytest.approx(r / alpha, rel=0.1)
    assert truth["dropout_p"].mean() == pytest.approx(a / (a + b), rel=0.1)
    assert truth["mean_spend"].mean() == pytest.approx(p * gamma / (q - 1), rel=0.1)
    # Customers who buy more often in the truth buy more often in the orders.
    orders = (
        small.tables["order_lines"]
        .filter(pl.col("kind") == "sale")
        .group_by("customer_id")
        .agg(pl.col("order_id").n_unique().alias("orders"))
    )
    joined = truth.join(orders, on="customer_id", how="left").with_columns(
        pl.col("orders").fill_null(0)
    )
    assert joined.select(pl.corr("lambda_per_day", "orders", method="spearman")).item() > 0.3


def test_first_buyers_of_gateway_skus_have_higher_true_value(
    small: Dataset, sales: pl.DataFrame
) -> None:
    gateway = set(small.truth["gateway_skus"]["sku"])
    assert gateway
    assert gateway <= set(small.tables["products"]["sku"])
    known = sales.filter(pl.col("customer_id").is_not_null())
    first_order = known.sort("ordered_at").group_by("customer_id").agg(pl.col("order_id").first())
    first_lines = known.join(first_order, on=["customer_id", "order_id"])
    starts = (
        first_lines.group_by("customer_id")
        .agg(pl.col("sku").is_in(list(gateway)).any().alias("gateway"))
        .join(small.truth["customers"], on="customer_id")
    )
    value = dict(starts.group_by("gateway").agg(pl.col("expected_spend_365d").mean()).iter_rows())
    assert starts["gateway"].sum() >= 50
    assert value[True] > 1.5 * value[False]


# --- seasonality, holidays, campaigns ----------------------------------------------------


def test_sales_show_a_weekly_pattern(small: Dataset, sales: pl.DataFrame) -> None:
    daily = _daily(sales).join(_ordinary_days(small), on="date")
    by_weekday = dict(
        daily.group_by(pl.col("date").dt.weekday()).agg(pl.col("units").mean()).iter_rows()
    )
    weekend = (by_weekday[6] + by_weekday[7]) / 2
    midweek = (by_weekday[2] + by_weekday[3]) / 2
    assert weekend > 1.2 * midweek


def test_sales_show_a_yearly_pattern(small: Dataset, sales: pl.DataFrame) -> None:
    daily = _daily(sales).join(_ordinary_days(small), on="date")
    by_month = dict(
        daily.group_by(pl.col("date").dt.month()).agg(pl.col("units").mean()).iter_rows()
    )
    assert by_month[12] > 1.2 * by_month[2]


def test_japanese_holidays_lift_sales(sales: pl.DataFrame) -> None:
    japan = holidays.country_holidays("JP", years=range(START.year, END.year + 1))
    daily = _daily(sales).filter(pl.col("date").dt.weekday() <= 5)
    is_holiday = pl.col("date").is_in(list(japan.keys()))
    holiday = daily.filter(is_holiday)
    ordinary = daily.filter(~is_holiday)
    assert holiday.height >= 20
    assert holiday["units"].mean() > 1.15 * ordinary["units"].mean()  # type: ignore[operator]


def test_small_preset_has_a_marketplace_super_sale_at_least_three_times_baseline(
    small: Dataset, sales: pl.DataFrame
) -> None:
    campaigns = _ran(small).filter(
        (pl.col("channel_code") == "rakuten") & (pl.col("kind") == "marketplace_sale")
    )
    assert campaigns.height >= 6  # several times a year
    daily = _daily(sales, "rakuten")
    for code, first, last in campaigns.select("campaign_code", "starts_on", "ends_on").iter_rows():
        assert _window_ratio(daily, first, last) >= 3.0, code
        tagged = sales.filter(pl.col("campaign_code") == code)
        assert tagged.height > 0
        assert tagged["date"].is_between(first, last).all()
        assert (tagged["channel_code"] == "rakuten").all()
    covered = small.tables["campaign_skus"].filter(
        pl.col("campaign_code").is_in(campaigns["campaign_code"].to_list())
    )
    assert 0 < covered.height < campaigns.height * small.tables["products"].height


def test_prime_day_like_event_on_amazon_lifts_its_sales(
    small: Dataset, sales: pl.DataFrame
) -> None:
    events = _ran(small).filter(
        (pl.col("channel_code") == "amazon") & pl.col("name").str.contains("プライムデー")
    )
    assert events.height >= 1
    daily = _daily(sales, "amazon")
    for first, last in events.select("starts_on", "ends_on").iter_rows():
        assert _window_ratio(daily, first, last) > 2.0


def test_the_next_quarters_campaigns_are_planned_and_shape_no_sale(
    small: Dataset, sales: pl.DataFrame
) -> None:
    planned = small.tables["campaigns"].filter(pl.col("starts_on") > END)
    assert {"AMZ-BF-2026", "RSS-202612"} <= set(planned["campaign_code"])
    assert planned["starts_on"].max() <= END + dt.timedelta(days=91)  # type: ignore[operator]
    assert not sales["campaign_code"].is_in(planned["campaign_code"].implode()).any()
    # The planned super-sale covers products as the past ones do.
    covered = small.tables["campaign_skus"].filter(pl.col("campaign_code") == "RSS-202612")
    assert 0 < covered.height < small.tables["products"].height  # one row per SKU


def test_own_shop_coupons_are_used_and_lift_sales(small: Dataset, sales: pl.DataFrame) -> None:
    coupons = _ran(small).filter(pl.col("kind") == "coupon")
    assert coupons.height >= 2
    assert (coupons["channel_code"] == "own_web").all()
    used = sales.filter(pl.col("coupon_code").is_not_null())
    assert used.height > 0
    assert (used["channel_code"] == "own_web").all()
    assert (used["discount"] > 0).all()
    daily = _daily(sales, "own_web")
    ratios = [
        _window_ratio(daily, first, last)
        for first, last in coupons.select("starts_on", "ends_on").iter_rows()
    ]
    assert sum(ratios) / len(ratios) > 1.3
    for code, first, last in coupons.select("coupon_code", "starts_on", "ends_on").iter_rows():
        dates = used.filter(pl.col("coupon_code") == code)["date"]
        assert dates.is_between(first, last).all()


def test_discounts_never_exceed_the_line_value(small: Dataset) -> None:
    lines = small.tables["order_lines"]
    assert (lines["discount"] <= lines["unit_price"] * lines["quantity"]).all()
    assert (lines["discount"] >= 0).all()


# --- products, prices, seasons -----------------------------------------------------------


def test_seasonal_items_sell_only_in_their_season_and_their_seasons_end(
    small: Dataset, sales: pl.DataFrame
) -> None:
    products = small.tables["products"]
    seasonal = products.filter(pl.col("item_type") == "seasonal")
    staple = products.filter(pl.col("item_type") == "staple")
    assert seasonal.height > 0
    assert staple.height > seasonal.height
    assert seasonal["season_start"].null_count() == 0
    assert seasonal["season_end"].null_count() == 0
    assert staple["season_start"].null_count() == staple.height
    ended = seasonal.filter(pl.col("season_end") < END)
    assert ended.height > 0
    sold = sales.join(seasonal.select("sku", "season_start", "season_end"), on="sku")
    assert sold.height > 0
    outside = sold.filter(
        (pl.col("date") < pl.col("season_start")) | (pl.col("date") > pl.col("season_end"))
    )
    assert outside.height == 0
    assert sold.join(ended.select("sku"), on="sku").height > 0


def test_list_prices_change_over_time(sales: pl.DataFrame) -> None:
    prices = sales.group_by("sku").agg(pl.col("unit_price").n_unique().alias("prices"))
    assert (prices["prices"] > 1).mean() > 0.2  # type: ignore[operator]


def _price_change_response(
    data: Dataset,
) -> tuple[dict[bool, float], dict[bool, float], dict[bool, int]]:
    """Around each list-price change of a staple product: its true demand in the 8 weeks
    after (``after``), and the 8 weeks before scaled by how the rest of its category moved
    (``before``, which takes out season and growth); keyed by rise (True) or cut (False)."""
    staples = data.tables["products"].filter(pl.col("item_type") == "staple")
    demand = data.truth["demand"].join(staples.select("sku", "product_code", "category"), on="sku")
    sales = (
        data.tables["order_lines"]
        .filter(pl.col("kind") == "sale")
        .with_columns(pl.col("ordered_at").dt.date().alias("date"))
    )
    changes = (
        sales.join(staples.select("sku", "product_code"), on="sku")
        .sort("date")
        .group_by("product_code", "date")
        .agg(pl.col("unit_price").first())
        .sort("product_code", "date")
        .with_columns(pl.col("unit_price").shift(1).over("product_code").alias("before"))
        .filter(pl.col("before").is_not_null() & (pl.col("before") != pl.col("unit_price")))
        .unique(["product_code", "before", "unit_price"], keep="first")
    )
    category = dict(staples.select("product_code", "category").unique().iter_rows())
    week8 = dt.timedelta(days=56)
    after = {True: 0.0, False: 0.0}
    before = {True: 0.0, False: 0.0}
    events = {True: 0, False: 0}

    def units(frame: pl.DataFrame, lo: dt.date, hi: dt.date) -> int:
        total = frame.filter(pl.col("date").is_between(lo, hi))["demand_units"].sum()
        return max(1, int(total))

    for product, day, new, old in changes.select(
        "product_code", "date", "unit_price", "before"
    ).iter_rows():
        own = demand.filter(pl.col("product_code") == product)
        rest = demand.filter(
            (pl.col("category") == category[product]) & (pl.col("product_code") != product)
        )
        rise = new > old
        last = day - dt.timedelta(days=1)
        trend = units(rest, day, day + week8) / units(rest, day - week8, last)
        after[rise] += units(own, day, day + week8)
        before[rise] += units(own, day - week8, last) * trend  # expected with no price effect
        events[rise] += 1
    return after, before, events


def test_price_increases_cut_demand_more_than_price_cuts(small: Dataset) -> None:
    """Pooled over all rises and over all cuts of staple list prices, in three small data
    sets (one alone has only a few dozen changes, too few to see the effect every time):
    with negative elasticities demand does worse against its expectation after rises than
    after cuts."""
    after = {True: 0.0, False: 0.0}
    before = {True: 0.0, False: 0.0}
    events = {True: 0, False: 0}
    for data in (small, generate("small", 2), generate("small", 3)):
        a, b, n = _price_change_response(data)
        for rise in (True, False):
            after[rise] += a[rise]
            before[rise] += b[rise]
            events[rise] += n[rise]
    assert events[True] >= 30
    assert events[False] >= 30
    rises, cuts = math.log(after[True] / before[True]), math.log(after[False] / before[False])
    print(f"log(after/expected): rises {rises:.3f}, cuts {cuts:.3f}, events {events}")
    assert rises < cuts


def test_at_least_a_fifth_of_skus_are_intermittent(sales: pl.DataFrame) -> None:
    """ADI: mean days between consecutive days with sales, all channels and locations."""
    days = sales.select("sku", "date").unique().sort("sku", "date")
    adi = days.group_by("sku").agg(pl.col("date").diff().dt.total_days().mean().alias("adi"))
    assert (adi["adi"].drop_nulls() > 1.32).mean() >= 0.2  # type: ignore[operator]


# --- stock, stockouts, replenishment -----------------------------------------------------


def test_three_to_ten_percent_of_stocked_sku_location_days_are_out_of_stock(
    small: Dataset,
) -> None:
    stocked_days = small.truth["assortment"]["active_days"].sum()
    out = small.truth["stockouts"]
    assert 0.03 <= out.height / stocked_days <= 0.10
    inside = out.join(small.truth["assortment"], on=["sku", "location_code"]).filter(
        pl.col("date").is_between(pl.col("active_from"), pl.col("active_to"))
    )
    assert inside.height == out.height


def test_sales_fall_short_of_demand_only_when_out_of_stock(small: Dataset) -> None:
    per_day = (
        small.truth["demand"]
        .group_by("sku", "location_code", "date")
        .agg(pl.col("demand_units").sum(), pl.col("sold_units").sum())
    )
    assert (per_day["sold_units"] <= per_day["demand_units"]).all()
    short = per_day.filter(pl.col("sold_units") < pl.col("demand_units"))
    assert short.height > 0
    flagged = short.join(small.truth["stockouts"], on=["sku", "location_code", "date"])
    assert flagged.height == short.height
    on_out_days = per_day.join(small.truth["stockouts"], on=["sku", "location_code", "date"])
    assert on_out_days["sold_units"].sum() < on_out_days["demand_units"].sum()


def test_truth_demand_matches_the_sales_in_the_order_lines(
    small: Dataset, sales: pl.DataFrame
) -> None:
    sold = small.truth["demand"]["sold_units"].sum()
    assert sold == sales["quantity"].sum()


def test_final_stock_is_initial_stock_plus_receipts_minus_sales_plus_returns(
    small: Dataset,
) -> None:
    keys = ["sku", "location_code"]
    lines = small.tables["order_lines"].with_columns(
        pl.when(pl.col("kind") == "sale")
        .then(-pl.col("quantity"))
        .otherwise(pl.col("quantity"))
        .alias("change")
    )
    receipts = small.tables["receipts"].join(
        small.tables["purchase_orders"].select("po_number", "sku", "location_code"),
        on=["po_number", "sku"],
    )
    movements = pl.concat(
        [
            small.truth["initial_stock"].select(*keys, pl.col("on_hand").alias("change")),
            receipts.select(*keys, pl.col("quantity").alias("change")),
            lines.select(*keys, "change"),
        ]
    )
    derived = movements.group_by(keys).agg(pl.col("change").sum().alias("derived"))
    stock = small.tables["stock"].join(derived, on=keys, how="left")
    assert stock.height == small.truth["initial_stock"].height
    assert (stock["on_hand"] == stock["derived"]).all()
    assert (stock["on_hand"] >= 0).all()


def test_supplier_lead_times_vary_with_a_coefficient_of_variation_of_at_least_0_2(
    small: Dataset,
) -> None:
    orders = small.tables["purchase_orders"]
    first = small.tables["receipts"].group_by("po_number", "sku").agg(pl.col("received_on").min())
    lead = (
        first.join(orders, on=["po_number", "sku"])
        .unique("po_number")
        .with_columns((pl.col("received_on") - pl.col("ordered_on")).dt.total_days().alias("days"))
    )
    per_supplier = (
        lead.group_by("supplier_code")
        .agg((pl.col("days").std() / pl.col("days").mean()).alias("cv"), pl.len().alias("n"))
        .filter(pl.col("n") >= 10)
    )
    assert per_supplier.height >= 3
    assert (per_supplier["cv"] >= 0.2).all()
    assert (lead["days"] >= 1).all()


def test_some_purchase_orders_are_received_in_parts_and_never_over(small: Dataset) -> None:
    received = (
        small.tables["receipts"]
        .group_by("po_number", "sku")
        .agg(pl.col("quantity").sum().alias("received"), pl.len().alias("parts"))
        .join(small.tables["purchase_orders"], on=["po_number", "sku"])
    )
    assert (received["parts"] > 1).sum() > 0
    assert (received["received"] <= received["quantity"]).all()
    open_lines = small.tables["purchase_orders"].join(
        received.select("po_number", "sku"), on=["po_number", "sku"], how="anti"
    )
    assert open_lines.height > 0  # ordered near the end, not yet received


def test_returns_come_back_a_few_days_after_their_sale(small: Dataset) -> None:
    lines = small.tables["order_lines"]
    returns = lines.filter(pl.col("kind") == "return")
    sales = lines.filter(pl.col("kind") == "sale")
    assert 0.01 < returns.height / sales.height < 0.15
    assert returns["returned_order_id"].null_count() == 0
    assert sales["returned_order_id"].null_count() == sales.height
    sold = (
        sales.group_by("channel_code", "order_id", "sku")
        .agg(pl.col("ordered_at").first().alias("sold_at"), pl.col("quantity").sum().alias("sold"))
        .rename({"order_id": "returned_order_id"})
    )
    matched = returns.join(sold, on=["channel_code", "returned_order_id", "sku"])
    assert matched.height == returns.height
    assert (matched["order_id"] != matched["returned_order_id"]).all()
    gap = (matched["ordered_at"].dt.date() - matched["sold_at"].dt.date()).dt.total_days()
    assert gap.min() >= 1  # type: ignore[operator]
    assert gap.max() <= 21  # type: ignore[operator]
    assert (matched["quantity"] <= matched["sold"]).all()


def test_restock_notices_come_from_stockouts_and_are_sent_when_stock_is_back(
    small: Dataset,
) -> None:
    notices = small.tables["restock_notices"]
    assert notices.height > 0
    warehouse = small.tables["locations"].filter(pl.col("kind") == "warehouse")
    wh = warehouse["location_code"][0]
    at_wh = notices.with_columns(
        pl.col("signed_up_at").dt.date().alias("date"), pl.lit(wh).alias("location_code")
    )
    out = at_wh.join(small.truth["stockouts"], on=["sku", "location_code", "date"])
    assert out.height == notices.height
    told = notices.filter(pl.col("notified_at").is_not_null())
    assert told.height > 0
    assert (told["notified_at"] > told["signed_up_at"]).all()
    receipts = (
        small.tables["receipts"]
        .join(
            small.tables["purchase_orders"].select("po_number", "sku", "location_code"),
            on=["po_number", "sku"],
        )
        .filter(pl.col("location_code") == wh)
    )
    back = told.with_columns(pl.col("notified_at").dt.date().alias("received_on")).join(
        receipts.select("sku", "received_on").unique(), on=["sku", "received_on"]
    )
    assert back.height == told.height


def test_customers_who_lapsed_after_a_stockout_buy_nothing_later(
    small: Dataset, sales: pl.DataFrame
) -> None:
    lapse = small.truth["lapse"]
    assert 0 < lapse["lapse_probability"][0] < 1
    lapsed = small.truth["customers"].filter(pl.col("lapsed"))
    assert lapsed.height > 0
    later = sales.join(lapsed.select("customer_id", "lapsed_on"), on="customer_id").filter(
        pl.col("date") > pl.col("lapsed_on")
    )
    assert later.height == 0


def test_truth_covers_every_campaign_and_supplier(small: Dataset) -> None:
    uplift = small.truth["campaign_uplift"]
    assert set(uplift["campaign_code"]) == set(small.tables["campaigns"]["campaign_code"])
    assert (uplift["uplift"] >= 1.0).all()
    lead = small.truth["supplier_lead_times"]
    assert set(lead["supplier_code"]) == set(small.tables["suppliers"]["supplier_code"])
    assert (lead["cv"] >= 0.2).all()
    elasticity = small.truth["elasticity"]
    assert set(elasticity["sku"]) == set(small.tables["products"]["sku"])
    assert (elasticity["elasticity"] < 0).all()


# --- the shell ---------------------------------------------------------------------------


def test_demo_files_are_csv_per_entity_and_parquet_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: Dataset
) -> None:
    from soko.data import demo

    monkeypatch.setattr(demo, "generate", lambda preset, seed, progress=False: small)
    demo.generate_to_files("small", 1, tmp_path)
    for name, frame in small.tables.items():
        path = tmp_path / f"{name}.csv"
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == frame.columns
        assert pl.read_csv(path, infer_schema=False).height == frame.height
    text = (tmp_path / "order_lines.csv").read_text(encoding="utf-8").splitlines()[1]
    assert any(len(cell) == 19 and cell[10] == " " for cell in text.split(","))
    for name, frame in small.truth.items():
        assert pl.read_parquet(tmp_path / "truth" / f"{name}.parquet").equals(frame)


def test_demo_loads_into_an_empty_store_and_keeps_its_truth_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: Dataset
) -> None:
    from soko.data import demo
    from soko.settings import Settings

    monkeypatch.setattr(demo, "generate", lambda preset, seed, progress=False: small)
    settings = Settings(data_dir=tmp_path)
    assert demo.store_is_empty(settings)
    report = demo.generate_into_store(settings, "small", 1)
    assert not demo.store_is_empty(settings)
    assert report.added["skus"] == small.tables["products"].height
    assert report.added["order_lines"] == small.tables["order_lines"].height
    assert report.sources[0] == "suppliers.csv"
    for name in small.truth:
        assert (tmp_path / "truth" / f"{name}.parquet").is_file()
