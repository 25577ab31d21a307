"""``trading.dbutil``: one-statement writes give the rows the ORM would have written."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from trading.dbutil import FEW_VALUES, bulk_update_rows, insert_rows, update_then_insert
from trading.models import Balance, LedgerEntry
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db


# one row, a few (a VALUES list) and more than a few (one array per column): the same rows either way
SIZES = [1, 2, 5, FEW_VALUES + 3]


def _ledger_rows(wallet, n):
    return [LedgerEntry(wallet_id=wallet.pk if i % 2 else str(wallet.pk),  # a uuid or its string
                        asset="USDT", delta_available=Decimal(i) / 8, delta_locked=Decimal(-i),
                        reason="fill", ref_type="fill", ref_id=str(1000 + i))
            for i in range(1, n + 1)]


@pytest.mark.parametrize("n", SIZES)
def test_insert_rows_sets_primary_keys_in_order_and_stores_what_the_orm_would(agent_factory, n):
    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    rows = _ledger_rows(wallet, n)
    before = timezone.now()
    insert_rows(LedgerEntry, rows)
    pks = [r.pk for r in rows]
    assert all(pks) and pks == sorted(pks)
    stored = {e.pk: e for e in LedgerEntry.objects.filter(pk__in=pks)}
    for i, r in enumerate(rows, start=1):
        s = stored[r.pk]
        assert (s.wallet_id, s.asset, s.delta_available, s.delta_locked, s.ref_id) == (
            wallet.pk, "USDT", Decimal(i) / 8, Decimal(-i), str(1000 + i))
        assert s.created_at >= before and not r._state.adding
    assert insert_rows(LedgerEntry, []) == []



@pytest.mark.parametrize("n", SIZES)
def test_update_then_insert_and_bulk_update_write_every_row(agent_factory, n):
    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    balances = [Balance.objects.create(wallet=wallet, asset=f"X{i}") for i in range(n)]
    now = timezone.now()
    for i, b in enumerate(balances):
        b.available, b.locked, b.updated_at = Decimal(i) + Decimal("0.125"), Decimal(i * 2), now
    ledger = _ledger_rows(wallet, n)
    update_then_insert(Balance, balances, ["available", "locked", "updated_at"], LedgerEntry, ledger)
    stored = {b.pk: b for b in Balance.objects.filter(pk__in=[b.pk for b in balances])}
    assert [(stored[b.pk].available, stored[b.pk].locked, stored[b.pk].updated_at) for b in balances] == [
        (Decimal(i) + Decimal("0.125"), Decimal(i * 2), now) for i in range(n)]
    assert sorted(LedgerEntry.objects.filter(wallet=wallet, reason="fill").values_list("ref_id", flat=True)) == sorted(
        str(1000 + i) for i in range(1, n + 1))
    for b in balances:
        b.locked = Decimal("7")
    assert bulk_update_rows(Balance, balances, ["locked"]) == n
    assert set(Balance.objects.filter(pk__in=[b.pk for b in balances]).values_list("locked", flat=True)) == {7}


def test_row_values_are_the_column_values(agent_factory):
    """The VALUES lists' parameters are, value for value, what the arrays carry (``_column_values``)."""
    from trading.dbutil import _column_values, _insert_plan, _rows_values
    from trading.models import Order

    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    order = Order(wallet_id=str(wallet.pk), agent=agent, symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT",
                  side="buy", type="market", time_in_force="ioc", quantity=Decimal("0.001"),
                  quote_quantity=None, locked_asset="USDT", locked_amount=Decimal(5), maker_fee_bps=8,
                  taker_fee_bps=Decimal("10"), created_at=timezone.now(), updated_at=timezone.now())
    _, _, cols, _ = _insert_plan(Order)
    expected = [_column_values(c, [order], kind)[0] for c, kind in cols]
    got = _rows_values(cols, [order])
    assert [(type(v), v) for v in got] == [(type(v), v) for v in expected]


def test_rows_inserted_after_others_are_stamped_after_them(agent_factory):
    """``insert_rows(..., after=...)``: one statement, and the first rows' ``auto_now_add`` come first (a placed
    order is created before its fills, as when they were two statements)."""
    from trading.models import Fill, Order

    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    order = Order(id=uuid.uuid4(), wallet=wallet, agent=agent, symbol="BTCUSDT", base_asset="BTC",
                  quote_asset="USDT", side="buy", type="market", time_in_force="ioc", quantity=Decimal("0.001"),
                  status="filled", locked_asset="USDT", maker_fee_bps=8, taker_fee_bps=10)
    fills = [Fill(order=order, seq=i, wallet=wallet, agent=agent, symbol="BTCUSDT", side="buy",
                  price=Decimal(60000), quantity=Decimal("0.0005"), quote_amount=Decimal(30), fee=Decimal("0.03"),
                  fee_asset="USDT", liquidity="taker") for i in (1, 2)]
    insert_rows(Fill, fills, after=(Order, [order]))
    stored = Order.objects.get(pk=order.pk)
    got = list(Fill.objects.filter(order=stored).order_by("seq"))
    assert [f.pk for f in got] == [f.pk for f in fills] and not order._state.adding
    assert all(f.created_at >= stored.created_at for f in got)
    # None values are NULLs written into the statement, the others parameters: each in its own column
    assert (stored.price, stored.trigger_price, stored.client_order_id, stored.quantity, stored.taker_fee_bps) == (
        None, None, None, Decimal("0.001"), Decimal(10))
    assert [(f.seq, f.price, f.fee, f.liquidity) for f in got] == [(i, 60000, Decimal("0.03"), "taker") for i in (1, 2)]
