"""Rows as the trading layer writes them: equity snapshots (the beat task's) and sell fills (a closed trade)."""

from datetime import datetime
from decimal import Decimal

from trading.models import EquitySnapshot, Fill, Order


def snapshot(wallet, ts: datetime, equity, *, cash=None) -> EquitySnapshot:
    equity = Decimal(str(equity))
    cash = equity if cash is None else Decimal(str(cash))
    return EquitySnapshot.objects.create(wallet=wallet, agent_id=wallet.agent_id, ts=ts, equity=equity, cash=cash,
                                         positions_value=equity - cash)


def snapshots(wallet, points) -> None:
    EquitySnapshot.objects.bulk_create([
        EquitySnapshot(wallet=wallet, agent_id=wallet.agent_id, ts=ts, equity=Decimal(str(e)), cash=Decimal(str(e)),
                       positions_value=Decimal(0)) for ts, e in points])


def sell_fill(wallet, pnl, at: datetime, *, symbol="BTCUSDT") -> Fill:
    """A filled sell order and its fill that realized ``pnl``; ``created_at`` set to ``at``."""
    order = Order.objects.create(wallet=wallet, agent_id=wallet.agent_id, symbol=symbol, base_asset="BTC",
                                 quote_asset="USDT", side="sell", type="market", status="filled",
                                 quantity=Decimal("0.01"), filled_quantity=Decimal("0.01"), body_hash="test",
                                 locked_asset="BTC", maker_fee_bps=Decimal(8), taker_fee_bps=Decimal(10), fill_count=1)
    fill = Fill.objects.create(order=order, seq=1, wallet=wallet, agent_id=wallet.agent_id, symbol=symbol,
                               side="sell", price=Decimal("60000"), quantity=Decimal("0.01"),
                               quote_amount=Decimal("600"), fee=Decimal("0.6"), fee_asset="USDT", liquidity="taker",
                               realized_pnl=Decimal(str(pnl)))
    Fill.objects.filter(pk=fill.pk).update(created_at=at)
    return fill
