"""An operator's round in the back office, in Chromium: finds a customer by a payment's
transaction hash, opens the customer page, refunds an order with a reason, sees the refund in
the audit log, and opens the reports with their chart drawn. Screenshots:
var/screenshots/backoffice-*.png."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from providers.catalog import catalog_load
from providers.models import Country, Service
from rentals.backoffice.roles import roles_sync
from rentals.models import Activation
from rentals.services.activations import activation_reference
from rentals.services.rentals import rental_purchase
from smsbox.models import OperatorAction
from tests.factories import ActivationFactory, ProviderFactory, StaffFactory, UserFactory
from tests.rentals.rental_support import rent_simulator, usa_plans
from wallets.models import LedgerEntry, PaymentProcessor, TopUp
from wallets.services import wallet_charge, wallet_deposit, wallet_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)

TX_HASH = "0x7d2a91c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f901"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def shop():
    """Roles and catalog (a transactional test starts without the migrations' data), a
    customer who paid by crypto and has an order waiting for its code, two weeks of sales and
    a rental."""
    if not Service.objects.exists():
        catalog_load()
    roles_sync(apps=apps)
    customer = UserFactory(email="carol@example.com")
    wallet = wallet_get_or_create(user=customer)
    wallet_deposit(wallet=wallet, amount=Decimal("30.00"), idempotency_key="tx-1")
    processor = PaymentProcessor.objects.create(name="cryptomus", kind="cryptomus")
    TopUp.objects.create(
        wallet=wallet,
        user=customer,
        processor=processor,
        amount=Decimal("30.00"),
        amount_received=Decimal("30.00"),
        amount_credited=Decimal("30.00"),
        currency="USD",
        pay_currency="USDT",
        order_id="topup-carol-1",
        status="paid",
        tx_hashes=TX_HASH,
    )
    provider = ProviderFactory(name="Alpha")
    order = ActivationFactory(user=customer, provider=provider, price=Decimal("2.50"))
    wallet_charge(wallet=wallet, amount=order.price, reference=activation_reference(order))
    other = UserFactory(email="dave@example.com")
    now = timezone.now()
    for day in range(14):
        for n in range(day % 4 + 1):
            at = now - timedelta(days=day, hours=n + 1)
            ActivationFactory(
                user=other,
                provider=provider,
                created_at=at,
                sms_received_at=at + timedelta(seconds=40) if n else None,
                state="completed" if n else "expired",
                price=Decimal("1.20"),
                cost=Decimal("0.80"),
            )
    rent_simulator()
    usa_plans()
    wallet_deposit(
        wallet=wallet_get_or_create(user=other), amount=Decimal("10"), idempotency_key="dave-rent"
    )
    rental_purchase(user=other, country=Country.objects.get(sms_activate_id=187), hours=24)
    operator = StaffFactory(email="finance@example.com", is_superuser=False)
    operator.groups.add(Group.objects.get(name="Finance"))
    return customer, order


def test_an_operator_finds_refunds_and_sees_it_audited(page, live_server, screenshot, shop):
    customer, order = shop
    page.goto("/admin/login/")
    page.fill("#id_username", "finance@example.com")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))

    # the customer quotes the transaction hash of their payment
    page.locator("#header").get_by_label("Support search").fill(TX_HASH)
    page.locator("#header").get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"/admin/backoffice/search/"))
    expect(page.get_by_text("2 matches")).to_be_visible()
    screenshot("backoffice-search")
    wide = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})  # the hash wraps on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size(wide)

    page.get_by_role("link", name="carol@example.com").click()
    page.wait_for_url(re.compile(rf"/admin/backoffice/customers/{customer.pk}/$"))
    expect(page.locator("#section-top_ups")).to_contain_text(TX_HASH)
    expect(page.locator("#section-account")).to_contain_text("27.50")
    screenshot("backoffice-customer")

    # refund the order that never got its code
    reason = page.get_by_label(f"Refund reason for {order.display_number}").first
    reason.fill("no code came, customer waited 20 min")
    reason.locator("xpath=..").get_by_role("button", name="Refund").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{order.display_number}: 2.50 refunded")
    audit = page.locator("#section-audit")
    expect(audit).to_contain_text("order.refund")
    expect(audit).to_contain_text("no code came")
    screenshot("backoffice-refund")
    assert Activation.objects.get(pk=order.pk).state != "waiting"
    assert LedgerEntry.objects.filter(kind="refund", reference_id=str(order.pk)).count() == 1

    # the audit log itself, searched by operator
    page.goto("/admin/smsbox/operatoraction/?q=finance%40example.com")
    expect(page.locator("#result_list")).to_contain_text("order.refund")
    expect(page.locator("#result_list")).to_contain_text(order.display_number)
    screenshot("backoffice-audit")
    assert OperatorAction.objects.get(action="order.refund").actor.email == "finance@example.com"

    # the reports, with the chart drawn by the vendored Chart.js
    page.goto("/admin/backoffice/reports/")
    canvas = page.locator("#bo-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('bo-chart') !== undefined")
    drawn = page.evaluate(
        "() => { const c = Chart.getChart('bo-chart');"
        " return [c.data.datasets.length, c.data.labels.length, c.canvas.width]; }"
    )
    assert drawn[0] == 5 and drawn[1] >= 14 and drawn[2] > 300
    expect(page.get_by_text("Deposits per day and processor")).to_be_visible()
    rentals = page.locator("section", has=page.get_by_text("Rentals per day"))
    expect(rentals).to_contain_text("3.00")  # the 24 h rental bought today
    screenshot("backoffice-reports")
