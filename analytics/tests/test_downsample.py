"""Downsampling keeps the first and last points and every extreme that changes a drawdown (property tests)."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics import performance
from analytics.metrics.downsample import keep_mask

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def _episodes(ts, e):
    """(peak ts, trough value, recovery ts or None) of every drawdown episode."""
    out, peak, peak_t, trough, under = [], -np.inf, None, None, False
    for t, v in zip(ts, e):
        if v >= peak:
            if under:
                out.append((peak_t, peak, trough, t))
            peak, peak_t, under, trough = v, t, False, None
        else:
            under = True
            trough = v if trough is None else min(trough, v)
    if under:
        out.append((peak_t, peak, trough, None))
    return out


values = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=300)


@settings(max_examples=400, deadline=None)
@given(values=values, chunks=st.lists(st.integers(min_value=1, max_value=120), max_size=5),
       bucket=st.sampled_from([300, 3600]))
def test_kept_points_preserve_every_drawdown_episode(values, chunks, bucket):
    ts = T0 + 60.0 * np.arange(len(values))
    e = np.array(values, dtype=float)
    # process in chunks, as the scheduled job does, carrying the running peak
    keep = np.zeros(len(e), dtype=bool)
    start, prior_peak, prior_under = 0, None, False
    cuts = sorted({min(len(e), c) for c in np.cumsum(chunks)} | {len(e)})
    for cut in cuts:
        if cut <= start:
            continue
        m = keep_mask(ts[start:cut], e[start:cut], bucket_seconds=bucket, prior_peak=prior_peak,
                      prior_under=prior_under, keep_first=start == 0)
        keep[start:cut] = m
        prior_peak = max(e[:cut])
        prior_under = e[cut - 1] < prior_peak
        start = cut
    assert keep[0] and keep[-1]
    assert _episodes(ts[keep], e[keep]) == _episodes(ts, e)
    # ... and so the drawdown metrics, whatever `now` is
    now = datetime.fromtimestamp(ts[-1] + 3600, timezone.utc)
    full = performance([(datetime.fromtimestamp(t, timezone.utc), Decimal(int(v))) for t, v in zip(ts, e)], [],
                       now=now)
    kept = performance([(datetime.fromtimestamp(t, timezone.utc), Decimal(int(v))) for t, v in
                        zip(ts[keep], e[keep])], [], now=now)
    assert (kept.max_drawdown_pct, kept.max_drawdown_duration, kept.roi_pct) == \
        (full.max_drawdown_pct, full.max_drawdown_duration, full.roi_pct)


def test_a_flat_or_rising_curve_keeps_one_point_per_bucket():
    ts = T0 + 60.0 * np.arange(600)  # 10 hours of minutes
    rising = np.linspace(100, 200, 600)
    assert keep_mask(ts, rising, bucket_seconds=3600).sum() == 10 + 1  # bucket closes + the first point
    assert keep_mask(ts, np.full(600, 100.0), bucket_seconds=300).sum() == 120 + 1


def test_the_extremes_are_kept():
    ts = T0 + 60.0 * np.arange(12)
    e = np.array([100, 101, 105, 103, 90, 95, 92, 104, 106, 107, 107, 108], dtype=float)
    keep = keep_mask(ts, e, bucket_seconds=3600)
    kept = list(e[keep])
    assert kept == [100, 105, 90, 106, 108]  # first, peak, trough, recovery, last
