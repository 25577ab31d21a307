"""``GET /agents/{id}/skill.md``: a Markdown brief an LLM agent can act on, generated for one agent.

It names the agent, its key prefix (never the key), the scope of its primary key, its effective risk limits and
the endpoints that key may call, with curl examples using ``$AGENT_KEY``. Pure text assembly: the view gathers
the facts (``SkillFacts``) and ``skill_markdown`` writes them down.

``ENDPOINT_GROUPS`` is the catalogue of API.md; an agent is told only about the endpoints this deployment actually
routes (``routed_endpoint_groups`` resolves each against the URL conf), so a section appears by itself once the
app that serves it is installed, and an LLM is never sent to a 404.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from agents.risk import plain_decimal
from common.routing import path_is_routed
from trading.engine.limits import RiskLimits


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    what: str

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


# What an agent key may call (API.md). Writes are listed only for a key with scope "trade".
ENDPOINT_GROUPS: list[tuple[str, list[Endpoint]]] = [
    ("Identity", [
        Endpoint("GET", "/agents/me", "This agent's id, name, status and the scope of the key you are using."),
    ]),
    ("Account (your wallet)", [
        Endpoint("GET", "/account/info", "Agent, wallet and epoch summary."),
        Endpoint("GET", "/account/balance", "Per asset: available, locked, total; plus total_equity_usdt."),
        Endpoint("GET", "/account/positions",
                 "quantity, avg_entry_price, mark_price, unrealized_pnl, realized_pnl per symbol."),
        Endpoint("GET", "/account/portfolio", "Equity, cash, positions value and PnL in one call."),
    ]),
    ("Market data (public, no key needed)", [
        Endpoint("GET", "/market/pairs", "Tradable symbols with tick_size, step_size, min_qty, min_notional."),
        Endpoint("GET", "/market/price/{symbol}", "Last price of one symbol."),
        Endpoint("GET", "/market/prices", "Last price of every symbol."),
        Endpoint("GET", "/market/ticker/{symbol}", "24 h open/high/low/last/volume/change_pct."),
        Endpoint("GET", "/market/candles/{symbol}?interval=1m&limit=100",
                 "Candles; interval 1m|5m|15m|1h|4h|1d, optional start/end."),
        Endpoint("GET", "/market/orderbook/{symbol}?depth=20", "Order book bids/asks."),
        Endpoint("GET", "/market/fees", "Maker/taker fees in bps per 30-day volume tier."),
    ]),
    ("Trading", [
        Endpoint("POST", "/trade/order/preview", "Dry run of an order: approved?, notional, fee, slippage, checks."),
        Endpoint("POST", "/trade/order", "Place an order (see Order rules)."),
        Endpoint("GET", "/trade/order/{id}", "One order, by id or by your client_order_id."),
        Endpoint("GET", "/trade/orders?status=&symbol=&since=", "Your orders, paginated (limit/offset)."),
        Endpoint("GET", "/trade/orders/open", "Your resting orders."),
        Endpoint("DELETE", "/trade/order/{id}", "Cancel one order."),
        Endpoint("DELETE", "/trade/orders/open?symbol=", "Cancel all open orders (the kill switch)."),
        Endpoint("POST", "/trade/quotes/bulk",
                 "Atomically replace your resting orders on one symbol: {symbol, cancel_all, quotes: [...]}."),
        Endpoint("POST", "/trade/positions/close", "Flatten a position: {symbol, quantity?}."),
        Endpoint("GET", "/trade/history", "Your fills: price, quantity, fee, liquidity, slippage_pct, order_id."),
    ]),
    ("Streams (Server-Sent Events)", [
        Endpoint("GET", "/stream/user?open_only=&interval_ms=", "Your orders, fills and positions, live."),
        Endpoint("GET", "/stream/events?symbol=&depth=&interval_ms=",
                 "One symbol's book and trades plus your fills and positions."),
    ]),
    ("Analytics", [
        Endpoint("GET", "/analytics/performance?period=1d|7d|30d|all",
                 "sharpe, sortino, calmar, max drawdown, win rate, profit factor, roi_pct, total_pnl, ..."),
        Endpoint("GET", "/analytics/portfolio/history?interval=", "Your equity curve."),
        Endpoint("GET", "/analytics/leaderboard?metric=&period=", "Public leaderboard."),
    ]),
    ("Backtests (replay history; nothing after the session clock is visible)", [
        Endpoint("POST", "/backtest/create",
                 "{start_time, end_time, interval, pairs, starting_balance, strategy_label?} -> session_id."),
        Endpoint("POST", "/backtest/{id}/start", "Start a session."),
        Endpoint("POST", "/backtest/{id}/step", "Advance one step: prices, fills, portfolio, progress."),
        Endpoint("POST", "/backtest/{id}/step/batch", "Advance {steps} steps."),
        Endpoint("POST", "/backtest/{id}/cancel", "Cancel a session."),
        Endpoint("POST", "/backtest/{id}/trade/order", "Place an order inside the session."),
        Endpoint("GET", "/backtest/{id}/trade/orders", "The session's orders."),
        Endpoint("DELETE", "/backtest/{id}/trade/order/{oid}", "Cancel a session order."),
        Endpoint("GET", "/backtest/{id}/market/prices", "Prices at the session clock."),
        Endpoint("GET", "/backtest/{id}/market/candles/{symbol}", "Candles up to the session clock."),
        Endpoint("GET", "/backtest/{id}/account/balance", "The session wallet."),
        Endpoint("GET", "/backtest/{id}/account/positions", "The session positions."),
        Endpoint("GET", "/backtest/{id}/status", "Progress of a session."),
        Endpoint("GET", "/backtest/{id}/results", "Metrics of a finished session."),
        Endpoint("GET", "/backtest/{id}/results/equity-curve", "Its equity curve."),
        Endpoint("GET", "/backtest/{id}/results/trades", "Its trades."),
        Endpoint("GET", "/backtest/list", "Your sessions."),
        Endpoint("GET", "/backtest/compare?ids=", "Compare sessions."),
        Endpoint("GET", "/backtest/best?metric=", "Your best session by a metric."),
    ]),
]

def endpoint_is_routed(endpoint: Endpoint) -> bool:
    """Whether this deployment serves ``endpoint``: its path resolves and the view answers its method."""
    return path_is_routed(endpoint.method, endpoint.path)


@lru_cache(maxsize=1)
def routed_endpoint_groups() -> tuple[tuple[str, tuple[Endpoint, ...]], ...]:
    """ENDPOINT_GROUPS without the endpoints the URL conf does not route (and without sections left empty).

    Cached per process: the URL conf does not change while it runs.
    """
    groups = []
    for title, endpoints in ENDPOINT_GROUPS:
        routed = tuple(e for e in endpoints if endpoint_is_routed(e))
        if routed:
            groups.append((title, routed))
    return tuple(groups)


ERROR_CODES: list[tuple[int, str, str]] = [
    (400, "VALIDATION_ERROR", "Malformed input; `details.fields` names each bad field. Fix the request."),
    (401, "AUTHENTICATION_FAILED", "Missing/invalid/revoked/expired key, or a bad signature. Do not retry blindly."),
    (403, "KEY_SCOPE", "This key has scope `read`; the request needs `trade`."),
    (403, "IP_NOT_ALLOWED", "The key is pinned to other IP addresses."),
    (404, "NOT_FOUND", "No such object (also for objects that are not yours)."),
    (409, "DUPLICATE_CLIENT_ORDER_ID", "client_order_id reused with a different body."),
    (422, "INSUFFICIENT_BALANCE", "Not enough available balance."),
    (422, "RISK_MAX_ORDER_SIZE / RISK_MAX_POSITION_SIZE / RISK_MIN_ORDER_SIZE",
     "The order breaks one of your risk limits (see above)."),
    (422, "RISK_DAILY_LOSS_LIMIT", "The daily loss limit tripped; trading resumes after 00:00 UTC."),
    (422, "RISK_MAX_OPEN_ORDERS", "Too many resting orders; cancel some first."),
    (422, "INVALID_TICK_SIZE / INVALID_STEP_SIZE", "Round price to tick_size and quantity to step_size."),
    (422, "POST_ONLY_WOULD_TAKE / FOK_NOT_FILLABLE", "The order's conditions cannot be met now."),
    (422, "UNKNOWN_SYMBOL / MARKET_CLOSED", "Check /market/pairs."),
    (429, "RATE_LIMITED", "Wait `Retry-After` seconds."),
]


@dataclass(frozen=True)
class SkillFacts:
    base_url: str  # e.g. https://host/api/v1
    agent_id: str
    agent_name: str
    agent_status: str
    description: str
    key_prefix: str | None  # of the live primary key; None when it was revoked without a new one
    scope: str  # scope of the primary key ("read" | "trade")
    limits: RiskLimits
    overridden: list[str]
    starting_balance: Decimal
    reset_epoch: int
    rate_limit_per_key: int
    rate_limit_window_seconds: int
    signature_window_seconds: int
    base_fee_bps: tuple[Decimal, Decimal] | None = None  # (maker, taker) of the lowest volume tier
    # The sections to list (``routed_endpoint_groups()`` in the view); defaults to the whole catalogue.
    endpoint_groups: tuple = field(default_factory=lambda: tuple((t, tuple(e)) for t, e in ENDPOINT_GROUPS))


def _fmt_limit(value) -> str:
    return plain_decimal(value) if isinstance(value, Decimal) else str(value)


_LIMIT_TEXT = {
    "max_order_size_pct": ("max_order_size_pct", "% of your available USDT one order may use"),
    "max_position_size_pct": ("max_position_size_pct", "% of your equity one position may reach"),
    "daily_loss_limit_pct": ("daily_loss_limit_pct", "% of starting balance lost since 00:00 UTC stops new orders"),
    "max_open_orders": ("max_open_orders", "resting orders at once"),
    "min_order_size_usd": ("min_order_size_usd", "smallest order notional, USDT"),
    "order_rate_limit": ("order_rate_limit", "orders per minute"),
}


def skill_markdown(facts: SkillFacts) -> str:
    trade = facts.scope == "trade"
    b = facts.base_url
    lines: list[str] = []
    add = lines.append

    add(f"# Trading skill: {facts.agent_name}")
    add("")
    add("You are an autonomous trading agent on a **paper-trading** venue: real market prices, virtual money. "
        "Everything you do is scoped to one agent (its wallet, orders, positions and metrics) by its API key.")
    if facts.description:
        add("")
        add(f"Strategy notes from your owner: {facts.description}")
    add("")
    add("## Your identity")
    add("")
    add("| | |")
    add("|---|---|")
    add(f"| Base URL | `{b}` |")
    add(f"| Agent id | `{facts.agent_id}` |")
    add(f"| Status | `{facts.agent_status}`"
        + (" (paused: reads work, new orders are refused)" if facts.agent_status == "paused" else "") + " |")
    if facts.key_prefix:
        add(f"| API key | `{facts.key_prefix}…` (the full key is given to you separately, as `$AGENT_KEY`) |")
    else:
        add("| API key | none live: ask your owner to regenerate it |")
    add(f"| Key scope | `{facts.scope}` — " + ("you may read and trade" if trade
                                               else "read-only: you may not place or cancel orders") + " |")
    add(f"| Starting balance | {plain_decimal(facts.starting_balance)} USDT (epoch {facts.reset_epoch}) |")
    add("")
    add("Send the key on every request: `-H \"X-API-Key: $AGENT_KEY\"`. Never print or log it.")
    add("")
    add("```bash")
    add(f"export BASE=\"{b}\"")
    add("export AGENT_KEY=\"ak_live_...\"   # provided to you out of band")
    add("curl -s \"$BASE/account/balance\" -H \"X-API-Key: $AGENT_KEY\"")
    add("```")

    add("")
    add("## Your risk limits")
    add("")
    add("Every order is checked against these before it is accepted (in live trading and backtests alike).")
    add("")
    add("| limit | value | meaning |")
    add("|---|---|---|")
    for name, (label, meaning) in _LIMIT_TEXT.items():
        mark = " (set by your owner)" if name in facts.overridden else ""
        add(f"| `{label}` | {_fmt_limit(getattr(facts.limits, name))}{mark} | {meaning} |")

    add("")
    add("## Endpoints you may call")
    add("")
    add(f"All paths are relative to `{b}`. JSON in and out; snake_case fields.")
    if not trade:
        add("Your key is read-only, so only reads are listed; writes would answer 403 `KEY_SCOPE`.")
    listed = {e.path.split("?")[0] for _, endpoints in facts.endpoint_groups for e in endpoints}
    for title, endpoints in facts.endpoint_groups:
        allowed = [e for e in endpoints if trade or not e.writes]
        if not allowed:
            continue
        add("")
        add(f"### {title}")
        add("")
        for e in allowed:
            add(f"- `{e.method} {e.path}` — {e.what}")

    add("")
    add("## A good loop")
    add("")
    add("1. `GET /agents/me` once: confirm who you are and your key's scope.")
    add("2. `GET /market/pairs` once: the symbols and their tick_size/step_size/min_notional.")
    add("3. Each cycle: read prices (`/market/price/{symbol}` or the SSE streams), then your state "
        "(`/account/balance`, `/account/positions`, `/trade/orders/open`).")
    if trade:
        add("4. Decide; `POST /trade/order/preview`; if approved, `POST /trade/order` with a fresh client_order_id.")
        add("5. Log why you traded. If something is off (repeated errors, losses near your daily limit), "
            "`DELETE /trade/orders/open` and stop.")
    else:
        add("4. Report what you see; this key cannot trade.")
    add("")
    add("## Examples")
    add("")
    add("```bash")
    add("# What do I hold?")
    add("curl -s \"$BASE/account/balance\" -H \"X-API-Key: $AGENT_KEY\"")
    add("# Last BTC price")
    add("curl -s \"$BASE/market/price/BTCUSDT\"")
    if trade:
        order = ('{"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01000000", '
                 '"price": "60000.00", "time_in_force": "gtc", "client_order_id": "momo-2026-001"}')
        add("# Preview first: no side effects, tells you whether it would be accepted and what it costs")
        add(f"curl -s -X POST \"$BASE/trade/order/preview\" -H \"X-API-Key: $AGENT_KEY\" "
            f"-H \"Content-Type: application/json\" -d '{order}'")
        add("# Then place it (retrying with the same client_order_id never creates a second order)")
        add(f"curl -s -X POST \"$BASE/trade/order\" -H \"X-API-Key: $AGENT_KEY\" "
            f"-H \"Content-Type: application/json\" -d '{order}'")
        add("# Kill switch: cancel everything")
        add("curl -s -X DELETE \"$BASE/trade/orders/open\" -H \"X-API-Key: $AGENT_KEY\"")
    if "/analytics/performance" in listed:
        add("# How am I doing?")
        add("curl -s \"$BASE/analytics/performance?period=7d\" -H \"X-API-Key: $AGENT_KEY\"")
    add("```")

    if trade:
        add("")
        add("## Order rules")
        add("")
        add("- Prices, quantities and amounts are **JSON strings** holding decimals (`\"0.01000000\"`), never "
            "numbers: floats are refused with `VALIDATION_ERROR`.")
        add("- `side`: `buy` | `sell`. `type`: `market` | `limit` | `stop_loss` | `take_profit` | `stop_limit` | "
            "`take_profit_limit`. "
            "Send `quantity` (base asset) or `quote_quantity` (USDT, market orders). `price` for limit orders, "
            "`trigger_price` for conditional ones. `time_in_force`: `gtc` | `ioc` | `fok`; `post_only`, "
            "`reduce_only` are booleans.")
        add("- Round `price` to the pair's `tick_size` and `quantity` to its `step_size` (see `/market/pairs`); "
            "respect `min_qty` and `min_notional`.")
        add("- Always set a unique `client_order_id`. Resending the same body with it returns the original order "
            "(200); a different body with the same id is 409 `DUPLICATE_CLIENT_ORDER_ID`. So after a timeout, "
            "retry with the same id instead of placing a new order.")
        add("- Call `POST /trade/order/preview` first when unsure: it runs every check (balance, risk, filters) "
            "without side effects.")
        if facts.base_fee_bps:
            maker, taker = (plain_decimal(bps / 100) for bps in facts.base_fee_bps)
            add(f"- Fees: maker {maker} %, taker {taker} % at the base tier, lower with 30-day volume "
                "(`/market/fees`). Market orders also pay slippage.")
        else:
            add("- Fees: see `/market/fees` (maker/taker by 30-day volume). Market orders also pay slippage.")
        add("- Order statuses: `new`, `partially_filled`, `filled`, `cancelled`, `rejected`, `expired`, "
            "`triggered`.")

    add("")
    add("## Errors")
    add("")
    add("Every error has the same shape; branch on `error.code`, not on the message:")
    add("")
    add("```json")
    add('{"error": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient USDT: ...", '
        '"details": {"asset": "USDT"}}}')
    add("```")
    add("")
    add("| status | code | what to do |")
    add("|---|---|---|")
    for status, code, what in ERROR_CODES:
        add(f"| {status} | `{code}` | {what} |")

    add("")
    add("## Rate limits")
    add("")
    add(f"Your key may make {facts.rate_limit_per_key} requests per {facts.rate_limit_window_seconds} s window, "
        f"and at most {facts.limits.order_rate_limit} orders per minute. Every response carries "
        "`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds when the window "
        "ends). On 429 `RATE_LIMITED`, sleep for the `Retry-After` seconds before the next call. Prefer the SSE "
        "streams over polling.")
    add("")
    add("## Signed requests (only if your key was issued with signing)")
    add("")
    add("Send `X-Timestamp` (milliseconds since the epoch) and `X-Signature` = hex HMAC-SHA256(signing secret, "
        "timestamp + METHOD + path_with_query + body). The path includes `/api/v1`. A timestamp more than "
        f"{facts.signature_window_seconds} s from the server clock, or a signature used twice, is refused with "
        "401.")
    add("")
    return "\n".join(lines)
