"""The reports' daily roll-up of activations (``rentals.backoffice.rollup``)."""

from django.db import models

from smsbox.money import money_field_kwargs


class ReportDay(models.Model):
    """One day's activity figures, in total (dimension "none") or for one provider, service or
    country (its name in ``group``). Rebuilt for the days that can still change by a periodic
    job; the reports read it for the days it covers and the orders themselves after."""

    day = models.DateField()
    dimension = models.CharField(max_length=16)
    group = models.CharField(max_length=128, blank=True)
    orders = models.PositiveIntegerField(default=0)
    with_sms = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(**money_field_kwargs())
    cost = models.DecimalField(**money_field_kwargs())
    refunds = models.PositiveIntegerField(default=0)
    refunded = models.DecimalField(**money_field_kwargs())
    code_seconds = models.FloatField(default=0, help_text="Sum of the times to code.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "day", "group"], name="report_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension} {self.group}"
