"""Positions at mark, the portfolio, and the equity snapshots the analytics draw their curves from.

PnL rules are the engine's (``trading.engine.positions``): average cost, realized on sells, unrealized at mark.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.money import ZERO, quantize_amount
from trading.engine import positions as engine_positions
from trading.models import Balance, DailyEquityAnchor, EquitySnapshot, Position, Wallet
from trading.services.market import last_prices
from trading.services.risk import Valuation, wallet_valuation
from trading.services.settlement import position_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PositionView:
    symbol: str
    base_asset: str
    quote_asset: str
    quantity: Decimal
    avg_entry_price: Decimal
    cost_basis: Decimal
    mark_price: Decimal | None
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    unrealized_pnl_pct: Decimal | None
    realized_pnl: Decimal
    fees_paid: Decimal
    updated_at: object


def position_view(*, symbol: str, base_asset: str, quote_asset: str, state, mark: Decimal | None,
                  updated_at) -> PositionView:
    """A position (``PositionState``) valued at ``mark`` (None: no price): what the API and the streams show."""
    value = upnl = upnl_pct = None
    if mark is not None:
        value = engine_positions.market_value(state, mark)
        upnl = engine_positions.unrealized_pnl(state, mark)
        upnl_pct = (upnl / state.cost * 100).quantize(Decimal("0.0001")) if state.cost else ZERO
    return PositionView(symbol=symbol, base_asset=base_asset, quote_asset=quote_asset, quantity=state.quantity,
                        avg_entry_price=state.avg_entry_price, cost_basis=state.cost, mark_price=mark,
                        market_value=value, unrealized_pnl=upnl, unrealized_pnl_pct=upnl_pct,
                        realized_pnl=state.realized_pnl, fees_paid=state.fees_paid, updated_at=updated_at)


def positions_at_mark(*, wallet: Wallet, include_closed: bool = False, rows: list[Position] | None = None
                      ) -> list[PositionView]:
    """The wallet's positions (held ones; closed ones too with ``include_closed``) valued at their last price."""
    rows = list(Position.objects.filter(wallet=wallet).order_by("symbol")) if rows is None else rows
    if not include_closed:
        rows = [p for p in rows if p.quantity > 0]
    marks = last_prices([p.symbol for p in rows if p.quantity > 0])
    return [position_view(symbol=p.symbol, base_asset=p.base_asset, quote_asset=p.quote_asset,
                          state=position_state(p), mark=marks.get(p.symbol), updated_at=p.updated_at)
            for p in rows]


@dataclass(frozen=True)
class Portfolio:
    wallet_id: str
    epoch: int
    starting_balance: Decimal
    cash: Decimal
    cash_available: Decimal
    positions_value: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal
    total_pnl: Decimal
    roi_pct: Decimal
    positions: list[PositionView]
    unpriced_assets: tuple[str, ...]


def portfolio_get(*, wallet: Wallet) -> Portfolio:
    """Cash, positions at mark, equity, PnL and ROI of a wallet (PnL = equity - starting balance)."""
    balances = {b.asset: b for b in Balance.objects.filter(wallet=wallet)}
    quote = settings.QUOTE_ASSET
    rows = list(Position.objects.filter(wallet=wallet).order_by("symbol"))
    states = {p.symbol: position_state(p) for p in rows}
    symbols = {f"{a}{quote}" for a, b in balances.items() if a != quote and b.available + b.locked > 0}
    marks = last_prices(sorted(symbols | {p.symbol for p in rows if p.quantity > 0}))
    val = wallet_valuation(balances=balances, quote=quote, prices=marks, starting_balance=wallet.starting_balance,
                           positions=states)
    positions = [position_view(symbol=p.symbol, base_asset=p.base_asset, quote_asset=p.quote_asset,
                               state=states[p.symbol], mark=marks.get(p.symbol), updated_at=p.updated_at)
                 for p in rows if p.quantity > 0]
    cash_b = balances.get(quote)
    return Portfolio(wallet_id=str(wallet.pk), epoch=wallet.epoch, starting_balance=wallet.starting_balance,
                     cash=val.cash, cash_available=cash_b.available if cash_b else ZERO,
                     positions_value=val.positions_value, equity=val.equity, realized_pnl=val.realized_pnl,
                     unrealized_pnl=val.unrealized_pnl, fees_paid=val.fees_paid, total_pnl=val.total_pnl,
                     roi_pct=val.roi_pct, positions=positions, unpriced_assets=val.unpriced)


def equity_snapshot_all(*, now=None) -> int:
    """One EquitySnapshot per live wallet (current main wallets and open battle wallets), at one timestamp.

    Bulk: one query for the wallets and their balances, one price read, one INSERT. Also opens the day's
    DailyEquityAnchor of each wallet on the first snapshot after 00:00 UTC (the daily loss breaker's base).
    """
    now = (now or timezone.now()).replace(microsecond=0)
    wallets = {w.pk: w for w in Wallet.objects.filter(retired_at__isnull=True).only("id", "agent_id")}
    if not wallets:
        return 0
    balances: dict = {}
    for b in Balance.objects.filter(wallet_id__in=wallets.keys()):
        balances.setdefault(b.wallet_id, {})[b.asset] = b
    quote = settings.QUOTE_ASSET
    symbols = sorted({f"{a}{quote}" for bs in balances.values() for a, b in bs.items()
                      if a != quote and b.available + b.locked > 0})
    prices = last_prices(symbols)
    positions: dict = {}
    for p in Position.objects.filter(wallet_id__in=wallets.keys()):
        positions.setdefault(p.wallet_id, {})[p.symbol] = position_state(p)
    snaps, anchors = [], []
    day = now.date()
    for wallet_id, wallet in wallets.items():
        val: Valuation = wallet_valuation(balances=balances.get(wallet_id, {}), quote=quote, prices=prices,
                                          positions=positions.get(wallet_id, {}))
        snaps.append(EquitySnapshot(wallet_id=wallet_id, agent_id=wallet.agent_id, ts=now,
                                    cash=quantize_amount(val.cash), positions_value=quantize_amount(val.positions_value),
                                    equity=quantize_amount(val.equity), realized_pnl=val.realized_pnl,
                                    unrealized_pnl=val.unrealized_pnl))
        anchors.append(DailyEquityAnchor(wallet_id=wallet_id, day=day, equity=quantize_amount(val.equity)))
    with transaction.atomic():
        EquitySnapshot.objects.bulk_create(snaps, ignore_conflicts=True)
        DailyEquityAnchor.objects.bulk_create(anchors, ignore_conflicts=True)  # keeps the day's first one
    return len(snaps)


def equity_snapshots_prune(*, older_than_days: int) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = EquitySnapshot.objects.filter(ts__lt=cutoff).delete()
    return deleted
