"""The shell in a real browser: sign-in, every page in both languages, roles, CSRF, layout."""

from __future__ import annotations

import re

import pytest

from soko.web.pages import COMING_PAGES
from tests.browser.conftest import Browsing

pytestmark = pytest.mark.xdist_group("browser")

NAV = {
    "overview": "/",
    "stock": "/stock",
    "orders": "/orders",
    "scenarios": "/scenarios",
    "health": "/inventory-health",
    "customers": "/customers",
    "campaigns": "/campaigns",
    "channels": "/channels",
    "stores": "/stores",
    "settings": "/settings",
}


def digits(text: str) -> int:
    """``￥1,234,567`` → ``1234567`` (JPY has no minor unit)."""
    return int(re.sub(r"[^0-9]", "", text))


def test_before_any_user_exists_the_demo_opens_straight_into_today(
    browsing: Browsing, demo_server: str
) -> None:
    browsing.goto(f"{demo_server}/?lang=ja")
    assert browsing.p.inner_text("main h1") == "今日"
    assert browsing.p.locator("#demo-mode").is_visible()
    assert browsing.p.locator("#logout-form").count() == 0
    browsing.goto(f"{demo_server}/settings")
    assert "/settings" in browsing.p.url
    assert browsing.p.locator("#users").is_visible()


def test_a_visitor_is_sent_to_sign_in_and_comes_back_to_the_page_they_asked_for(
    browsing: Browsing,
) -> None:
    browsing.goto("/stock")
    assert "/login?next=/stock" in browsing.p.url
    assert browsing.p.locator("nav.mainnav").count() == 0
    browsing.sign_in("planner")
    assert browsing.p.url.endswith("/stock")
    assert "ken" in browsing.p.inner_text("#signed-in-as")


def test_a_wrong_password_shows_the_form_again_with_a_translated_message(
    browsing: Browsing,
) -> None:
    browsing.goto("/login?lang=ja")
    browsing.p.fill("#name", "ken")
    browsing.p.fill("#password", "not the password")
    with browsing.p.expect_navigation():
        browsing.p.click("#login-form button[type=submit]")
    browsing.check()
    assert browsing.p.inner_text("#signin-failed") == "名前またはパスワードが正しくありません。"
    assert browsing.p.input_value("#name") == "ken"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_an_admin_walks_the_overview_and_every_page_of_the_shell(
    browsing: Browsing, lang: str
) -> None:
    browsing.sign_in("admin")
    browsing.goto(f"/?lang={lang}")
    for key, path in NAV.items():
        link = browsing.p.locator(f'header a[data-nav="{key}"]')
        assert link.get_attribute("href") == path
        with browsing.p.expect_navigation():
            link.click()
        browsing.check()
        assert browsing.p.evaluate("document.documentElement.lang") == lang
        assert browsing.p.get_attribute(f'a[data-nav="{key}"]', "aria-current") == "page"
        assert browsing.p.locator("main h1").inner_text().strip() != ""
        # A page another area has not built yet says so (its own router replaces it).
        if browsing.p.locator("#coming-soon").count():
            assert key in COMING_PAGES
            coming = browsing.p.inner_text("#coming-soon")
            assert ("このページは準備中です" if lang == "ja" else "This page is coming") in coming


def test_the_overview_figures_equal_the_kpis_api(browsing: Browsing) -> None:
    kpis = browsing.server.api("/kpis").json()
    assert kpis["sku_count"] > 0
    assert kpis["order_count"] > 0
    browsing.sign_in("viewer")
    browsing.goto("/?lang=en")
    shown = {
        "sku_count": "#kpi-skus",
        "product_count": "#kpi-products",
        "stock_units": "#kpi-stock-units",
        "stock_value": "#kpi-stock-value",
    }
    for figure, selector in shown.items():
        assert digits(browsing.p.inner_text(selector)) == kpis[figure], figure
    totals = browsing.p.locator("#sales-by-channel tfoot td.num").all_inner_texts()
    assert [digits(t) for t in totals] == [kpis["order_count"], kpis["units"], kpis["revenue"]]
    assert digits(browsing.p.inner_text("#kpi-sales")) == kpis["sales"] == kpis["revenue"]
    assert kpis["turnover"] is not None
    assert browsing.p.inner_text("#kpi-turnover") == f"{kpis['turnover']:,.1f}×"
    assert digits(browsing.p.inner_text("#kpi-days-of-inventory")) == kpis["days_of_inventory"]
    assert browsing.p.inner_text("#kpi-fill-rate") == f"{kpis['fill_rate'] * 100:.1f}%"
    assert len(kpis["weekly"]) == 12
    assert kpis["weekly"][-1]["stock_value"] == kpis["stock_value"]
    browsing.p.wait_for_selector("#channel-chart .main-svg")
    for spark in ("sales", "stock-value", "turnover", "days-of-inventory", "fill-rate"):
        browsing.p.wait_for_selector(f"#spark-{spark} .main-svg")
    browsing.screenshot()


