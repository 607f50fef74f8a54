"""Orders to place in a real browser: the plan's list, an edit that survives a reload, exports
that open, approval into a purchase order and its receipt, and the Suppliers page."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.browser.conftest import Browsing

pytestmark = pytest.mark.xdist_group("browser")


def number(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text) or "0")


def run_lines(browsing: Browsing, run_id: object) -> list[dict[str, Any]]:
    """Every line of a run through the API (which pages by ``next_cursor``)."""
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = browsing.server.api(f"/plan-runs/{run_id}/lines?limit=500{cursor}").json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def latest_run(browsing: Browsing) -> dict[str, object]:
    runs = browsing.server.api("/plan-runs").json()["items"]
    assert runs, "the harness runs `soko plan` after loading the demo data"
    run: dict[str, object] = runs[0]
    return run


def test_the_list_shows_staple_and_seasonal_lines_grouped_by_supplier(
    browsing: Browsing,
) -> None:
    run = latest_run(browsing)
    browsing.sign_in("viewer")
    browsing.goto("/orders?lang=en")
    assert browsing.p.inner_text("main h1") == "Orders to place"
    assert browsing.p.locator("#plan-run").get_attribute("data-run") == str(run["id"])
    suppliers = browsing.p.eval_on_selector_all(
        "#supplier-totals tbody tr", "rows => rows.map(r => r.dataset.supplier)"
    )
    assert len(suppliers) >= 3
    # every supplier's units add up to the total the run reports
    units = sum(
        number(t)
        for t in browsing.p.eval_on_selector_all(
            "#supplier-totals tbody tr td:nth-of-type(2)", "cells => cells.map(c => c.innerText)"
        )
    )
    assert number(browsing.p.inner_text("#grand-units")) == units
    # the same units the API lists (the plan's, or the buyer's where edited)
    assert units == sum(int(x["quantity"]) for x in run_lines(browsing, run["id"]))
    # a viewer reads but cannot edit
    assert browsing.p.locator("tr[data-line] input[name=quantity]").count() == 0
    assert browsing.p.locator("button.approve-group").count() == 0
    # a line says why it orders what it orders
    first = browsing.p.locator("tr.why-row td.why").first.inner_text()
    assert "reorder point" in first or "season" in first


def test_seasonal_lines_are_listed_apart_with_their_season_target(browsing: Browsing) -> None:
    run = latest_run(browsing)
    lines = browsing.server.api(f"/plan-runs/{run['id']}/lines?kind=seasonal&limit=1").json()
    supplier = lines["items"][0]["supplier"]
    browsing.sign_in("viewer")
    browsing.goto(f"/orders?lang=en&supplier={supplier}")
    section = browsing.p.locator("#seasonal-lines")
    assert section.locator("tr[data-line]").count() >= 1
    assert "Season target" in section.inner_text()
    shown = (
        browsing.p.locator("#staple-lines tr[data-line]").count()
        + section.locator("tr[data-line]").count()
    )
    assert shown == len([x for x in run_lines(browsing, run["id"]) if x["supplier"] == supplier])


def test_an_edit_survives_a_reload(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/orders?lang=en")
    row = browsing.p.locator("#staple-lines tr[data-line]").first
    line_id = row.get_attribute("data-line")
    pack = int(browsing.p.locator(f"#qty-{line_id}").get_attribute("step") or "1")
    recommended = number(row.locator("td.recommended").inner_text())
    wanted = recommended + 2 * pack
    browsing.p.fill(f"#qty-{line_id}", str(wanted))
    browsing.p.fill(f"#note-{line_id}", "early delivery asked")
    with browsing.p.expect_navigation():
        browsing.p.click(f"#edit-{line_id} button.save-line")
    browsing.check()
    assert browsing.p.locator("#saved-notice").is_visible()
    browsing.p.reload()
    browsing.check()
    assert browsing.p.input_value(f"#qty-{line_id}") == str(wanted)
    assert browsing.p.input_value(f"#note-{line_id}") == "early delivery asked"
    assert "edited" in (browsing.p.locator(f"#line-{line_id}").get_attribute("class") or "")


def test_an_edit_off_the_case_pack_is_refused_with_a_message(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/orders?lang=en")
    steps = browsing.p.eval_on_selector_all(
        "tr[data-line] input[name=quantity]", "xs => xs.map(x => [x.id, x.step])"
    )
    packed = [(i, int(s)) for i, s in steps if int(s) > 1]
    if not packed:
        pytest.skip("no line of the first supplier has a case pack above 1")
    field, pack = packed[0]
    line_id = field.removeprefix("qty-")
    browsing.p.evaluate(f"document.getElementById('{field}').removeAttribute('step')")
    browsing.p.fill(f"#{field}", str(pack + 1))
    with browsing.p.expect_navigation():
        browsing.p.click(f"#edit-{line_id} button.save-line")
    browsing.check()
    assert "cases of" in browsing.p.inner_text("#problem-notice")


def test_the_excel_and_cp932_exports_download_and_open(browsing: Browsing, tmp_path: Path) -> None:
    run = latest_run(browsing)
    browsing.sign_in("viewer")
    browsing.goto("/orders?lang=ja")
    with browsing.p.expect_download() as info:
        browsing.p.click("#export-xlsx")
    path = tmp_path / "list.xlsx"
    info.value.save_as(path)
    staple = pl.read_excel(path, sheet_name="定番品 staple", engine="calamine")
    seasonal = pl.read_excel(path, sheet_name="シーズン品 seasonal", engine="calamine")
    lines = run_lines(browsing, run["id"])
    assert staple.height + seasonal.height == len(lines)
    listed = pl.concat([staple, seasonal])["発注数 quantity"].sum()
    assert listed == sum(int(x["quantity"]) for x in lines)
    with browsing.p.expect_download() as info:
        browsing.p.click("#export-csv-cp932")
    raw = Path(info.value.path()).read_bytes()
    frame = pl.read_csv(io.BytesIO(raw.decode("cp932").encode("utf-8")))
    assert frame.height == staple.height + seasonal.height
    assert "商品名 product" in frame.columns


def test_approving_a_supplier_makes_a_purchase_order_that_can_be_received(
    browsing: Browsing, tmp_path: Path
) -> None:
    browsing.sign_in("planner")
    browsing.goto("/orders?lang=en")
    suppliers = browsing.p.eval_on_selector_all(
        "#supplier-totals tbody tr", "rows => rows.map(r => r.dataset.supplier)"
    )
    browsing.goto(f"/orders?lang=en&supplier={suppliers[-1]}")
    group = browsing.p.locator("button.approve-group").first
    with browsing.p.expect_navigation():
        group.click()
    browsing.check()
    notice = browsing.p.inner_text("#saved-notice")
    number_made = re.search(r"PO-\d{8}-\d{4}", notice)
    assert number_made, notice
    po = browsing.p.locator(f'details.po[data-po="{number_made.group(0)}"]')
    if po.get_attribute("open") is None:
        po.locator("summary").click()
    with browsing.p.expect_download() as info:
        po.locator("a.po-document").click()
    document = tmp_path / "po.xlsx"
    info.value.save_as(document)
    sheet = pl.read_excel(document, sheet_name="発注書", engine="calamine", has_header=False)
    assert number_made.group(0) in sheet.to_series(1).to_list()
    line = po.locator("tr[data-po-line]").first
    sku = line.get_attribute("data-sku")
    before = browsing.server.api(f"/purchase-orders/{number_made.group(0)}").json()
    ordered = next(x for x in before["lines"] if x["sku"] == sku)["ordered"]
    line.locator("input[name=quantity]").fill("1")
    with browsing.p.expect_navigation():
        line.locator("button[type=submit]").click()
    browsing.check()
    after = browsing.server.api(f"/purchase-orders/{number_made.group(0)}").json()
    got = next(x for x in after["lines"] if x["sku"] == sku)
    assert got["received"] == 1
    assert got["open_units"] == ordered - 1


def test_the_suppliers_page_draws_lead_time_distributions(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    browsing.goto("/orders?lang=ja")
    with browsing.p.expect_navigation():
        browsing.p.click("#suppliers-link")
    browsing.check()
    browsing.p.wait_for_selector("#lead-time-chart .main-svg")
    stats = browsing.server.api("/suppliers/lead-times").json()["items"]
    rows = browsing.p.locator("#supplier-table tbody tr")
    assert rows.count() >= len(stats)
    assert browsing.p.locator("#lead-time-chart g.trace.boxes").count() == len(stats)
