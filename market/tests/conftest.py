import gzip
import uuid
from pathlib import Path

import pytest

CANDLES_DIR = Path("/work/shared/data/candles")


@pytest.fixture(autouse=True)
def market_prefix(settings):
    """A Redis key/channel prefix of this test's own, so parallel tests (and a running feed) never collide."""
    from common.redis import get_redis

    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.MARKET_KEY_PREFIX = prefix
    yield prefix
    redis = get_redis()
    if redis is not None:
        keys = list(redis.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def pairs(db):
    """The default pairs (a transactional test elsewhere may have flushed the migration's seed)."""
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()
    yield
    instruments_cache_clear()


@pytest.fixture
def candle_slice(tmp_path):
    """``candle_slice(symbol, rows, gz=True)`` -> a directory with the first ``rows`` 1m candles of ``symbol``
    copied from the shared data (the files themselves stay where they are)."""

    def make(symbol: str, rows: int, *, gz: bool = True, directory: Path | None = None) -> Path:
        directory = directory or tmp_path
        with gzip.open(CANDLES_DIR / f"{symbol}-1m.csv.gz", "rt") as src:
            lines = [next(src) for _ in range(rows + 1)]
        target = directory / (f"{symbol}-1m.csv.gz" if gz else f"{symbol}-1m.csv")
        opener = gzip.open if gz else open
        with opener(target, "wt") as out:
            out.writelines(lines)
        return directory

    return make
