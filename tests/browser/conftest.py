"""The browser test harness: the real ``soko serve`` over the small demo data set, and chromium.

Every test gets a ``browsing`` helper around a Playwright page that

- fails the test on any console error or uncaught page error (a test that
  expects one, such as a 403, says so with ``browsing.expect_error``);
- saves a full-page screenshot of every page it opens (``goto``, sign-in, and
  any navigation a test follows with ``check``), under
  ``test-output/screenshots/``, named after the test and the page;
- on a Japanese page, fails when the visible text still holds an English
  message that the Japanese catalogue translates (an untranslated string).

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make test``);
Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from soko.web.i18n import read_catalog
from tests import servers

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
USERS = {"admin": "aiko", "planner": "ken", "viewer": "yui"}


@dataclass(frozen=True)
class Server:
    """A running ``soko serve`` and what the tests need to talk to it."""

    base_url: str
    api_token: str
    users: dict[str, str]  # role → name; every password is PASSWORD

    def api(self, path: str) -> httpx.Response:
        return httpx.get(
            f"{self.base_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.api_token}"},
            timeout=10,
        )


def run_cli(env: dict[str, str], *args: str) -> str:
    """A CLI command in the server's environment; its stdout, or the test fails with stderr."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def server_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SOKO_DATA_DIR": str(data_dir), "SOKO_DEFAULT_LOCALE": "ja"}
    env.pop("SOKO_DATABASE_URL", None)
    return env


@contextmanager
def serving(data_dir: Path) -> Iterator[str]:
    """``soko serve`` over ``data_dir`` on a free port; its base URL once it answers."""
    with servers.serving(server_env(data_dir)) as (base, _):
        yield base


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh SQLite store with the small demo preset and no users (loaded once)."""
    from soko.data.demo import generate_into_store
    from soko.settings import Settings
    from soko.store.db import make_engine, migrate

    data_dir = tmp_path_factory.mktemp("demo") / "data"
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings)
    migrate(engine)
    engine.dispose()
    generate_into_store(settings, "small", 1)
    run_cli(server_env(data_dir), str(Path(sys.executable).parent / "soko"), "plan")
    return data_dir


@pytest.fixture(scope="session")
def demo_server(demo_data: Path) -> Iterator[str]:
    """The server as ``make demo`` starts it: demo data, no users yet."""
    with serving(demo_data) as base:
        yield base


@pytest.fixture(scope="session")
def server(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``soko serve`` over a copy of the demo store with one user per role (so everyone
    signs in) and a read token for the API."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(demo_data, data_dir)
    env = server_env(data_dir)
    for role, name in USERS.items():
        # ``soko user create`` once registered in the CLI; the module runs the same command.
        args = ["create", "--name", name, "--role", role, "--password", PASSWORD]
        run_cli(env, sys.executable, "-m", "soko.web.users_cli", *args)
    soko = str(Path(sys.executable).parent / "soko")
    token = run_cli(env, soko, "token", "create", "--scope", "read").strip().splitlines()[-1]
    with serving(data_dir) as base:
        yield Server(base_url=base, api_token=token, users=dict(USERS))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium through Playwright (sync API); never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session", autouse=True)
def screenshot_folder() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@cache
def translated_messages() -> tuple[re.Pattern[str], ...]:
    """A pattern per English message the Japanese catalogue translates; ``%(x)s`` matches any
    text. Finding one on a Japanese page means a string was left untranslated."""
    catalog = read_catalog("ja")
    patterns = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        if not message.string or message.string == message.id:
            continue
        parts = re.split(r"%\([a-z_]+\)s", message.id)
        body = ".+?".join(re.escape(part) for part in parts)
        patterns.append(re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])"))
    return tuple(patterns)


def untranslated_in(text: str) -> list[str]:
    return [p.pattern for p in translated_messages() if p.search(text)]


def slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit] or "root"


@dataclass
class Browsing:
    """A page in a signed-out browser context, with the checks every visit gets."""

    p: Page
    server: Server
    name: str
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    shots: int = 0

    def url(self, path: str) -> str:
        """``path`` on the signed-in server; a full URL (another server) as it is."""
        return path if path.startswith("http") else f"{self.server.base_url}{path}"

    def expect_error(self, text: str) -> None:
        """A console error containing ``text`` is expected (e.g. ``status of 403``)."""
        self.expected.append(text)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]

    def check(self) -> None:
        """After each page loads: its screenshot; no console error so far; no untranslated
        message on a Japanese page."""
        self.screenshot()
        unexpected = self.unexpected_errors()
        assert unexpected == [], f"browser console errors: {unexpected}"
        if self.p.evaluate("document.documentElement.lang") == "ja":
            text = self.p.inner_text("body")
            assert untranslated_in(text) == [], f"untranslated on {self.p.url}"

    def screenshot(self) -> None:
        self.shots += 1
        path = (
            SCREENSHOTS / f"{self.name}-{self.shots:02d}-{slug(self.p.url.split('/', 3)[-1])}.png"
        )
        self.p.screenshot(path=str(path), full_page=True)

    def goto(self, path: str) -> int:
        """Open ``path``; the status of the page's own response."""
        response = self.p.goto(self.url(path), wait_until="load")
        self.check()
        return int(response.status) if response is not None else 0

    def sign_in(self, role: str) -> None:
        """Sign in as the user of ``role``, from the sign-in page if already on it."""
        if "/login" not in self.p.url:
            self.goto("/login")
        self.p.fill("#name", self.server.users[role])
        self.p.fill("#password", PASSWORD)
        with self.p.expect_navigation(wait_until="load"):
            self.p.click("#login-form button[type=submit]")
        self.check()


@pytest.fixture
def browsing(
    browser: Browser, server: Server, request: pytest.FixtureRequest
) -> Iterator[Browsing]:
    """A fresh, signed-out context at 1024×768; fails on console errors; screenshots every
    page it loads."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    helper = Browsing(p=page, server=server, name=slug(request.node.name, 120))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            helper.errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: helper.errors.append(f"page error: {exc}"))
    yield helper
    context.close()
    unexpected = helper.unexpected_errors()
    if unexpected:
        pytest.fail(f"browser console errors: {unexpected}")
