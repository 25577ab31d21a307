"""One Redis client per process, or ``None`` in embedded mode."""

from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def get_redis():
    if not settings.REDIS_URL:
        return None
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30, socket_timeout=5)
