import pytest
from django.test import override_settings

from tests.api.conftest import assert_error
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def test_get_creates_and_shows_the_secret(client):
    body = client.get("/api/v1/webhook/").json()
    assert body["url"] == "" and body["secret"].startswith("whsec_")
    assert client.get("/api/v1/webhook/").json()["secret"] == body["secret"]


@override_settings(SMSBOX_WEBHOOK_ALLOW_PRIVATE=True)
def test_set_and_clear_the_url(client, customer):
    body = client.put("/api/v1/webhook/", {"url": "http://127.0.0.1:9/hook"}, format="json").json()
    assert body["url"] == "http://127.0.0.1:9/hook"
    customer.refresh_from_db()
    assert customer.webhook_url == "http://127.0.0.1:9/hook"
    assert client.put("/api/v1/webhook/", {"url": ""}, format="json").json()["url"] == ""


def test_a_private_address_is_refused(client):
    response = client.put("/api/v1/webhook/", {"url": "http://127.0.0.1/hook"}, format="json")
    assert_error(response, 400, "WEBHOOK_URL_REFUSED")


def test_a_non_http_url_is_refused(client):
    response = client.put("/api/v1/webhook/", {"url": "ftp://example.com/x"}, format="json")
    assert_error(response, 400, "WEBHOOK_URL_REFUSED")


def test_rotate_secret(client):
    before = client.get("/api/v1/webhook/").json()["secret"]
    after = client.post("/api/v1/webhook/rotate-secret/").json()["secret"]
    assert after != before and client.get("/api/v1/webhook/").json()["secret"] == after


def test_delivery_log_is_mine_and_filterable(client, customer):
    WebhookDeliveryFactory(user=customer)
    WebhookDeliveryFactory(user=customer, status="succeeded")
    WebhookDeliveryFactory()  # someone else's
    body = client.get("/api/v1/webhook/deliveries/").json()
    assert body["count"] == 2
    assert client.get("/api/v1/webhook/deliveries/?status=succeeded").json()["count"] == 1


def test_delivery_log_bad_filter(client):
    assert_error(client.get("/api/v1/webhook/deliveries/?status=lost"), 400, "INVALID_FILTER")
