"""The API called by a page's own scripts with the signed-in browser session (no token)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from soko.api.auth import Scope, create_token
from soko.settings import Settings
from soko.web.app import create_app
from soko.web.users import Role, create_user
from tests.integration.conftest import fill, migrated_settings

PASSWORD = "s3cret-enough"
SKU, LOCATION, ON_HAND = "COAT-BLK-M", "WH-TOKYO", 100  # a balance of the known store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings, engine = migrated_settings(tmp_path / "data")
    fill(engine)
    with engine.begin() as conn:
        for role in Role:
            create_user(conn, role.value, role, PASSWORD)
    engine.dispose()
    return settings


def signed_in(settings: Settings, role: Role) -> tuple[TestClient, str]:
    """A browser-like client signed in as ``role`` and the CSRF token its pages carry."""
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    answer = client.post(
        "/login",
        data={"name": role.value, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get("/").text
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert fresh
    return client, fresh.group(1)


def count(kind: str = "adjustment", quantity: int = 3, key: str = "k1") -> dict[str, object]:
    return {
        "kind": kind,
        "sku": SKU,
        "location": LOCATION,
        "quantity": quantity,
        "idempotency_key": key,
    }


def on_hand(client: TestClient) -> int:
    body = client.get(f"/api/v1/balances/{SKU}").json()
    return int(next(b["on_hand"] for b in body["locations"] if b["location"] == LOCATION))


def test_a_signed_in_viewer_reads_the_api_but_may_not_change_stock(settings: Settings) -> None:
    client, csrf = signed_in(settings, Role.viewer)
    with client:
        assert client.get("/api/v1/kpis").status_code == 200
        refused = client.post("/api/v1/movements", json=count(), headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        assert on_hand(client) == ON_HAND


def test_a_change_from_the_session_needs_the_csrf_token_in_a_header(settings: Settings) -> None:
    client, csrf = signed_in(settings, Role.planner)
    with client:
        bare = client.post("/api/v1/movements", json=count())
        assert bare.status_code == 403
        assert bare.json()["code"] == "csrf_token_invalid"
        wrong = client.post(
            "/api/v1/movements", json=count(), headers={"X-CSRF-Token": "not-the-token"}
        )
        assert wrong.json()["code"] == "csrf_token_invalid"
        assert on_hand(client) == ON_HAND
        made = client.post("/api/v1/movements", json=count(), headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201
        assert on_hand(client) == ON_HAND + 3


def test_after_signing_out_the_session_opens_nothing(settings: Settings) -> None:
    client, csrf = signed_in(settings, Role.admin)
    with client:
        assert client.get("/api/v1/kpis").status_code == 200
        client.post("/logout", data={"csrf_token": csrf})
        assert client.get("/api/v1/kpis").status_code == 401


def test_a_bearer_token_works_as_before_and_wins_over_the_session(settings: Settings) -> None:
    app = create_app(settings)
    with app.state.store.engine.begin() as conn:
        read_only = create_token(conn, [Scope.read])
        adjust = create_token(conn, [Scope.adjust])
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        assert anonymous.get("/api/v1/kpis").status_code == 401
        made = anonymous.post(
            "/api/v1/movements",
            json=count(key="tok"),
            headers={"Authorization": f"Bearer {adjust}"},  # no CSRF needed with a token
        )
        assert made.status_code == 201
    client, csrf = signed_in(settings, Role.admin)
    with client:
        # The admin's session would allow it, but the request's own token decides.
        refused = client.post(
            "/api/v1/movements",
            json=count(key="tok2"),
            headers={"Authorization": f"Bearer {read_only}", "X-CSRF-Token": csrf},
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