def test_the_overview_puts_alerts_first_and_each_figure_opens_its_page(
    browsing: Browsing,
) -> None:
    browsing.sign_in("planner")
    browsing.goto("/?lang=ja")
    sections = browsing.p.locator("main > section").evaluate_all("s => s.map(e => e.id)")
    assert sections[:2] == ["alerts", "kpis"]
    assert "チャネル連携はまだ接続されていない" in browsing.p.inner_text("#sync-empty")
    run_outs = browsing.p.locator("#alert-run-outs tbody tr")
    if run_outs.count():
        sku = run_outs.first.get_attribute("data-sku")
        with browsing.p.expect_navigation():
            run_outs.first.locator("a").click()
        browsing.check()
        assert browsing.p.url.endswith(f"/stock/{sku}")
        browsing.goto("/")
    with browsing.p.expect_navigation():
        browsing.p.click("#alert-excess-link")
    browsing.check()
    assert "flag=excess" in browsing.p.url
    assert browsing.p.input_value("#health-table-flag") == "excess"
    browsing.goto("/")
    with browsing.p.expect_navigation():
        browsing.p.click("#kpi-card-stock-value")
    browsing.check()
    assert browsing.p.get_attribute('a[data-nav="stock"]', "aria-current") == "page"


def test_a_viewer_sees_no_settings_link_and_cannot_open_settings(browsing: Browsing) -> None:
    browsing.sign_in("viewer")
    assert browsing.p.locator('a[data-nav="settings"]').count() == 0
    browsing.expect_error("status of 403")
    status = browsing.goto("/settings?lang=ja")
    assert status == 403
    assert "このページを開く権限がありません。" in browsing.p.inner_text("main")


def test_a_form_posted_without_its_csrf_token_is_refused(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/?lang=en")
    browsing.p.evaluate("document.querySelector('#logout-form input[name=csrf_token]').remove()")
    browsing.expect_error("status of 403")
    with browsing.p.expect_navigation() as navigation:
        browsing.p.click("#logout-form button[type=submit]")
    browsing.check()
    response = navigation.value
    assert response is not None
    assert response.status == 403
    assert "The form was refused." in browsing.p.inner_text("main")
    # Its language switch opens a page (it does not send the refused form's URL again).
    with browsing.p.expect_navigation() as switched:
        browsing.p.click('nav.langswitch a[hreflang="ja"]')
    browsing.check()
    assert switched.value is not None
    assert switched.value.status == 200
    assert browsing.p.evaluate("document.documentElement.lang") == "ja"
    # The refused sign-out did not happen: the planner is still signed in.
    browsing.goto("/")
    assert "ken" in browsing.p.inner_text("#signed-in-as")


def test_signing_out_ends_the_session(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    with browsing.p.expect_navigation():
        browsing.p.click("#logout-form button[type=submit]")
    browsing.check()
    assert browsing.p.url.endswith("/login")
    browsing.goto("/")
    assert "/login" in browsing.p.url


def test_the_chosen_language_is_remembered_from_page_to_page(browsing: Browsing) -> None:
    browsing.sign_in("planner")
    browsing.goto("/?lang=en")
    browsing.goto("/stock")
    assert browsing.p.evaluate("document.documentElement.lang") == "en"
    with browsing.p.expect_navigation():
        browsing.p.click('nav.langswitch a[hreflang="ja"]')
    browsing.check()
    browsing.goto("/orders")
    assert browsing.p.evaluate("document.documentElement.lang") == "ja"
    assert browsing.p.inner_text("main h1") == "発注リスト"


def assert_no_sideways_scroll(browsing: Browsing) -> None:
    scroll, inner = browsing.p.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{browsing.p.url} is {scroll}px wide for {inner}px"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_no_page_scrolls_sideways_at_1024_by_768(browsing: Browsing, lang: str) -> None:
    browsing.goto(f"/login?lang={lang}")
    assert_no_sideways_scroll(browsing)
    browsing.sign_in("admin")
    for path in NAV.values():
        browsing.goto(path)
        assert_no_sideways_scroll(browsing)
