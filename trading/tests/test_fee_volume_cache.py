"""``trading.services.fees.wallet_volume_30d``: the Redis entry, held in the process until Redis expires it."""

import time
from decimal import Decimal

import pytest
from django.conf import settings

from common.redis import get_redis
from trading.services import fees
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(agent_factory):
    if get_redis() is None:
        pytest.skip("needs Redis")
    agent, _ = agent_factory()
    return current_wallet(agent)


def test_the_volume_is_read_from_redis_once_while_its_entry_lives(wallet, monkeypatch):
    key = f"{settings.TRADING_KEY_PREFIX}:vol30d:{wallet.pk}"
    get_redis().set(key, "1234.5", ex=60)
    assert fees.wallet_volume_30d(wallet_id=wallet.pk) == Decimal("1234.5")
    get_redis().set(key, "99", keepttl=True)  # nothing rewrites a live entry; if it did, this process would not see it
    assert fees.wallet_volume_30d(wallet_id=wallet.pk) == Decimal("1234.5")


def test_the_held_volume_expires_with_the_redis_entry(wallet):
    key = f"{settings.TRADING_KEY_PREFIX}:vol30d:{wallet.pk}"
    get_redis().set(key, "10", px=150)
    assert fees.wallet_volume_30d(wallet_id=wallet.pk) == Decimal("10")
    time.sleep(0.2)  # Redis dropped it: the volume is measured again (no fills: 0) and cached again
    assert fees.wallet_volume_30d(wallet_id=wallet.pk) == 0
    assert get_redis().get(key) == b"0"
    assert 0 < get_redis().ttl(key) <= settings.FEE_VOLUME_CACHE_SECONDS
