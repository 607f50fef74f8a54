"""Adjustments and transfers from the Stock page: confirmed first, refused cleanly, by role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from soko.data.importer import import_paths
from soko.settings import Settings
from soko.web.app import create_app
from soko.web.users import Role, create_user
from tests.integration.test_import import write_shop
from tests.integration.test_ledger_transfers import LOCATIONS, STOCK
from tests.integration.test_web_auth import PASSWORD, csrf_of, sign_in


@pytest.fixture
def web(store: Settings, tmp_path: Path) -> Iterator[TestClient]:
    folder = write_shop(tmp_path / "shop")
    (folder / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    app = create_app(store)
    with app.state.store.engine.begin() as conn:
        for role in Role:
            create_user(conn, f"{role.value}-user", role, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def on_hand(client: TestClient, location: str) -> int:
    html = client.get("/stock/TS-BLK-M?lang=en").text
    row = re.search(rf'<tr data-location="{location}">(.*?)</tr>', html, re.S)
    assert row, location
    cell = re.search(r'data-figure="on_hand">([^<]*)<', row.group(1))
    assert cell
    return int(cell.group(1).replace(",", ""))


def post(client: TestClient, action: str, **fields: str) -> Response:
    page = client.get("/stock/TS-BLK-M?lang=en")
    data = {"csrf_token": csrf_of(page.text), "sku": "TS-BLK-M"} | fields
    return client.post(f"/stock/{action}?lang=en", data=data, follow_redirects=False)


def confirm_fields(html: str) -> dict[str, str]:
    form = re.search(r'<form[^>]*id="confirm-form"(.*?)</form>', html, re.S)
    assert form, "no confirmation form"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


@pytest.mark.parametrize("role", [Role.planner, Role.store_staff, Role.admin])
def test_an_adjustment_is_shown_before_and_after_then_recorded_once(
    web: TestClient, role: Role
) -> None:
    sign_in(web, role)
    preview = post(web, "adjust", step="preview", location="wh1", quantity="-3", reason="broken")
    assert preview.status_code == 200
    assert "Confirm the change" in preview.text
    wh1 = re.search(r'<tr data-location="wh1">(.*?)</tr>', preview.text, re.S)
    assert wh1
    assert '10<span class="arrow">→</span>7' in wh1.group(1)
    assert 'data-channel="web" data-before="12" data-after="9"' in preview.text
    assert on_hand(web, "wh1") == 10  # the preview wrote nothing
    fields = confirm_fields(preview.text)
    for _ in range(2):  # a double click records it once
        done = web.post("/stock/adjust", data=fields, follow_redirects=False)
        assert done.status_code == 303
    assert on_hand(web, "wh1") == 7
    page = web.get(done.headers["location"].split("#")[0] + "&lang=en").text
    assert 'id="change-done"' in page
    first = re.search(r'<tr data-kind="adjustment">(.*?)</tr>', page, re.S)
    assert first
    assert "broken" in first.group(1)
    assert f"{role.value}-user" in first.group(1)


def test_an_adjustment_below_zero_is_refused_with_a_message_and_changes_nothing(
    web: TestClient,
) -> None:
    sign_in(web, Role.planner)
    for step in ("preview", "confirm"):
        refused = post(web, "adjust", step=step, location="wh2", quantity="-5", reason="lost")
        assert refused.status_code == 409
        assert 'id="adjust-error"' in refused.text
        assert "Nothing was changed" in refused.text
        assert "wh2 has 2 on hand" in refused.text
        assert 'value="-5"' in refused.text  # what was typed is kept
    assert on_hand(web, "wh2") == 2


@pytest.mark.parametrize(
    ("quantity", "reason", "says"),
    [("0", "x", "changes nothing"), ("three", "x", "whole number"), ("2", " ", "reason")],
)
def test_a_bad_adjustment_form_says_what_is_wrong(
    web: TestClient, quantity: str, reason: str, says: str
) -> None:
    sign_in(web, Role.planner)
    refused = post(web, "adjust", step="preview", location="wh1", quantity=quantity, reason=reason)
    assert refused.status_code == 422
    error = re.search(r'id="adjust-error">([^<]*)<', refused.text)
    assert error
    assert says in error.group(1)


def test_a_viewer_sees_no_forms_and_cannot_post_one(web: TestClient) -> None:
    sign_in(web, Role.viewer)
    page = web.get("/stock/TS-BLK-M?lang=en").text
    assert 'id="adjust-form"' not in page
    assert 'id="transfer-form"' not in page
    denied = post(web, "adjust", step="confirm", location="wh1", quantity="5", reason="x")
    assert denied.status_code == 403
    assert on_hand(web, "wh1") == 10


def test_a_form_without_its_csrf_token_is_refused(web: TestClient) -> None:
    sign_in(web, Role.planner)
    data = {"sku": "TS-BLK-M", "step": "confirm", "location": "wh1", "quantity": "5"}
    assert web.post("/stock/adjust", data=data | {"reason": "x"}).status_code == 403
    assert on_hand(web, "wh1") == 10


def test_a_transfer_is_in_transit_until_marked_received(web: TestClient) -> None:
    sign_in(web, Role.store_staff)
    preview = post(
        web, "transfer", step="preview", from_location="wh1", to_location="wh2", quantity="4"
    )
    assert preview.status_code == 200
    wh2 = re.search(r'<tr data-location="wh2">(.*?)</tr>', preview.text, re.S)
    assert wh2
    assert '0<span class="arrow">→</span>4' in wh2.group(1)
    sent = web.post("/stock/transfer", data=confirm_fields(preview.text), follow_redirects=False)
    assert sent.status_code == 303
    page = web.get("/stock/TS-BLK-M?lang=en").text
    assert 'id="sku-in-transit"' in page
    assert (on_hand(web, "wh1"), on_hand(web, "wh2")) == (6, 2)
    listed = web.get("/stock?q=TS-BLK-M&lang=en").text
    assert re.search(r'data-figure="in_transit">In transit: 4<', listed)
    receive = re.search(r'action="(/stock/transfers/[0-9a-f]+/receive)"', page)
    assert receive
    done = web.post(receive.group(1), data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303
    page = web.get("/stock/TS-BLK-M?lang=en").text
    assert 'id="sku-in-transit"' not in page
    assert (on_hand(web, "wh1"), on_hand(web, "wh2")) == (6, 6)
    assert 'data-figure="in_transit"' not in web.get("/stock?q=TS-BLK-M").text


def preorder_limit(page: str, channel: str = "") -> str | None:
    """The limit shown for ``channel`` ("": all channels); None when the channel has no row
    (no limit and nothing waiting)."""
    row = re.search(rf'<tr data-preorder-channel="{channel}">(.*?)</tr>', page, re.S)
    if row is None:
        return None
    cell = re.search(r'data-figure="limit">([^<]*)<', row.group(1))
    assert cell
    return cell.group(1).strip()


def test_a_planner_sets_a_pre_order_limit_and_a_bad_one_is_refused(web: TestClient) -> None:
    sign_in(web, Role.planner)
    assert preorder_limit(web.get("/stock/TS-BLK-M?lang=en").text) == "–"
    done = post(web, "preorder-limit", channel="", max_units="5")
    assert done.status_code == 303
    assert done.headers["location"].endswith("#sku-preorders")
    page = web.get("/stock/TS-BLK-M?lang=en").text
    assert preorder_limit(page) == "5"
    assert preorder_limit(page, "web") is None
    refused = post(web, "preorder-limit", channel="web", max_units="-1")
    assert refused.status_code == 422
    assert 'id="preorder-error"' in refused.text
    assert preorder_limit(web.get("/stock/TS-BLK-M?lang=en").text, "web") is None


def test_a_viewer_sees_the_pre_order_limits_but_cannot_set_one(web: TestClient) -> None:
    sign_in(web, Role.planner)
    post(web, "preorder-limit", channel="web", max_units="3")
    sign_in(web, Role.viewer)
    page = web.get("/stock/TS-BLK-M?lang=en").text
    assert preorder_limit(page, "web") == "3"
    assert 'id="preorder-form"' not in page
    assert post(web, "preorder-limit", channel="web", max_units="9").status_code == 403
