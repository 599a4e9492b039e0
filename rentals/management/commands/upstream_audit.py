"""``python manage.py upstream_audit [--provider NAME] [--fix] [--grace SECONDS]``: the upstream
orders no activation or rental holds (orphans) and what they cost; ``--fix`` cancels them."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.models import Provider
from rentals.services.upstream_audit import ProviderAudit, upstream_audit
from smsbox.money import format_money


class Command(BaseCommand):
    help = (
        "List the upstream orders that no activation or rental holds, with their cost; "
        "--fix cancels them upstream (those past SMSBOX_ORPHAN_GRACE_SECONDS, or --grace)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="Only this provider (its name).")
        parser.add_argument("--fix", action="store_true", help="Cancel the orphans upstream.")
        parser.add_argument(
            "--grace",
            type=int,
            default=None,
            help="Seconds an orphan must be old to be cancelled (default: the setting).",
        )

    def handle(self, *args, provider=None, fix=False, grace=None, **options) -> None:
        providers = Provider.objects.order_by("pk")
        if provider:
            providers = providers.filter(name=provider)
            if not providers.exists():
                raise CommandError(f"No provider named {provider!r}.")
        if grace is not None and grace < 0:
            raise CommandError("--grace is a number of seconds, 0 or more.")
        audits = upstream_audit(
            providers=list(providers),
            fix=fix,
            grace=None if grace is None else timedelta(seconds=grace),
        )
        total = Decimal(0)
        for audit in audits:
            total += self._report(audit)
        self.stdout.write(f"Open orphans cost {format_money(total)} in all.")

    def _report(self, audit: ProviderAudit) -> Decimal:
        name = audit.provider.name
        if audit.error:
            self.stdout.write(f"{name}: could not list every order ({audit.error})")
        for o in audit.orphans:
            state = "released" if o.released_at else "open"
            cost = "?" if o.cost is None else format_money(o.cost)
            extra = f" — {o.last_error}" if o.last_error and not o.released_at else ""
            self.stdout.write(
                f"{name}\t{o.kind}\t{o.upstream_id}\t+{o.phone}\t{cost}\t{state}{extra}"
            )
        self.stdout.write(
            f"{name}: {len(audit.orphans)} orphan(s), {audit.released} released now, "
            f"{format_money(audit.open_cost)} still open."
        )
        return audit.open_cost
