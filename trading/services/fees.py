"""Which fee tier a wallet is in: its rolling 30-day quote volume, cached briefly in Redis.

The tiers and the rate are the engine's (``trading.engine.fees``); this module only measures the volume. An order
keeps the rate it was accepted at (``maker_fee_bps`` / ``taker_fee_bps``), so its fills never need this again.
"""

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


def wallet_volume_30d(*, wallet_id) -> Decimal:
    """Quote volume of the wallet's fills over the last 30 days (cached ``FEE_VOLUME_CACHE_SECONDS``)."""
    redis = get_redis()
    key = f"{settings.TRADING_KEY_PREFIX}:vol30d:{wallet_id}"
    if redis is not None:
        cached = redis.get(key)
        if cached is not None:
            return Decimal(cached.decode())
    since = timezone.now() - VOLUME_WINDOW
    volume = Fill.objects.filter(wallet_id=wallet_id, created_at__gte=since).aggregate(
        v=Sum("quote_amount"))["v"] or ZERO
    if redis is not None:
        redis.set(key, str(volume), ex=settings.FEE_VOLUME_CACHE_SECONDS)
    return volume


def wallet_fee_rate(*, wallet_id) -> FeeRate:
    return fees.fee_rate_for(wallet_volume_30d(wallet_id=wallet_id), fee_tiers())


def order_fee_rate(order) -> FeeRate:
    """The rate an order was accepted at."""
    return FeeRate(maker_bps=order.maker_fee_bps, taker_bps=order.taker_fee_bps)
