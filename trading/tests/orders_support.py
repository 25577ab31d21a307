"""Fixtures and helpers of the order tests: a real Celery worker on the test database, market prices in Redis.

Import the fixtures into a test module with ``from trading.tests.orders_support import *  # noqa: F403``.

The worker is a subprocess (``celery -A config worker``) started once per session with the test database's
``DATABASE_URL`` and the session's Redis key prefixes, so it sees what the tests commit (``transactional_db``) and
the prices they write. Tests that need a worker of their own (killed and restarted) use ``WorkerProcess`` with a
queue of their own.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from common.testing import wait_until as wait_for

ROOT = Path(__file__).resolve().parents[2]
D = Decimal

__all__ = ["D", "WorkerProcess", "trading_namespace", "celery_worker", "market", "trader", "set_market",
           "wallet_balances", "assert_ledger_balanced", "wait_for", "seed_resting_orders"]


@pytest.fixture(scope="session")
def trading_namespace():
    """Redis key prefixes of this test session (prices, order signals), shared with the worker subprocesses."""
    from django.conf import settings

    from config.celery_app import app

    tag = uuid.uuid4().hex[:8]
    saved = settings.MARKET_KEY_PREFIX, settings.TRADING_KEY_PREFIX, app.conf.task_default_queue
    settings.MARKET_KEY_PREFIX, settings.TRADING_KEY_PREFIX = f"t{tag}-mkt", f"t{tag}-trd"
    # Tasks of this session go to a queue of its own: no other worker on the same Redis can take them.
    app.conf.task_default_queue = f"h5test-{tag}"
    yield {"MARKET_KEY_PREFIX": settings.MARKET_KEY_PREFIX, "TRADING_KEY_PREFIX": settings.TRADING_KEY_PREFIX,
           "queue": app.conf.task_default_queue}
    settings.MARKET_KEY_PREFIX, settings.TRADING_KEY_PREFIX, app.conf.task_default_queue = saved


class WorkerProcess:
    """``celery -A config worker`` on the test database, in its own process group (so SIGKILL takes it all)."""

    def __init__(self, *, namespace: dict, queues: str | None = None, concurrency: int = 2, extra_env=None):
        from django.db import connection

        db = connection.settings_dict
        self.queues = queues or namespace["queue"]
        self.concurrency = concurrency
        self.env = {**os.environ, "MARKET_KEY_PREFIX": namespace["MARKET_KEY_PREFIX"],
                    "TRADING_KEY_PREFIX": namespace["TRADING_KEY_PREFIX"],
                    "CELERY_TASK_DEFAULT_QUEUE": namespace["queue"],
                    "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                                    f"{db['NAME']}",
                    "CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_VISIBILITY_TIMEOUT": "3",
                    "CELERY_UNACKED_RESTORE_INTERVAL": "1", "LOG_LEVEL": "WARNING", **(extra_env or {})}
        self.proc = None
        self.name = None

    def start(self, timeout: float = 30.0) -> "WorkerProcess":
        from config.celery_app import app

        self.name = f"h5test-{uuid.uuid4().hex[:6]}@localhost"
        self.log = open(ROOT / "var" / f"{self.name.split('@')[0]}.log", "w")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-P", "prefork",
             "-c", str(self.concurrency), "-Q", self.queues, "-n", self.name, "--without-gossip",
             "--without-mingle", "-l", "WARNING"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.proc.returncode}; see {self.log.name}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return self
        raise RuntimeError(f"celery worker {self.name} did not answer a ping in {timeout} s")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no cleanup, no message acknowledged."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, trading_namespace):
    """One real worker for the session, consuming the session's queue."""
    with django_db_blocker.unblock():
        worker = WorkerProcess(namespace=trading_namespace).start()
    yield worker
    worker.stop()


@pytest.fixture
def market(transactional_db, trading_namespace):
    """The default pairs (the data migration's rows are flushed between transactional tests)."""
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()
    return set_market


