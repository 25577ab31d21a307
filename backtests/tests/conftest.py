import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

CANDLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "candles"
DAY0 = datetime(2026, 3, 24, tzinfo=UTC)  # the first whole UTC day of the shared BTCUSDT file
D = Decimal


def import_real(symbol: str = "BTCUSDT", *, start: datetime = DAY0, days: float = 2, as_symbol: str | None = None):
    """Import ``days`` of the shared 1-minute candles of ``symbol`` from ``start`` into the store."""
    from market.candle_files import iter_rows
    from market.services import candles_upsert

    start_ms = int(start.timestamp() * 1000)
    rows = iter_rows(CANDLES / f"{symbol}-1m.csv.gz", start_ms=start_ms, end_ms=start_ms + int(days * 86_400_000))
    return candles_upsert(symbol=as_symbol or symbol, rows=rows)


@pytest.fixture(autouse=True)
def _fresh_backtest_caches():
    from backtests.services import cache_drop

    cache_drop()
    yield
    cache_drop()


@pytest.fixture
def pairs(db):
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()


@pytest.fixture
def btc(pairs):
    import_real("BTCUSDT", days=2)


@pytest.fixture
def bt_agent(agent_factory, agent_client, settings):
    """``bt_agent(**kw)`` -> (agent, client with its key)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(**kwargs):
        agent, key = agent_factory(**kwargs)
        return agent, agent_client(key)

    return make


def create(client, **overrides):
    body = {"start_time": "2026-03-24T00:00:00Z", "end_time": "2026-03-24T06:00:00Z", "interval": "1m",
            "pairs": ["BTCUSDT"], "starting_balance": "10000.00", "strategy_label": "test"}
    body.update(overrides)
    return client.post("/api/v1/backtest/create", body, format="json")


def read_real(symbol="BTCUSDT", *, start=DAY0, days=2):
    """The shared file's rows as (open_time, o, h, l, c, v) tuples."""
    from market.candle_files import iter_rows

    start_ms = int(start.timestamp() * 1000)
    return list(iter_rows(CANDLES / f"{symbol}-1m.csv.gz", start_ms=start_ms, end_ms=start_ms + int(days * 86_400_000)))


_ = gzip
