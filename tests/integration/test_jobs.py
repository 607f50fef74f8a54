"""Long jobs: their life cycle in the store, ``/api/v1/jobs``, and the live status in a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import Engine

from soko.errors import SokoError
from soko.jobs import JobStatus, fail_job, finish_job, get_job, report_progress, start_job
from soko.settings import Settings
from soko.web.app import create_app
from soko.web.users import Role, create_user
from tests.integration.conftest import client_for, migrated_settings
from tests.servers import serving

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A store on SQLite, for the test that runs the real server over its file."""
    settings, engine = migrated_settings(tmp_path / "data")
    yield settings, engine
    engine.dispose()


def test_a_job_runs_reports_progress_and_keeps_its_result(engine: Engine) -> None:
    job_id = start_job(engine, "plan", total=40, message="Loading sales")
    report_progress(engine, job_id, done=10, total=40, message="Forecasting")
    running = get_job(engine, job_id)
    assert running is not None
    assert (running.status, running.done, running.total) == (JobStatus.running, 10, 40)
    assert running.message == "Forecasting"
    assert running.fraction == 0.25
    assert running.finished_at is None

    finish_job(engine, job_id, result={"plan_id": 7, "url": "/orders?plan=7"})
    done = get_job(engine, job_id)
    assert done is not None
    assert done.status == JobStatus.done
    assert done.done == done.total == 40
    assert done.result == {"plan_id": 7, "url": "/orders?plan=7"}
    assert done.finished_at is not None
    assert done.finished_at >= done.started_at


def test_an_ended_job_cannot_change_and_an_unknown_one_is_named(engine: Engine) -> None:
    job_id = start_job(engine, "plan")
    fail_job(engine, job_id, error="No sales in the store yet.")
    with pytest.raises(SokoError, match="already ended"):
        report_progress(engine, job_id, done=1, total=2)
    with pytest.raises(SokoError, match="already ended"):
        finish_job(engine, job_id)
    failed = get_job(engine, job_id)
    assert failed is not None
    assert (failed.status, failed.error) == (JobStatus.failed, "No sales in the store yet.")
    with pytest.raises(SokoError, match="no job 999"):
        report_progress(engine, 999, done=1, total=2)
    with pytest.raises(SokoError, match="negative"):
        report_progress(engine, job_id, done=-1, total=2)
    assert get_job(engine, 999) is None


def test_the_api_serves_a_job_and_lists_them_by_kind_and_status(
    store: Settings, engine: Engine
) -> None:
    settings = store
    plan = start_job(engine, "plan", total=3)
    report_progress(engine, plan, done=2, total=3, message="Ordering")
    other = start_job(engine, "import")
    finish_job(engine, other)
    with client_for(create_app(settings)) as client:
        body = client.get(f"/api/v1/jobs/{plan}").json()
        assert body["id"] == plan
        assert body["kind"] == "plan"
        assert body["status"] == "running"
        assert (body["done"], body["total"], body["message"]) == (2, 3, "Ordering")
        assert body["finished_at"] is None
        assert body["result"] is None
        assert body["started_at"].endswith("+09:00")  # the shop's zone, Asia/Tokyo by default
        assert [j["id"] for j in client.get("/api/v1/jobs").json()["items"]] == [other, plan]
        plans = client.get("/api/v1/jobs", params={"kind": "plan"}).json()["items"]
        assert [j["id"] for j in plans] == [plan]
        finished = client.get("/api/v1/jobs", params={"status": "done"}).json()["items"]
        assert [j["id"] for j in finished] == [other]
        missing = client.get("/api/v1/jobs/999")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")


def test_a_signed_in_browser_session_reads_jobs_without_a_token(
    sqlite_store: tuple[Settings, Engine],
) -> None:
    settings, engine = sqlite_store
    with engine.begin() as conn:
        create_user(conn, "yui", Role.viewer, "a long password")
    job_id = start_job(engine, "plan")
    with TestClient(create_app(settings)) as browser:
        assert browser.get(f"/api/v1/jobs/{job_id}").status_code == 401
        form = browser.get("/login").text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        browser.post(
            "/login", data={"name": "yui", "password": "a long password", "csrf_token": token}
        )
        assert browser.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"


def test_the_status_box_follows_a_job_without_reloading_the_page(
    sqlite_store: tuple[Settings, Engine],
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    settings, engine = sqlite_store
    job_id = start_job(engine, "plan", total=10, message="Reading sales")
    env = {**os.environ, "SOKO_DATA_DIR": str(settings.data_dir)}
    env.pop("SOKO_DATABASE_URL", None)
    errors: list[str] = []

    def walk() -> None:
        # In a thread of its own: Playwright's sync API refuses to run where an earlier
        # test in the same worker left an asyncio loop running.
        with serving(env) as (base, _), sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = chromium.new_page(viewport={"width": 1024, "height": 768})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/jobs/{job_id}?lang=en")
            box = page.locator(f"#job-{job_id}")
            expect(box.locator(".jobstatus-state")).to_have_text("Running")
            expect(box.locator(".jobstatus-count")).to_have_text("0 of 10 steps")
            expect(box.locator(".jobstatus-message")).to_have_text("Reading sales")
            page.evaluate("window.notReloaded = true")

            report_progress(engine, job_id, done=4, total=10, message="Forecasting SKU 4 of 10")
            expect(box.locator(".jobstatus-count")).to_have_text("4 of 10 steps")
            expect(box.locator(".jobstatus-message")).to_have_text("Forecasting SKU 4 of 10")
            assert box.locator("progress").evaluate("bar => bar.value") == 4

            finish_job(engine, job_id, result={"url": "/stock"})
            expect(box.locator(".jobstatus-state")).to_have_text("Finished")
            expect(box.locator(".jobstatus-result a")).to_have_attribute("href", "/stock")
            assert page.evaluate("window.notReloaded") is True

            page.goto(f"{base}/jobs/{job_id}?lang=ja")
            expect(box.locator(".jobstatus-state")).to_have_text("完了")
            expect(box.locator(".jobstatus-count")).to_have_text("10 件中 10 件")

            planning = start_job(engine, "plan", total=4, message="customer value")  # a plan stage
            page.goto(f"{base}/jobs/{planning}?lang=ja")
            expect(page.locator(f"#job-{planning} .jobstatus-message")).to_have_text("顧客価値")
            chromium.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(walk).result()
    assert errors == []
