"""Plain JSON-ready dicts of a session's state (decimal strings, ISO times): every field a function of the runner,
which holds nothing after the session's virtual time."""

from datetime import datetime
from decimal import Decimal

from common.money import fmt
from trading.engine import lifecycle as lc
from trading.engine import positions as pos

from .runner import Runner, WALLET


def _v(value):
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value"):  # str enums
        return str(value)
    return value


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def order(o: lc.OrderState) -> dict:
    d = lc.order_data(o)
    d.pop("wallet_id", None)
    d["fee_asset"] = d.pop("quote_asset")
    d.pop("base_asset", None)
    out = {k: _v(v) for k, v in d.items()}
    if o.filled_quantity:
        out["avg_fill_price"] = fmt((o.filled_quote / o.filled_quantity).quantize(Decimal("0.00000001")))
    return out


def fill(f: lc.FillRecord) -> dict:
    d = lc.fill_data(f)
    d.pop("client_order_id", None)
    d["slippage_pct"] = None if f.slippage_pct is None else fmt(f.slippage_pct, 6)
    return {k: (_v(v) if k != "slippage_pct" else v) for k, v in d.items()}


def prices(r: Runner) -> dict:
    return {s: fmt(p) for s, p in r.prices().items()}


def positions(r: Runner) -> list[dict]:
    out = []
    px = r.ex.prices()
    for symbol in r.config.pairs:
        p = r.ex.position(WALLET, symbol)
        if not p.quantity and not p.realized_pnl and not p.fees_paid:
            continue
        mark = px.get(symbol)
        out.append({"symbol": symbol, "quantity": fmt(p.quantity), "avg_entry_price": fmt(p.avg_entry_price),
                    "cost_basis": fmt(p.cost), "mark_price": fmt(mark),
                    "market_value": fmt(pos.market_value(p, mark)) if mark is not None else None,
                    "unrealized_pnl": fmt(pos.unrealized_pnl(p, mark)) if mark is not None else None,
                    "realized_pnl": fmt(p.realized_pnl), "fees_paid": fmt(p.fees_paid)})
    return out


def portfolio(r: Runner, *, with_positions: bool = True) -> dict:
    v = r.valuation()
    out = {"cash": fmt(v.cash), "positions_value": fmt(v.positions_value), "equity": fmt(v.equity),
           "realized_pnl": fmt(v.realized_pnl), "unrealized_pnl": fmt(v.unrealized_pnl), "fees_paid": fmt(v.fees_paid),
           "total_pnl": fmt(v.total_pnl), "roi_pct": fmt(v.roi_pct, 4)}
    if with_positions:
        out["positions"] = positions(r)
    return out


def balances(r: Runner) -> dict:
    v = r.valuation()
    rows = []
    for asset, b in sorted(r.ex.balances(WALLET).items()):
        rows.append({"asset": asset, "available": fmt(b.available), "locked": fmt(b.locked),
                     "total": fmt(b.available + b.locked)})
    return {"virtual_time": iso(r.now), "balances": rows, "total_equity_usdt": fmt(v.equity)}


def snapshot(r: Runner) -> dict:
    """The light per-step form of a batch's intermediate snapshots."""
    return {"step": r.step, "virtual_time": iso(r.now), "prices": prices(r), "equity": fmt(r.curve[-1][1])}
