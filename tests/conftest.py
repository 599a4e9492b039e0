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


def pytest_collection_modifyitems(items):
    """Browser tests run last: Playwright keeps an event loop running in the main thread for
    the rest of the session, and tests that start their own (asyncio.run) must come before."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path))
