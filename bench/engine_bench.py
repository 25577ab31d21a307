"""How long the engine's per-order functions take, in microseconds per call (median and p99 of batches), and how
many market orders the in-memory driver places, fills and settles per second in one process (target >= 50,000/s).

Baseline, measured in the same run: one Decimal multiply-and-quantize (the unit of work a fill is made of).
Run: .venv/bin/python bench/engine_bench.py [--batches 200 --per-batch 200] [--driver-orders 20000] [--profile]
It runs the compiled engine when bin/build-engine has built the current sources (TRADING_ENGINE_PURE=1: interpreted)
and says which; --profile (cProfile) sees only interpreted functions, so it profiles the interpreted engine best.
"""

import argparse
import os
import pathlib
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal as D

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import trading.engine  # noqa: E402
from trading.engine import _native  # noqa: E402
from trading.engine.fees import fee_rate_for  # noqa: E402
from trading.engine.limits import RiskLimits  # noqa: E402
from trading.engine.matching import crossing_bounds, match_order, match_resting, preview  # noqa: E402
from trading.engine.positions import apply_fill  # noqa: E402
from trading.engine.risk import run_chain  # noqa: E402
from trading.engine.types import (  # noqa: E402
    BookLevel,
    InstrumentSpec,
    MarketState,
    OrderIntent,
    OrderType,
    PositionState,
    RestingOrder,
    RiskContext,
    Side,
    TimeInForce,
)
from trading.engine.validation import validate_intent  # noqa: E402
from trading.engine.memory import MemoryExchange  # noqa: E402