def set_market(symbol: str, last, *, bids=(), asks=(), quote_volume=None, age_seconds: float = 0.0) -> None:
    """Write a pair's last price and book into Redis as the feed would (``bids``/``asks``: [(price, qty)])."""
    from market.feed.store import PriceWriter
    from market.feed.types import Book, MarketUpdate, Ticker24h
    from trading.engine.types import BookLevel

    now = time.time() - age_seconds
    book = Book(bids=tuple(BookLevel(D(p), D(q)) for p, q in bids), asks=tuple(BookLevel(D(p), D(q)) for p, q in asks))
    ticker = None
    if quote_volume is not None:
        px = D(last)
        ticker = Ticker24h(open=px, high=px, low=px, last=px, volume=D(0), quote_volume=D(quote_volume))
    PriceWriter().write([MarketUpdate(symbol=symbol, price=D(last), ts_ms=int(now * 1000), received_at=now,
                                      book=book, ticker=ticker)], source="synthetic")


@pytest.fixture
def trader(market, agent_factory, agent_client, settings):
    """``trader(**agent_kwargs)`` -> (agent, client with its key, wallet)."""
    from trading.wallet import current_wallet

    # Registering an account hashes a password and an API secret with PBKDF2 (~1 s); these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(**kwargs):
        agent, key = agent_factory(**kwargs)
        return agent, agent_client(key), current_wallet(agent)

    return make


def wallet_balances(wallet) -> dict[str, tuple[Decimal, Decimal]]:
    from trading.models import Balance

    """{asset: (available, locked)} of the assets the wallet holds or has locked (empty rows left out)."""
    return {b.asset: (b.available, b.locked) for b in Balance.objects.filter(wallet=wallet)
            if b.available or b.locked}


def assert_ledger_balanced() -> None:
    from trading.wallet import ledger_mismatches

    assert ledger_mismatches() == []


def seed_resting_orders(*, wallets, symbol: str, side: str, prices, quantity, batch: int = 2000) -> int:
    """Insert resting gtc limit orders in bulk, as ``order_place`` would leave them (status new, sweep key, funds
    locked through ``wallet_post_many``), without going through the API: for sweeps over thousands of orders.

    ``wallets``: Wallet rows, used round-robin; ``prices``: one per order. Returns the number of orders.
    """
    from django.db import transaction

    from market.prices import get_instrument
    from trading.engine import matching
    from trading.engine.types import FeeRate, OrderIntent
    from trading.models import LedgerEntry, Order
    from trading.services.settlement import sweep_key
    from trading.wallet import Movement, Posting, wallet_post_many

    spec = get_instrument(symbol)
    rate = FeeRate(maker_bps=D("8"), taker_bps=D("10"))
    quantity = D(quantity)
    prices = [D(p) for p in prices]
    total = 0
    for start in range(0, len(prices), batch):
        orders, postings = [], []
        for i, price in enumerate(prices[start:start + batch], start=start):
            wallet = wallets[i % len(wallets)]
            intent = OrderIntent(symbol=symbol, side=side, type="limit", quantity=quantity, price=price)
            asset, amount = matching.order_lock(intent, rate, instrument=spec)
            sweep_price, fires = sweep_key(side=side, order_type="limit", price=price)
            order = Order(wallet_id=wallet.pk, agent_id=wallet.agent_id, symbol=symbol, base_asset=spec.base,
                          quote_asset=spec.quote, side=side, type="limit", quantity=quantity, price=price,
                          body_hash="seed", locked_asset=asset, locked_amount=amount, maker_fee_bps=rate.maker_bps,
                          taker_fee_bps=rate.taker_bps, sweep_price=sweep_price, fires=fires, reference_price=price)
            orders.append(order)
            postings.append(Posting(wallet.pk, (Movement(asset, available=-amount, locked=amount),),
                                    LedgerEntry.Reason.ORDER_LOCK, "order", str(order.pk)))
        with transaction.atomic():
            Order.objects.bulk_create(orders)
            wallet_post_many(postings)
        total += len(orders)
    return total
