"""What the trading services read of the market, through ``market.prices`` (Redis) in one place.

Converts ``market.models.Instrument`` rows into the engine's ``InstrumentSpec`` and turns "no usable price" into the
API's ``MARKET_CLOSED`` rejection, so the order services never touch the market app's internals.
"""

from decimal import Decimal

from common.errors import BusinessRejection
from trading.engine.types import InstrumentSpec, MarketState


class MarketClosed(BusinessRejection):
    code = "MARKET_CLOSED"


def instrument_spec(symbol: str) -> InstrumentSpec:
    """The pair's exchange filters. Raises ``UNKNOWN_SYMBOL`` (404) for a pair that is not listed."""
    from market import prices

    inst = prices.get_instrument(symbol)
    if isinstance(inst, InstrumentSpec):
        return inst
    return InstrumentSpec(symbol=inst.symbol, base=inst.base, quote=inst.quote, tick_size=inst.tick_size,
                          step_size=inst.step_size, min_qty=inst.min_qty, min_notional=inst.min_notional)


def instrument_is_trading(symbol: str) -> bool:
    from market import prices

    inst = prices.get_instrument(symbol)
    return getattr(inst, "status", "trading") == "trading"


def market_state(symbol: str, *, require_fresh: bool = False) -> MarketState:
    """The pair's last price and book. ``MARKET_CLOSED`` when there is no price (or a stale one and
    ``require_fresh``): nothing may execute against a price the feed no longer vouches for."""
    from market import prices
    from market.errors import PriceUnavailable

    try:
        state = prices.get_market_state(symbol)
    except PriceUnavailable:
        raise MarketClosed(f"{symbol} has no price yet: the market is closed for trading.",
                           details={"symbol": symbol, "reason": "no_price"}) from None
    if require_fresh and state.stale:
        raise MarketClosed(f"The price of {symbol} is stale (the feed is not updating it): market orders are "
                           f"refused until it is fresh again.", details={"symbol": symbol, "reason": "stale_price"})
    return state


def one_read_per_pair():
    """A block in which each pair's market data is read once (``market.prices.one_read_per_pair``)."""
    from market import prices

    return prices.one_read_per_pair()


def last_prices(symbols: list[str]) -> dict[str, Decimal]:
    """Last price of each symbol that has one (one Redis round trip), for valuations."""
    from trading.selectors import last_prices as read

    return read(symbols=symbols) if symbols else {}
