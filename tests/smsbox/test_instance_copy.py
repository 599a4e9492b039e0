"""``smsbox.instances.instance_copy``: a shallow copy of a model instance, as ``copy.copy``
makes it, whose changes (fields, state, related objects) never reach the original."""

import copy

import pytest

from providers.models import Offer
from smsbox.instances import instance_copy
from tests.factories import OfferFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_a_copy_holds_what_copy_copy_holds_and_keeps_its_changes_to_itself():
    original = Offer.objects.select_related("provider").get(pk=OfferFactory(stock=5).pk)
    copied = instance_copy(original)
    assert copied is not original and copied.__class__ is Offer
    pickled = copy.copy(original).__dict__  # copy.copy adds the pickle's Django version
    assert copied.__dict__.keys() == pickled.keys() - {"_django_version"}
    assert (copied.pk, copied.cost) == (original.pk, original.cost)
    assert copied.provider == original.provider  # from the copied cache: no query
    assert (copied._state.db, copied._state.adding) == ("default", False)

    copied.cost, copied.provider = copied.cost + 1, ProviderFactory()  # a related object too
    copied._state.adding = True
    assert original.cost == copied.cost - 1
    assert original.provider.pk != copied.provider.pk
    assert original._state.adding is False
    stored = Offer.objects.select_related("provider").get(pk=original.pk)
    assert stored.provider == original.provider
