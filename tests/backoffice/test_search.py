"""The support search: every kind of identifier finds its object; any text answers a page."""

import pytest
from django.urls import reverse

from rentals.backoffice.search import normalise_phone
from tests.backoffice.conftest import bought, client_for
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

SEARCH = reverse("backoffice:search")


@pytest.fixture
def support(client, operator_of):
    return client_for(client, operator_of("Support"))


def customer_page(user) -> str:
    return reverse("backoffice:customer", args=[user.pk])


def test_an_email_goes_straight_to_the_customer_page(support, customer):
    response = support.get(SEARCH, {"q": "  ALICE@example.com "})
    assert response.status_code == 302
    assert response.url == customer_page(customer)


def test_an_activation_id_and_display_number_go_to_the_activation(support, customer):
    activation = bought(customer, display_number="A20261204XYZ1")
    change = reverse("admin:rentals_activation_change", args=[activation.pk])
    assert support.get(SEARCH, {"q": "a20261204xyz1"}).url == change
    by_id = support.get(SEARCH, {"q": str(activation.pk)})
    assert change in by_id.content.decode() or by_id.url == change


@pytest.mark.parametrize(
    "typed", ["+1 (555) 010-0001", "15550100001", "001 555 010 0001", "+1-555-010-0001"]
)
def test_a_phone_number_in_any_format_finds_the_order(support, customer, typed):
    activation = bought(customer, phone="15550100001")
    response = support.get(SEARCH, {"q": typed})
    assert response.url == reverse("admin:rentals_activation_change", args=[activation.pk])


def test_phone_numbers_are_normalised_with_phonenumbers():
    assert normalise_phone("+44 20 7946 0958") == "442079460958"
    assert normalise_phone("0044 (20) 7946-0958") == "442079460958"
    assert normalise_phone("alice@example.com") is None
    assert normalise_phone("12") is None


def test_an_upstream_order_id_finds_the_order(support, customer):
    activation = bought(customer, upstream_id="UP-778899")
    response = support.get(SEARCH, {"q": "UP-778899"})
    assert response.url == reverse("admin:rentals_activation_change", args=[activation.pk])


def test_an_api_key_prefix_or_whole_key_finds_its_customer(support, customer):
    key = ApiKeyFactory(user=customer)
    assert support.get(SEARCH, {"q": key.prefix}).url == customer_page(customer)
    assert support.get(SEARCH, {"q": key.raw_key}).url == customer_page(customer)


def test_several_matches_answer_a_short_list(support):
    UserFactory(email="bob.one@example.com")
    UserFactory(email="bob.two@example.com")
    response = support.get(SEARCH, {"q": "bob."})
    assert response.status_code == 200
    body = response.content.decode()
    assert "bob.one@example.com" in body and "bob.two@example.com" in body


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE smsbox_user; --",
        "ünïcødé ☎ 电话",
        "x" * 10_000,
        "9" * 10_000,
        "\x00nul",
        "%_%",
        "1 OR 1=1",
    ],
)
def test_any_text_answers_a_page_never_a_500(support, customer, text):
    response = support.get(SEARCH, {"q": text})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "Nothing found" in response.content.decode() or "match" in response.content.decode()


def test_the_search_box_is_on_the_admin_index_and_header(support):
    body = support.get(reverse("admin:index")).content.decode()
    assert body.count(f'action="{SEARCH}"') == 2


def test_a_staff_user_without_a_role_gets_403(client, operator_of):
    assert client_for(client, operator_of(None)).get(SEARCH, {"q": "x"}).status_code == 403


@pytest.fixture
def top_up(customer):
    from wallets.models import PaymentProcessor, TopUp
    from wallets.services import wallet_get_or_create

    processor = PaymentProcessor.objects.create(name="sandbox", kind="sandbox")
    return TopUp.objects.create(
        wallet=wallet_get_or_create(user=customer),
        user=customer,
        processor=processor,
        amount="25.00",
        currency="USD",
        pay_currency="USDT",
        order_id="topup-7f3a9c",
        processor_ref="inv-55501",
        status="paid",
        tx_hashes="0x9f2c4b7e1a3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8\n"
        "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899",
    )


def topup_page(top_up) -> str:
    return reverse("admin:wallets_topup_change", args=[top_up.pk])


@pytest.mark.parametrize(
    "typed",
    [
        "0x9f2c4b7e1a3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
        "0X9F2C4B7E1A3D5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8",
        "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899",
        "  4a5b6c7d8e9f00112233445566778899  ",  # the start of a hash, as quoted in a chat
        "topup-7f3a9c",
        "inv-55501",
    ],
)
def test_a_transaction_hash_or_invoice_id_finds_the_top_up_and_its_customer(
    support, customer, top_up, typed
):
    response = support.get(SEARCH, {"q": typed})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="{topup_page(top_up)}"' in body
    assert f'href="{customer_page(customer)}"' in body
    assert "2 matches" in body


@pytest.mark.parametrize("typed", ["{pk}", "#{pk}"])
def test_a_top_up_id_finds_the_top_up(support, customer, top_up, typed):
    response = support.get(SEARCH, {"q": typed.format(pk=top_up.pk)})
    assert f'href="{topup_page(top_up)}"' in response.content.decode()


def test_a_hash_of_nobodys_payment_finds_nothing(support, top_up):
    response = support.get(SEARCH, {"q": "0x" + "ab" * 32})
    assert "Nothing found" in response.content.decode()


def test_the_customer_page_lists_top_ups_with_their_hashes(support, customer, top_up):
    body = support.get(customer_page(customer)).content.decode()
    assert "Top-ups" in body and f"#{top_up.pk}" in body
    assert "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899" in body
