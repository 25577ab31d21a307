"""Seeded random sessions of the in-memory driver, reduced to one digest of everything they produce: orders, fills,
events (payloads included), valuations, balances and refusals (code, message, details), as a canonical text in
which a Decimal keeps its exponent and an enum member differs from its plain string.

The compiled and the interpreted engine must give the same digest (``test_compiled.py``). By hand:
``python -m trading.tests.engine.random_sessions 300`` (with ``TRADING_ENGINE_PURE=1`` for the interpreted one).
"""

import hashlib
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from trading.engine.limits import RiskLimits
from trading.engine.memory import MemoryExchange
from trading.engine.types import BookLevel, EngineRejection, InstrumentSpec, MarketState

SPECS = {"BTCUSDT": InstrumentSpec("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5")),
         "ETHUSDT": InstrumentSpec("ETHUSDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5"))}
TYPES = ["market", "market", "market", "limit", "limit", "stop_loss", "take_profit", "stop_limit",
         "take_profit_limit", "bogus"]
QUANTITIES = ["0.001", "0.01", "0.01", "0.1", "0.0002", "0.0003", "0.000015", "1"]


def canon(x) -> str:
    if isinstance(x, dict):
        return "{" + ",".join(f"{canon(k)}:{canon(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list | tuple):
        return "[" + ",".join(canon(v) for v in x) + "]"
    if isinstance(x, D):
        return f"D{str(x)!r}"
    if hasattr(x, "__dataclass_fields__"):
        return type(x).__name__ + canon({f: getattr(x, f) for f in x.__dataclass_fields__})
    return repr(x)


def _candle(ex, rnd, t, symbol, price):
    move = D(rnd.randint(-300, 300)) / D(10000) * price
    close = (price + move).quantize(D("0.01"))
    wick = (abs(move) / 2).quantize(D("0.01"))
    events = ex.advance_candle(symbol, t=t, open=price, high=max(price, close) + wick, low=min(price, close) - wick,
                               close=close, volume_24h_quote=rnd.choice([None, D("1500000000")]))
    return events, close


def _book_sweep(ex, rnd, t, symbol, price):
    tick = SPECS[symbol].tick_size

    def levels(sign):
        return tuple(BookLevel((price + sign * D(i) * tick * 50).quantize(tick),
                               D(rnd.choice(["0.001", "0.05", "0.3"]))) for i in range(1, rnd.randint(1, 6)))

    ex.set_market(MarketState(symbol, price, t, bids=levels(-1), asks=levels(1), volume_24h_quote=D("1500000000"),
                              stale=rnd.random() < 0.05))
    return ex.sweep(symbol, t=t, low=price * D("0.99"), high=price * D("1.01"))


def _place(ex, rnd, t, step, wallets, symbol, price):
    spec = SPECS[symbol]
    side, kind = rnd.choice(["buy", "sell"]), rnd.choice(TYPES)
    kw = {}
    if kind == "market" and rnd.random() < 0.3:
        kw["quote_quantity"] = D(rnd.choice(["10", "100.5", "1000", "0.000000001"]))
    else:
        kw["quantity"] = D(rnd.choice(QUANTITIES))
    off = D(rnd.randint(-200, 200)) / D(10000)
    if kind in ("limit", "stop_limit", "take_profit_limit"):
        kw["price"] = (price * (1 + off)).quantize(spec.tick_size if rnd.random() < 0.95 else D("0.001"))
    if kind in ("stop_loss", "take_profit", "stop_limit", "take_profit_limit"):
        kw["trigger_price"] = (price * (1 - off)).quantize(spec.tick_size)
    return ex.place(rnd.choice(wallets), t=t, symbol=symbol, side=side, type=kind,
                    time_in_force=rnd.choice(["gtc", "gtc", "ioc", "fok"]), post_only=rnd.random() < 0.1,
                    reduce_only=side == "sell" and rnd.random() < 0.1, client_order_id=rnd.choice([None, f"c{step}"]),
                    **kw)


def session(seed: int) -> list:
    """Everything one seeded session produced, in order."""
    rnd = random.Random(seed)
    limits = RiskLimits(max_order_size_pct=D(rnd.choice(["50", "100", "5"])), max_open_orders=rnd.choice([3, 50]))
    ex = MemoryExchange(SPECS.values(), limits=limits)
    t = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)  # crosses midnight: the daily loss anchors move
    prices = {"BTCUSDT": D("64000.00"), "ETHUSDT": D("3000.00")}
    for symbol, price in prices.items():
        ex.set_price(symbol, price, t=t, volume_24h_quote=rnd.choice([None, D("1500000000"), D("2000000")]))
    wallets = [ex.create_wallet({"USDT": D(rnd.choice(["1000", "10000", "100000"])),
                                 "BTC": D(rnd.choice(["0", "0.5"]))}, t=t) for _ in range(3)]
    out: list = []
    for step in range(rnd.randint(60, 200)):
        t += timedelta(seconds=rnd.choice([1, 5, 30, 600]))
        symbol = rnd.choice(list(prices))
        price, r = prices[symbol], rnd.random()
        try:
            if r < 0.12:
                events, prices[symbol] = _candle(ex, rnd, t, symbol, price)
                out.append(("candle", events))
            elif r < 0.18:
                out.append(("sweep", _book_sweep(ex, rnd, t, symbol, price)))
            elif r < 0.25:
                opened = [o for o in ex.orders.values() if o.is_open]
                if opened:
                    o = rnd.choice(opened)
                    out.append(("cancel", ex.cancel(o.wallet_id, o.id, t=t)))
            else:
                out.append(("order", _place(ex, rnd, t, step, wallets, symbol, price)))
        except EngineRejection as exc:
            out.append(("rejected", exc.code, exc.message, exc.details))
        except (ValueError, TypeError) as exc:
            out.append(("error", type(exc).__name__, str(exc)))
    for w in wallets:
        out.append(("valuation", ex.valuation(w), ex.equity(w), ex.balances(w), ex.open_orders(w)))
    out.append(("fills", ex.fills))
    out.append(("events", [(e.type, e.wallet_id, e.symbol, e.data) for e in ex.events]))
    out.append(("orders", list(ex.orders.values())))
    return out


def digest(sessions: int) -> tuple[str, int]:
    """(sha256 of the canonical text of seeds 0..sessions-1, number of events)."""
    h = hashlib.sha256()
    events = 0
    for seed in range(sessions):
        out = session(seed)
        events += len(out[-2][1])
        h.update(canon(out).encode())
    return h.hexdigest(), events


if __name__ == "__main__":
    import trading.engine

    sha, n = digest(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    print(f"{'compiled' if trading.engine.COMPILED else 'interpreted'} {n} events {sha}")
