"""Wallets and their ledger. Orders, fills and positions (next) belong to a wallet, not only to an agent."""

import uuid

from django.db import models
from django.db.models import Q

from common.money import DECIMAL_PLACES, MAX_DIGITS


def _amount(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Wallet(models.Model):
    """A separately funded pot an agent trades from.

    Each agent has one current ``main`` wallet; a reset retires it (``retired_at``) and opens a new one for the next
    epoch, so the old wallet keeps its balances, ledger and trading history. Battle wallets (``kind=battle``) come
    with battles.
    """

    class Kind(models.TextChoices):
        MAIN = "main"
        BATTLE = "battle"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="wallets")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MAIN)
    epoch = models.PositiveIntegerField(default=0)
    starting_balance = _amount()
    battle_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Battle routing (set by the battles services through ``trading.wallet.wallet_set_routing``; trading never
    # imports battles). ``routed``: the agent's key acts on this wallet instead of its main one (at most one per
    # agent). ``paused``: new orders are refused (422 BATTLE_STATE). ``pairs``: the only symbols it may trade
    # (empty: any listed pair).
    routed = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    pairs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["agent"], condition=Q(kind="main", retired_at__isnull=True),
                                    name="one_current_main_wallet_per_agent"),
            models.UniqueConstraint(fields=["agent", "battle_id"], condition=Q(kind="battle"),
                                    name="one_wallet_per_agent_per_battle"),
            models.UniqueConstraint(fields=["agent"], condition=Q(routed=True), name="one_routed_wallet_per_agent"),
        ]

    def __str__(self):
        return f"{self.kind} wallet {self.id} of {self.agent_id} (epoch {self.epoch})"


