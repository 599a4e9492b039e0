from django.db import models


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

    class Meta:
        ordering = ["sms_activate_id"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return f"{self.name_en} ({self.sms_activate_id})"


class Service(models.Model):
    """A platform a number is bought for, by its SMS-Activate short code (``tg``, ``wa``)."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    visible = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

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
