"""Browser tests: Playwright for Python driving Debian's chromium (never a downloaded browser).

They run against a live server on PostgreSQL with a real Celery worker on Redis. Where no
browser can be had they skip and say why; with ``FANBASE_REQUIRE_BROWSER=1`` (CI's PostgreSQL
step, on a machine where apt can install chromium) a missing browser fails instead.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("FANBASE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _no_browser_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"needs chromium at {CHROMIUM} (apt-get install chromium, or set FANBASE_CHROMIUM)"
    return None


@pytest.fixture
def browser_page(request, monkeypatch):
    """A headless chromium page; ``shot(name)`` saves a screenshot under test-artifacts/browser/."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip(
            "needs PostgreSQL and Redis (set DATABASE_URL and CELERY_BROKER_URL): a live server and a worker"
        )
    reason = _no_browser_reason()
    if reason is not None:
        if os.environ.get("FANBASE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FANBASE_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(f"no browser: {reason}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(15_000)
        page = context.new_page()
        steps = []

        def shot(name: str) -> None:
            steps.append(name)
            page.screenshot(path=str(folder / f"{len(steps):02d}-{name}.png"), full_page=True)

        page.shot = shot
        try:
            yield page
        finally:
            context.close()
            browser.close()
