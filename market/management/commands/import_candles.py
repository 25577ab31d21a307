import time

from django.core.management.base import BaseCommand, CommandError

from market.candle_files import CandleFileError
from market.services import candles_import


class Command(BaseCommand):
    help = ("Load 1-minute candles from CSV (ts,open,high,low,close,volume; gzip or not) into the candle store: "
            "a file, or a directory of <SYMBOL>-1m.csv[.gz]. Idempotent: re-importing changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--symbol", help="store under this symbol (default: from the file name)")

    def handle(self, *args, **opts):
        started = time.monotonic()
        try:
            results = candles_import(path=opts["path"], symbol=opts["symbol"])
        except (FileNotFoundError, CandleFileError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for r in results:
            self.stdout.write(f"{r.symbol}: {r.rows} rows from {r.path} ({r.inserted} new, {r.updated} changed)")
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")
