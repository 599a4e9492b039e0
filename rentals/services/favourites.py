"""A customer's favourite service and country pairs (the Buy page offers them first)."""

from django.db import IntegrityError, transaction

from providers.models import Country, Service
from rentals.models import Favourite
from smsbox.models import User


def favourite_toggle(*, user: User, service: Service, country: Country) -> bool:
    """Add the pair to the customer's favourites, or remove it when it is one; answers whether
    it is a favourite now. Two clicks at once leave one row (the unique pair)."""
    with transaction.atomic():
        deleted, _ = Favourite.objects.filter(user=user, service=service, country=country).delete()
        if deleted:
            return False
        try:
            with transaction.atomic():
                Favourite.objects.create(user=user, service=service, country=country)
        except IntegrityError:  # added by a concurrent click
            pass
    return True
