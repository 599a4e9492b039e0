"""Models of rentals, one module per subject; import them from here."""

from rentals.models.activations import Activation, NumberBan, OpenActivations, SpendPolicy
from rentals.models.favourites import Favourite
from rentals.models.messages import SmsMessage
from rentals.models.orphans import UpstreamOrphan
from rentals.models.rentals import Rental, RentalPlan, RentalRenewal
from rentals.models.reports import ReportDay
from rentals.models.webhooks import WebhookDelivery, WebhookSecret

__all__ = [
    "Activation",
    "Favourite",
    "NumberBan",
    "OpenActivations",
    "Rental",
    "RentalPlan",
    "RentalRenewal",
    "ReportDay",
    "SmsMessage",
    "SpendPolicy",
    "UpstreamOrphan",
    "WebhookDelivery",
    "WebhookSecret",
]
