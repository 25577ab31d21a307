"""``manage.py analytics_recompute [--check]``: recompute every wallet's metrics from the stored equity history and
trades, compare with the incrementally maintained ones, and repair those that differ (``--check``: only report;
exit status 1 when any differs)."""

import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Verify (and repair) the incrementally maintained analytics metrics against a full recompute."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report only, repair nothing; exit 1 on a mismatch")

    def handle(self, *args, check=False, **options):
        from analytics.services import leaderboards_build, metrics_recompute

        report = metrics_recompute(repair=not check)
        self.stdout.write(f"checked {report.checked} states, {report.mismatched} differed, "
                          f"{report.repaired} repaired")
        for example in report.examples:
            self.stdout.write(json.dumps(example, default=str))
        if report.repaired:
            leaderboards_build()
        if check and report.mismatched:
            raise SystemExit(1)
