"""The ccxt boundary: building an exchange, naming symbols, and turning ccxt's floats into exact decimals.

ccxt hands out floats (``64000.1``); every number crosses into the platform as ``Decimal(str(x))`` here and nowhere
else, so the shortest repr of the float ("64000.1") is what we keep.
"""

from decimal import Decimal

from django.conf import settings

from common.money import to_decimal


def create_exchange(exchange_id: str | None = None, *, timeout_ms: int | None = None):
    import ccxt

    exchange_id = exchange_id or settings.FEED_EXCHANGE
    try:
        cls = getattr(ccxt, exchange_id)
    except AttributeError as exc:
        raise ValueError(f"ccxt has no exchange {exchange_id!r}") from exc
    return cls({"enableRateLimit": True, "timeout": timeout_ms or settings.FEED_EXCHANGE_TIMEOUT_MS,
                "options": {"defaultType": "spot"}})


def ccxt_symbol(base: str, quote: str) -> str:
    return f"{base}/{quote}"


def dec(value) -> Decimal | None:
    """A ccxt number (float, int, numeric string or None) as an exact Decimal."""
    if value is None:
        return None
    result = to_decimal(value)
    if not result.is_finite():
        return None
    return result


def exchange_errors() -> tuple[type[BaseException], ...]:
    """What an exchange call may raise that means "try again later": ccxt's errors and socket trouble."""
    import ccxt

    return (ccxt.BaseError, OSError, TimeoutError)
