"""The Forecast page in a real browser over the demo store (its plan run kept a forecast)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from soko.forecast.service import latest_forecast
from soko.settings import Settings
from soko.store.db import make_engine
from tests.browser.conftest import Browsing
from tests.browser.test_shell import assert_no_sideways_scroll

pytestmark = pytest.mark.xdist_group("browser")


def test_the_forecast_page_shows_the_accuracy_report_and_model_counts(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.goto("/forecast?lang=en")
    assert browsing.p.inner_text("main h1") == "Forecast"
    assert browsing.p.locator("#forecast-as-of").is_visible()
    counts = browsing.p.eval_on_selector_all(
        "#model-counts tbody tr td.num",
        "cells => cells.map(c => Number(c.textContent.replace(/,/g, '')))",
    )
    skus, cursor = 0, ""
    while True:
        page = browsing.server.api(f"/skus?limit=500{cursor}").json()
        skus += len(page["items"])
        if not page.get("next_cursor"):
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sum(counts) == skus, "every SKU has a model"
    rows = browsing.p.locator("#accuracy-table tbody tr")
    assert rows.count() > 0
    errors = browsing.p.eval_on_selector_all(
        '#accuracy-table td[data-figure="error"]',
        "cells => cells.map(c => c.textContent.trim()).filter(t => t !== '–').map(Number)",
    )
    assert errors == sorted(errors, reverse=True), "largest error first"
    assert_no_sideways_scroll(browsing)


def test_the_price_response_shown_is_the_one_the_plan_runs_forecast_measured(
    browsing: Browsing, demo_data: Path
) -> None:
    engine = make_engine(Settings(data_dir=demo_data))
    kept = latest_forecast(engine)
    engine.dispose()
    assert kept is not None
    elasticity, moves = kept.summary["price_elasticity"], kept.summary["price_moves"]
    assert isinstance(elasticity, float), "the demo's list prices move often enough to measure"
    assert isinstance(moves, int)
    assert elasticity < 0
    browsing.sign_in("viewer")
    browsing.goto("/forecast?lang=en")
    assert browsing.p.inner_text("#kpi-price") == f"{elasticity:.2f}"
    note = browsing.p.locator("#kpi-price + .kpi-note").inner_text()
    assert f"from {moves:,} list-price moves" in note


def test_a_skus_chart_marks_out_of_stock_days_and_says_why_its_model(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/forecast?lang=en")
    censored = browsing.p.eval_on_selector_all(
        "#accuracy-table tbody tr",
        "rows => rows.map(r => [Number(r.querySelector('[data-figure=censored]')"
        ".textContent.replace(/,/g, '')), r.dataset.sku]).filter(x => x[0] > 0)"
        ".sort((a, b) => b[0] - a[0]).map(x => x[1])",
    )
    assert censored, "the demo data has stockouts"
    sku = censored[0]
    with browsing.p.expect_navigation(wait_until="load"):
        browsing.p.click(f'#accuracy-table tr[data-sku="{sku}"] a')
    browsing.check()
    assert browsing.p.inner_text("#sku-detail h2") == sku
    assert "Model:" in browsing.p.inner_text("#why-model")
    browsing.p.wait_for_selector("#forecast-chart .main-svg")
    names = browsing.p.eval_on_selector_all(
        "#forecast-chart .legendtext", "nodes => nodes.map(n => n.textContent)"
    )
    assert {"Sales", "Out of stock", "Forecast", "80% interval"} <= set(names)
    browsing.screenshot()


def test_the_page_speaks_japanese(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.goto("/forecast?lang=ja")
    assert browsing.p.inner_text("main h1") == "需要予測"
    assert (
        browsing.p.locator('nav.mainnav a[data-nav="forecast"]').get_attribute("aria-current")
        == "page"
    )


def test_a_planner_reviews_and_tags_days_and_enters_a_sales_plan_and_all_are_kept(
    browsing: Browsing,
) -> None:
    flagged = browsing.server.api("/forecast/flagged-spikes").json()
    assert flagged["items"], "the demo data has spikes to review"
    sku, spike_day = flagged["items"][0]["sku"], flagged["items"][0]["day"]
    as_of = dt.date.fromisoformat(flagged["as_of"])
    browsing.sign_in("planner")
    browsing.goto(f"/forecast?lang=en&sku={sku}")
    p = browsing.p
    with p.expect_navigation(wait_until="load"):
        p.click(f'#flagged-days tr[data-day="{spike_day}"] button[value="real_demand"]')
    browsing.check()
    assert "real demand" in p.inner_text("#inputs-done")
    assert p.locator(f'#flagged-days tr[data-day="{spike_day}"]').count() == 0
    one_off = (as_of - dt.timedelta(days=20)).isoformat()
    p.fill("#tag-day", one_off)
    p.fill("#tag-note", "学校からのまとめ買い")
    with p.expect_navigation(wait_until="load"):
        p.click("#tag-form button[type=submit]")
    browsing.check()
    assert "one-off" in p.inner_text("#inputs-done")
    p.reload(wait_until="load")
    browsing.check()
    row = p.locator(f'#spike-tags tr[data-day="{one_off}"]')
    assert row.get_attribute("data-leave-out") == "true"
    assert row.locator('[data-figure="note"]').inner_text() == "学校からのまとめ買い"
    kept = p.locator(f'#spike-tags tr[data-day="{spike_day}"]')
    assert kept.get_attribute("data-leave-out") == "false"
    starts_on, ends_on = as_of + dt.timedelta(days=7), as_of + dt.timedelta(days=36)
    p.fill("#plan-start", starts_on.isoformat())
    p.fill("#plan-end", ends_on.isoformat())
    p.fill("#plan-units", "120")
    with p.expect_navigation(wait_until="load"):
        p.click("#plan-form button[type=submit]")
    browsing.check()
    plan = p.locator(f'#sales-plans tr[data-starts-on="{starts_on.isoformat()}"]')
    assert plan.locator('[data-figure="units"]').inner_text() == "120"
    stored = browsing.server.api(f"/forecast/sales-plans?sku={sku}").json()["items"]
    assert [(x["starts_on"], x["ends_on"], x["units"]) for x in stored] == [
        (starts_on.isoformat(), ends_on.isoformat(), 120)
    ]
    tags = browsing.server.api(f"/forecast/spike-tags?sku={sku}").json()["items"]
    assert {(t["day"], t["leave_out"]) for t in tags} == {(one_off, True), (spike_day, False)}
    browsing.goto(f"/forecast?lang=ja&sku={sku}")
    assert p.inner_text("#forecast-inputs h2") == "次回の予測が学習する内容"
    assert_no_sideways_scroll(browsing)


def test_the_chart_marks_spikes_to_review_and_days_left_out(browsing: Browsing) -> None:
    """A spike awaiting review is marked on its day's sales; tagged as a one-off it is
    marked as left out instead."""
    flagged = browsing.server.api("/forecast/flagged-spikes").json()
    as_of = dt.date.fromisoformat(flagged["as_of"])
    recent = [
        f for f in flagged["items"] if dt.date.fromisoformat(f["day"]) >= as_of - dt.timedelta(300)
    ]
    assert recent, "the demo data has spikes to review within the chart's year"
    sku, day = recent[-1]["sku"], recent[-1]["day"]
    own = {f["day"] for f in recent if f["sku"] == sku}
    browsing.sign_in("planner")
    p = browsing.p

    def marked() -> tuple[set[str], set[str], list[str]]:
        chart = json.loads(p.inner_text("#forecast-chart-data"))["history"]
        p.wait_for_selector("#forecast-chart .main-svg")
        legend = p.eval_on_selector_all(
            "#forecast-chart .legendtext", "nodes => nodes.map(n => n.textContent)"
        )
        days = chart["ds"]
        return (
            {d for d, on in zip(days, chart["review"], strict=True) if on},
            {d for d, on in zip(days, chart["left_out"], strict=True) if on},
            legend,
        )

    browsing.goto(f"/forecast?lang=en&sku={sku}")
    review, left_out, legend = marked()
    assert review == own
    assert day not in left_out
    assert "Spike to review" in legend
    with p.expect_navigation(wait_until="load"):
        p.click(f'#flagged-days tr[data-day="{day}"] button[value="one_off"]')
    browsing.check()
    browsing.goto(f"/forecast?lang=en&sku={sku}")
    review, left_out, legend = marked()
    assert review == own - {day}
    assert day in left_out
    assert "Left out as a one-off" in legend
    browsing.screenshot()