BTC = InstrumentSpec("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))
RATE = fee_rate_for(D(0))
NOW = datetime.now(UTC)
BOOK = MarketState("BTCUSDT", D("64000.00"), NOW,
                   asks=tuple(BookLevel(D("64000.00") + D(i), D("0.05")) for i in range(1, 21)),
                   bids=tuple(BookLevel(D("64000.00") - D(i), D("0.05")) for i in range(1, 21)))
NO_BOOK = MarketState("BTCUSDT", D("64000.00"), NOW, volume_24h_quote=D("1500000000"))
MARKET_BUY = OrderIntent("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("0.12"), time_in_force=TimeInForce.IOC)
LIMIT_BUY = OrderIntent("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.12"), price=D("63950.00"))
CTX = RiskContext(limits=RiskLimits(), side=Side.BUY, quantity=D("0.03"), price=D("64000"), notional=D("1920"),
                  fee=D("1.92"), balance_required=D("1921.92"), available_quote=D("10000"), available_base=D(0),
                  position_quantity=D(0), equity=D("10000"), starting_balance=D("10000"),
                  day_start_equity=D("10000"), base_asset="BTC")
POSITION = PositionState(quantity=D("0.4"), avg_entry_price=D("63000"), cost_basis=D("25200"))


def baseline():
    return (D("64001.00") * D("0.12345")).quantize(D("1e-8"))


CASES = {
    "baseline: Decimal mul+quantize": baseline,
    "validate_intent (limit)": lambda: validate_intent(LIMIT_BUY, BTC),
    "match_order market, 3 of 20 levels": lambda: match_order(MARKET_BUY, BOOK, RATE, instrument=BTC),
    "match_order market, no book": lambda: match_order(MARKET_BUY, NO_BOOK, RATE, instrument=BTC),
    "match_order limit, rests": lambda: match_order(LIMIT_BUY, BOOK, RATE, instrument=BTC),
    "match_resting (fills)": lambda: match_resting(RestingOrder(Side.BUY, D("63950.00"), D("0.12")),
                                                   D("63900.00"), RATE, instrument=BTC),
    "preview market, book": lambda: preview(MARKET_BUY, BOOK, RATE, instrument=BTC),
    "risk run_chain (8 rules)": lambda: run_chain(CTX),
    "apply_fill (sell)": lambda: apply_fill(POSITION, Side.SELL, D("0.1"), D("65000"), D("6.5")),
    "crossing_bounds": lambda: crossing_bounds(Side.SELL, D("64000.00")),
}


def measure(fn, batches, per_batch):
    per_call = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(per_batch):
            fn()
        per_call.append((time.perf_counter_ns() - start) / per_batch / 1000)
    per_call.sort()
    return statistics.median(per_call), per_call[min(len(per_call) - 1, int(len(per_call) * 0.99))]


def driver_run(orders: int, batch: int = 500, drain: bool = False):
    """Market orders through the in-memory driver (validate, preview, risk chain, lock, match, settle, events),
    alternating buys and sells on 20 wallets, no book (the slippage model). Per-order time of each batch.
    ``drain``: take the events after each batch (``drain_events``), as a backtest that consumes them each step
    does; otherwise every event stays in ``ex.events`` (and the garbage collector walks them all)."""
    from datetime import timedelta

    ex = MemoryExchange([BTC])
    ex.set_price("BTCUSDT", D("64000.00"), t=NOW, volume_24h_quote=D("1500000000"))
    wallets = [ex.create_wallet({"USDT": D("1000000")}, t=NOW) for _ in range(20)]
    qty = D("0.01")
    per_order, cpu_per_order = [], []
    t = NOW
    n = 0
    while n < orders:
        start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        for i in range(batch):
            t += timedelta(seconds=1)  # keeps each wallet under the 100 orders/minute rate limit
            side = "buy" if (n + i) // 20 % 2 == 0 else "sell"
            ex.place(wallets[(n + i) % 20], t=t, symbol="BTCUSDT", side=side, type="market", quantity=qty)
        if drain:
            ex.drain_events()
        per_order.append((time.perf_counter_ns() - start) / batch / 1000)
        cpu_per_order.append((time.process_time_ns() - cpu_start) / batch / 1000)
        n += batch
    filled = sum(1 for o in ex.orders.values() if o.status == "filled")
    assert filled == n, (filled, n)
    per_order.sort()
    cpu_per_order.sort()
    return (statistics.median(per_order), per_order[min(len(per_order) - 1, int(len(per_order) * 0.99))], n,
            per_order[0], statistics.median(cpu_per_order), cpu_per_order[0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--per-batch", type=int, default=200)
    parser.add_argument("--driver-orders", type=int, default=20000)
    parser.add_argument("--profile", action="store_true", help="cProfile the driver run (top 25 by own time)")
    args = parser.parse_args()
    if trading.engine.COMPILED:
        print(f"engine: compiled (mypyc, {_native.build_dir().relative_to(_native.ROOT)})")
    else:
        why = f"{_native.PURE_ENV} is set" if os.environ.get(_native.PURE_ENV, "") not in ("", "0") else \
            "no build of these sources: bin/build-engine"
        print(f"engine: interpreted ({why})")
    results = {name: measure(fn, args.batches, args.per_batch) for name, fn in CASES.items()}
    base = results["baseline: Decimal mul+quantize"][0]
    print(f"{'case':40} {'median us':>10} {'p99 us':>10} {'x baseline':>11} {'calls/s':>10}")
    for name, (median, p99) in results.items():
        print(f"{name:40} {median:10.2f} {p99:10.2f} {median / base:11.1f} {1e6 / median:10.0f}")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(driver_run, min(args.driver_orders, 5000))
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    print(f"\nin-memory driver, {args.driver_orders} market orders placed+filled+settled (20 wallets, buys and sells, "
          f"no book; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    # The target is about backtests. A backtest consumes the driver's events every step (backtests/runner.py clears
    # ex.events after each candle) in a process whose collector is set as every platform process sets it
    # (common/gc_tuning.py, from CommonConfig.ready): that is the headline. Beside it, the same with every event of
    # the run kept alive in ex.events, and with Python's default collector thresholds.
    import gc

    from common import gc_tuning

    python_default = gc.get_threshold()
    runs = (("as a backtest runs it: events consumed after every 500 orders, collector as the platform sets it "
             f"{gc_tuning.GEN0_THRESHOLD}", True, gc_tuning.GEN0_THRESHOLD, True),
            ("events kept for the whole run (nothing consumes them), same collector", False,
             gc_tuning.GEN0_THRESHOLD, False),
            (f"events consumed, Python's default collector thresholds {python_default}", True, python_default[0],
             False))
    for label, drain, gen0, headline in runs:
        gc.set_threshold(gen0, *python_default[1:])
        gc.collect()
        median, p99, n, best, cpu_median, cpu_best = driver_run(args.driver_orders, drain=drain)
        print(f"  {label}:")
        print(f"    wall per order: median {median:.2f} us, p99 (of 500-order batches) {p99:.2f} us, best batch "
              f"{best:.2f} us ({1e6 / best:,.0f}/s: what an idle CPU gives; the machine may be shared)")
        print(f"    CPU per order (this process): median {cpu_median:.2f} us, best batch {cpu_best:.2f} us "
              f"({1e6 / cpu_median:,.0f} orders per CPU-second)")
        print(f"    throughput: {1e6 / median:,.0f} orders/s wall" + (" (target >= 50,000/s)" if headline else "")
              + f"; {median / base:.0f}x the baseline")

if __name__ == "__main__":
    main()
