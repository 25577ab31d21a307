from django.core.management.base import BaseCommand, CommandError

from market.errors import UnknownSymbol
from market.feed.exchange import create_exchange, exchange_errors
from market.services import candles_fetch


class Command(BaseCommand):
    help = "Pull the last N days of 1-minute candles of a pair from the exchange through ccxt (needs internet)."

    def add_arguments(self, parser):
        parser.add_argument("symbol")
        parser.add_argument("--days", type=float, default=1.0)
        parser.add_argument("--exchange", help="ccxt exchange id (default FEED_EXCHANGE)")

    def handle(self, *args, **opts):
        if not 0 < opts["days"] <= 3650:
            raise CommandError("--days must be in (0, 3650]")
        symbol = opts["symbol"].upper()
        try:
            rows, inserted, updated = candles_fetch(symbol=symbol, days=opts["days"],
                                                    exchange=create_exchange(opts["exchange"]))
        except UnknownSymbol as exc:
            raise CommandError(exc.message) from exc
        except exchange_errors() as exc:
            raise CommandError(f"cannot reach the exchange: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"{symbol}: {rows} candles ({inserted} new, {updated} changed)")
