import pytest

from tests.providers.fakes import FakeSimpleGet, FakeSimSmsBox, FakeSmsActivate


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache (the circuit breaker, rate limits, key checks)."""
    from django.core.cache import cache

    cache.clear()
    yield


# Fake upstreams speaking their real protocols over HTTP on localhost.
@pytest.fixture
def fake_sms_activate():
    server = FakeSmsActivate().start()
    yield server
    server.stop()


@pytest.fixture
def fake_simsmsbox():
    server = FakeSimSmsBox().start()
    yield server
    server.stop()


@pytest.fixture
def fake_simple_get():
    server = FakeSimpleGet().start()
    yield server
    server.stop()
