"""Every dashboard page at 375 px wide, in the light and the dark colour scheme, and in Russian
(whose words run longer): nothing overflows sideways, text is readable against what is behind
it (WCAG contrast), every form field has a label; and a keyboard alone can reach Buy and buy.
Screenshots go to var/screenshots/<page>-375-<scheme>.png (and <page>-375-light-ru.png)."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apikeys.services import api_key_create
from providers.catalog import catalog_load
from providers.models import Country, Service
from providers.services import offers_sync, provider_add, upstream_sms_dispatch
from rentals.models import Activation
from rentals.services import activation_purchase
from rentals.services.rentals import rental_plans_seed_demo, rental_purchase
from tests.browser.conftest import SCREENSHOTS
from tests.factories import UserFactory
from wallets.models import PaymentProcessor
from wallets.services import wallet_deposit, wallet_get_or_create
from wallets.topup_services import topup_create

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {
    "buy": "/?service=tg&country=187",
    "numbers": "/numbers/",
    "history": "/history/",
    "balance": "/balance/",
    "topup": "/wallet/top-up/",
    "topups": "/wallet/top-ups/",
    "api": "/api-access/",
    "account": "/account/",
}

CHECKS = (Path(__file__).with_name("layout_checks.js")).read_text()


def check(page: Page, name: str) -> list[str]:
    """One of the checks of layout_checks.js run in the page: what it found wrong."""
    return page.evaluate(f"(() => {{ {CHECKS}; return {name}(); }})()")


@pytest.fixture
def customer(settings):
    """A customer with something on every page: an activation with its code, one waiting, a
    rental, an API key, a top-up through the sandbox."""
    settings.SMSBOX_SANDBOX_PAYMENTS = True
    catalog_load()
    provider = provider_add(
        name="Simulator",
        protocol="simulator",
        settings={"seed": 5, "countries": [187], "services": ["tg", "wa"], "cost": "0.40",
                  "stock": 50, "sms_delay": None},
    )  # fmt: skip
    offers_sync(provider=provider)
    rental_plans_seed_demo(country_ids=[187])
    user = UserFactory(email="a.rather.long.address.for.a.small.screen@example.com")
    wallet = wallet_get_or_create(user=user)
    wallet_deposit(wallet=wallet, amount=Decimal("40.00"), idempotency_key=f"layout-{user.pk}")
    telegram, usa = Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)
    received = activation_purchase(user=user, service=telegram, country=usa)
    upstream_sms_dispatch(
        provider=received.provider,
        upstream_id=received.upstream_id,
        phone=received.phone,
        text="Your Telegram code is 424242. Do not give this code to anyone, even if they say",
    )
    activation_purchase(user=user, service=telegram, country=usa)
    rental_purchase(user=user, country=usa, hours=4)
    api_key_create(user=user, name="my scraper")
    PaymentProcessor.objects.create(name="sandbox", kind="sandbox", secret="s" * 32)
    topup_create(
        user=user, amount="25.00", processor_name="sandbox", pay_currency="BTC",
        base_url="http://127.0.0.1",
    )  # fmt: skip
    return user


def log_in(page: Page, user) -> None:
    """Through the login form, whatever its language."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.email)
    page.locator("input[name=password]").fill("correct horse battery staple")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


@pytest.mark.parametrize(("scheme", "language"), [("light", "en"), ("dark", "en"), ("light", "ru")])
def test_every_page_fits_375_px_reads_well_and_labels_its_fields(
    browser, live_server, customer, scheme, language
):
    context = browser.new_context(
        base_url=live_server.url,
        locale={"en": "en-US", "ru": "ru-RU"}[language],
        viewport={"width": 375, "height": 812},
        color_scheme=scheme,
    )
    page = context.new_page()
    log_in(page, customer)
    suffix = scheme if language == "en" else f"{scheme}-{language}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, languages = {}, set()
    for name, url in PAGES.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-375-{suffix}.png"), full_page=True)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        found = {
            "overflow": [] if widths[0] <= widths[1] else check(page, "overflowing"),
            "contrast": check(page, "lowContrast"),
            "unlabelled": check(page, "unlabelled"),
        }
        problems.update({f"{name} {k}": v for k, v in found.items() if v})
        languages.add(page.evaluate("document.documentElement.lang"))

    context.close()
    assert not problems, "\n".join(f"{k}: {v}" for k, found in problems.items() for v in found)
    assert languages == {language}  # every page was in the language asked for


def test_the_keyboard_alone_reaches_buy_and_buys(page: Page, customer):
    page.set_viewport_size({"width": 375, "height": 812})
    log_in(page, customer)
    page.goto(PAGES["buy"])
    before = Activation.objects.filter(user=customer).count()

    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "buy-button":
            break
    focused = page.locator("#buy-button")
    expect(focused).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="My Numbers")).to_be_visible()
    assert Activation.objects.filter(user=customer).count() == before + 1
    assert outline != "none"  # where the focus is can be seen
