"""Which fee tier a wallet is in: its rolling 30-day quote volume, cached briefly in Redis.

The tiers and the rate are the engine's (``trading.engine.fees``); this module only measures the volume. An order
keeps the rate it was accepted at (``maker_fee_bps`` / ``taker_fee_bps``), so its fills never need this again.
"""

import time
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from common.money import ZERO
from common.redis import get_redis
from trading.engine import fees
from trading.engine.types import FeeRate
from trading.models import Fill

VOLUME_WINDOW = timedelta(days=30)


@lru_cache(maxsize=4)
def _tiers(config_key: str):
    return fees.parse_fee_tiers(settings.FEE_TIERS)


def fee_tiers():
    return _tiers(repr(settings.FEE_TIERS))


# Redis key -> (volume, time.monotonic() at which Redis expires it): the Redis entry, kept in this process until the
# moment Redis itself drops it (read with its PTTL), so a volume is exactly as stale as the Redis cache lets it be,
# and a placement reads it from Redis once per wallet per FEE_VOLUME_CACHE_SECONDS instead of once per order.
# Nothing rewrites an entry before it expires (it is only SET when missing).
_volumes: dict[str, tuple[Decimal, float]] = {}
_VOLUMES_MAX = 100_000


def _remember(key: str, volume: Decimal, expires: float) -> None:
    if len(_volumes) >= _VOLUMES_MAX:
        _volumes.clear()
    _volumes[key] = (volume, expires)


def wallet_volume_30d(*, wallet_id) -> Decimal:
    """Quote volume of the wallet's fills over the last 30 days (cached ``FEE_VOLUME_CACHE_SECONDS``)."""
    redis = get_redis()
    key = f"{settings.TRADING_KEY_PREFIX}:vol30d:{wallet_id}"
    if redis is not None:
        now = time.monotonic()
        held = _volumes.get(key)
        if held is not None and held[1] > now:
            return held[0]
        pipe = redis.pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        cached, pttl = pipe.execute()
        if cached is not None:
            volume = Decimal(cached.decode())
            if pttl > 0:
                _remember(key, volume, now + pttl / 1000)
            return volume
    since = timezone.now() - VOLUME_WINDOW
    volume = Fill.objects.filter(wallet_id=wallet_id, created_at__gte=since).aggregate(
        v=Sum("quote_amount"))["v"] or ZERO
    if redis is not None:
        redis.set(key, str(volume), ex=settings.FEE_VOLUME_CACHE_SECONDS)
        _remember(key, volume, now + settings.FEE_VOLUME_CACHE_SECONDS)
    return volume


def wallet_fee_rate(*, wallet_id) -> FeeRate:
    return fees.fee_rate_for(wallet_volume_30d(wallet_id=wallet_id), fee_tiers())


def order_fee_rate(order) -> FeeRate:
    """The rate an order was accepted at."""
    return FeeRate(maker_bps=order.maker_fee_bps, taker_bps=order.taker_fee_bps)
