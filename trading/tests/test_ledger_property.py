"""The ledger always explains the balances: property and concurrency tests on PostgreSQL.

Whatever sequence of postings, refusals and resets happens, every balance equals the sum of its ledger rows
(``ledger_mismatches()`` is empty, ``manage.py check_ledger`` exits 0), and no balance ever goes below zero; a
tampered row is caught. Twenty threads posting to one wallet at once never overdraw it.
"""

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agents.services import agent_create, agent_reset
from trading.models import Balance, LedgerEntry, Wallet
from trading.wallet import InsufficientBalance, Movement, current_wallet, ledger_mismatches, wallet_post

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ("USDT", "BTC", "ETH")
amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("50000"), places=8,
                      allow_nan=False, allow_infinity=False)
balances = st.decimals(min_value=Decimal("0.01"), max_value=100000, places=2)  # a starting balance is > 0


# --- operations, each as the movements it posts -------------------------------------------------------------------
@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["fund", "lock", "release", "fill", "withdraw", "random", "reset"]))
    asset, other = draw(st.permutations(ASSETS))[:2]
    x, y = draw(amounts), draw(amounts)
    if kind == "fund":
        return kind, [Movement(asset, available=x)]
    if kind == "lock":  # an order accepted: available -> locked
        return kind, [Movement(asset, available=-x, locked=x)]
    if kind == "release":  # an order cancelled: locked -> available
        return kind, [Movement(asset, available=x, locked=-x)]
    if kind == "fill":  # locked funds of one asset become another asset, minus a fee
        fee = (y / 1000).quantize(Decimal("0.00000001"))
        return kind, [Movement(asset, locked=-x), Movement(other, available=y), Movement(other, available=-fee)]
    if kind == "withdraw":  # often an overdraft, which must be refused whole
        return kind, [Movement(asset, available=-x)]
    if kind == "random":  # anything at all, signs included
        moves = draw(st.lists(st.tuples(st.sampled_from(ASSETS), amounts, amounts, st.booleans(), st.booleans()),
                              min_size=1, max_size=4))
        return kind, [Movement(a, available=x if pa else -x, locked=y if pl else -y) for a, x, y, pa, pl in moves]
    return kind, draw(balances)  # reset to a new starting balance


def apply_to_model(model: dict, movements: list[Movement]) -> bool:
    """What wallet_post must do, in plain Python: apply in order, refuse everything if any step goes negative."""
    trial = dict(model)
    for m in movements:
        available, locked = trial.get(m.asset, (Decimal(0), Decimal(0)))
        available, locked = available + m.available, locked + m.locked
        if available < 0 or locked < 0:
            return False
        trial[m.asset] = (available, locked)
    model.update(trial)
    return True


def wallet_state(wallet: Wallet) -> dict:
    return {b.asset: (b.available, b.locked) for b in Balance.objects.filter(wallet=wallet)
            if b.available or b.locked}


@pytest.fixture
def owner(account_factory):
    return account_factory().account


