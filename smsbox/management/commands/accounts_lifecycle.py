from django.core.management.base import BaseCommand, CommandParser

from smsbox import lifecycle


class Command(BaseCommand):
    help = (
        "Run the account lifecycle jobs now: delete unverified accounts past the verification "
        "window, send inactivity notices, delete inactive accounts. With --dry-run, print what "
        "would happen and change nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print, change nothing.")

    def handle(self, *args: object, dry_run: bool = False, **options: object) -> None:
        if dry_run:
            lines = 0
            for line in lifecycle.accounts_lifecycle_plan():
                self.stdout.write(line)
                lines += 1
            self.stdout.write(f"dry run: {lines} action(s), nothing changed")
            return
        deleted = lifecycle.accounts_delete_unverified()
        self.stdout.write(f"deleted {deleted} unverified account(s)")
        notified = lifecycle.accounts_notify_inactive()
        self.stdout.write(f"sent {notified} inactivity notice(s)")
        deleted = lifecycle.accounts_delete_inactive()
        self.stdout.write(f"deleted {deleted} inactive account(s)")
