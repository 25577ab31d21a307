"""``trading.dbutil``: one-statement writes give the rows the ORM would have written."""

from decimal import Decimal

import pytest
from django.utils import timezone

from trading.dbutil import insert_rows
from trading.models import LedgerEntry
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db


def test_insert_rows_sets_primary_keys_in_order_and_stores_what_the_orm_would(agent_factory):
    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    rows = [LedgerEntry(wallet_id=wallet.pk if i % 2 else str(wallet.pk),  # a uuid or its string
                        asset="USDT", delta_available=Decimal(i) / 8, delta_locked=Decimal(-i),
                        reason="fill", ref_type="fill", ref_id=str(1000 + i))
            for i in range(1, 6)]
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

