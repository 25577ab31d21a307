from django.core.management.base import BaseCommand, CommandError

from market.feed.exchange import create_exchange, exchange_errors
from market.services import instruments_sync


class Command(BaseCommand):
    help = ("Load pairs and their filters (tick size, step size, min qty, min notional, status) from the exchange's "
            "market metadata through ccxt. Needs internet.")

    def add_arguments(self, parser):
        parser.add_argument("symbols", nargs="*", help="pairs to sync (default: every pair in the database and "
                                                       "the configured defaults)")
        parser.add_argument("--exchange", help="ccxt exchange id (default FEED_EXCHANGE)")
        parser.add_argument("--all-quote", help="also add every spot pair quoted in this asset, e.g. USDT")

    def handle(self, *args, **opts):
        try:
            result = instruments_sync(exchange=create_exchange(opts["exchange"]), symbols=opts["symbols"] or None,
                                      all_quote=opts["all_quote"])
        except exchange_errors() as exc:
            raise CommandError(f"cannot reach the exchange: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"created {len(result.created)}, updated {len(result.updated)}, "
                          f"unchanged {len(result.unchanged)}")
        if result.updated:
            self.stdout.write("updated: " + ", ".join(result.updated))
        if result.missing:
            self.stderr.write("not listed by the exchange: " + ", ".join(result.missing))
