"""Sell-through & health in a real browser: filter, sort, the SKU ⇄ product switch and downloads."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import Browsing

pytestmark = pytest.mark.xdist_group("browser")


def shown_codes(browsing: Browsing) -> list[str]:
    return browsing.p.locator("#health-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )


def download_csv(browsing: Browsing, encoding: str) -> list[list[str]]:
    browsing.p.select_option("#health-table-encoding", encoding)
    with browsing.p.expect_download() as event:
        browsing.p.click("#health-table-csv")
    path = event.value.path()
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_planner_filters_sorts_and_downloads_exactly_the_filtered_rows(
    browsing: Browsing, lang: str
) -> None:
    browsing.sign_in("planner")
    browsing.goto(f"/inventory-health?lang={lang}")
    everything = int(browsing.p.get_attribute("#health-table-count", "data-total") or 0)
    # By product, then open the first product: the SKU view filtered to its SKUs.
    with browsing.p.expect_navigation():
        browsing.p.click("#by-product")
    browsing.check()
    product = shown_codes(browsing)[0]
    with browsing.p.expect_navigation():
        browsing.p.click(f'#health-table tbody tr[data-code="{product}"] a.code')
    browsing.check()
    assert browsing.p.locator("#by-sku").get_attribute("aria-current") == "true"
    assert browsing.p.input_value("#health-table-q") == product
    filtered = shown_codes(browsing)
    assert 0 < len(filtered) < everything

    # Sort by units sold over 90 days, largest first (the heading's first click).
    with browsing.p.expect_navigation():
        browsing.p.click('#health-table thead a[data-sort="units_90"]')
    browsing.check()
    heading = browsing.p.locator('#health-table thead th[data-column="units_90"]')
    assert heading.get_attribute("aria-sort") == "descending"
    units = [
        int(t.replace(",", ""))
        for t in browsing.p.locator(
            '#health-table tbody td[data-column="units_90"]'
        ).all_inner_texts()
    ]
    assert units == sorted(units, reverse=True)
    order = shown_codes(browsing)
    assert sorted(order) == sorted(filtered)

    for encoding in ("utf-8", "cp932"):
        rows = download_csv(browsing, encoding)
        header, body = rows[0], rows[1:]
        assert [r[0] for r in body] == order, encoding
        product_column = header.index("商品" if lang == "ja" else "Product")
        assert {r[product_column] for r in body} == {product}
        sold = header.index("90日販売" if lang == "ja" else "Sold, 90 days")
        assert [int(r[sold]) for r in body] == units


def test_the_status_filter_keeps_only_that_state(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.goto("/inventory-health?lang=en")
    chip = browsing.p.locator('#health-flags a[data-flag="dead"]')
    count = int(chip.locator("strong").inner_text().replace(",", ""))
    with browsing.p.expect_navigation():
        browsing.p.select_option("#health-table-flag", "dead")
    browsing.check()
    if count == 0:
        assert browsing.p.locator("#health-table-empty").is_visible()
        return
    assert f"of {count:,}" in browsing.p.inner_text("#health-table-count")
    states = browsing.p.locator('#health-table tbody td[data-column="flag"]').all_inner_texts()
    assert set(states) == {"Dead stock"}
