"""The management commands, run for real: import_candles, and run_feed in a subprocess falling back to replay."""

import gzip
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from market.models import Candle
from market.prices import get_price, instruments_cache_clear
from market.selectors import feed_info
from market.services import ensure_default_pairs

BASE_DIR = Path(django_settings.BASE_DIR)


@pytest.mark.django_db
def test_import_candles_is_idempotent(pairs, candle_slice, tmp_path, capsys):
    candle_slice("BTCUSDT", 100)
    candle_slice("XRPUSDT", 50, gz=False)
    call_command("import_candles", str(tmp_path))
    out = capsys.readouterr().out
    assert "BTCUSDT: 100 rows" in out and "(100 new, 0 changed)" in out and "XRPUSDT: 50 rows" in out
    first = Candle.objects.get(symbol="BTCUSDT", open_time=datetime(2026, 3, 23, 12, 9, tzinfo=UTC))
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal("69979.98"), Decimal("70112.55"), Decimal("69973.41"), Decimal("70070.53"), Decimal("32.55652"))
    call_command("import_candles", str(tmp_path / "BTCUSDT-1m.csv.gz"))
    assert "(0 new, 0 changed)" in capsys.readouterr().out
    assert Candle.objects.filter(symbol="BTCUSDT").count() == 100


@pytest.mark.django_db
def test_import_candles_refuses_bad_input(pairs, tmp_path):
    with pytest.raises(CommandError, match="no <SYMBOL>-1m"):
        call_command("import_candles", str(tmp_path))
    bad = tmp_path / "BTCUSDT-1m.csv"
    bad.write_text("ts,open,high,low,close,volume\n2026-04-01T00:00:00Z,10,9,11,10,1\n")  # high < low
    with pytest.raises(CommandError, match="inconsistent candle"):
        call_command("import_candles", str(bad))
    bad.write_text("ts,open,high,low,close,volume\n2026-04-01T00:00:00Z,ten,9,11,10,1\n")
    with pytest.raises(CommandError, match="BTCUSDT-1m.csv:2"):
        call_command("import_candles", str(bad))
    assert not Candle.objects.exists()


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_run_feed_falls_back_to_replay_when_the_exchange_is_unreachable(candle_slice, tmp_path, market_prefix):
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis shared with a subprocess")
    ensure_default_pairs()
    instruments_cache_clear()
    candle_slice("BTCUSDT", 20)
    candle_slice("ETHUSDT", 20, gz=False)
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": django_settings.REDIS_URL,
           "MARKET_KEY_PREFIX": market_prefix, "FEED_SOURCE": "live", "FEED_REPLAY_DIR": str(tmp_path),
           "FEED_REPLAY_SPEED": "60", "FEED_EXCHANGE_TIMEOUT_MS": "3000", "DJANGO_SETTINGS_MODULE": "config.settings"}
    proc = subprocess.run([sys.executable, "manage.py", "run_feed", "--duration", "2.5"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert "PRICE FEED FALLBACK" in proc.stderr and "binance unreachable" in proc.stderr

    with gzip.open(tmp_path / "BTCUSDT-1m.csv.gz", "rt") as fh:
        rows = [line.split(",") for line in fh.read().splitlines()[1:]]
    lows, highs = [Decimal(r[3]) for r in rows], [Decimal(r[2]) for r in rows]
    btc = get_price("BTCUSDT")
    assert btc.source == "replay" and min(lows) <= btc.price <= max(highs)
    assert btc.ts >= datetime(2026, 3, 23, 12, 9, tzinfo=UTC)  # candle time
    assert not btc.stale  # judged by arrival time
    assert get_price("ETHUSDT").source == "replay"
    info = feed_info()
    assert info["source"] == "replay" and info["requested_source"] == "live" and "unreachable" in info[
        "fallback_reason"]
    # ~2.5 s at x60 is 2-3 candles per pair, stored by the feed's flushes.
    assert Candle.objects.filter(symbol="BTCUSDT").count() >= 2
    first = Candle.objects.filter(symbol="BTCUSDT").order_by("open_time").first()
    assert first.open == Decimal(rows[0][1]) and first.high == Decimal(rows[0][2])
