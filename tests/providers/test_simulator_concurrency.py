import threading

import pytest
from django.db import connection

from providers.adapters import adapter_for
from providers.models import Country, Service, SimulatedNumber
from tests.factories import ProviderFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_buys_get_their_own_sequence_and_number():
    provider = ProviderFactory(settings={"sms_delay": None, "pool_size": 50})
    # Transactional tests run on a flushed database: the catalog may be empty.
    tg, _ = Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
    usa, _ = Country.objects.get_or_create(
        sms_activate_id=187, defaults={"iso": "US", "name_en": "USA"}
    )
    phones, errors = [], []
    start = threading.Barrier(8)

    def buy() -> None:
        try:
            start.wait()
            for _ in range(3):
                phones.append(adapter_for(provider).buy(service=tg, country=usa).phone)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(phones) == 24 and len(set(phones)) == 24
    sequences = list(
        SimulatedNumber.objects.filter(provider=provider).values_list("sequence", flat=True)
    )
    assert sorted(sequences) == list(range(1, 25))
