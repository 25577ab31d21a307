from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trading.models import Balance, LedgerEntry
from trading.wallet import InsufficientBalance, Movement, current_wallet, wallet_post


def test_new_agent_wallet_is_funded_through_the_ledger(agent_factory):
    agent, _ = agent_factory(starting_balance=Decimal("2500.50"))
    wallet = current_wallet(agent)
    usdt = wallet.balances.get(asset="USDT")
    assert usdt.available == Decimal("2500.50") and usdt.locked == 0
    assert list(wallet.ledger.values_list("reason", "delta_available")) == [("funding", Decimal("2500.50"))]
    call_command("check_ledger")


def test_wallet_post_refuses_to_overdraw_and_writes_nothing(agent_factory):
    agent, _ = agent_factory(starting_balance=Decimal("100"))
    wallet = current_wallet(agent)
    with pytest.raises(InsufficientBalance):
        wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-100.01"),
                                                       locked=Decimal("100.01"))], reason="order_lock")
    assert wallet.balances.get(asset="USDT").available == Decimal("100")
    assert wallet.ledger.count() == 1


def test_check_ledger_fails_on_a_tampered_balance(agent_factory):
    agent, _ = agent_factory()
    Balance.objects.filter(wallet__agent=agent, asset="USDT").update(available=Decimal("10000.01"))
    with pytest.raises(CommandError):
        call_command("check_ledger")


def test_ledger_rows_are_append_only(agent_factory):
    agent, _ = agent_factory()
    row = LedgerEntry.objects.get(wallet__agent=agent)
    with pytest.raises(ValueError):
        row.save()
