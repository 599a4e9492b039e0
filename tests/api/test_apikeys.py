import pytest
import time_machine
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from tests.api.conftest import assert_error
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _login(user) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def test_login_with_a_wrong_password_fails(anonymous, customer):
    response = anonymous.post("/api/v1/auth/token", {"email": customer.email, "password": "no"})
    assert_error(response, 401, "LOGIN_FAILED")


def test_login_needs_email_and_password(anonymous):
    assert_error(anonymous.post("/api/v1/auth/token", {}), 400, "INVALID_INPUT")


def test_login_email_is_case_insensitive_and_slash_works(anonymous, customer):
    response = anonymous.post(
        "/api/v1/auth/token/", {"email": customer.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200 and response.json()["expiresIn"] == 900


def test_banned_account_gets_no_token(anonymous):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(banned_until=timezone.now() + timedelta(days=1))
    response = anonymous.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD})
    assert_error(response, 403, "BANNED")


def test_create_list_regenerate_revoke(customer):
    client = _login(customer)
    created = client.post("/api/v1/api-keys/", {"name": "server-1"}, format="json")
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith(key["prefix"]) and len(key["key"]) == 40
    assert [k["name"] for k in client.get("/api/v1/api-keys/").json()] == ["server-1"]
    assert "key" not in client.get("/api/v1/api-keys/").json()[0]

    regenerated = client.post(f"/api/v1/api-keys/{key['id']}/regenerate/").json()
    assert regenerated["key"] != key["key"] and regenerated["id"] == key["id"]

    revoked = client.delete(f"/api/v1/api-keys/{key['id']}/")
    assert revoked.status_code == 200 and revoked.json()["revokedAt"]
    assert client.get("/api/v1/api-keys/").json() == []
    assert_error(client.post(f"/api/v1/api-keys/{key['id']}/regenerate/"), 409, "API_KEY_REVOKED")


def test_a_regenerated_key_stops_working_at_once(customer):
    old = ApiKeyFactory(user=customer)
    rest = APIClient()
    rest.credentials(HTTP_X_API_KEY=old.raw_key)
    assert rest.get("/api/v1/wallet/").status_code == 200  # the check is now cached
    _login(customer).post(f"/api/v1/api-keys/{old.pk}/regenerate/")
    assert_error(rest.get("/api/v1/wallet/"), 401, "AUTHENTICATION_FAILED")


def test_create_needs_a_name(customer):
    assert_error(_login(customer).post("/api/v1/api-keys/", {"name": ""}), 400, "INVALID_INPUT")


def test_another_customers_key_is_not_found(customer):
    other = ApiKeyFactory()
    client = _login(customer)
    assert_error(client.delete(f"/api/v1/api-keys/{other.pk}/"), 404, "API_KEY_NOT_FOUND")
    assert_error(client.post(f"/api/v1/api-keys/{other.pk}/regenerate/"), 404, "API_KEY_NOT_FOUND")
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None


@pytest.mark.parametrize(
    "how",
    [
        lambda c, k: c.credentials(HTTP_X_API_KEY=k),
        lambda c, k: c.credentials(HTTP_AUTHORIZATION=f"Bearer {k}"),
        lambda c, k: None,
    ],
    ids=["x-api-key", "bearer", "query"],
)
def test_the_api_key_endpoints_refuse_api_keys(api_key, how):
    client = APIClient()
    how(client, api_key.raw_key)
    suffix = "" if client._credentials else f"?api_key={api_key.raw_key}"
    assert_error(client.get(f"/api/v1/api-keys/{suffix}"), 401, "LOGIN_TOKEN_REQUIRED")
    response = client.post(f"/api/v1/api-keys/{suffix}", {"name": "x"}, format="json")
    assert_error(response, 401, "LOGIN_TOKEN_REQUIRED")
    assert_error(
        client.delete(f"/api/v1/api-keys/{api_key.pk}/{suffix}"), 401, "LOGIN_TOKEN_REQUIRED"
    )
    assert ApiKey.objects.filter(user=api_key.user).count() == 1


def test_a_login_token_expires(customer, settings):
    with time_machine.travel("2026-01-01 10:00:00Z", tick=False) as traveller:
        client = _login(customer)
        assert client.get("/api/v1/api-keys/").status_code == 200
        traveller.shift(settings.SMSBOX_LOGIN_TOKEN_SECONDS + 1)
        assert_error(client.get("/api/v1/api-keys/"), 401, "AUTHENTICATION_FAILED")


def test_a_tampered_token_is_refused(customer):
    client = _login(customer)
    token = client._credentials["HTTP_AUTHORIZATION"]
    client.credentials(HTTP_AUTHORIZATION=token[:-2] + "xx")
    assert_error(client.get("/api/v1/api-keys/"), 401, "AUTHENTICATION_FAILED")


def test_a_login_token_is_not_an_api_key(customer):
    client = _login(customer)
    assert_error(client.get("/api/v1/wallet/"), 401, "AUTHENTICATION_FAILED")


def test_repeated_wrong_passwords_are_refused_for_a_while(anonymous, customer):
    with time_machine.travel("2026-01-01 10:00:00Z", tick=False):
        for _ in range(10):
            response = anonymous.post(
                "/api/v1/auth/token", {"email": customer.email, "password": "wrong"}
            )
            assert_error(response, 401, "LOGIN_FAILED")
        refused = anonymous.post(
            "/api/v1/auth/token", {"email": customer.email, "password": PASSWORD}
        )
        assert_error(refused, 429, "RATE_LIMITED")
        assert refused["Retry-After"] == "60"
