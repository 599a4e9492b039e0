"""Idempotent demo data: the catalog, an operator, a customer with money and an API key."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from apikeys.services import api_key_create, api_key_ensure
from providers.catalog import catalog_load
from providers.services import simulator_seed_demo
from rentals.services.rentals import rental_plans_seed_demo
from smsbox.errors import ApplicationError
from smsbox.models import User
from smsbox.money import format_money, parse_money
from wallets.models import LedgerEntry
from wallets.services import wallet_deposit, wallet_get_or_create
from wallets.topup_services import sandbox_processor_seed_demo

OPERATOR_EMAIL = "admin@example.com"
DEMO_EMAIL = "demo@example.com"
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo data. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL, help="the demo customer's e-mail")
        parser.add_argument(
            "--api-key",
            default="",
            help="install exactly this API key (32+ letters and digits) instead of a random one",
        )
        parser.add_argument(
            "--balance", default="100.00", help="the customer's first deposit (default 100.00)"
        )
        parser.add_argument(
            "--sms-delay",
            default="5",
            help="seconds until the simulator sends an SMS (default 5; 'never' for no SMS)",
        )

    def handle(self, *args: object, **options: str) -> None:
        try:
            balance = parse_money(options["balance"])
        except ValueError as error:
            raise CommandError(f"--balance: {error}") from error
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"--email: {email!r} is not an e-mail address.") from error
        sms_delay = _sms_delay(options["sms_delay"])
        try:
            with transaction.atomic():
                self._catalog()
                self._simulator(sms_delay)
                self._operator()
                customer = self._customer(email)
                self._deposit(customer, balance)
                self._api_key(customer, options["api_key"].strip())
                self._payments()
        except ApplicationError as error:
            raise CommandError(error.message) from error

    def _catalog(self) -> None:
        countries, services, operators = catalog_load()
        self.stdout.write(
            f"catalog: {countries} countries, {services} services, {operators} operators"
        )

    def _simulator(self, sms_delay: int | None) -> None:
        provider = simulator_seed_demo(sms_delay_seconds=sms_delay)
        offers = provider.offers.filter(stock__gt=0).count()
        delay = "never" if sms_delay is None else f"after {sms_delay} s"
        self.stdout.write(f"simulator: {provider.name}, {offers} offers, SMS {delay}")
        plans = rental_plans_seed_demo()
        self.stdout.write(f"rental plans: {plans} new (hours, days and 1m/3m/6m/1y packages)")

    def _operator(self) -> None:
        password = settings.SMSBOX_ADMIN_PASSWORD
        operator = User.objects.filter(email__iexact=OPERATOR_EMAIL).first()
        if operator is None:
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser(OPERATOR_EMAIL, password)
            self.stdout.write(f"operator: {OPERATOR_EMAIL} / {password}")
        elif password:
            operator.set_password(password)
            operator.save(update_fields=["password"])
            self.stdout.write(f"operator: {OPERATOR_EMAIL} (password from SMSBOX_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"operator: {OPERATOR_EMAIL} (existing password kept)")

    def _customer(self, email: str) -> User:
        customer = User.objects.filter(email__iexact=email).first()
        if customer is not None:
            self.stdout.write(f"customer: {email} (exists)")
            return customer
        password = secrets.token_urlsafe(12)
        customer = User.objects.create_user(email, password, is_verified=True)
        customer.verified_at = customer.created_at
        customer.save(update_fields=["verified_at"])
        self.stdout.write(f"customer: {email} / {password}")
        return customer

    def _deposit(self, customer: User, amount: Decimal) -> None:
        wallet = wallet_get_or_create(user=customer)
        key = f"seed_demo:{customer.pk}"
        if LedgerEntry.objects.filter(idempotency_key=f"deposit:{key}").exists():
            self.stdout.write(
                f"balance: {format_money(wallet.balance)} (demo deposit already made)"
            )
            return
        entry = wallet_deposit(wallet=wallet, amount=amount, idempotency_key=key, memo="demo")
        self.stdout.write(f"balance: {format_money(entry.balance_after)}")

    def _payments(self) -> None:
        processor = sandbox_processor_seed_demo()
        if processor is None:
            self.stdout.write("top-ups: no sandbox processor (DEBUG is off)")
        else:
            self.stdout.write(f"top-ups: payment processor {processor.name} (sandbox, no money)")

    def _api_key(self, customer: User, raw_key: str) -> None:
        if raw_key:
            api_key_ensure(user=customer, name=DEMO_KEY_NAME, raw_key=raw_key)
            self.stdout.write(f"api key: {raw_key}")
            return
        if customer.api_keys.filter(revoked_at__isnull=True).exists():
            self.stdout.write("api key: existing key kept (shown only when it was created)")
            return
        _, raw_key = api_key_create(user=customer, name=DEMO_KEY_NAME)
        self.stdout.write(f"api key: {raw_key}")


def _sms_delay(raw: str) -> int | None:
    """``--sms-delay``: whole seconds, or ``never``."""
    raw = str(raw).strip().lower()
    if raw == "never":
        return None
    if not raw.isdigit():
        raise CommandError("--sms-delay: give whole seconds (e.g. 5) or 'never'.")
    return int(raw)
