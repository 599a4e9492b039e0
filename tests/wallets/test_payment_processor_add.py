"""``manage.py payment_processor_add``, the sandbox refused in production, and seed_demo's
sandbox processor."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from wallets.models import PaymentProcessor

pytestmark = pytest.mark.django_db


def add(*args: str) -> str:
    out = io.StringIO()
    call_command("payment_processor_add", *args, stdout=out)
    return out.getvalue()


def test_cryptomus_gets_its_default_api_root_and_prints_the_callback_url():
    output = add("crypto", "--kind", "cryptomus", "--merchant", "m-1", "--api-key", "k")

    processor = PaymentProcessor.objects.get(name="crypto")
    assert "/payments/crypto/callback" in output
    assert (processor.kind, processor.merchant, processor.api_key) == ("cryptomus", "m-1", "k")
    from wallets.processors import processor_for

    assert processor_for(processor).base_url == "https://api.cryptomus.com/v1"


def test_nowpayments_sandbox_host_and_btcpay_store():
    add("np", "--kind", "nowpayments", "--api-key", "k", "--secret", "s", "--sandbox")
    add(
        "btc",
        "--kind",
        "btcpay",
        "--base-url",
        "https://btcpay.example.com/api/v1",
        "--store",
        "S1",
        "--api-key",
        "k",
        "--secret",
        "s",
        "--currency",
        "BTC",
        "--currency",
        "LTC",
    )

    assert (
        PaymentProcessor.objects.get(name="np").base_url == "https://api-sandbox.nowpayments.io/v1"
    )
    assert PaymentProcessor.objects.get(name="btc").currencies == ["BTC", "LTC"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--kind", "cryptomus", "--api-key", "k"], "needs the merchant"),
        (["x", "--kind", "btcpay", "--api-key", "k", "--secret", "s"], "needs the base url"),
        (["bad name", "--kind", "sandbox", "--secret", "s"], "letters, digits"),
        (
            [
                "x",
                "--kind",
                "heleket",
                "--base-url",
                "ftp://a",
                "--merchant",
                "m",
                "--api-key",
                "k",
            ],
            "http(s)",
        ),
        (["x", "--kind", "sandbox", "--secret", "s"], "sandbox is refused"),
    ],
)
def test_incomplete_configurations_are_refused(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add(*args)
    assert not PaymentProcessor.objects.exists()


def test_an_enabled_sandbox_is_refused_at_start_up_in_production(settings):
    PaymentProcessor.objects.create(name="sandbox", kind="sandbox", secret="s")
    settings.DEBUG = False
    settings.SMSBOX_SANDBOX_PAYMENTS = False

    with pytest.raises(SystemCheckError, match=r"wallets\.E001"):
        call_command("check", "--database", "default")

    settings.SMSBOX_SANDBOX_PAYMENTS = True
    call_command("check", "--database", "default")


def test_seed_demo_adds_the_sandbox_processor_once(settings):
    settings.SMSBOX_SANDBOX_PAYMENTS = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    processor = PaymentProcessor.objects.get()
    assert (processor.name, processor.kind, processor.enabled) == ("sandbox", "sandbox", True)
    assert len(processor.secret) >= 32
