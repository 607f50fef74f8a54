"""The channel rules editor: preview before → after, errors by rule and field, save by role."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from soko.ledger import service
from soko.ledger.rules import Mode
from soko.web.users import Role
from tests.integration.test_ledger_web import web  # noqa: F401  (the fixture)
from tests.integration.test_web_auth import csrf_of, sign_in


def rule(**values: str) -> dict[str, str]:
    """The form fields of one rule card, as the first card."""
    return {f"{name}-0": value for name, value in values.items()}


def send(client: TestClient, step: str, sample: str = "TS-BLK-M", **values: str) -> Response:
    page = client.get("/channel-rules?lang=en")
    data = {"csrf_token": csrf_of(page.text), "rows": "1", "step": step, "sample": sample}
    return client.post("/channel-rules?lang=en", data=data | rule(**values), follow_redirects=False)


def seen(client: TestClient) -> dict[str, int]:
    """What each channel may sell of TS-BLK-M, as the SKU's page shows it."""
    html = client.get("/stock/TS-BLK-M?lang=en").text
    section = html[html.index('id="sku-channels"') :]
    return {
        code: int(n)
        for code, n in re.findall(
            r'<tr data-channel="([^"]+)">.*?data-figure="available">([^<]*)<', section, re.S
        )
    }


def test_a_preview_shows_now_and_under_the_edited_rules_and_saves_nothing(
    web: TestClient,  # noqa: F811
) -> None:
    sign_in(web, Role.planner)
    before = seen(web)
    assert before == {"rakuten": 12, "web": 12}
    shown = send(web, "preview", channel="web", locations="wh1, wh2", buffer_units="3")
    assert shown.status_code == 200, shown.text
    cell = re.search(r'data-channel="web" data-now="(\d+)" data-edited="(\d+)"', shown.text)
    assert cell
    assert (int(cell.group(1)), int(cell.group(2))) == (12, 9)
    assert 'data-channel="rakuten" data-now="12" data-edited="12"' in shown.text
    assert 'id="save-rules"' in shown.text
    assert seen(web) == before  # a preview writes nothing


def test_saving_makes_the_previewed_figures_what_channels_see(web: TestClient) -> None:  # noqa: F811
    sign_in(web, Role.planner)
    fields = {"channel": "rakuten", "locations": "wh1", "buffer_pct": "50", "cap": "4"}
    shown = send(web, "preview", **fields)
    previewed = re.search(r'data-channel="rakuten" data-now="\d+" data-edited="(\d+)"', shown.text)
    assert previewed
    saved = send(web, "save", **fields)
    assert saved.status_code == 303
    assert seen(web) == {"rakuten": int(previewed.group(1)), "web": 12}
    page = web.get(saved.headers["location"] + "&lang=en").text
    assert 'id="rules-saved"' in page
    assert 'value="rakuten" selected' in page


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("buffer_pct", "150", "Rule 1 (web), Buffer (percent): a number from 0 to 100"),
        ("locations", "wh1, nowhere", "Rule 1 (web), Locations that feed it: no location nowhere"),
        ("cap", "-2", "Rule 1 (web), Cap (units): a whole number of 0 or more"),
        ("sku", "NO-SUCH", "Rule 1 (web), SKU (blank: every SKU): no SKU NO-SUCH"),
        ("ends_at", "2026-01-01T00:00", "Rule 1 (web), Until: must be after the start"),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_rule_and_field_and_nothing_is_saved(
    web: TestClient,  # noqa: F811
    field: str,
    value: str,
    says: str,
) -> None:
    sign_in(web, Role.planner)
    fields = {"channel": "web", "locations": "wh1", "starts_at": "2026-02-01T00:00"}
    for step in ("preview", "save"):
        refused = send(web, step, **(fields | {field: value}))
        assert refused.status_code == 422
        assert says in refused.text
    assert seen(web) == {"rakuten": 12, "web": 12}


def test_a_viewer_reads_the_rules_but_cannot_change_them(web: TestClient) -> None:  # noqa: F811
    sign_in(web, Role.viewer)
    page = web.get("/channel-rules?lang=en")
    assert page.status_code == 200
    assert 'id="preview-rules"' not in page.text
    assert "disabled" in page.text
    assert send(web, "save", channel="web", locations="wh1", buffer_units="5").status_code == 403
    assert seen(web) == {"rakuten": 12, "web": 12}


def test_the_service_preview_equals_what_the_saved_rules_give(web: TestClient) -> None:  # noqa: F811
    engine = web.app.state.store.engine  # type: ignore[attr-defined]
    now = dt.datetime(2026, 11, 1, 12, 0)
    with engine.connect() as conn:
        edited = [
            service.ChannelRule(channel="web", locations=frozenset({"wh2"}), cap=1),
        ]
        [preview] = service.preview_rules(conn, edited, ["TS-BLK-M"], mode=Mode.shared, now=now)
    with engine.begin() as conn:
        service.replace_rules(conn, edited)
    with engine.connect() as conn:
        after = service.availability(conn, "TS-BLK-M", mode=Mode.shared, now=now)
    assert {c: will for c, _, will in preview.channels} == after == {"rakuten": 12, "web": 1}


def test_a_reservation_obeys_rules_saved_a_moment_before(web: TestClient) -> None:  # noqa: F811
    engine = web.app.state.store.engine  # type: ignore[attr-defined]
    now = dt.datetime(2026, 11, 1, 12, 0)

    def hold(key: str) -> None:
        with engine.begin() as conn:
            service.reserve(
                conn,
                sku="TS-BLK-M",
                channel="web",
                quantity=2,
                idempotency_key=key,
                now=now,
                mode=Mode.shared,
                ttl_seconds=60,
            )

    hold("before")  # the rules are read (and kept) by this reservation
    with engine.begin() as conn:
        service.replace_rules(
            conn, [service.ChannelRule(channel="web", locations=frozenset({"wh1"}), cap=1)]
        )
    with pytest.raises(service.SokoError) as refused:
        hold("after")
    assert refused.value.code == service.ErrorCode.insufficient_stock
