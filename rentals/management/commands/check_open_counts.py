"""``python manage.py check_open_counts [--repair]``: every customer's count of open activations
(what the purchase's concurrency limit reads) against their open activations."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from rentals.selectors import open_counts_differing
from rentals.services.policy import open_count_repair


class Command(BaseCommand):
    help = (
        "Prove that every customer's count of open activations (kept by triggers on PostgreSQL) "
        "equals their open activations; --repair sets the counts that differ right."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repair", action="store_true", help="Set each count that differs to the right one."
        )

    def handle(self, *args, repair: bool = False, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("open counts not kept on this database: purchases count instead")
            return
        differing = open_counts_differing()
        for row in differing:
            self.stderr.write(
                f"customer {row.user_id}: count {row.kept} != {row.actual} open activation(s)"
            )
        if not differing:
            self.stdout.write("open counts ok: every count equals the customer's open activations")
            return
        if not repair:
            raise CommandError(
                f"{len(differing)} customer(s) with a wrong count of open activations "
                "(--repair sets them right).",
                returncode=1,
            )
        for row in differing:
            written = open_count_repair(user_id=row.user_id)
            done = "right meanwhile" if written is None else f"set to {written}"
            self.stdout.write(f"customer {row.user_id}: {done}")
        self.stdout.write(f"repaired: {len(differing)} customer(s)")
