from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from smsbox.money import money_field_kwargs


class Country(models.Model):
    """A country as the SMS-Activate protocol numbers it (0 Russia, 16 United Kingdom, 187 USA)."""

    sms_activate_id = models.PositiveIntegerField(unique=True)
    iso = models.CharField("ISO 3166 alpha-2", max_length=2, unique=True)
    name_en = models.CharField(max_length=100)
    name_ru = models.CharField(max_length=100, blank=True)
    name_zh = models.CharField(max_length=100, blank=True)
    visible = models.BooleanField(default=True)
    retry = models.BooleanField(default=True, help_text="Another SMS may be requested.")
    rent = models.BooleanField(default=False, help_text="Long-term rentals are offered.")
    multi_service = models.BooleanField(default=False)
    # The identifiers of the client dialects (rentals.dialects), from providers.dialect_data.
    calling_code = models.CharField(
        max_length=4, blank=True, default="", help_text="International prefix, digits only."
    )
    smspool_id = models.PositiveIntegerField(
        "SMSPool id", null=True, blank=True, unique=True, help_text="SMSPool's country number."
    )
    smspool_name = models.CharField(
        "SMSPool name",
        max_length=100,
        blank=True,
        default="",
        help_text="Where SMSPool's name differs from the English name.",
    )
    fivesim_name = models.CharField(
        "5sim name", max_length=32, blank=True, default="", help_text="E.g. russia, england."
    )

    class Meta:
        ordering = ["sms_activate_id"]
        verbose_name_plural = "countries"
        constraints = [
            models.UniqueConstraint(
                fields=["fivesim_name"],
                condition=~Q(fivesim_name=""),
                name="country_fivesim_name_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.sms_activate_id})"


class Service(models.Model):
    """A platform a number is bought for, by its SMS-Activate short code (``tg``, ``wa``)."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    visible = models.BooleanField(default=True)
    smspool_id = models.PositiveIntegerField(
        "SMSPool id", null=True, blank=True, unique=True, help_text="SMSPool's service number."
    )
    fivesim_name = models.CharField(
        "5sim product", max_length=32, blank=True, default="", help_text="E.g. telegram."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["fivesim_name"],
                condition=~Q(fivesim_name=""),
                name="service_fivesim_name_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Operator(models.Model):
    """A mobile network of a country (``mts``, ``beeline``); ``any`` is implied, never stored."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="operators")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="operator_unique_per_country")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country.iso})"


class Provider(models.Model):
    """An upstream we buy numbers from, spoken to through the adapter of its ``protocol``.

    ``api_key`` is a credential: write-only in the admin and never logged. ``extra_params`` are
    sent with every call (e.g. SMSPool's ``pool`` and ``setting=smspool``); ``service_codes``
    and ``country_codes`` map our catalog codes to the provider's where they differ;
    ``settings`` holds protocol options (the simulator's pool, delays and injected failures).
    """

    class Protocol(models.TextChoices):
        SMS_ACTIVATE = "sms_activate", "SMS-Activate handler"
        SIMSMSBOX = "simsmsbox", "SimSmsBox REST"
        SIMPLE_GET = "simple_get", "Simple GET text"
        SIMULATOR = "simulator", "Simulator"

    name = models.CharField(max_length=64, unique=True)
    protocol = models.CharField(max_length=16, choices=Protocol.choices)
    base_url = models.URLField(
        blank=True, help_text="E.g. https://api.example.com/stubs/handler_api.php"
    )
    api_key = models.CharField("credentials", max_length=255, blank=True)
    extra_params = models.JSONField(
        default=dict, blank=True, help_text='Sent with every call, e.g. {"setting": "smspool"}.'
    )
    service_codes = models.JSONField(
        default=dict,
        blank=True,
        help_text='Our service code → the provider\'s, e.g. {"tg": "telegram"}.',
    )
    country_codes = models.JSONField(
        default=dict,
        blank=True,
        help_text='Our SMS-Activate country id → the provider\'s code, e.g. {"187": "US"}.',
    )
    settings = models.JSONField(default=dict, blank=True, help_text="Protocol options.")
    enabled = models.BooleanField(default=True)
    priority = models.SmallIntegerField(
        default=100, help_text="Breaks price ties: the lower number is tried first."
    )
    timeout = models.DecimalField(
        "timeout (seconds)", max_digits=5, decimal_places=2, default=Decimal("15")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(timeout__gt=0), name="provider_timeout_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for name in ("extra_params", "service_codes", "country_codes"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(
                isinstance(v, str | int | float) and not isinstance(v, bool) for v in value.values()
            ):
                errors[name] = "A JSON object of names to plain values."
        if self.protocol == self.Protocol.SIMULATOR:
            from providers.adapters.simulator_settings import simulator_settings_errors

            problems = simulator_settings_errors(self.settings)
            if problems:
                errors["settings"] = problems
        elif not isinstance(self.settings, dict):
            errors["settings"] = "A JSON object."
        elif self.protocol != self.Protocol.SIMULATOR and not self.base_url:
            errors["base_url"] = "This protocol needs the upstream's URL."
        if errors:
            raise ValidationError(errors)


class Offer(models.Model):
    """What a provider sells: a service in a country (``operator`` blank = any) at a cost."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offers")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="offers")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="offers")
    operator = models.CharField(max_length=32, blank=True, default="")
    cost = models.DecimalField(**money_field_kwargs())
    stock = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["service", "country", "cost"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "service", "country", "operator"], name="offer_unique"
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="offer_cost_non_negative"),
        ]
        indexes = [models.Index(fields=["service", "country", "stock"], name="offer_route_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.service.code}/{self.country.sms_activate_id} @ {self.cost}"


class PriceRule(models.Model):
    """Markup on the upstream cost for a scope; the rule naming the most of provider, service
    and country wins. retail = cost * (1 + percent/100) + fixed, in cents, never below floor."""

    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    country = models.ForeignKey(Country, null=True, blank=True, on_delete=models.CASCADE)
    percent = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    fixed = models.DecimalField(default=Decimal("0"), **money_field_kwargs())
    floor = models.DecimalField(default=Decimal("0"), **money_field_kwargs())
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "service", "country"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "service", "country"],
                name="price_rule_unique_scope",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=-100), name="price_rule_percent_gt_-100"
            ),
            models.CheckConstraint(condition=Q(floor__gte=0), name="price_rule_floor_non_negative"),
        ]

    def __str__(self) -> str:
        scope = [str(x) for x in (self.provider, self.service, self.country) if x is not None]
        return f"{' / '.join(scope) or 'everything'}: +{self.percent}% +{self.fixed}"

    @property
    def specificity(self) -> tuple[int, bool, bool, bool]:
        """More scope fields win; between equals provider, then service, then country."""
        named = (
            self.provider_id is not None,
            self.service_id is not None,
            self.country_id is not None,
        )
        return (sum(named), *named)


class PurchaseAttempt(models.Model):
    """One try to buy from one provider, as the router made it; the health figures read these."""

    class Outcome(models.TextChoices):
        BOUGHT = "bought", "Bought"
        NO_NUMBERS = "no_numbers", "No numbers"
        NO_BALANCE = "no_balance", "Upstream balance too low"
        BAD_CREDENTIALS = "bad_credentials", "Bad credentials"
        TRANSIENT = "transient", "Transient error"
        UNKNOWN = "unknown", "Outcome unknown"
        REJECTED = "rejected", "Rejected"
        EXCLUDED = "excluded", "Number banned by the customer"

    ERRORS = (Outcome.NO_BALANCE, Outcome.BAD_CREDENTIALS, Outcome.TRANSIENT, Outcome.UNKNOWN)

    provider = models.ForeignKey(  # indexed first in both indexes below
        Provider, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="+")
    operator = models.CharField(max_length=32, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    latency_ms = models.PositiveIntegerField()
    upstream_id = models.CharField(max_length=64, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    cost = models.DecimalField(null=True, blank=True, **money_field_kwargs())
    error = models.CharField(max_length=255, blank=True, default="")
    sms_received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["provider", "created_at"], name="attempt_provider_time_idx"),
            models.Index(fields=["provider", "upstream_id"], name="attempt_upstream_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.outcome} {self.upstream_id}".strip()


class SimulatedNumber(models.Model):
    """The simulator's side of a number it sold: what an upstream keeps about an order."""

    class Kind(models.TextChoices):
        ACTIVATION = "activation", "Activation"
        RENT = "rent", "Rent"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for SMS"
        RECEIVED = "received", "SMS received"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Sold nothing (injected failure)"

    provider = models.ForeignKey(  # indexed first in (provider, sequence), unique
        Provider, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sequence = models.PositiveIntegerField(help_text="n-th number this provider sold.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ACTIVATION)
    service_code = models.CharField(max_length=16)
    country_id_sa = models.PositiveIntegerField("country (SMS-Activate id)")
    phone = models.CharField(max_length=32)
    cost = models.DecimalField(**money_field_kwargs())
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    code = models.CharField(max_length=32, blank=True, default="")
    sms_due_at = models.DateTimeField(null=True, blank=True)
    messages = models.JSONField(default=list, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "sequence"], name="simulated_sequence_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "sms_due_at"], name="simulated_due_idx"),
            # Which numbers are held (every sale asks): open orders only, however many closed.
            models.Index(
                fields=["provider", "phone"],
                condition=Q(status__in=["waiting", "received"]),
                name="simulated_open_phone_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} #{self.sequence} {self.phone}"
