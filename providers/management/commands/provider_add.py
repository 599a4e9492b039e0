"""``manage.py provider_add NAME --protocol P [--base-url URL] [--api-key KEY] [--sync]``."""

import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.models import Provider
from providers.services import offers_sync, provider_add
from smsbox.errors import ApplicationError


class Command(BaseCommand):
    help = "Add an upstream provider (and optionally sync its offers now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--protocol", required=True, choices=Provider.Protocol.values)
        parser.add_argument("--base-url", default="")
        parser.add_argument("--api-key", default="", help="the upstream credentials")
        parser.add_argument(
            "--priority", type=int, default=100, help="lower is tried first on a price tie"
        )
        parser.add_argument("--timeout", default="15", help="seconds per upstream call")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an extra parameter sent with every call (repeatable), e.g. setting=smspool",
        )
        parser.add_argument("--options", default="{}", help="protocol settings as a JSON object")
        parser.add_argument("--disabled", action="store_true", help="add it switched off")
        parser.add_argument("--sync", action="store_true", help="fetch its offers now")

    def handle(self, *args: object, **options: object) -> None:
        provider = self._add(options)
        self.stdout.write(f"provider {provider.name} (#{provider.pk}, {provider.protocol}) added")
        if options["sync"]:
            try:
                result = offers_sync(provider=provider)
            except ApplicationError as error:
                raise CommandError(
                    f"Provider added, but its offers could not be synced: {error.message}"
                ) from error
            self.stdout.write(
                f"offers: {result.upserted} synced, {result.out_of_stock} out of stock, "
                f"{result.skipped} skipped ({result.unreadable} with unreadable figures, "
                "the others not in the catalog)"
            )

    def _add(self, options: dict) -> Provider:
        try:
            timeout = Decimal(str(options["timeout"]))
        except InvalidOperation:
            raise CommandError("--timeout must be a number of seconds.") from None
        extra = {}
        for pair in options["param"]:
            key, sep, value = str(pair).partition("=")
            if not sep or not key.strip():
                raise CommandError(f"--param {pair!r}: use KEY=VALUE.")
            extra[key.strip()] = value.strip()
        try:
            settings = json.loads(str(options["options"]))
        except ValueError:
            raise CommandError("--options must be a JSON object.") from None
        if not isinstance(settings, dict):
            raise CommandError("--options must be a JSON object.")
        try:
            return provider_add(
                name=str(options["name"]),
                protocol=str(options["protocol"]),
                base_url=str(options["base_url"]),
                api_key=str(options["api_key"]),
                extra_params=extra,
                settings=settings,
                priority=int(options["priority"]),
                timeout=timeout,
                enabled=not options["disabled"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
