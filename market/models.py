"""Instruments (tradable pairs with their exchange filters) and the 1-minute candle store."""

from django.db import models

from common.money import DECIMAL_PLACES, MAX_DIGITS


def _decimal(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Instrument(models.Model):
    """A tradable pair, e.g. ``BTCUSDT`` (base BTC, quote USDT), with Binance-style filters.

    Prices must be multiples of ``tick_size``, quantities multiples of ``step_size`` and at least ``min_qty``, and an
    order's notional (price * quantity) at least ``min_notional``.
    """

    class Status(models.TextChoices):
        TRADING = "trading"
        HALTED = "halted"  # listed but closed for trading (Binance BREAK/HALT)

    symbol = models.CharField(max_length=32, unique=True)
    base = models.CharField(max_length=16)
    quote = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRADING)
    tick_size = _decimal()
    step_size = _decimal()
    min_qty = _decimal()
    min_notional = _decimal()
    # Where the filters came from: "default" (settings) or a ccxt exchange id after ``sync_pairs``.
    filters_source = models.CharField(max_length=32, default="default")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tick_size__gt=0), name="instrument_tick_size_gt_0"),
            models.CheckConstraint(condition=models.Q(step_size__gt=0), name="instrument_step_size_gt_0"),
            models.CheckConstraint(condition=models.Q(min_qty__gte=0), name="instrument_min_qty_gte_0"),
            models.CheckConstraint(condition=models.Q(min_notional__gte=0), name="instrument_min_notional_gte_0"),
        ]

    def __str__(self):
        return self.symbol


class Candle(models.Model):
    """One 1-minute OHLCV candle. Coarser intervals are aggregated from these on read (``market.selectors``).

    ``volume`` is base-asset volume. Keyed by ``symbol`` (not a foreign key) so that history can be imported
    for pairs that are not (or no longer) listed, and so that the feed's bulk upserts stay one plain statement.
    """

    symbol = models.CharField(max_length=32)
    open_time = models.DateTimeField()
    open = _decimal()
    high = _decimal()
    low = _decimal()
    close = _decimal()
    volume = _decimal(default=0)

    class Meta:
        ordering = ["symbol", "open_time"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "open_time"], name="one_candle_per_symbol_minute"),
            models.CheckConstraint(condition=models.Q(high__gte=models.F("low")), name="candle_high_gte_low"),
            models.CheckConstraint(condition=models.Q(volume__gte=0), name="candle_volume_gte_0"),
        ]

    def __str__(self):
        return f"{self.symbol} {self.open_time:%Y-%m-%dT%H:%M}Z"
