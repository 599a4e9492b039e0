"""``manage.py payment_processor_add NAME --kind K [--base-url URL] [--merchant ID]
[--api-key KEY] [--secret SECRET] [--store STORE_ID] [--currency CODE …] [--sandbox]``."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from smsbox.errors import ApplicationError
from wallets.models import PaymentProcessor
from wallets.processors.nowpayments import SANDBOX_URL
from wallets.topup_services import payment_processor_add


class Command(BaseCommand):
    help = "Configure a payment processor account that customers can top up through."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="also the callback URL's name: /payments/NAME/callback")
        parser.add_argument("--kind", required=True, choices=PaymentProcessor.Kind.values)
        parser.add_argument("--base-url", default="", help="the API root (the kind's default)")
        parser.add_argument("--merchant", default="", help="merchant id (Cryptomus, Heleket)")
        parser.add_argument("--api-key", default="", help="the processor's API key")
        parser.add_argument("--secret", default="", help="IPN / webhook secret")
        parser.add_argument("--store", default="", help="store id (BTCPay Server)")
        parser.add_argument(
            "--currency",
            action="append",
            default=[],
            help="a currency customers may pay in (repeatable; the kind's list by default)",
        )
        parser.add_argument("--sandbox", action="store_true", help="NOWPayments: its sandbox host")
        parser.add_argument("--disabled", action="store_true", help="add it switched off")

    def handle(self, *args: object, **options: object) -> None:
        base_url = str(options["base_url"])
        if options["sandbox"]:
            if options["kind"] != PaymentProcessor.Kind.NOWPAYMENTS:
                raise CommandError("--sandbox is NOWPayments' sandbox host.")
            base_url = base_url or SANDBOX_URL
        try:
            processor = payment_processor_add(
                name=str(options["name"]),
                kind=str(options["kind"]),
                base_url=base_url,
                merchant=str(options["merchant"]),
                api_key=str(options["api_key"]),
                secret=str(options["secret"]),
                store_id=str(options["store"]),
                currencies=[str(c) for c in options["currency"]],
                enabled=not options["disabled"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        callback = reverse("payments-callback", args=[processor.name])
        self.stdout.write(
            f"payment processor {processor.name} (#{processor.pk}, {processor.kind}) added; "
            f"its callback URL is <your site>{callback}"
        )
