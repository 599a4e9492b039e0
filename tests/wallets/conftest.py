import pytest

from tests.wallets.fakes import (
    API_KEY,
    MERCHANT,
    SECRET,
    STORE,
    FakeBtcPay,
    FakeCryptomus,
    FakeNowPayments,
)
from wallets.models import PaymentProcessor


@pytest.fixture
def fake_cryptomus():
    server = FakeCryptomus().start()
    yield server
    server.stop()


@pytest.fixture
def fake_nowpayments():
    server = FakeNowPayments().start()
    yield server
    server.stop()


@pytest.fixture
def fake_btcpay():
    server = FakeBtcPay().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox_on(settings):
    settings.SMSBOX_SANDBOX_PAYMENTS = True


@pytest.fixture
def cryptomus(fake_cryptomus) -> PaymentProcessor:
    return PaymentProcessor.objects.create(
        name="cryptomus",
        kind="cryptomus",
        base_url=fake_cryptomus.base_url,
        merchant=MERCHANT,
        api_key=API_KEY,
    )


@pytest.fixture
def nowpayments(fake_nowpayments) -> PaymentProcessor:
    return PaymentProcessor.objects.create(
        name="nowpayments",
        kind="nowpayments",
        base_url=fake_nowpayments.base_url,
        api_key=API_KEY,
        secret=SECRET,
    )


@pytest.fixture
def btcpay(fake_btcpay) -> PaymentProcessor:
    return PaymentProcessor.objects.create(
        name="btcpay",
        kind="btcpay",
        base_url=fake_btcpay.base_url,
        store_id=STORE,
        api_key=API_KEY,
        secret=SECRET,
    )


@pytest.fixture
def sandbox(sandbox_on) -> PaymentProcessor:
    return PaymentProcessor.objects.create(name="sandbox", kind="sandbox", secret=SECRET)
