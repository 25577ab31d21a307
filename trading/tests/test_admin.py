"""The wallet admin as a staff member uses it: balances visible, nothing editable, the ledger untouchable."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Account
from trading.models import Balance, LedgerEntry
from trading.wallet import Movement, current_wallet, wallet_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = Account.objects.create_superuser(email="admin@example.com", password="admin-password-123",
                                             display_name="Admin")
    client.force_login(admin)
    return client


@pytest.fixture
def wallet(agent_factory):
    agent, _ = agent_factory(starting_balance=Decimal("1000"))
    wallet = current_wallet(agent)
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-10"), locked=Decimal("10"))],
                reason="order_lock", ref_type="order", ref_id="o-1")
    return wallet


def test_wallet_page_shows_its_balances_inline_read_only(admin_client, wallet):
    r = admin_client.get(reverse("admin:trading_wallet_change", args=[wallet.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "USDT" in html and "990.00000000" in html and "10.00000000" in html and "1000.00000000" in html
    assert 'name="balances-0-available"' not in html  # no input: shown, not editable
    assert "ledger entries (2)" in html
    assert admin_client.get(reverse("admin:trading_wallet_changelist")).status_code == 200


def test_wallet_cannot_be_added_changed_or_deleted(admin_client, wallet):
    assert admin_client.get(reverse("admin:trading_wallet_add")).status_code == 403
    delete = admin_client.post(reverse("admin:trading_wallet_delete", args=[wallet.pk]), {"post": "yes"})
    assert delete.status_code == 403
    admin_client.post(reverse("admin:trading_wallet_change", args=[wallet.pk]),
                      {"balances-TOTAL_FORMS": "1", "balances-INITIAL_FORMS": "1",
                       "balances-0-id": str(wallet.balances.get().pk), "balances-0-available": "999999"})
    assert Balance.objects.get(wallet=wallet).available == Decimal("990")


def test_ledger_admin_is_strictly_read_only(admin_client, wallet):
    entry = LedgerEntry.objects.filter(wallet=wallet).last()
    changelist = admin_client.get(reverse("admin:trading_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}")
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "order_lock" in html and "Delete selected" not in html and "Add ledger entry" not in html
    assert admin_client.get(reverse("admin:trading_ledgerentry_add")).status_code == 403
    view = admin_client.get(reverse("admin:trading_ledgerentry_change", args=[entry.pk]))
    assert view.status_code == 200 and 'name="delta_available"' not in view.content.decode()
    admin_client.post(reverse("admin:trading_ledgerentry_change", args=[entry.pk]),
                      {"delta_available": "5000", "reason": "adjustment"})
    assert admin_client.post(reverse("admin:trading_ledgerentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.delta_available == Decimal("-10") and entry.reason == "order_lock"
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 2
