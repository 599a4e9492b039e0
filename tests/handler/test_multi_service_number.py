"""``getMultiServiceNumber``: one number for several services, one activation per service, each
charged, polled and finished on its own; errors as getNumber's."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from providers.models import PurchaseAttempt, Service
from rentals.models import Activation
from rentals.services import activation_poll, activation_receive_sms
from tests.factories import OfferFactory, ProviderFactory
from tests.handler.conftest import fund
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db
ACTION = "getMultiServiceNumber"


def service(code: str) -> Service:
    return Service.objects.get(code=code)


def sells_whatsapp(provider, cost: str = "0.30"):
    return OfferFactory(provider=provider, service=service("wa"), cost=Decimal(cost))


@pytest.fixture
def market(offer):
    """The simulator of ``offer`` sells Telegram at 0.50 and WhatsApp at 0.30 in the USA."""
    sells_whatsapp(offer.provider)
    return offer.provider


def charges() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind="charge").order_by("pk"))


def test_one_number_for_every_service(handler, customer, market):
    # given
    fund(customer, "10.00")
    # when
    body = handler.json(ACTION, multiService="tg,wa", multiForward="0,0", country="187")
    # then: the protocol's list, the same phone on every item
    assert [item["service"] for item in body] == ["tg", "wa"]
    assert all(set(item) == {"phone", "activation", "service"} for item in body)
    assert all(isinstance(item["activation"], str) for item in body)
    assert len({item["phone"] for item in body}) == 1 and body[0]["phone"].isdigit()
    activations = [Activation.objects.get(pk=int(item["activation"])) for item in body]
    assert [(a.phone, a.state) for a in activations] == [(body[0]["phone"], "waiting")] * 2
    # one charge per activation, each at its own price
    assert [(c.reference_id, c.amount) for c in charges()] == [
        (str(activations[0].pk), Decimal("-0.50")),
        (str(activations[1].pk), Decimal("-0.30")),
    ]
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.20"


def test_a_service_named_twice_is_bought_once(handler, customer, market):
    fund(customer, "10.00")

    body = handler.json(ACTION, multiService="tg, WA,tg,,wa", country="187")

    assert [item["service"] for item in body] == ["tg", "wa"]
    assert len(charges()) == 2


def test_no_balance_for_the_total_charges_nothing(handler, customer, market):
    fund(customer, "0.60")  # Telegram alone, not both

    assert handler.json(ACTION, multiService="tg,wa", country="187") == {
        "status": "error",
        "message": "NO_BALANCE",
    }

    assert not Activation.objects.exists() and charges() == []
    assert handler.text("getBalance") == "ACCESS_BALANCE:0.60"


def test_no_numbers_refunds_every_charge(handler, customer, market):
    fund(customer, "10.00")
    market.settings = {**market.settings, "fail_no_numbers": 1.0}
    market.save()

    body = handler.json(ACTION, multiService="tg,wa", country="187")

    assert body == {"status": "error", "message": "NO_NUMBERS"}
    assert set(Activation.objects.values_list("state", flat=True)) == {"failed"}
    assert LedgerEntry.objects.filter(kind="refund").count() == len(charges()) == 2
    assert handler.text("getBalance") == "ACCESS_BALANCE:10.00"
    call_command("check_ledger")


def test_no_numbers_when_no_provider_sells_every_service(handler, customer, offer):
    fund(customer, "10.00")
    sells_whatsapp(ProviderFactory())  # another provider: no one number for both

    body = handler.json(ACTION, multiService="tg,wa", country="187")

    assert body == {"status": "error", "message": "NO_NUMBERS"}
    assert charges() == []


def test_fails_over_to_a_second_provider(handler, customer, market):
    fund(customer, "10.00")
    market.settings = {**market.settings, "fail_transient": 1.0}
    market.save()
    second = ProviderFactory()
    OfferFactory(provider=second, cost=Decimal("0.50"))
    sells_whatsapp(second)

    body = handler.json(ACTION, multiService="tg,wa", country="187")

    activations = Activation.objects.filter(pk__in=[int(item["activation"]) for item in body])
    assert {(a.provider_id, a.phone) for a in activations} == {(second.pk, body[0]["phone"])}
    tried = PurchaseAttempt.objects.order_by("pk").values_list("provider_id", "outcome")
    assert list(tried) == [(market.pk, "transient")] * 2 + [(second.pk, "bought")] * 2
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.20"
    assert not LedgerEntry.objects.filter(kind="refund").exists()


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({"multiService": ""}, "BAD_SERVICE"),
        ({"multiService": " , "}, "BAD_SERVICE"),
        ({}, "BAD_SERVICE"),
        ({"multiService": "tg,nope"}, "BAD_SERVICE"),
        ({"multiService": ",".join(f"s{i}" for i in range(11))}, "BAD_SERVICE"),
        ({"multiService": "tg,wa", "country": "9999"}, "BAD_COUNTRY"),
        ({"multiService": "tg,wa", "maxPrice": "0.40"}, "WRONG_MAX_PRICE:0.50"),
    ],
)
def test_errors(handler, customer, market, params, token):
    fund(customer, "10.00")
    assert handler.json(ACTION, **{"country": "187", **params}) == {
        "status": "error",
        "message": token,
    }
    assert charges() == []


def test_more_than_ten_services_are_refused_even_when_each_exists(handler, customer, market):
    fund(customer, "10.00")
    codes = list(Service.objects.order_by("code").values_list("code", flat=True)[:11])
    assert len(codes) == 11

    answer = handler.json(ACTION, multiService=",".join(codes), country="187")

    assert answer["message"] == "BAD_SERVICE" and charges() == []


def test_each_activation_gets_its_own_sms_and_is_finished_on_its_own(handler, customer, market):
    # given
    fund(customer, "10.00")
    tg_item, wa_item = handler.json(ACTION, multiService="tg,wa", country="187")
    tg_id, wa_id = tg_item["activation"], wa_item["activation"]
    tg_activation = Activation.objects.get(pk=tg_id)
    # when: Telegram's SMS comes
    activation_receive_sms(
        provider=market, upstream_id=tg_activation.upstream_id, text="Telegram code 424242"
    )
    # then: only Telegram has a code
    assert handler.text("getStatus", id=tg_id) == "STATUS_OK:424242"
    assert handler.text("getStatus", id=wa_id) == "STATUS_WAIT_CODE"
    assert handler.text("setStatus", id=tg_id, status="6") == "ACCESS_ACTIVATION"
    active = handler.json("getActiveActivations")["activeActivations"]
    assert [(a["activationId"], a["phoneNumber"]) for a in active] == [(wa_id, wa_item["phone"])]
    # when: WhatsApp's own SMS comes, it is finished too
    activation_receive_sms(
        provider=market,
        upstream_id=Activation.objects.get(pk=wa_id).upstream_id,
        text="WhatsApp code 555-666",
    )
    assert handler.text("getStatus", id=wa_id) == "STATUS_OK:555666"
    assert handler.text("setStatus", id=wa_id, status="6") == "ACCESS_ACTIVATION"
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.20"
    call_command("check_ledger")


def test_an_unknown_outcome_answers_no_numbers_and_is_abandoned_for_reconciliation(
    handler, customer, market
):
    fund(customer, "10.00")
    market.settings = {**market.settings, "fail_timeout": 1.0}
    market.save()

    body = handler.json(ACTION, multiService="tg,wa", country="187")

    assert body == {"status": "error", "message": "NO_NUMBERS"}  # as getNumber answers
    assert set(Activation.objects.values_list("state", flat=True)) == {"unknown"}
    assert set(Activation.objects.values_list("abandoned", flat=True)) == {True}
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.20"
    # told no: reconciliation refunds both and never delivers
    from rentals.services import activations_reconcile
    from tests.rentals.orphan_support import later

    assert activations_reconcile(now=later(31)) == 2
    assert set(Activation.objects.values_list("state", flat=True)) == {"failed"}
    assert handler.text("getBalance") == "ACCESS_BALANCE:10.00"
    call_command("check_ledger")


# --- through an SMS-Activate upstream ---------------------------------------------------------
def test_bought_from_an_sms_activate_upstream(handler, customer, fake_sms_activate):
    # given: an upstream speaking the protocol, selling both services
    upstream = ProviderFactory(
        protocol="sms_activate", base_url=fake_sms_activate.handler_url, settings={}
    )
    OfferFactory(provider=upstream, cost=Decimal("0.50"))
    sells_whatsapp(upstream)
    fund(customer, "10.00")
    # when
    tg_item, wa_item = handler.json(ACTION, multiService="tg,wa", country="187")
    # then: the upstream's one number, our own activation ids
    sent = fake_sms_activate.requests[-1].params
    assert (sent["action"], sent["multiService"], sent["country"]) == (ACTION, "tg,wa", "187")
    assert tg_item["phone"] == wa_item["phone"] == "79995468022"
    tg_activation = Activation.objects.get(pk=tg_item["activation"])
    wa_activation = Activation.objects.get(pk=wa_item["activation"])
    assert (tg_activation.upstream_id, wa_activation.upstream_id) == ("635468022", "635468023")
    # when: the upstream has Telegram's code and is polled for both
    fake_sms_activate.deliver(635468022, "8080")
    assert activation_poll(activation=tg_activation) == 1
    assert activation_poll(activation=wa_activation) == 0
    # then
    assert handler.text("getStatus", id=tg_item["activation"]) == "STATUS_OK:8080"
    assert handler.text("getStatus", id=wa_item["activation"]) == "STATUS_WAIT_CODE"
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.20"
