"""The overview page in Japanese and English, its assets, and the real server."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient

from soko.web.app import create_app
from soko.web.i18n import LOCALES, read_catalog
from tests.servers import serving

if TYPE_CHECKING:
    from tests.integration.conftest import KnownStore

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "src" / "soko" / "web"


def page(client: TestClient, lang: str) -> str:
    response = client.get("/", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html: str = response.text
    return html


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


def row_cells(html: str, channel: str) -> list[str]:
    row = re.search(rf'<tr data-channel="{channel}">(.*?)</tr>', html, re.S)
    assert row, channel
    return [c.strip() for c in re.findall(r'<td class="num">([^<]*)', row.group(1))]


def test_the_page_is_japanese_by_default_with_yen_figures(known_store: KnownStore) -> None:
    with TestClient(create_app(known_store.settings)) as first_visit:
        html = first_visit.get("/").text
    assert '<html lang="ja">' in html
    assert "在庫金額" in html
    assert "チャネル別売上（直近 4 週間）" in html
    assert text_of(html, "kpi-skus") == "3"
    assert text_of(html, "kpi-products") == "2"
    assert text_of(html, "kpi-stock-units") == "153"
    # CLDR's Japanese yen sign is the full-width ￥; no decimals for JPY.
    assert text_of(html, "kpi-stock-value") == "￥160,871"


def test_the_japanese_table_shows_net_revenue_orders_and_the_window(client: TestClient) -> None:
    html = page(client, "ja")
    assert row_cells(html, "web") == ["2", "3", "￥7,750"]
    assert row_cells(html, "rakuten") == ["1", "3", "￥5,697"]
    assert row_cells(html, "amazon") == ["0", "0", "￥0"]
    assert "返品 1 点を差引" in html
    assert "2024/06/03 ～ 2024/06/30" in html
    assert "2024/06/30 15:00" in html
    assert "原価が未登録の SKU の在庫 7 点は在庫金額に含まれていません。" in html


def test_the_english_page_shows_the_same_figures(client: TestClient) -> None:
    html = page(client, "en")
    assert '<html lang="en">' in html
    assert "Stock value" in html
    assert "Sales by channel, last 4 weeks" in html
    assert "在庫金額" not in html
    assert text_of(html, "kpi-stock-units") == "153"
    assert text_of(html, "kpi-stock-value") == "¥160,871"
    assert row_cells(html, "web") == ["2", "3", "¥7,750"]
    assert row_cells(html, "store") == ["1", "1", "¥3,000"]
    assert "Jun 3, 2024 – Jun 30, 2024" in html
    assert "Data up to the last order on Jun 30, 2024 3:00" in html
    assert "7 units on hand have no unit cost" in html


def test_the_chart_data_matches_the_table(client: TestClient) -> None:
    html = page(client, "en")
    raw = re.search(r'<script type="application/json" id="channel-chart-data">(.*?)</script>', html)
    assert raw
    chart = json.loads(raw.group(1))
    assert chart["labels"][0] == "Own web shop"
    assert chart["values"][0] == 7750.0
    assert chart["text"][0] == "¥7,750"
    assert chart["axis_title"] == "Revenue (JPY)"


def test_the_chosen_language_is_remembered_in_a_cookie(known_store: KnownStore) -> None:
    with TestClient(create_app(known_store.settings)) as browser:
        first = browser.get("/", params={"lang": "en"})
        assert first.cookies.get("soko_lang") == "en"
        assert '<html lang="en">' in browser.get("/").text
        assert '<html lang="ja">' in browser.get("/", params={"lang": "ja"}).text
        assert '<html lang="ja">' in browser.get("/").text
        assert '<html lang="ja">' in browser.get("/", params={"lang": "fr"}).text


def test_the_header_offers_both_languages(client: TestClient) -> None:
    html = page(client, "en")
    assert '<a href="?lang=ja" hreflang="ja" lang="ja">日本語</a>' in html
    assert 'href="?lang=en" hreflang="en" lang="en" aria-current="true">English</a>' in html


def test_an_empty_store_says_how_to_load_data(empty_client: TestClient) -> None:
    ja = page(empty_client, "ja")
    assert 'id="empty-state"' in ja
    assert "まだデータがありません" in ja
    assert "<code>soko generate</code>" in ja
    assert "soko import" in ja
    assert "kpi-stock-value" not in ja
    assert "plotly" not in ja
    en = page(empty_client, "en")
    assert "No data yet" in en
    assert "<code>soko generate</code>" in en


def test_plotly_is_served_from_the_installed_package(client: TestClient) -> None:
    html = page(client, "ja")
    src = re.search(r'<script src="(/static/vendor/plotly\.min\.js[^"]*)"', html)
    assert src
    response = client.get(src.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    shipped = (files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert response.content == shipped
    assert not re.search(r'<script[^>]+src="https?://', html)
    assert not list((REPO / "src").rglob("plotly.min.js"))


def test_own_assets_are_served(client: TestClient) -> None:
    assert client.get("/static/soko.css").status_code == 200
    assert "Plotly.newPlot" in client.get("/static/overview.js").text


def test_a_missing_page_in_a_browser_is_a_translated_html_404(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept": "text/html"}, params={"lang": "ja"})
    assert response.status_code == 404
    assert "このページは存在しません。" in response.text
    assert "not_found" in response.text
    api = client.get("/no-such-page")
    assert api.headers["content-type"] == "application/problem+json"


def test_every_message_in_the_templates_has_a_japanese_translation() -> None:
    """Every page's text, in every template of every area, has Japanese; the catalogue is all
    the ``.po`` files of a language merged, one file per area."""
    method_map = [("**.html", "jinja2")]
    options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
    messages = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(WEB / "templates"), method_map, options_map=options
        )
    }
    assert messages
    ja = read_catalog("ja")  # a word Japanese writes the same (SKU) is kept as translated
    untranslated = sorted(m for m in messages if m not in ja or not ja[m].string)
    assert untranslated == []
    for locale in LOCALES:
        assert (WEB / "locale" / locale / "LC_MESSAGES" / "messages.po").is_file()
        assert not list((WEB / "locale").rglob("*.mo"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``soko serve`` in a subprocess on a free port, against a fresh data folder."""
    env = {**os.environ, "SOKO_DATA_DIR": str(tmp_path / "data")}
    env.pop("SOKO_DATABASE_URL", None)
    with serving(env) as (base, _):
        yield base


def test_the_real_server_serves_the_page_and_the_health_check(served: str) -> None:
    health = httpx.get(f"{served}/api/v1/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "sqlite", "schema": "current"}
    overview = httpx.get(f"{served}/")
    assert overview.status_code == 200
    assert "まだデータがありません" in overview.text
    assert "<code>soko generate</code>" in overview.text
