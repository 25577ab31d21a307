"""The backtests admin as staff sees it, in a real headless browser: each session with its progress bar."""

import os
import shutil

import pytest
from django.urls import reverse

from backtests.tests.conftest import create

pytestmark = pytest.mark.django_db
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread; ORM calls are between its steps


@pytest.fixture
def admin_client(client):
    from accounts.models import Account

    admin = Account.objects.create_superuser(email="admin-bt@example.com", password="admin-password-123",
                                             display_name="Admin")
    client.force_login(admin)
    return client


def test_list_and_detail_show_progress(btc, bt_agent, admin_client):
    _, c = bt_agent()
    sid = create(c).json()["session_id"]
    c.post(f"/api/v1/backtest/{sid}/step/batch", {"steps": 90, "snapshots": False}, format="json")
    html = admin_client.get(reverse("admin:backtests_backtestsession_changelist")).content.decode()
    assert "backtest-progress" in html and "width:25.00%" in html and "25.00%" in html
    r = admin_client.get(reverse("admin:backtests_backtestsession_change", args=[sid]))
    assert r.status_code == 200 and "backtest-progress" in r.content.decode()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs a Chromium binary")
@pytest.mark.django_db(transaction=True)
def test_progress_bar_in_a_browser(live_server, transactional_db, bt_agent):
    from playwright.sync_api import sync_playwright

    from accounts.models import Account
    from backtests.tests.conftest import import_real
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()
    import_real("BTCUSDT", days=0.5)
    Account.objects.create_superuser(email="admin-bt2@example.com", password="admin-password-123",
                                     display_name="Admin")
    _, c = bt_agent()
    sid = create(c).json()["session_id"]
    c.post(f"/api/v1/backtest/{sid}/step/batch", {"steps": 180, "snapshots": False}, format="json")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live_server.url + "/admin/login/?next=/admin/backtests/backtestsession/")
        page.fill("input[name=username]", "admin-bt2@example.com")
        page.fill("input[name=password]", "admin-password-123")
        page.click("input[type=submit]")
        bar = page.locator(".backtest-progress").first
        bar.wait_for()
        assert bar.inner_text().strip() == "50.00%"
        outer = page.locator(".backtest-progress").first.evaluate(
            "e => [e.getBoundingClientRect().width, e.parentElement.getBoundingClientRect().width]")
        assert abs(outer[0] / outer[1] - 0.5) < 0.05
        browser.close()
