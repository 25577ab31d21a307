"""A fresh start has candle history (issue 8 item 16): ``load_replay_history`` puts the day before the replay clock
into the store, idempotently, and the replay feed starts exactly where that history ends."""

import gzip
from datetime import datetime, timedelta, timezone

from decimal import Decimal

import pytest
from django.core.management import call_command

from market.candle_files import parse_ts_ms
from market.feed.sources.replay import ReplaySource
from market.models import Candle
from market.prices import get_instrument
from market.tests.conftest import CANDLES_DIR

pytestmark = pytest.mark.django_db

DAY = 24 * 60


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def test_the_day_before_the_replay_clock_is_loaded_once(pairs, candle_slice, tmp_path, capsys, api):
    directory = candle_slice("BTCUSDT", DAY + 120)  # 26 h of candles: a day of history, 2 h to replay
    candle_slice("ETHUSDT", DAY + 120, directory=directory)
    call_command("load_replay_history", replay_dir=str(directory))
    first_out = capsys.readouterr().out
    stored = Candle.objects.filter(symbol="BTCUSDT").order_by("open_time")
    assert stored.count() == DAY and Candle.objects.filter(symbol="ETHUSDT").count() == DAY
    first, last = stored.first().open_time, stored.last().open_time
    assert last - first == timedelta(minutes=DAY - 1)
    assert f"{2 * DAY} new" in first_out

    # idempotent: a second start writes nothing
    call_command("load_replay_history", replay_dir=str(directory))
    assert "(0 new)" in capsys.readouterr().out
    assert Candle.objects.filter(symbol="BTCUSDT").count() == DAY

    # the replay clock starts right after the history: its first tick is the next minute
    clock = last + timedelta(minutes=1)
    assert f"replay starts at {clock:%Y-%m-%dT%H:%M:%SZ}" in first_out

    # and /market/candles serves the 24 h before the replay clock
    response = api.get("/api/v1/market/candles/BTCUSDT", {"interval": "1h", "limit": 100,
                                                           "start": (clock - timedelta(hours=24)).isoformat(),
                                                           "end": clock.isoformat()})
    assert response.status_code == 200, response.content
    bars = response.json()
    bars = bars if isinstance(bars, list) else bars.get("candles", bars.get("results"))
    assert len(bars) >= 24


def test_the_replay_feed_starts_where_the_history_ends(pairs, candle_slice):
    directory = candle_slice("BTCUSDT", DAY + 30)
    call_command("load_replay_history", replay_dir=str(directory))
    last = Candle.objects.filter(symbol="BTCUSDT").order_by("-open_time").first()
    source = ReplaySource(directory=directory, instruments=[get_instrument("BTCUSDT")], speed=0, loop=False)
    source.open()
    updates = source.poll()
    assert updates, "the replay produced no ticks"
    assert _utc(updates[0].ts_ms) >= last.open_time + timedelta(minutes=1)
    assert _utc(updates[0].ts_ms) < last.open_time + timedelta(minutes=2)
    # the history bar is the candle the file holds (the feed would have stored the same)
    with gzip.open(directory / "BTCUSDT-1m.csv.gz", "rt") as f:
        rows = f.read().splitlines()[1:]
    ts, o, h, l, c, v = rows[DAY - 1].split(",")  # noqa: E741
    assert parse_ts_ms(ts) == int(last.open_time.timestamp() * 1000)
    assert last.close == Decimal(c)


def test_without_a_replay_directory_nothing_happens(pairs, settings, capsys):
    settings.FEED_REPLAY_DIR = ""
    call_command("load_replay_history")
    assert "nothing to load" in capsys.readouterr().out
    assert not Candle.objects.exists()


def test_the_shared_data_loads_in_seconds(pairs, capsys):
    """The real files (30 days of five pairs): one day per pair, on the first start."""
    if not CANDLES_DIR.is_dir():
        pytest.skip("no shared candle data")
    call_command("load_replay_history", replay_dir=str(CANDLES_DIR))
    out = capsys.readouterr().out
    symbols = set(Candle.objects.values_list("symbol", flat=True))
    assert {"BTCUSDT", "ETHUSDT"} <= symbols
    for symbol in symbols:
        assert Candle.objects.filter(symbol=symbol).count() >= DAY
    assert "replay starts at" in out
