import pytest

from tests.providers.fakes import FakeSimpleGet, FakeSimSmsBox, FakeSmsActivate


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
