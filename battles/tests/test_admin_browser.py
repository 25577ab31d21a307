"""The battles admin as a person uses it, in a real headless Chromium: log in, create a battle from a preset, add
two agents by search, start it, see an order placed with one agent's key move the standings and the chart, stop
it, see the frozen results. Orders are filled by a real Celery worker; a thread runs the standings tick as beat
would."""

import os
import shutil
import threading

import pytest
from django.db import connection

from accounts.models import Account
from battles.models import Battle
from battles.services import battles_tick
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls happen between browser steps

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs a Chromium binary")]


@pytest.fixture
def beat():
    """``battles.tick`` every second, in a thread (what Celery beat does every BATTLE_SNAPSHOT_SECONDS)."""
    stop = threading.Event()

    def run():
        try:
            while not stop.wait(1.0):
                battles_tick()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    Account.objects.create_superuser(email="ops@example.com", password="ops-password-123", display_name="Ops")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-background-networking"])
        page = browser.new_page()
        page.set_default_timeout(20000)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "ops@example.com")
        page.fill("#id_password", "ops-password-123")
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        yield page
        browser.close()


def test_create_start_trade_watch_and_stop_a_battle_in_the_browser(
        celery_worker, trader, account_factory, page, live_server, beat):
    set_market("BTCUSDT", "60000", bids=[("59990", "10")], asks=[("60010", "10")])
    owner = account_factory(email="owner@example.com").account
    (alpha, alpha_client, _), (beta, _, _) = trader(account=owner, name="alpha"), trader(account=owner, name="beta")

    page.goto(f"{live_server.url}/admin/battles/battle/add/")
    page.fill("#id_name", "Browser duel")
    page.select_option("#id_preset", "quick_1h")
    page.click("#battle-create input[type=submit]")
    page.wait_for_selector("#participants")
    battle = Battle.objects.get(name="Browser duel")
    assert battle.status == "draft" and battle.duration_seconds == 3600

    for name in ("alpha", "owner@example"):  # by name, then by owner (finds beta, alpha is in already)
        page.fill("#agent-q", name)
        page.click("#agent-search input[type=submit]")
        page.click("#agent-results button[value=add] >> nth=0")
        page.wait_for_selector(".messagelist")
    assert sorted(battle.participants.values_list("agent__name", flat=True)) == ["alpha", "beta"]

    page.click("#op-start")
    page.wait_for_function("document.getElementById('battle-status').textContent === 'active'")
    page.wait_for_function("window.battleLive && window.battleLive.standings.length === 2 && "
                           "window.battleLive.standings[0].rank !== null")
    assert page.locator("#standings tbody tr").count() == 2
    assert "10000.00000000" in page.inner_text("#standings")

    r = alpha_client.post("/api/v1/trade/order?wait_ms=5000", {"symbol": "BTCUSDT", "side": "buy",
                                                                "type": "market", "quantity": "0.02"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
    # the next rounds show alpha below 10000 (fees and the spread), in the table and in the chart's data
    page.wait_for_function(f"""() => {{
        const row = document.querySelector('#standings tbody tr[data-agent="{alpha.pk}"]');
        return row && row.children[2].textContent !== '10000.00000000'; }}""")
    page.wait_for_function(f"""() => {{
        const ds = window.battleChart && window.battleChart.data.datasets.find(d => d.label === 'alpha');
        return ds && ds.data.length >= 2 && ds.data[ds.data.length - 1].y < 10000; }}""")
    assert page.evaluate("window.battleChart.data.datasets.length") == 2
    page.wait_for_function(f"""() => {{
        const t = document.querySelector('table.participant-trades[data-agent="{alpha.pk}"]');
        return t && t.rows.length === 1; }}""")
    assert "buy" in page.inner_text(f'table.participant-trades[data-agent="{alpha.pk}"]')
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "battle-live.png"), full_page=True)

    page.click("#op-stop")
    page.wait_for_function("document.getElementById('battle-status').textContent === 'completed'")
    page.click("#results-link")
    page.wait_for_selector("#frozen")
    rows = page.locator("#final-standings tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[1] == "beta"  # alpha paid fees and spread: beta leads on ROI
    assert Battle.objects.get(pk=battle.pk).status == "completed"
    page.wait_for_function("window.battleChart && window.battleChart.data.datasets.length === 2")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "battle-results.png"), full_page=True)
