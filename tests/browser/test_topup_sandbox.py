"""A customer tops up through the sandbox processor from the dashboard, and the invoice's page
shows the new balance without being reloaded (htmx polling)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, WIDTHS
from tests.factories import UserFactory
from wallets.models import PaymentProcessor, TopUp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_processor(settings):
    settings.SMSBOX_SANDBOX_PAYMENTS = True
    return PaymentProcessor.objects.create(name="sandbox", kind="sandbox", secret="s" * 32)


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_top_up_through_the_sandbox_and_see_the_balance_change_live(
    page, live_server, screenshot, sandbox_processor
):
    # given: a customer on the Top up page
    customer = UserFactory()
    log_in(page, customer)
    page.goto("/wallet/top-up/")
    page.get_by_label("Amount (USD)").fill("15.00")
    page.get_by_label("Payment method").select_option("sandbox")
    page.get_by_label("Pay in").select_option("USDT")
    screenshot("topup-new")

    # when: they continue, they land on the processor's payment page
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/payments/sandbox/sbx_"))
    expect(page.get_by_text("15.00 USD")).to_be_visible()
    screenshot("topup-sandbox")

    # and the invoice's status page is open beside it, marked to tell a reload
    top_up = TopUp.objects.get(user=customer)
    status = page.context.new_page()
    status.goto(f"/wallet/top-ups/{top_up.pk}/")
    expect(status.locator("#balance")).to_have_text("0.00 USD")
    status.evaluate("window.notReloaded = true")

    page.get_by_role("button", name="Pay", exact=True).click()

    # then: the status page shows the credit and the new balance, still the same document
    expect(status.locator("#balance")).to_have_text("15.00 USD", timeout=10_000)
    expect(status.locator(".topup-state")).to_have_text("Paid")
    expect(status.locator("#nav-balance")).to_have_text("15.00")  # the header's balance too
    assert status.evaluate("window.notReloaded") is True
    for width in WIDTHS:  # the fixture shoots the first page; this one is shot here
        status.set_viewport_size({"width": width, "height": 900})
        status.screenshot(path=str(SCREENSHOTS / f"topup-status-{width}.png"), full_page=True)
    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("paid", 15)

    page.goto("/wallet/top-ups/")
    expect(page.get_by_text(top_up.tx_hashes)).to_be_visible()
    screenshot("topup-list")
