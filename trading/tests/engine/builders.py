"""Small builders for engine tests: a BTCUSDT-like and an XRPUSDT-like pair, markets, intents, risk contexts."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from trading.engine.fees import fee_rate_for
from trading.engine.limits import RiskLimits
from trading.engine.types import (
    BookLevel,
    InstrumentSpec,
    MarketState,
    OrderIntent,
    OrderType,
    RiskContext,
    Side,
    TimeInForce,
)

D = Decimal
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

BTC = InstrumentSpec(symbol="BTCUSDT", base="BTC", quote="USDT", tick_size=D("0.01"), step_size=D("0.00001"),
                     min_qty=D("0.00001"), min_notional=D("5"))
XRP = InstrumentSpec(symbol="XRPUSDT", base="XRP", quote="USDT", tick_size=D("0.0001"), step_size=D("0.1"),
                     min_qty=D("0.1"), min_notional=D("5"))
BASE_RATE = fee_rate_for(D(0))  # maker 8 bps, taker 10 bps

# The reference book of the matching tests, around a last price of 64000.00.
ASKS = ((D("64001.00"), D("0.1")), (D("64010.00"), D("0.5")))
BIDS = ((D("63999.00"), D("0.2")), (D("63990.00"), D("1")))


def market(last="64000.00", *, asks=(), bids=(), volume=None, symbol="BTCUSDT") -> MarketState:
    return MarketState(symbol=symbol, last_price=D(last), ts=NOW,
                       asks=tuple(BookLevel(D(p), D(q)) for p, q in asks),
                       bids=tuple(BookLevel(D(p), D(q)) for p, q in bids),
                       volume_24h_quote=None if volume is None else D(volume))


def booked(last="64000.00", **kw) -> MarketState:
    return market(last, asks=ASKS, bids=BIDS, **kw)


def intent(side="buy", type="market", *, quantity=None, quote_quantity=None, price=None, trigger_price=None,
           tif="gtc", post_only=False, reduce_only=False, symbol="BTCUSDT") -> OrderIntent:
    def dec(v):
        return None if v is None else D(v)

    return OrderIntent(symbol=symbol, side=Side(side), type=OrderType(type), quantity=dec(quantity),
                       quote_quantity=dec(quote_quantity), price=dec(price), trigger_price=dec(trigger_price),
                       time_in_force=TimeInForce(tif), post_only=post_only, reduce_only=reduce_only)


def risk_ctx(**overrides) -> RiskContext:
    """A buy of 0.03 BTC at 64000 (1920 USDT, fee 1.92) from a fresh 10,000 USDT wallet: passes every rule."""
    base = RiskContext(limits=RiskLimits(), side=Side.BUY, quantity=D("0.03"), price=D("64000"),
                       notional=D("1920"), fee=D("1.92"), balance_required=D("1921.92"),
                       available_quote=D("10000"), available_base=D("0"), position_quantity=D("0"),
                       equity=D("10000"), starting_balance=D("10000"), day_start_equity=D("10000"),
                       quote_asset="USDT", base_asset="BTC")
    return replace(base, **overrides)
