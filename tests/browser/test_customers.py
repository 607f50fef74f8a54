"""The Customers page in a real browser: its figures are the API's, the charts draw, SKU links
open the Stock page, the segment export downloads and opens, and an empty store says what
to do next."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.browser.conftest import Browsing, serving
from tests.browser.test_shell import assert_no_sideways_scroll

pytestmark = pytest.mark.xdist_group("browser")


def number(text: str) -> int:
    """``￥1,234`` or ``1,234`` → ``1234``."""
    return int(re.sub(r"[^0-9]", "", text))


def cell(browsing: Browsing, row: str, name: str) -> str:
    return browsing.p.inner_text(f'{row} td[data-figure="{name}"]').split("\n")[0]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_segments_and_skus_at_stake_are_the_apis_figures(browsing: Browsing, lang: str) -> None:
    segments = browsing.server.api("/customer-value/segments").json()
    top = browsing.server.api("/customer-value/skus?order=ltv_at_stake&limit=15").json()
    browsing.sign_in("viewer")
    browsing.goto(f"/customers?lang={lang}")
    assert browsing.p.inner_text("main h1") == ("顧客" if lang == "ja" else "Customers")
    assert number(browsing.p.inner_text("#kpi-customers")) == segments["metrics"]["customers"]
    natural = segments["models"]["natural"]
    assert natural["share_of_churn_from_stockouts"] > 0, "the demo's stockouts cost customers"
    shown = browsing.p.inner_text("#kpi-stockout-churn")
    assert shown == f"{natural['share_of_churn_from_stockouts'] * 100:.1f}%"
    for segment in segments["items"]:
        row = f'#segment-table tr[data-segment="{segment["segment"]}"]'
        assert number(cell(browsing, row, "customers")) == segment["customers"]
        assert number(cell(browsing, row, "revenue")) == segment["revenue"]
        if segment["customers"]:
            assert number(cell(browsing, row, "clv_total")) == segment["clv_total"]
    for channel in segments["channels"]:
        row = f'#channel-table tr[data-channel="{channel["channel"]}"]'
        assert number(cell(browsing, row, "customers")) == channel["customers"]
        assert number(cell(browsing, row, "revenue")) == channel["revenue"]
    shown = browsing.p.locator("#at-stake-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.sku)"
    )
    assert shown == [s["sku"] for s in top["items"]]
    for sku in top["items"][:5]:
        row = f'#at-stake-table tr[data-sku="{sku["sku"]}"]'
        assert number(cell(browsing, row, "ltv_at_stake")) == sku["ltv_at_stake"]
        assert number(cell(browsing, row, "shortage_cost")) == sku["shortage_cost"]
    # Both charts drew (Plotly adds its SVG once it has data).
    browsing.p.wait_for_selector("#cohort-chart .main-svg")
    browsing.p.wait_for_selector("#clv-chart .main-svg")
    assert browsing.p.locator("#cohort-chart .heatmaplayer").count() == 1
    assert browsing.p.locator("#clv-chart .bars path").count() > 5
    assert_no_sideways_scroll(browsing)


def test_a_sku_at_stake_opens_its_stock_page(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/customers?lang=en")
    link = browsing.p.locator("#at-stake-table tbody tr th a").first
    sku = link.inner_text()
    with browsing.p.expect_navigation():
        link.click()
    browsing.check()
    assert unquote(browsing.p.url).endswith(f"/stock/{sku}")
    assert sku in browsing.p.inner_text("main h1")


@pytest.mark.parametrize(
    ("link", "encoding"), [("#export-utf8", "utf-8"), ("#export-cp932", "cp932")]
)
def test_the_segment_export_downloads_and_opens(
    browsing: Browsing, link: str, encoding: str
) -> None:
    segments = browsing.server.api("/customer-value/segments").json()
    browsing.sign_in("viewer")
    browsing.goto("/customers?lang=ja")
    with browsing.p.expect_download() as event:
        browsing.p.click(link)
    download = event.value
    assert download.suggested_filename == f"customer-segments-{segments['as_of']}.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_bytes().decode(encoding))))
    assert len(rows) == segments["metrics"]["customers"]
    by_segment: dict[str, int] = {}
    for row in rows:
        by_segment[row["segment"]] = by_segment.get(row["segment"], 0) + 1
    for segment in segments["items"]:
        assert by_segment.get(segment["segment"], 0) == segment["customers"]
    assert any(row["waiting_for"] for row in rows)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_without_customers_the_page_says_what_to_do(
    browsing: Browsing, lang: str, tmp_path: Path
) -> None:
    with serving(tmp_path / "data") as base:
        browsing.goto(f"{base}/customers?lang={lang}")
        empty = browsing.p.inner_text("#empty-state")
        assert "soko generate" in empty
        assert "soko import" in empty
        assert browsing.p.locator("#segment-table").count() == 0
