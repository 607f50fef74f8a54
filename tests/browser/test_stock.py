"""The Stock page in a real browser: the list, its filter and product switch, one SKU's page."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.browser.conftest import Browsing
from tests.browser.test_shell import assert_no_sideways_scroll

pytestmark = pytest.mark.xdist_group("browser")


def number(text: str) -> int:
    """``1,234`` → ``1234``; a leading minus sign is kept."""
    sign = -1 if text.strip().startswith(("-", "−")) else 1
    return sign * int(re.sub(r"[^0-9]", "", text))


def figure(browsing: Browsing, row: str, name: str, location: str | None = None) -> int:
    """The figure ``name`` in ``row``: in a location's cell, or the row's own (e.g. its total)."""
    cell = f'td[data-location="{location}"] ' if location else ""
    return number(browsing.p.inner_text(f'{row} {cell}[data-figure="{name}"]'))


def total(browsing: Browsing, row: str, name: str) -> int:
    return number(browsing.p.inner_text(f'{row} td.total[data-figure="{name}"]'))


def listed_codes(browsing: Browsing) -> list[str]:
    return browsing.p.eval_on_selector_all(
        "#stock-table tbody tr", "rows => rows.map(r => r.dataset.code)"
    )


def test_the_list_shows_the_demo_skus_with_the_figures_of_the_balances_api(
    browsing: Browsing,
) -> None:
    skus = browsing.server.api("/skus?limit=50").json()["items"]
    first = skus[0]["code"]
    balances = browsing.server.api(f"/balances/{quote(first, safe='')}").json()
    browsing.sign_in("viewer")
    browsing.goto("/stock?lang=en")
    assert browsing.p.inner_text("main h1") == "Stock"
    codes = listed_codes(browsing)
    assert len(codes) == 50
    assert codes == [s["code"] for s in skus]  # both ordered by SKU code
    assert browsing.p.locator("#pager").is_visible()
    row = f'#stock-table tr[data-code="{first}"]'
    for place in balances["locations"]:
        for name in ("on_hand", "reserved", "available"):
            assert figure(browsing, row, name, place["location"]) == place[name]
    for name in ("on_hand", "reserved", "available"):
        assert total(browsing, row, name) == sum(p[name] for p in balances["locations"])
    assert_no_sideways_scroll(browsing)


def test_the_filter_narrows_the_rows_to_matching_skus(browsing: Browsing) -> None:
    product = browsing.server.api("/skus?limit=1").json()["items"][0]["product_code"]
    browsing.sign_in("planner")
    browsing.goto("/stock?lang=en")
    everything = browsing.p.inner_text("#stock-count")
    browsing.p.fill("#q", product.lower())
    with browsing.p.expect_navigation():
        browsing.p.click("#stock-filter button[type=submit]")
    browsing.check()
    codes = listed_codes(browsing)
    assert 0 < len(codes) < 50
    assert all(code.startswith(product) for code in codes)
    assert browsing.p.inner_text("#stock-count") != everything
    browsing.goto("/stock?q=no-such-thing-at-all&lang=ja")
    assert "一致するものはありません" in browsing.p.inner_text("#stock-empty")
    assert browsing.p.locator("#stock-empty a").get_attribute("href") == "/stock"


def test_by_product_each_row_is_the_sum_of_the_products_skus(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/stock?by=product&sort=on_hand&lang=en")
    assert browsing.p.get_attribute("#by-product", "aria-current") == "true"
    product = listed_codes(browsing)[0]
    row = f'#stock-table tr[data-code="{product}"]'
    shown = {name: total(browsing, row, name) for name in ("on_hand", "available")}
    with browsing.p.expect_navigation():
        browsing.p.click(f'#stock-table tr[data-code="{product}"] th a')
    browsing.check()
    assert browsing.p.get_attribute("#by-sku", "aria-current") == "true"
    codes = listed_codes(browsing)
    assert codes
    assert all(code.startswith(product) for code in codes)
    for name, product_total in shown.items():
        cells = browsing.p.locator(f'#stock-table td.total[data-figure="{name}"]')
        assert sum(number(t) for t in cells.all_inner_texts()) == product_total
    # The product's sum also equals the API's figures, SKU by SKU.
    api_total = 0
    for code in codes:
        body = browsing.server.api(f"/balances/{quote(code, safe='')}").json()
        api_total += sum(p["on_hand"] for p in body["locations"])
    assert api_total == shown["on_hand"]


def test_sorting_by_available_puts_the_most_available_first(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.goto("/stock?lang=en")
    with browsing.p.expect_navigation():
        browsing.p.click("#sort-available")
    browsing.check()
    cells = browsing.p.locator('#stock-table td.total[data-figure="available"]')
    shown = [number(t) for t in cells.all_inner_texts()]
    assert shown == sorted(shown, reverse=True)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_skus_page_shows_its_locations_channels_and_movements(
    browsing: Browsing, lang: str
) -> None:
    code = browsing.server.api("/skus?limit=1").json()["items"][0]["code"]
    balances = browsing.server.api(f"/balances/{quote(code, safe='')}").json()
    browsing.sign_in("viewer")
    browsing.goto(f"/stock?lang={lang}")
    with browsing.p.expect_navigation():
        browsing.p.click(f'#stock-table tr[data-code="{code}"] th a')
    browsing.check()
    assert browsing.p.inner_text("#sku-code") == code
    for place in balances["locations"]:
        row = f'#sku-locations tr[data-location="{place["location"]}"]'
        for name in ("on_hand", "reserved", "available", "incoming"):
            assert figure(browsing, row, name) == place[name]
    for channel in balances["channels"]:
        row = f'#sku-channels tr[data-channel="{channel["channel"]}"]'
        assert figure(browsing, row, "available") == channel["available"]
        assert browsing.p.inner_text(f'{row} [data-figure="feeds"]').strip() not in ("", "–")
    # FBA feeds only Amazon: no other channel lists it.
    feeds = {
        c["channel"]: browsing.p.inner_text(
            f'#sku-channels tr[data-channel="{c["channel"]}"] [data-figure="feeds"]'
        )
        for c in balances["channels"]
    }
    assert [c for c, f in feeds.items() if "FBA-JP" in f] in ([], ["amazon"])
    movements = browsing.p.locator("#sku-movements tbody tr")
    assert 0 < movements.count() <= 50
    heading = "入出庫履歴" if lang == "ja" else "Movement history"
    assert browsing.p.inner_text("#sku-movements h2") == heading
    assert_no_sideways_scroll(browsing)


def test_an_unknown_sku_is_a_translated_404(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.expect_error("status of 404")
    assert browsing.goto("/stock/NO-SUCH-SKU?lang=ja") == 404


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_stock_pages_do_not_scroll_sideways(browsing: Browsing, lang: str) -> None:
    browsing.sign_in("viewer")
    for path in (f"/stock?lang={lang}", "/stock?by=product", "/stock?page=2&sort=on_hand"):
        browsing.goto(path)
        assert_no_sideways_scroll(browsing)


# --- changing stock: adjustments and transfers, confirmed first ------------------------------


def stocked(browsing: Browsing, index: int) -> tuple[str, dict[str, int]]:
    """The ``index``-th SKU of the list and its on hand per location, from the API."""
    code = browsing.server.api(f"/skus?limit={index + 1}").json()["items"][index]["code"]
    return code, on_hand_of(browsing, code)


def on_hand_of(browsing: Browsing, code: str) -> dict[str, int]:
    body = browsing.server.api(f"/balances/{quote(code, safe='')}").json()
    return {p["location"]: p["on_hand"] for p in body["locations"]}


def test_an_adjustment_is_confirmed_first_then_recorded_and_listed_in_the_history(
    browsing: Browsing,
) -> None:
    code, before = stocked(browsing, 1)
    place = max(before, key=lambda loc: before[loc])
    assert before[place] > 0
    browsing.sign_in("planner")
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=en")
    browsing.p.select_option("#adjust-location", place)
    browsing.p.fill("#adjust-quantity", "-1")
    assert_no_sideways_scroll(browsing)
    browsing.p.fill("#adjust-reason", "Broken in the stockroom")
    with browsing.p.expect_navigation():
        browsing.p.click("#adjust-form button[type=submit]")
    browsing.check()
    assert browsing.p.inner_text("#confirm-title") == "Confirm the change"
    row = browsing.p.inner_text(f'#confirm-locations tr[data-location="{place}"]')
    assert f"{before[place]:,}→{before[place] - 1:,}" in row.replace(" ", "")
    assert browsing.p.locator("#confirm-channels tbody tr").count() > 0
    assert on_hand_of(browsing, code) == before  # nothing written yet
    with browsing.p.expect_navigation():
        browsing.p.click("#confirm-button")
    browsing.check()
    assert browsing.p.locator("#change-done").is_visible()
    newest = browsing.p.locator("#sku-movements tbody tr").first
    assert "Broken in the stockroom" in newest.inner_text()
    assert newest.get_attribute("data-kind") == "adjustment"
    assert on_hand_of(browsing, code) == before | {place: before[place] - 1}


def test_an_adjustment_below_zero_is_refused_on_the_page_and_changes_nothing(
    browsing: Browsing,
) -> None:
    code, before = stocked(browsing, 2)
    place = next(iter(before))
    browsing.sign_in("planner")
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=ja")
    browsing.p.select_option("#adjust-location", place)
    browsing.p.fill("#adjust-quantity", str(-(before[place] + 1)))
    browsing.p.fill("#adjust-reason", "棚卸差異")
    browsing.expect_error("status of 409")
    with browsing.p.expect_navigation():
        browsing.p.click("#adjust-form button[type=submit]")
    browsing.check()
    assert "何も変更していません" in browsing.p.inner_text("#adjust-error")
    assert browsing.p.input_value("#adjust-quantity") == str(-(before[place] + 1))
    assert on_hand_of(browsing, code) == before


def test_a_viewer_sees_the_stock_but_no_forms(browsing: Browsing) -> None:
    code, _ = stocked(browsing, 1)
    browsing.sign_in("viewer")
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=en")
    assert browsing.p.locator("#sku-locations").is_visible()
    assert browsing.p.locator("#adjust-form, #transfer-form, #sku-change").count() == 0


def test_a_transfer_is_in_transit_until_received(browsing: Browsing) -> None:
    code, before = stocked(browsing, 3)
    source = max(before, key=lambda loc: before[loc])
    locations = browsing.server.api("/locations?limit=100").json()["items"]
    destination = next(loc["code"] for loc in locations if loc["code"] != source)
    browsing.sign_in("admin")
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=ja")
    browsing.p.select_option("#transfer-from", source)
    browsing.p.select_option("#transfer-to", destination)
    browsing.p.fill("#transfer-quantity", "1")
    with browsing.p.expect_navigation():
        browsing.p.click("#transfer-form button[type=submit]")
    browsing.check()
    with browsing.p.expect_navigation():
        browsing.p.click("#confirm-button")
    browsing.check()
    transit = browsing.p.locator("#sku-in-transit tbody tr")
    assert transit.count() == 1
    assert destination in transit.inner_text()
    body = browsing.server.api(f"/balances/{quote(code, safe='')}").json()
    incoming = {p["location"]: p["incoming"] for p in body["locations"]}
    assert incoming[destination] >= 1
    assert on_hand_of(browsing, code)[source] == before[source] - 1
    browsing.goto(f"/stock?q={quote(code, safe='')}&lang=ja")
    row = f'#stock-table tr[data-code="{code}"]'
    assert "輸送中：1" in browsing.p.inner_text(f'{row} [data-figure="in_transit"]')
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=ja")
    with browsing.p.expect_navigation():
        browsing.p.click("#sku-in-transit button.receive")
    browsing.check()
    assert browsing.p.locator("#sku-in-transit").count() == 0
    assert on_hand_of(browsing, code)[destination] == before.get(destination, 0) + 1


# --- the channel rules editor ----------------------------------------------------------------


def test_the_rules_editor_previews_a_buffer_then_saves_it(browsing: Browsing) -> None:
    code, _ = stocked(browsing, 4)
    channels = browsing.server.api(f"/balances/{quote(code, safe='')}").json()["channels"]
    channel = max(channels, key=lambda c: c["available"])
    assert channel["available"] > 0
    browsing.sign_in("admin")
    browsing.goto(f"/stock/{quote(code, safe='')}?lang=ja")
    with browsing.p.expect_navigation():
        browsing.p.click("#edit-rules")
    browsing.check()
    feeds = browsing.p.inner_text(f'#default-feeds tr[data-channel="{channel["channel"]}"] td')
    card = browsing.p.locator("fieldset.rule").last  # an empty card for a new rule
    card.locator("select").select_option(channel["channel"])
    card.locator('input[name^="locations-"]').fill(feeds)
    card.locator('input[name^="buffer_units-"]').fill("2")
    assert browsing.p.input_value("#sample") == code
    with browsing.p.expect_navigation():
        browsing.p.click("#preview-rules")
    browsing.check()
    cell = browsing.p.locator(f'#rules-preview td[data-channel="{channel["channel"]}"]')
    assert int(cell.get_attribute("data-now") or -1) == channel["available"]
    assert int(cell.get_attribute("data-edited") or -1) == max(0, channel["available"] - 2)
    assert_no_sideways_scroll(browsing)
    unchanged = browsing.server.api(f"/balances/{quote(code, safe='')}").json()["channels"]
    assert unchanged == channels  # previewing saved nothing
    with browsing.p.expect_navigation():
        browsing.p.click("#save-rules")
    browsing.check()
    assert browsing.p.locator("#rules-saved").is_visible()
    after = browsing.server.api(f"/balances/{quote(code, safe='')}").json()["channels"]
    seen = {c["channel"]: c["available"] for c in after}
    assert seen[channel["channel"]] == max(0, channel["available"] - 2)
    # Remove the rule again ("—"), so the other tests see the demo's default rules.
    saved = browsing.p.locator(f'fieldset.rule:has(option[value="{channel["channel"]}"][selected])')
    saved.locator("select").select_option("")
    with browsing.p.expect_navigation():
        browsing.p.click("#preview-rules")
    with browsing.p.expect_navigation():
        browsing.p.click("#save-rules")
    browsing.check()
    restored = browsing.server.api(f"/balances/{quote(code, safe='')}").json()["channels"]
    assert restored == channels


def test_an_invalid_rule_is_named_on_the_page(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/channel-rules?lang=en")
    card = browsing.p.locator("fieldset.rule").last
    card.locator("select").select_option(index=1)
    card.locator('input[name^="locations-"]').fill("NO-SUCH-PLACE")
    browsing.expect_error("status of 422")
    with browsing.p.expect_navigation():
        browsing.p.click("#preview-rules")
    browsing.check()
    assert "no location NO-SUCH-PLACE" in browsing.p.inner_text("#rules-errors")
    assert browsing.p.locator("#save-rules").count() == 0
    assert_no_sideways_scroll(browsing)
