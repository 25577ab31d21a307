"""Freqtrade, unmodified (configuration only), trading live (``dry_run: false``) through the Binance door.

Real processes: uvicorn (the platform), a Celery worker (fills), the price feed replaying recorded 1-minute candles
(``/work/shared/data/candles``, or a generated file when that directory is not there) at 60x, and
``freqtrade trade`` from its own virtual environment (``bin/freqtrade-venv``). A small strategy enters with market
orders and exits after a few seconds; afterwards every order in Freqtrade's database is one of the agent's orders
as the native API shows them (same id, status, amounts), and ``manage.py check_ledger`` is clean.

Skips (loudly) only when the Freqtrade environment cannot be built.
"""

import csv
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from binance.tests.support import server_env
from common.testing import wait_until
from streams.tests.support import ROOT, database_url

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VENV = ROOT / ".venv-freqtrade"
SHARED_CANDLES = ROOT.parent / "shared" / "data" / "candles"
D = Decimal

STRATEGY = '''
from datetime import datetime

from freqtrade.strategy import IStrategy


class BinanceDoorStrategy(IStrategy):
    """Always wants to be long; leaves every trade after a few seconds, so one run makes several round trips."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 100}
    stoploss = -0.99
    process_only_new_candles = False
    startup_candle_count = 5

    def bot_loop_start(self, current_time: datetime, **kwargs):
        # Freqtrade locks a pair after an exit until the candle after the last one it analysed; replayed candles
        # carry their recorded (past) times, so that lock would never end. Release it: the next loop may re-enter.
        self.unlock_reason("Auto lock")

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        dataframe["exit_long"] = 0
        return dataframe

    def custom_exit(self, pair, trade, current_time: datetime, current_rate, current_profit, **kwargs):
        if (current_time - trade.open_date_utc).total_seconds() >= 4:
            return "time_exit"
        return None
'''


def freqtrade_config(*, base_url: str, key: str, secret: str, db_url: str) -> dict:
    """The Freqtrade configuration of docs/bring-your-bot.md (Freqtrade's own keys; only the URLs point here)."""
    api = f"{base_url}/binance/api/v3"
    return {
        "bot_name": "binance-door-test", "dry_run": False, "initial_state": "running", "db_url": db_url,
        "max_open_trades": 1, "stake_currency": "USDT", "stake_amount": 100, "tradable_balance_ratio": 0.99,
        "fiat_display_currency": "", "timeframe": "1m", "cancel_open_orders_on_exit": True,
        "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "seconds"},
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": False},
        "exchange": {
            "name": "binance", "key": key, "secret": secret, "pair_whitelist": ["BTC/USDT"], "enable_ws": False,
            # replayed candles keep their recorded times: tell Freqtrade not to treat them as outdated
            "outdated_offset": 10_000_000,
            "ccxt_config": {"urls": {"api": {"public": api, "private": api}},
                            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                                        "fetchMargins": False}},
        },
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
    }


@pytest.fixture(scope="session")
def freqtrade_bin() -> Path:
    """``.venv-freqtrade/bin/freqtrade``, built by ``bin/freqtrade-venv`` if needed; a loud skip if it cannot be."""
    try:
        proc = subprocess.run([str(ROOT / "bin" / "freqtrade-venv")], cwd=ROOT, capture_output=True, text=True,
                              timeout=1800)
    except subprocess.TimeoutExpired:
        pytest.skip("FREQTRADE NOT TESTED: bin/freqtrade-venv did not finish in 30 minutes")
    if proc.returncode != 0 or not (VENV / "bin" / "freqtrade").exists():
        pytest.skip("FREQTRADE NOT TESTED: its virtual environment could not be built (bin/freqtrade-venv exited "
                    f"{proc.returncode}): {(proc.stderr or proc.stdout)[-1500:]}")
    return VENV / "bin" / "freqtrade"


