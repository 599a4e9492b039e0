from django.core.management.base import BaseCommand, CommandError

from wallets.selectors import wallets_out_of_balance


class Command(BaseCommand):
    help = "Prove that every wallet's balance equals the sum of its ledger entries."

    def handle(self, *args: object, **options: object) -> None:
        broken = list(wallets_out_of_balance())
        for wallet in broken:
            self.stderr.write(
                f"wallet {wallet.pk} ({wallet.user or 'deleted account'}): "
                f"balance {wallet.balance} != entries {wallet.entries_total}"
            )
        if broken:
            raise CommandError(f"{len(broken)} wallet(s) out of balance.", returncode=1)
        self.stdout.write("ledger ok: every balance equals the sum of its entries")
