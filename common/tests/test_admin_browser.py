"""The admin as a person sees it: a real headless Chromium logs in and looks at agents, keys, wallets, ledger."""

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.models import Account

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else None  # to look at
# Playwright's sync API runs an event loop in this thread; our ORM calls happen between its steps, never inside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def admin_page(browser, live_server):
    Account.objects.create_superuser(email="admin@example.com", password="admin-pass-123", display_name="Admin")
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin@example.com")
    page.fill("#id_password", "admin-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def test_admin_shows_agents_keys_and_wallet_with_a_read_only_ledger(admin_page, live_server, agent_factory):
    agent, key = agent_factory(name="Browser Bot", starting_balance=Decimal("1234.50"))
    page = admin_page

    page.goto(f"{live_server.url}/admin/agents/agent/")
    assert "Browser Bot" in page.inner_text("#result_list")

    page.goto(f"{live_server.url}/admin/agents/agentkey/")
    listing = page.inner_text("#result_list")
    assert key[:16] in listing  # the key's clear prefix is shown...
    assert key not in page.content()  # ...never the key itself

    page.goto(f"{live_server.url}/admin/trading/wallet/")
    page.click("#result_list tbody a >> nth=0")
    page.wait_for_selector(".inline-group")
    assert "1234.50000000" in page.inner_text(".inline-group")  # the funded balance, inline and read-only
    assert page.locator(".inline-group input:not([type=hidden])").count() == 0
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "wallet.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/trading/ledgerentry/")
    assert "funding" in page.inner_text("#result_list")
    # No "Add" on an append-only ledger (the sidebar still has Add links for other models).
    assert page.locator('a.addlink[href$="/trading/ledgerentry/add/"]').count() == 0
    page.click("#result_list tbody a >> nth=0")
    page.wait_for_selector("#content-main")
    assert "/change/" in page.url
    assert page.locator("input[name=_save]").count() == 0  # and no "Save" on an entry
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "ledger-entry.png"), full_page=True)


def test_admin_refuses_an_anonymous_visitor(browser, live_server):
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/trading/ledgerentry/")
    assert "/admin/login/" in page.url