def replay_dir(tmp_path: Path) -> Path:
    """The recorded candles, or (without them) a generated BTCUSDT file in their format."""
    if (SHARED_CANDLES / "BTCUSDT-1m.csv.gz").exists():
        return SHARED_CANDLES
    out = tmp_path / "candles"
    out.mkdir()
    price = D("60000")
    with gzip.open(out / "BTCUSDT-1m.csv.gz", "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ts", "open", "high", "low", "close", "volume"])
        for i in range(600):
            close = price + D((i * 37) % 41 - 20)
            writer.writerow([f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00Z", price, max(price, close) + 5,
                             min(price, close) - 5, close, "1.5"])
            price = close
    return out


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _ft_orders(db: Path) -> list[dict]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM orders ORDER BY id")]
        except sqlite3.OperationalError:
            return []


def test_freqtrade_trades_live_through_the_binance_door(freqtrade_bin, binance_server, binance_trader,
                                                        celery_worker, trading_namespace, tmp_path):
    from binance import gateway

    agent, bc, native, wallet = binance_trader()
    env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING", **server_env(trading_namespace)}
    feed = subprocess.Popen(
        [sys.executable, "manage.py", "run_feed", "--source", "replay", "--replay-dir",
         str(replay_dir(tmp_path)), "--speed", "60", "--symbols", "BTCUSDT"],
        cwd=ROOT, env=env, stdout=open(tmp_path / "feed.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    user_data = tmp_path / "user_data"
    (user_data / "strategies").mkdir(parents=True)
    (user_data / "strategies" / "binance_door_strategy.py").write_text(STRATEGY)
    db = tmp_path / "trades.sqlite"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(freqtrade_config(base_url=binance_server.base, key=bc.key, secret=bc.secret,
                                                  db_url=f"sqlite:///{db}")))
    log = tmp_path / "freqtrade.log"
    bot = None
    try:
        assert wait_until(lambda: bc.public("ticker/price", symbol="BTCUSDT").status_code == 200, timeout=30), \
            "the replay feed wrote no price"
        time.sleep(3)  # a few candles in the store
        bot = subprocess.Popen(
            [str(freqtrade_bin), "trade", "--config", str(config), "--strategy", "BinanceDoorStrategy",
             "--userdir", str(user_data), "--logfile", str(log)],
            cwd=tmp_path, env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))},
            stdout=open(tmp_path / "freqtrade.out", "w"), stderr=subprocess.STDOUT, start_new_session=True)

        def two_round_trips():
            if bot.poll() is not None:
                return "exited"
            orders = _ft_orders(db)
            sells = [o for o in orders if o["ft_order_side"] == "sell" and o["status"] == "closed"]
            return len(sells) >= 2 and all(o["status"] in ("closed", "canceled") for o in orders)

        done = wait_until(two_round_trips, timeout=240, interval=1)
        if done is not True:
            tail = log.read_text()[-4000:] if log.exists() else (tmp_path / "freqtrade.out").read_text()[-4000:]
            why = f"exited with {bot.returncode}" if done == "exited" else "did not complete two round trips in 240 s"
            pytest.fail(f"Freqtrade {why}; its log ends with:\n{tail}")
    finally:
        if bot is not None:
            _stop(bot, signal.SIGINT, timeout=60)
        _stop(feed)

    ft_orders = _ft_orders(db)
    native_orders = []
    url = "/api/v1/trade/orders?limit=200"
    while url:
        page = native.get(url).json()
        native_orders += page["results"]
        url = page["next"]
    by_public_id = {str(gateway.order_id_of(uuid.UUID(o["id"]))): o for o in native_orders}
    # Freqtrade's orders are the agent's orders: the same ids, sides, statuses and filled amounts
    assert {o["order_id"] for o in ft_orders} == set(by_public_id), (ft_orders, native_orders)
    for o in ft_orders:
        n = by_public_id[o["order_id"]]
        assert (o["ft_order_side"], o["order_type"]) == (n["side"], n["type"])
        assert o["status"] == {"filled": "closed", "cancelled": "canceled"}.get(n["status"], n["status"])
        assert D(str(o["filled"])) == D(n["filled_quantity"])
        assert n["client_order_id"]  # ccxt's newClientOrderId, kept
    assert sum(1 for o in ft_orders if o["ft_order_side"] == "buy") >= 2
    check = subprocess.run([sys.executable, "manage.py", "check_ledger"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0 and "ledger OK" in check.stdout, check.stderr
