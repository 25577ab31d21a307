from django.core.management.base import BaseCommand, CommandError

from common.money import fmt
from trading.models import Balance, LedgerEntry
from trading.wallet import ledger_mismatches


class Command(BaseCommand):
    help = "Prove that every balance equals the sum of its ledger rows; exit non-zero if any does not."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"MISMATCH wallet={m.wallet_id} asset={m.asset} "
                f"available={fmt(m.available)} ledger={fmt(m.ledger_available)} "
                f"locked={fmt(m.locked)} ledger={fmt(m.ledger_locked)}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} balance(s) do not match the ledger")
        self.stdout.write(f"ledger OK: {Balance.objects.count()} balances, {LedgerEntry.objects.count()} entries")
