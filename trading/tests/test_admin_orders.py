"""Orders, fills and positions in the admin (issue 8 item 19): staff find and read them (filters by agent,
symbol, status; search), amounts at their asset's precision, nothing editable; the index shows the platform's
status. In Django's test client for the permissions, and in a real browser the way a staff member sees it."""

import os
import shutil

import pytest
from django.urls import reverse

from accounts.models import Account
from trading.models import Fill, Order, Position
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

pytestmark = pytest.mark.django_db(transaction=True)

BOOK = {"bids": [("59990", "1")], "asks": [("60000", "0.005"), ("60010", "1")]}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def traded(celery_worker, trader):
    """One agent that bought 0.01 BTC at market (two fills, a position) and rests a limit buy on ETHUSDT."""
    agent, client, wallet = trader(name="Admin Probe")
    set_market("BTCUSDT", "60000", **BOOK)
    set_market("ETHUSDT", "3000")
    bought = client.post("/api/v1/trade/order?wait_ms=5000", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                               "quantity": "0.01"}, format="json")
    assert bought.status_code == 201 and bought.json()["status"] == "filled", bought.content
    resting = client.post("/api/v1/trade/order", {"symbol": "ETHUSDT", "side": "buy", "type": "limit",
                                                  "quantity": "0.5", "price": "2500"}, format="json")
    assert resting.status_code == 201, resting.content
    return agent, bought.json(), resting.json()


@pytest.fixture
def staff(client):
    admin = Account.objects.create_superuser(email="ops@example.com", password="ops-password-123",
                                             display_name="Ops")
    client.force_login(admin)
    return client


def test_orders_fills_positions_are_listed_filtered_and_searched(staff, traded):
    agent, bought, resting = traded
    orders = reverse("admin:trading_order_changelist")
    html = staff.get(orders).content.decode()
    assert bought["id"] in html and resting["id"] in html
    only_open = staff.get(orders + "?status__exact=new").content.decode()
    assert resting["id"] in only_open and bought["id"] not in only_open
    by_symbol = staff.get(orders + "?symbol=BTCUSDT").content.decode()
    assert bought["id"] in by_symbol and resting["id"] not in by_symbol
    by_agent = staff.get(orders + f"?agent__id__exact={agent.pk}").content.decode()
    assert bought["id"] in by_agent
    assert bought["id"] in staff.get(orders + "?q=Admin+Probe").content.decode()

    fills = staff.get(reverse("admin:trading_fill_changelist") + "?symbol=BTCUSDT").content.decode()
    assert "60000.00" in fills and "60010.00" in fills  # prices at the pair's tick (0.01)
    assert "60000.000000000000" not in fills
    positions = staff.get(reverse("admin:trading_position_changelist") + "?status=open").content.decode()
    assert "BTCUSDT" in positions and "0.01000" in positions  # BTC at the pair's step (0.00001)
    assert "0.010000000000" not in positions


def test_amounts_are_shown_at_their_asset_precision(staff, traded):
    agent, bought, resting = traded
    order = staff.get(reverse("admin:trading_order_change", args=[resting["id"]])).content.decode()
    assert "2500.00" in order and "2500.000000000000" not in order
    wallet = Order.objects.get(pk=resting["id"]).wallet
    page = staff.get(reverse("admin:trading_wallet_change", args=[wallet.pk])).content.decode()
    assert "0.01000" in page and "0.010000000000" not in page and "0.01000000<" not in page  # BTC: 5 places
    agents = staff.get(reverse("admin:agents_agent_changelist")).content.decode()
    assert "10000.00000000" in agents and "10000.000000000000" not in agents


def test_nothing_can_be_added_changed_or_deleted(staff, traded):
    agent, bought, resting = traded
    fill = Fill.objects.filter(order_id=bought["id"]).first()
    position = Position.objects.get(agent=agent, symbol="BTCUSDT")
    for model, obj in (("order", resting["id"]), ("fill", fill.pk), ("position", position.pk)):
        assert staff.get(reverse(f"admin:trading_{model}_add")).status_code == 403
        change = staff.get(reverse(f"admin:trading_{model}_change", args=[obj]))
        assert change.status_code == 200 and 'type="submit" value="Save"' not in change.content.decode()
        assert staff.post(reverse(f"admin:trading_{model}_delete", args=[obj]), {"post": "yes"}).status_code == 403
    staff.post(reverse("admin:trading_order_change", args=[resting["id"]]), {"status": "cancelled"})
    assert Order.objects.get(pk=resting["id"]).status == "new"
    changelist = staff.get(reverse("admin:trading_order_changelist")).content.decode()
    assert "Delete selected" not in changelist and "Add order" not in changelist


def test_names_read_well_and_the_index_shows_the_platform_status(staff):
    html = staff.get(reverse("admin:index")).content.decode()
    assert "Ledger entries" in html and "entrys" not in html
    for label in ("Orders", "Fills", "Positions"):
        assert f">{label}<" in html
    assert 'id="platform-status"' in html
    for check in ("database", "redis", "price_feed"):
        assert check in html


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs a Chromium binary")
def test_a_staff_member_finds_an_agents_orders_in_the_browser(live_server, traded):
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls happen between browser steps
    agent, bought, resting = traded
    Account.objects.create_superuser(email="desk@example.com", password="desk-password-123", display_name="Desk")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "desk@example.com")
            page.fill("#id_password", "desk-password-123")
            page.click("input[type=submit]")
            page.wait_for_selector("#platform-status")
            status = page.inner_text("#platform-status")
            assert "platform status" in status.lower() and "database" in status and "price_feed" in status
            assert "Ledger entries" in page.inner_text("#content-main")

            page.click("#content-main a[href$='/admin/trading/order/']")
            page.wait_for_selector("#result_list")
            page.click("#changelist-filter a:text('new')")
            page.wait_for_selector("#result_list")
            rows = page.inner_text("#result_list")
            assert "ETHUSDT" in rows and "BTCUSDT" not in rows and "2500.00" in rows
            page.fill("#searchbar", "Admin Probe")
            page.press("#searchbar", "Enter")
            page.wait_for_selector("#result_list")
            page.click("#result_list a >> nth=0")
            page.wait_for_selector("#content-main")
            detail = page.inner_text("#content-main")
            assert "2500.00" in detail and "2500.000000000000" not in detail
            assert page.locator("input[name=_save]").count() == 0  # read-only: nothing to save
        finally:
            browser.close()
