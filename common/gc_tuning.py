"""The cyclic garbage collector's thresholds in the platform's processes.

Set by ``CommonConfig.ready``, so in every process that sets Django up: web, Celery worker and beat, feed, sweeper,
management commands and tests. No Django here: ``bench/engine_bench.py`` applies it to its Django-free process too.

CPython (3.11) runs a young-generation collection every 700 net allocations of container objects, and every tenth of
those walks the middle generation too. An order through the engine allocates some 70 such objects (orders, fills,
postings, events, Decimals' tuples...), so the collector ran about every ten orders, and the objects that live on
(open orders, fills, positions, a backtest's candles) were walked again and again. Measured on
``bench/engine_bench.py``'s driver (compiled engine, events consumed as a backtest consumes them): 45,000-51,000
orders/s at Python's 700, 55,600-58,400/s at 20,000, 55,900-58,500/s with the collector off. Cycles are still found,
in rarer and bigger passes; what it costs is memory, at most some 20,000 young objects (a few MB) waiting per
process. ``GC_GEN0_THRESHOLD=0`` keeps Python's defaults.
"""

import gc

GEN0_THRESHOLD = 20_000


def configure(gen0: int = GEN0_THRESHOLD) -> tuple[int, int, int]:
    """Set the young generation's threshold (0: leave Python's), keep the older ones; return the thresholds."""
    if gen0 > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)
    return gc.get_threshold()
