"""The support search: every kind of identifier finds its object; any text answers a page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from rentals.backoffice.search import normalise_phone
from tests.backoffice.conftest import bought, client_for
from tests.factories import ApiKeyFactory, UserFactory
from wallets.models import PaymentProcessor, TopUp
from wallets.services import wallet_get_or_create

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
    processor = PaymentProcessor.objects.create(
        name="np", kind="nowpayments", api_key="k", secret="s"
    )
    return TopUp.objects.create(
        wallet=wallet_get_or_create(user=customer),
        user=customer,
        processor=processor,
        amount=Decimal("25.00"),
        currency="USD",
        pay_currency="btc",
        order_id="smsbox-0f1e2d3c4b5a",
        processor_ref="4522625843",
        processor_payment_id="5077125051",
        status="paid",
        tx_hashes="9f2c4e1ab37d5c60aa\nb7e0c2ff81d94a3b",
    )


def top_up_page(top_up) -> str:
    return reverse("admin:wallets_topup_change", args=[top_up.pk])


@pytest.mark.parametrize(
    "typed",
    ["#ID", "9f2c4e1ab37d5c60aa", "B7E0C2FF81D94A3B", "9f2c4e1ab3", "4522625843", "5077125051"],
    ids=["id", "tx-hash", "second-hash-any-case", "part-of-a-hash", "invoice", "payment"],
)
def test_a_top_up_is_found_by_its_id_transaction_hash_or_processor_ids(
    support, customer, top_up, typed
):
    response = support.get(SEARCH, {"q": typed.replace("ID", str(top_up.pk))})

    assert response.status_code == 302 and response.url == top_up_page(top_up)


def test_a_bare_number_lists_the_top_up_beside_the_order_of_that_id(support, customer, top_up):
    activation = bought(customer)
    TopUp.objects.filter(pk=top_up.pk).update(id=activation.pk)
    top_up.pk = activation.pk

    body = support.get(SEARCH, {"q": str(activation.pk)}).content.decode()

    assert top_up_page(top_up) in body and f"Top-up #{top_up.pk}" in body
    assert reverse("admin:rentals_activation_change", args=[activation.pk]) in body
