"""The in-process interface: a strategy as a function of what it sees, on the same runner as the HTTP sessions."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from backtests.research import run, session_from_store
from backtests.tests.conftest import DAY0
from trading.engine.types import EngineRejection

pytestmark = pytest.mark.django_db
D = Decimal


def test_strategy_sees_only_closed_candles_and_the_curve_is_the_valuation(btc):
    config, series = session_from_store(pairs=["BTCUSDT"], start=DAY0, end=DAY0 + timedelta(hours=6))
    rng = random.Random(7)
    seen = []

    def strategy(view):
        closes = view.closes("BTCUSDT")
        # the last close visible is the candle that closed at `now`
        c = view.candles("BTCUSDT", 1)
        if c:
            assert c[-1].open_time + timedelta(minutes=1) == view.now and closes[-1] == c[-1].close
            assert view.price("BTCUSDT") == c[-1].close
        # the equity recorded for this step is the engine's valuation
        assert view.equity == view.valuation().equity
        seen.append(view.now)
        if rng.random() < 0.05:
            side = rng.choice(["buy", "sell"])
            try:
                view.place(symbol="BTCUSDT", side=side, type=rng.choice(["market", "limit"]), quantity="0.01",
                           **({"price": str((closes[-1] * D("0.999")).quantize(D("0.01")))} if rng.random() < 0.5
                              else {}))
            except EngineRejection:
                pass

    res = run(strategy, config, series)
    assert len(seen) == 361 and seen[-1] == DAY0 + timedelta(hours=6)
    assert res.curve[-1][1] == res.runner.valuation().equity
    assert res.fills and res.performance.total_trades >= 0