class Balance(models.Model):
    """What a wallet holds of one asset. Only ``trading.wallet.wallet_apply`` changes it, always with a ledger row."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=16)
    available = _amount(default=0)
    locked = _amount(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "asset"], name="one_balance_per_wallet_asset"),
            models.CheckConstraint(condition=Q(available__gte=0), name="balance_available_gte_0"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="balance_locked_gte_0"),
        ]

    @property
    def total(self):
        return self.available + self.locked

    def __str__(self):
        return f"{self.asset} {self.available.normalize():f} available, {self.locked.normalize():f} locked"


class LedgerEntry(models.Model):
    """One change to one balance, and why. Append-only: the balance is always the sum of its entries."""

    class Reason(models.TextChoices):
        FUNDING = "funding"  # starting balance of a wallet
        RESET = "reset"
        ORDER_LOCK = "order_lock"  # available -> locked when an order is accepted
        ORDER_RELEASE = "order_release"  # locked -> available when an order is cancelled/expired/done
        FILL = "fill"  # asset moved by a fill
        FEE = "fee"
        BATTLE_FUNDING = "battle_funding"
        ADJUSTMENT = "adjustment"

    id = models.BigAutoField(primary_key=True)
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="ledger")
    asset = models.CharField(max_length=16)
    delta_available = _amount(default=0)
    delta_locked = _amount(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    ref_type = models.CharField(max_length=32, blank=True)
    ref_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["wallet", "asset"]), models.Index(fields=["ref_type", "ref_id"])]
        constraints = [
            models.CheckConstraint(condition=~Q(delta_available=0) | ~Q(delta_locked=0), name="ledger_entry_not_empty"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.reason} {self.asset} {self.delta_available:+}/{self.delta_locked:+}"



# --- Orders, fills, positions (issue 4) ------------------------------------------------------------------------------
# An order, its fills and the position they build belong to the WALLET they trade from (a reset or a battle opens a
# new wallet and leaves the old history intact); the agent FK is a denormalised convenience for queries.

OPEN_ORDER_STATUSES = ("new", "partially_filled", "triggered")


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"

    class Type(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"
        STOP_LOSS = "stop_loss"
        TAKE_PROFIT = "take_profit"
        STOP_LIMIT = "stop_limit"
        TAKE_PROFIT_LIMIT = "take_profit_limit"

    class TimeInForce(models.TextChoices):
        GTC = "gtc"
        IOC = "ioc"
        FOK = "fok"

    class Status(models.TextChoices):
        NEW = "new"
        PARTIALLY_FILLED = "partially_filled"
        FILLED = "filled"
        CANCELLED = "cancelled"
        REJECTED = "rejected"
        EXPIRED = "expired"
        TRIGGERED = "triggered"

    class Fires(models.TextChoices):
        """Which way the last price must cross ``sweep_price`` for a sweep to act on the order."""

        AT_OR_BELOW = "le"  # resting buys, stop-loss sells, take-profit buys
        AT_OR_ABOVE = "ge"  # resting sells, stop-loss buys, take-profit sells

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="orders")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="orders")
    symbol = models.CharField(max_length=20)
    base_asset = models.CharField(max_length=16)
    quote_asset = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=20, choices=Type.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    quantity = _amount(null=True, blank=True)  # base quantity asked for (None: a quote_quantity market order)
    quote_quantity = _amount(null=True, blank=True)
    price = _amount(null=True, blank=True)
    trigger_price = _amount(null=True, blank=True)
    post_only = models.BooleanField(default=False)
    reduce_only = models.BooleanField(default=False)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)
    body_hash = models.CharField(max_length=64)  # sha256 of the normalised request, for idempotent retries
    filled_quantity = _amount(default=0)
    filled_quote = _amount(default=0)
    fees_paid = _amount(default=0)
    fill_count = models.PositiveIntegerField(default=0)  # the seq of the last fill; fills are (order, seq) unique
    # What this order still holds locked in its wallet (quote for buys, base for sells); 0 once it is done.
    locked_asset = models.CharField(max_length=16)
    locked_amount = _amount(default=0)
    maker_fee_bps = models.DecimalField(max_digits=8, decimal_places=4)
    taker_fee_bps = models.DecimalField(max_digits=8, decimal_places=4)
    reference_price = _amount(null=True, blank=True)  # the market price seen at acceptance
    # Takes liquidity on arrival (market, marketable limit, conditional already fired): a worker executes it right
    # after the placing transaction commits, and clears the flag in the transaction that does.
    needs_execution = models.BooleanField(default=False)
    # The price a tick must cross for the sweeper to look at this order: the limit price of a resting order, the
    # trigger price of a conditional one; NULL when no sweep should (market orders, closed orders).
    sweep_price = _amount(null=True, blank=True)
    fires = models.CharField(max_length=2, choices=Fires.choices, blank=True)
    reject_code = models.CharField(max_length=48, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "client_order_id"], condition=Q(client_order_id__isnull=False),
                                    name="order_client_id_unique_per_wallet"),
            models.CheckConstraint(condition=Q(filled_quantity__gte=0) & Q(locked_amount__gte=0)
                                   & Q(fees_paid__gte=0), name="order_amounts_gte_0"),
            models.CheckConstraint(condition=Q(quantity__isnull=True) | Q(filled_quantity__lte=models.F("quantity")),
                                   name="order_not_overfilled"),
            models.CheckConstraint(condition=Q(quantity__isnull=False) | Q(quote_quantity__isnull=False),
                                   name="order_has_a_size"),
        ]
        indexes = [
            # The sweeper's two range scans: one per crossing direction, only over open orders.
            models.Index(fields=["symbol", "sweep_price"], name="order_sweep_le",
                         condition=Q(status__in=OPEN_ORDER_STATUSES, fires="le", sweep_price__isnull=False)),
            models.Index(fields=["symbol", "sweep_price"], name="order_sweep_ge",
                         condition=Q(status__in=OPEN_ORDER_STATUSES, fires="ge", sweep_price__isnull=False)),
            # Open orders of a wallet (open-orders list, cancel-all, risk's open-order count).
            models.Index(fields=["wallet", "symbol"], name="order_open_by_wallet",
                         condition=Q(status__in=OPEN_ORDER_STATUSES)),
            # Accepted orders that a worker has not executed yet (recovery after a lost task).
            models.Index(fields=["symbol", "created_at"], name="order_awaiting_execution",
                         condition=Q(needs_execution=True)),
            models.Index(fields=["wallet", "-created_at"], name="order_by_wallet_recent"),
            models.Index(fields=["agent", "-created_at"], name="order_by_agent_recent"),
        ]

    def __str__(self):
        return f"{self.side} {self.type} {self.symbol} {self.quantity or self.quote_quantity} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    @property
    def remaining_quantity(self):
        return None if self.quantity is None else self.quantity - self.filled_quantity

    @property
    def avg_fill_price(self):
        return self.filled_quote / self.filled_quantity if self.filled_quantity else None


class Fill(models.Model):
    """One execution of an order. ``(order, seq)`` is unique, so a replayed task can never insert a fill twice."""

    class Liquidity(models.TextChoices):
        MAKER = "maker"
        TAKER = "taker"

    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    seq = models.PositiveIntegerField()
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="fills")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="fills")
    symbol = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Order.Side.choices)
    price = _amount()
    quantity = _amount()
    quote_amount = _amount()
    fee = _amount()
    fee_asset = models.CharField(max_length=16)
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices)
    slippage_pct = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    realized_pnl = _amount(default=0)  # PnL this fill realised on the position (sells), net of its fee
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="fill_seq_unique_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price__gt=0) & Q(fee__gte=0),
                                   name="fill_amounts_positive"),
        ]
        indexes = [
            models.Index(fields=["wallet", "-created_at"], name="fill_by_wallet_recent"),
            models.Index(fields=["agent", "-created_at"], name="fill_by_agent_recent"),
        ]

    def __str__(self):
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price}"


class Position(models.Model):
    """Average-cost position of a wallet in one pair (spot: never short). Updated by fills via the engine."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="positions")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=20)
    base_asset = models.CharField(max_length=16)
    quote_asset = models.CharField(max_length=16)
    quantity = _amount(default=0)
    avg_entry_price = _amount(default=0)
    cost_basis = _amount(default=0)  # exact quote cost of ``quantity`` (the engine's PositionState.cost_basis)
    realized_pnl = _amount(default=0)
    fees_paid = _amount(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "symbol"], name="one_position_per_wallet_symbol"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="position_quantity_gte_0"),
        ]

    def __str__(self):
        return f"{self.symbol} {self.quantity} @ {self.avg_entry_price}"


class EquitySnapshot(models.Model):
    """A wallet's valuation at one instant (Celery beat, every minute): the analytics' equity curve."""

    id = models.BigAutoField(primary_key=True)
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="equity_snapshots")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="equity_snapshots")
    ts = models.DateTimeField()
    cash = _amount()
    positions_value = _amount()
    equity = _amount()
    realized_pnl = _amount(default=0)
    unrealized_pnl = _amount(default=0)

    class Meta:
        ordering = ["ts"]
        # equity and id ride along in the index: analytics rebuilds a wallet's window with an index-only scan
        # (rows are written by time, all wallets interleaved: a heap scan of one wallet's week reads a page per row)
        constraints = [models.UniqueConstraint(fields=["wallet", "ts"], include=["equity", "id"],
                                               name="one_snapshot_per_wallet_ts")]
        indexes = [models.Index(fields=["agent", "ts"], name="snapshot_by_agent_ts")]


class DailyEquityAnchor(models.Model):
    """A wallet's equity at the start of a UTC day: the base of the daily loss breaker."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="daily_anchors")
    day = models.DateField()
    equity = _amount()
    # When the daily loss breaker tripped this day; it stays tripped until the next UTC day.
    tripped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wallet", "day"], name="one_anchor_per_wallet_day")]
