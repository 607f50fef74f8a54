"""Sign-in, roles, sessions and CSRF on the web app, through the ASGI app (no browser)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from typer.testing import CliRunner

from soko.api.auth import Scope
from soko.settings import Settings
from soko.web.app import create_app
from soko.web.auth import SESSION_COOKIE, SESSION_IDLE_SECONDS
from soko.web.users import SCOPES_OF_ROLE, Role, create_user, secret_key
from soko.web.users_cli import users_app
from tests.integration.conftest import client_for, migrated_settings

PASSWORD = "s3cret-enough"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings, engine = migrated_settings(tmp_path)
    engine.dispose()
    return settings


@pytest.fixture
def with_users(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with app.state.store.engine.begin() as conn:
        for role in Role:
            create_user(conn, f"{role.value}-user", role, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, role: Role, next_path: str = "/") -> Any:
    form = client.get("/login", params={"next": next_path})
    return client.post(
        "/login",
        data={
            "name": f"{role.value}-user",
            "password": PASSWORD,
            "next": next_path,
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )


def test_without_users_the_demo_admin_is_signed_in_and_may_open_settings(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as client:
        overview = client.get("/")
        assert overview.status_code == 200
        assert 'id="demo-mode"' in overview.text
        assert client.get("/settings").status_code == 200
        assert client.get("/login", follow_redirects=False).headers["location"] == "/"


def test_once_a_user_exists_pages_redirect_to_sign_in_and_back(
    with_users: TestClient,
) -> None:
    asked = with_users.get("/stock?lang=en", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=/stock%3Flang%3Den"
    signed = sign_in(with_users, Role.planner, "/stock?lang=en")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/stock?lang=en"
    assert "planner-user" in with_users.get("/stock").text


def test_sign_in_never_redirects_off_the_site(with_users: TestClient) -> None:
    signed = sign_in(with_users, Role.viewer, "//evil.example/")
    assert signed.headers["location"] == "/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    with_users: TestClient,
) -> None:
    form = with_users.get("/login?lang=en")
    refused = with_users.post(
        "/login",
        data={"name": "viewer-user", "password": "nope", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 200
    assert "The name or the password is wrong." in refused.text
    assert with_users.get("/", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_a_403(with_users: TestClient) -> None:
    with_users.get("/login")
    refused = with_users.post(
        "/login",
        data={"name": "admin-user", "password": PASSWORD},
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 403
    assert "csrf_token_invalid" in refused.text
    forged = with_users.post(
        "/login",
        data={"name": "admin-user", "password": PASSWORD, "csrf_token": "forged"},
        headers={"accept": "application/json"},
    )
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_token_invalid"


def test_the_refusal_page_switches_language_without_resending_the_form(
    with_users: TestClient,
) -> None:
    with_users.get("/login")
    refused = with_users.post(
        "/login?lang=en", data={"name": "admin-user"}, headers={"accept": "text/html"}
    )
    assert refused.status_code == 403
    links = re.findall(r'<a href="([^"]+)" hreflang="(ja|en)"', refused.text)
    assert {lang for _, lang in links} == {"ja", "en"}
    for href, lang in links:
        switched = with_users.get(href if href.startswith("/") else f"/login{href}")
        assert switched.status_code == 200, href
        assert f'<html lang="{lang}">' in switched.text


def test_the_session_cookie_is_secure_over_https_and_not_over_plain_http(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings), base_url="https://soko.example") as over_tls:
        cookie = over_tls.get("/login").headers["set-cookie"]
        assert "secure" in cookie.lower()
        assert "httponly" in cookie.lower()
    with TestClient(create_app(settings)) as plain:
        assert "secure" not in plain.get("/login").headers["set-cookie"].lower()


def test_only_an_admin_opens_settings(with_users: TestClient) -> None:
    for role in Role:
        with_users.cookies.clear()
        sign_in(with_users, role)
        status = with_users.get("/settings", headers={"accept": "text/html"}).status_code
        assert status == (200 if role is Role.admin else 403), role


def test_roles_map_to_the_api_scopes() -> None:
    assert SCOPES_OF_ROLE[Role.viewer] == {Scope.read}
    assert SCOPES_OF_ROLE[Role.planner] == {Scope.read, Scope.adjust}
    assert SCOPES_OF_ROLE[Role.store_staff] == {Scope.read, Scope.reserve, Scope.adjust}
    assert SCOPES_OF_ROLE[Role.admin] == set(Scope)


def test_signing_out_needs_the_token_and_ends_the_session(with_users: TestClient) -> None:
    sign_in(with_users, Role.planner)
    page = with_users.get("/")
    out = with_users.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.headers["location"] == "/login"
    assert with_users.get("/", follow_redirects=False).status_code == 303


class SignerInThePast(TimestampSigner):
    """Signs as the server did ``SESSION_IDLE_SECONDS`` plus a minute ago."""

    def get_timestamp(self) -> int:
        return int(time.time()) - SESSION_IDLE_SECONDS - 60


def test_a_session_idle_for_longer_than_its_lifetime_is_over(with_users: TestClient) -> None:
    sign_in(with_users, Role.viewer)
    assert with_users.get("/", follow_redirects=False).status_code == 200
    key = secret_key(with_users.app.state.store.settings)  # type: ignore[attr-defined]
    payload = TimestampSigner(key).unsign(with_users.cookies[SESSION_COOKIE])
    with_users.cookies.set(SESSION_COOKIE, SignerInThePast(key).sign(payload).decode())
    assert with_users.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_stored_as_argon2_hashes(settings: Settings) -> None:
    from sqlalchemy import select

    from soko.store.tables import User

    app = create_app(settings)
    with app.state.store.engine.begin() as conn:
        create_user(conn, "hana", Role.viewer, PASSWORD)
        stored = conn.execute(select(User.password_hash)).scalar_one()
    assert stored.startswith("$argon2")
    assert PASSWORD not in stored


def test_user_create_makes_a_user_and_refuses_a_duplicate_or_short_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOKO_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("SOKO_DATABASE_URL", raising=False)
    runner = CliRunner()
    args = ["create", "--name", "mei", "--role", "store_staff"]
    made = runner.invoke(users_app, [*args, "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    assert "store_staff" in made.output
    again = runner.invoke(users_app, [*args, "--password", PASSWORD])
    assert again.exit_code == 1
    short = runner.invoke(
        users_app, ["create", "--name", "x", "--role", "viewer"], input="abc\nabc\n"
    )
    assert short.exit_code == 1


def test_kpis_equal_the_overview_figures(known_store: Any) -> None:
    with client_for(create_app(known_store.settings)) as client:
        kpis = client.get("/api/v1/kpis").json()
        overview = client.get("/api/v1/overview").json()
    assert {k: kpis[k] for k in ("sku_count", "product_count", "stock_units", "stock_value")} == {
        k: overview[k] for k in ("sku_count", "product_count", "stock_units", "stock_value")
    }
    by_channel = overview["sales"]["by_channel"]
    assert kpis["revenue"] == sum(c["revenue"] for c in by_channel)
    assert kpis["units"] == sum(c["units"] for c in by_channel)
    assert kpis["order_count"] == sum(c["order_count"] for c in by_channel)
    assert kpis["last_day"] == overview["sales"]["last_day"]


def test_kpis_need_a_token(known_store: Any) -> None:
    with TestClient(create_app(known_store.settings)) as anonymous:
        assert anonymous.get("/api/v1/kpis").status_code == 401
