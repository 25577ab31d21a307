"""The tick-path rule, the volume split, the synthetic book and the rolling ticker (pure functions)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from market.feed.book import BookShape, synthesise_book
from market.feed.paths import split_volume, tick_offsets_ms, tick_path, waypoints
from market.feed.ticker import RollingTicker
from market.feed.types import Book

TICKS = st.sampled_from([Decimal("0.01"), Decimal("0.0001"), Decimal("0.1"), Decimal("1")])


@st.composite
def candles(draw):
    tick = draw(TICKS)
    low = draw(st.integers(min_value=1, max_value=10_000_000))
    high = low + draw(st.integers(min_value=0, max_value=100_000))
    o = draw(st.integers(min_value=low, max_value=high))
    c = draw(st.integers(min_value=low, max_value=high))
    return tuple(n * tick for n in (o, high, low, c)), tick


@settings(max_examples=300, deadline=None)
@given(candle=candles(), points=st.integers(min_value=1, max_value=60))
def test_path_stays_in_range_visits_every_price_and_is_deterministic(candle, points):
    (o, h, l, c), tick = candle  # noqa: E741
    path = tick_path(o, h, l, c, points=points, tick_size=tick)
    assert len(path) == max(4, points)
    assert all(l <= p <= h for p in path)
    assert path[0] == o and path[-1] == c
    assert h in path and l in path
    assert all(p % tick == 0 for p in path)  # every tick is a valid price of the pair
    assert path == tick_path(o, h, l, c, points=points, tick_size=tick)  # same input, same path
    # The extremes come in the order of the candle's shape.
    first_low, first_high = path.index(l), path.index(h)
    if c > o:
        assert first_low <= first_high
    elif c < o:
        assert first_high <= first_low


def test_waypoints_by_shape():
    D = Decimal
    assert waypoints(D(10), D(12), D(9), D(11)) == (D(10), D(9), D(12), D(11))  # bullish: dip, then rally
    assert waypoints(D(11), D(12), D(9), D(10)) == (D(11), D(12), D(9), D(10))  # bearish: pop, then sell-off
    assert waypoints(D(10), D(11), D(7), D(10)) == (D(10), D(11), D(7), D(10))  # doji: nearer extreme first
    assert waypoints(D(10), D(13), D(9), D(10)) == (D(10), D(9), D(13), D(10))


@settings(max_examples=300, deadline=None)
@given(volume=st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False),
       parts=st.integers(min_value=1, max_value=60))
def test_split_volume_adds_up_exactly(volume, parts):
    shares = split_volume(volume, parts)
    assert len(shares) == parts
    assert sum(shares, Decimal(0)) == volume
    assert all(s >= 0 for s in shares)


def test_tick_offsets_stay_inside_the_minute():
    for n in (4, 7, 60):
        offsets = tick_offsets_ms(n)
        assert offsets[0] == 0 and offsets[-1] < 60_000 and offsets == sorted(set(offsets))


@settings(max_examples=100, deadline=None)
@given(price=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(200_000), places=2), tick=TICKS)
def test_synthetic_book_brackets_the_price(price, tick):
    price = max(tick, (price / tick).to_integral_value() * tick)
    book = synthesise_book(price, tick_size=tick, step_size=Decimal("0.001"), shape=BookShape(depth=10))
    bids = [lv.price for lv in book.bids]
    asks = [lv.price for lv in book.asks]
    assert asks and len(asks) == 10
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
    assert asks == sorted(asks) and len(set(asks)) == len(asks)
    assert (not bids or bids[0] <= price) and asks[0] >= price and (not bids or asks[0] > bids[0])
    assert all(p > 0 and p % tick == 0 for p in bids + asks)
    assert all(lv.quantity > 0 for lv in book.bids + book.asks)
    stored = Book.from_json(book.to_json())  # the JSON the feed writes, made from integers, says the same
    assert stored.bids == book.bids and stored.asks == book.asks


def test_synthetic_book_documented_numbers():
    book = synthesise_book(Decimal("65000"), tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
                           shape=BookShape())
    assert book.bids[0].price == Decimal("64993.50") and book.asks[0].price == Decimal("65006.50")  # 2 bps
    assert book.bids[1].price == Decimal("64987.00")  # 1 bp further
    assert book.bids[0].quantity == Decimal("0.38461")  # 25,000 USDT
    assert book.bids[2].quantity == Decimal("0.76922")  # twice the best level
    assert len(book.bids) == len(book.asks) == 20


def test_rolling_ticker_window():
    t = RollingTicker()
    D = Decimal
    minute = 60_000
    t.add(0, D(100), D(1))
    t.add(30_000, D(90), D(1))
    t.add(minute, D(110), D(2))
    snap = t.snapshot()
    assert (snap.open, snap.high, snap.low, snap.last, snap.volume) == (D(100), D(110), D(90), D(110), D(4))
    assert snap.quote_volume == D(100) + D(90) + D(220)
    assert snap.change_pct == D(10)
    # 24 h later the first minute has left the window.
    t.add(1440 * minute, D(105), D(1))
    snap = t.snapshot()
    assert (snap.open, snap.high, snap.low, snap.volume) == (D(110), D(110), D(105), D(3))


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(min_value=0, max_value=3000), st.integers(min_value=1, max_value=999),
                                st.integers(min_value=0, max_value=50)), min_size=1, max_size=60))
def test_rolling_ticker_matches_a_brute_force_window(steps):
    """The O(1) window equals recomputing the last 1,440 minutes from scratch."""
    t = RollingTicker()
    ticks = []
    minute = 0
    for gap, price, volume in steps:
        minute += gap
        ticks.append((minute, Decimal(price), Decimal(volume)))
        t.add(minute * 60_000, Decimal(price), Decimal(volume))
        window = [x for x in ticks if x[0] > minute - 1440]
        snap = t.snapshot()
        assert snap.open == window[0][1] and snap.last == Decimal(price)
        assert snap.high == max(x[1] for x in window) and snap.low == min(x[1] for x in window)
        assert snap.volume == sum((x[2] for x in window), Decimal(0))
        assert snap.quote_volume == sum((x[1] * x[2] for x in window), Decimal(0))