@pytest.mark.django_db
@hypothesis_settings(max_examples=100, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(start=balances, ops=st.lists(operations(), max_size=25))
def test_any_sequence_of_postings_keeps_the_ledger_balanced(owner, start, ops):
    agent, _ = agent_create(account=owner, name="prop", starting_balance=start)
    wallets = [current_wallet(agent)]
    model = {"USDT": (start, Decimal(0))} if start else {}
    for kind, payload in ops:
        wallet = wallets[-1]
        if kind == "reset":
            agent = agent_reset(agent=agent, starting_balance=payload)
            wallets.append(current_wallet(agent))
            model = {"USDT": (payload, Decimal(0))} if payload else {}
            continue
        rows_before = LedgerEntry.objects.filter(wallet=wallet).count()
        expected_ok = apply_to_model(model, payload)
        try:
            wallet_post(wallet=wallet, movements=payload, reason=LedgerEntry.Reason.ADJUSTMENT, ref_type="prop")
            posted = True
        except InsufficientBalance:
            posted = False
            # A refusal writes nothing at all.
            assert LedgerEntry.objects.filter(wallet=wallet).count() == rows_before
        assert posted == expected_ok, (kind, payload)
        assert wallet_state(wallet) == {a: v for a, v in model.items() if v[0] or v[1]}
    # Retired wallets keep what they had; only the newest is current.
    assert [w.retired_at is None for w in Wallet.objects.filter(agent=agent).order_by("epoch")] == \
        [False] * (len(wallets) - 1) + [True]
    assert ledger_mismatches() == []
    call_command("check_ledger", stdout=open(os.devnull, "w"))


# --- the real command, in its own process, on committed data -----------------------------------------------------
def check_ledger_exit_code() -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "manage.py", "check_ledger"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_posting_to_one_wallet_never_overdraw_it(owner):
    start, price, attempts_per_thread, threads = Decimal("1000"), Decimal("30"), 3, 20
    agent, _ = agent_create(account=owner, name="contended", starting_balance=start)
    wallet = current_wallet(agent)
    barrier = threading.Barrier(threads)
    outcomes, errors = [], []

    def worker(n: int):
        try:
            barrier.wait(timeout=30)
            for _ in range(attempts_per_thread):
                # Buy one unit for 30 USDT. Half the threads list the assets the other way round: the wallet
                # locks rows in asset order whatever the caller's order, so this must not deadlock.
                moves = [Movement("USDT", available=-price), Movement("BTC", available=Decimal(1))]
                try:
                    wallet_post(wallet=wallet, movements=moves if n % 2 else moves[::-1], reason="fill",
                                ref_type="thread", ref_id=str(n))
                    outcomes.append(True)
                except InsufficientBalance:
                    outcomes.append(False)
        except Exception as exc:  # noqa: BLE001 - a deadlock or a constraint violation fails the test below
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert errors == []
    fits = int(start // price)  # 33 purchases fit in 1000 USDT, whatever the interleaving
    assert outcomes.count(True) == fits and len(outcomes) == threads * attempts_per_thread
    usdt = Balance.objects.get(wallet=wallet, asset="USDT")
    btc = Balance.objects.get(wallet=wallet, asset="BTC")
    assert usdt.available == start - fits * price == Decimal("10") and btc.available == fits
    assert LedgerEntry.objects.filter(wallet=wallet, reason="fill").count() == 2 * fits
    assert ledger_mismatches() == []
    done = check_ledger_exit_code()
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tamper", ["balance", "ledger_amount", "ledger_deleted", "stray_ledger_row"])
def test_check_ledger_exits_non_zero_on_a_tampered_row(owner, tamper):
    agent, _ = agent_create(account=owner, name="victim", starting_balance=Decimal("500"))
    wallet = current_wallet(agent)
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-100"), locked=Decimal("100"))],
                reason="order_lock")
    assert check_ledger_exit_code().returncode == 0
    with connection.cursor() as cursor:  # behind the application's back, as a bad migration or a person would
        if tamper == "balance":
            cursor.execute("UPDATE trading_balance SET available = available + 0.00000001 WHERE wallet_id = %s",
                           [wallet.pk])
        elif tamper == "ledger_amount":
            cursor.execute("UPDATE trading_ledgerentry SET delta_locked = 99 WHERE wallet_id = %s AND "
                           "reason = 'order_lock'", [wallet.pk])
        elif tamper == "ledger_deleted":
            cursor.execute("DELETE FROM trading_ledgerentry WHERE wallet_id = %s AND reason = 'funding'",
                           [wallet.pk])
        else:
            cursor.execute("INSERT INTO trading_ledgerentry (wallet_id, asset, delta_available, delta_locked, "
                           "reason, ref_type, ref_id, created_at) VALUES (%s, 'ETH', 1, 0, 'adjustment', '', '', "
                           "now())", [wallet.pk])
    done = check_ledger_exit_code()
    assert done.returncode != 0
    assert "MISMATCH" in done.stderr and str(wallet.pk) in done.stderr
