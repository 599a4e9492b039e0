from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandParser

from smsbox import lifecycle

RUNS: dict[str, tuple[Callable[[], int], str]] = {
    "delete-unverified": (lifecycle.accounts_delete_unverified, "deleted {} unverified account(s)"),
    "notify-inactive": (lifecycle.accounts_notify_inactive, "sent {} inactivity notice(s)"),
    "delete-inactive": (lifecycle.accounts_delete_inactive, "deleted {} inactive account(s)"),
}


class Command(BaseCommand):
    help = (
        "Run the account lifecycle jobs now: delete unverified accounts past the verification "
        "window, send inactivity notices, delete inactive accounts. With --dry-run, print what "
        "would happen and change nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print, change nothing.")
        parser.add_argument(
            "--job",
            action="append",
            choices=lifecycle.LIFECYCLE_JOBS,
            help="Only this job (repeatable); all three by default, in this order.",
        )

    def handle(self, *args: object, **options: object) -> None:
        jobs = tuple(j for j in lifecycle.LIFECYCLE_JOBS if j in (options["job"] or RUNS))
        if options["dry_run"]:
            lines = 0
            for line in lifecycle.accounts_lifecycle_plan(jobs=jobs):
                self.stdout.write(line)
                lines += 1
            self.stdout.write(f"dry run: {lines} action(s), nothing changed")
            return
        for job in jobs:
            run, message = RUNS[job]
            self.stdout.write(message.format(run()))
