"""The Forecast page in a real browser over the demo store (its plan run kept a forecast)."""

from __future__ import annotations

import pytest

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
