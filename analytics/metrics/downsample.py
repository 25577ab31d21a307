"""Which points of an equity curve a downsampling keeps (pure numpy; the analytics app moves the rows).

Kept: the first point (when asked) and the last point of the range, the last point of every bucket (its close), and
every extreme that changes a drawdown: the peak an episode starts from (the last point at the running peak before the
curve drops below it), the lowest point of each run under water, and the recovery (the first point back at or above
the peak). Everything else is a point under water but above its episode's trough, or a new high that no drop
follows before a higher one — removing those changes neither the max drawdown nor the drawdown durations:

    max drawdown, and every episode's peak, depth and peak-to-recovery time, are the same on the kept points
    as on the whole curve (tests/test_downsample.py shows it for any curve and any chunking).

A range can be processed in chunks (each run handles the points that aged past a cut-off): ``prior_peak`` is the
running peak of everything before the chunk and ``prior_under`` whether its last point was below that peak.
"""

from __future__ import annotations

import numpy as np


def keep_mask(ts: np.ndarray, equity: np.ndarray, *, bucket_seconds: int, prior_peak: float | None = None,
              prior_under: bool = False, keep_first: bool = True) -> np.ndarray:
    """Boolean mask of the points to keep; ``ts`` in epoch seconds (increasing), ``equity`` as floats."""
    n = len(ts)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    ts = np.asarray(ts, dtype=np.float64)
    e = np.asarray(equity, dtype=np.float64)
    bucket = np.floor(ts / bucket_seconds)
    keep[:-1] = bucket[:-1] != bucket[1:]  # the last point of each bucket
    keep[-1] = True
    if keep_first:
        keep[0] = True
    peak = np.maximum.accumulate(e if prior_peak is None else np.maximum(e, prior_peak))
    under = e < peak
    prev_under = np.concatenate(([prior_under], under[:-1]))
    next_under = np.concatenate((under[1:], [False]))
    keep |= ~under & next_under  # the peak an episode starts from
    keep |= ~under & prev_under  # the recovery
    if under.any():
        idx = np.flatnonzero(under)
        run = np.cumsum(np.concatenate(([True], np.diff(idx) > 1)))  # run id of each under-water point
        order = np.lexsort((e[idx], run))  # by run, then by equity: the first of each run is its trough
        firsts = order[np.concatenate(([True], run[order][1:] != run[order][:-1]))]
        keep[idx[firsts]] = True
    return keep
