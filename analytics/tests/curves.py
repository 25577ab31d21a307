"""Real equity curves from the shared candle data (../shared/data/candles): buy-and-hold of each pair and a simple
moving-average crossover strategy, both with a 0.10 % taker fee, in Decimal like the platform."""

from __future__ import annotations

import csv
import gzip
import os
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from pathlib import Path

import pytest

CANDLES = Path(os.environ.get("CANDLE_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" / "candles"))
PAIRS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")
FEE = Decimal("0.001")
START = Decimal("10000")
Q8 = Decimal("0.00000001")


def need_candles():
    if not (CANDLES / "BTCUSDT-5m.csv").exists():
        pytest.skip(f"no candle data at {CANDLES}")


@lru_cache(maxsize=None)
def closes(symbol: str, tf: str = "5m") -> tuple[tuple[datetime, Decimal], ...]:
    path = CANDLES / f"{symbol}-{tf}.csv"
    opener = open
    if not path.exists():
        path, opener = CANDLES / f"{symbol}-{tf}.csv.gz", gzip.open
    with opener(path, "rt") as fh:
        return tuple((datetime.fromisoformat(row["ts"].replace("Z", "+00:00")), Decimal(row["close"]))
                     for row in csv.DictReader(fh))


def buy_and_hold(symbol: str, tf: str = "5m"):
    """All in at the first close (fee paid in quote), held: equity = qty * close. No closed trade."""
    series = closes(symbol, tf)
    p0 = series[0][1]
    qty = (START / (p0 * (1 + FEE))).quantize(Q8, rounding=ROUND_DOWN)
    cash = START - (qty * p0 * (1 + FEE)).quantize(Q8)
    return [(ts, (cash + qty * p).quantize(Q8)) for ts, p in series], []


def sma_cross(symbol: str, tf: str = "5m", fast: int = 12, slow: int = 48):
    """Long when the fast SMA of closes is above the slow one, flat otherwise; trades at the close. Returns the
    equity curve and each sell's realized PnL against the average entry, net of both fees (a closed round trip)."""
    series = closes(symbol, tf)
    px = [p for _, p in series]
    cash, qty, cost = START, Decimal(0), Decimal(0)
    equity, trades = [], []
    for i, (ts, p) in enumerate(series):
        if i >= slow:
            f = sum(px[i - fast + 1:i + 1]) / fast
            s = sum(px[i - slow + 1:i + 1]) / slow
            if f > s and qty == 0:
                qty = (cash / (p * (1 + FEE))).quantize(Q8, rounding=ROUND_DOWN)
                cost = (qty * p * (1 + FEE)).quantize(Q8)
                cash -= cost
            elif f < s and qty > 0:
                proceeds = (qty * p * (1 - FEE)).quantize(Q8)
                cash += proceeds
                trades.append(proceeds - cost)
                qty, cost = Decimal(0), Decimal(0)
        equity.append((ts, (cash + qty * p).quantize(Q8)))
    return equity, trades
