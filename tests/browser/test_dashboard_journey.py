"""A customer's whole journey through the dashboard in a real browser: sign up, verify, buy,
watch the code arrive without a reload, copy it, finish; buy again and cancel (the refund on
Balance); the resend cooldown; an API key; a rental with auto-renew; only two cookies.

The simulator's SMS comes from a real Celery worker (the task the purchase schedules with a
countdown), against this test's database and Redis db."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from apikeys.models import ApiKey
from providers.catalog import catalog_load
from providers.services import offers_sync, provider_add
from rentals.models import Activation, Rental
from rentals.services.rentals import rental_plans_seed_demo
from smsbox.models import User
from tests.smsbox.test_celery_integration import (  # noqa: F401  (worker_env is a fixture)
    wait_for_workers,
    worker,
    worker_env,
)
from wallets.models import LedgerEntry
from wallets.services import wallet_deposit, wallet_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "journey@example.com"
PASSWORD = "a long and unusual passphrase 42"
TIMEOUT = 30_000  # ms: generous for a shared machine; expect() polls, nothing is timed


@pytest.fixture
def shop(settings):
    """The catalog, a simulator selling Telegram and WhatsApp in the USA whose SMS comes 2 s
    after the sale, rental plans there; short cooldowns so the test sees them run out."""
    settings.SMSBOX_EARLY_CANCEL_SECONDS = 4
    settings.SMSBOX_RESEND_COOLDOWN_SECONDS = 4
    catalog_load()
    provider = provider_add(
        name="Simulator",
        protocol="simulator",
        settings={
            "seed": 3,
            "countries": [187],
            "services": ["tg", "wa"],
            "cost": "0.40",
            "stock": 50,
            "sms_delay": 2,
        },
    )
    offers_sync(provider=provider)
    rental_plans_seed_demo(country_ids=[187])
    return provider


@pytest.fixture
def celery_worker(worker_env, tmp_path):  # noqa: F811
    with worker("journey", worker_env, tmp_path) as process:
        wait_for_workers(["journey"], [tmp_path / "journey.log"])
        yield process


@pytest.fixture
def context_args(browser_context_args):
    return browser_context_args


def sign_up_and_log_in(page: Page, mailoutbox) -> User:
    page.goto("/accounts/signup/")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    link = re.search(r"https?://\S+/accounts/verify/\S+/", mailoutbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_text("Your e-mail address is confirmed")).to_be_visible()
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Buy a number")).to_be_visible()
    return User.objects.get(email=EMAIL)


def pick_telegram_in_the_usa(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Search by name or code").fill("Telegr")
    page.locator("#service-options").get_by_role("link", name=re.compile("Telegram")).click()
    page.get_by_label("Search by name, code or Russian name").fill("США")
    page.locator("#country-options").get_by_role("link", name=re.compile("^USA США")).click()
    expect(page.get_by_role("heading", name="Telegram in USA")).to_be_visible()


def test_a_customer_buys_watches_the_code_arrive_and_manages_everything(
    page: Page, context, shop, celery_worker, mailoutbox, screenshot
):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_default_timeout(TIMEOUT)
    page.goto("/accounts/signup/")
    screenshot("signup")

    # given: a verified customer with money (a deposit through wallets.services)
    user = sign_up_and_log_in(page, mailoutbox)
    wallet_deposit(wallet=wallet_get_or_create(user=user), amount=Decimal("10.00"),
                   idempotency_key=f"journey-{user.pk}")  # fmt: skip
    screenshot("buy")

    # when: they pick Telegram in the USA by typing, and buy
    pick_telegram_in_the_usa(page)
    screenshot("buy-pair")
    page.get_by_role("button", name=re.compile(r"^Buy for")).click()

    # then: My Numbers shows the number, and the code appears without a reload
    expect(page.get_by_role("heading", name="My Numbers")).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    activation = Activation.objects.get(user=user)
    code = page.locator(f"#code-{activation.pk}")
    expect(code).to_have_text(re.compile(r"^\d{6}$"), timeout=60_000)
    assert page.evaluate("window.__notReloaded") is True
    activation.refresh_from_db()
    assert code.inner_text() == activation.code
    screenshot("numbers")

    # another code: asked for, then its cooldown counts down and the button comes back
    resend = page.locator(f"#resend-{activation.display_number}")
    resend.click()
    expect(page.get_by_text("Another code was requested.")).to_be_visible()
    expect(resend).to_be_disabled()
    expect(resend.locator("[data-countdown]")).to_have_text(re.compile(r"^0:0[0-4]$"))
    expect(resend).to_be_enabled()

    # copy the code (the latest one: the simulator answered the request for another)
    page.locator(f"#activation-{activation.pk} .code button").click()
    shown = code.inner_text()
    activation.refresh_from_db()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    assert shown in {m.code for m in activation.messages.all()}

    # finish
    page.locator(f"#finish-{activation.display_number}").click()
    expect(page.get_by_text("Activation finished.")).to_be_visible()
    expect(page.locator(f"#activation-{activation.pk}")).to_have_count(0)
    activation.refresh_from_db()
    assert activation.state == Activation.State.COMPLETED

    # a second buy, without an SMS this time, cancelled once its early window is over
    shop.settings = {**shop.settings, "sms_delay": None}
    shop.save(update_fields=["settings"])  # as an operator does: the server sees it at once
    pick_telegram_in_the_usa(page)
    page.get_by_role("button", name=re.compile(r"^Buy for")).click()
    second = Activation.objects.filter(user=user).exclude(pk=activation.pk).get()
    cancel = page.locator(f"#cancel-{second.display_number}")
    expect(cancel).to_be_disabled()
    expect(cancel).to_be_enabled()
    cancel.click()
    expect(page.get_by_text("Activation cancelled; the price was refunded.")).to_be_visible()
    second.refresh_from_db()
    assert second.state == Activation.State.CANCELLED

    # the refund shows on Balance
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Balance").click()
    left = Decimal("10.00") - activation.price
    expect(page.get_by_test_id("balance")).to_have_text(f"{left:.2f}")
    refund = LedgerEntry.objects.get(wallet__user=user, kind="refund")
    refund_row = page.get_by_role("row", name=re.compile(f"Refund.*activation {second.pk}"))
    expect(refund_row).to_be_visible()
    assert refund.amount == second.price
    screenshot("balance")

    # history and an order's detail page
    page.goto("/history/")
    screenshot("history")
    page.get_by_role("link", name=f"+{activation.phone}").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("SMS received")).to_have_count(activation.messages.count())
    screenshot("order-detail")

    # an API key: created, shown once, regenerated
    page.goto("/api-access/")
    page.get_by_label("Name").fill("my bot")
    page.get_by_role("button", name="Create a key").click()
    first_key = page.locator("#raw-key").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{32,}", first_key)
    expect(page.get_by_role("heading", name="Webhook")).to_be_visible()
    screenshot("api")
    page.goto("/api-access/")
    expect(page.locator("#raw-key")).to_have_count(0)
    assert first_key not in page.content()
    key = ApiKey.objects.get(user=user)
    page.locator(f"#regenerate-{key.pk}").click()
    second_key = page.locator("#raw-key").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{32,}", second_key) and second_key != first_key

    # a rental bought from its plan, auto-renew turned off
    page.goto("/rent/?country=187")
    screenshot("rent")
    page.get_by_role("row", name=re.compile("4 hours")).get_by_role("button", name="Rent").click()
    rental = Rental.objects.get(user=user)
    toggle = page.locator(f"#autorenew-{rental.display_number}")
    expect(toggle).to_have_text("Auto-renew: on")
    toggle.click()
    expect(page.locator(f"#autorenew-{rental.display_number}")).to_have_text("Auto-renew: off")
    rental.refresh_from_db()
    assert rental.auto_renew is False
    screenshot("numbers-rental")

    page.goto("/account/")
    screenshot("account")

    # only the session and CSRF cookies, ever
    assert {cookie["name"] for cookie in context.cookies()} == {"sessionid", "csrftoken"}
