"""Client programs' requests pass through the API's middleware alone
(``smsbox.middleware.ApiMiddleware``): no session, no dashboard checks, one language; the
security headers stay."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone, translation

from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

HANDLER = "/stubs/handler_api.php"
NOT_AUTHENTICATED = "Authentication credentials were not provided."


@pytest.fixture
def customer():
    return UserFactory(is_verified=True)


@pytest.fixture
def signed_in(client, customer):
    """A browser signed in to the dashboard as ``customer``: its session cookie goes along."""
    client.force_login(customer)
    return client


def test_a_client_program_is_answered_in_english_whatever_its_accept_language():
    response = Client().get("/api/v1/activations/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == NOT_AUTHENTICATED
    assert "Accept-Language" not in response.get("Vary", "")


def test_the_language_a_dashboard_page_chose_on_the_thread_does_not_carry_over():
    translation.activate("ru")  # what a Russian dashboard page leaves behind on its thread
    try:
        response = Client().get("/api/v1/activations/")
    finally:
        translation.deactivate()
    assert response.json()["error"]["message"] == NOT_AUTHENTICATED


def test_the_dashboard_still_chooses_its_language(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response["Content-Language"] == "ru"


def test_a_session_cookie_beside_an_api_key_is_not_read(signed_in, customer):
    key = ApiKeyFactory(user=customer)
    response = signed_in.get(HANDLER, {"api_key": key.raw_key, "action": "getBalance"})
    assert response.content.decode().startswith("ACCESS_BALANCE:")
    assert "Cookie" not in response.get("Vary", "")  # the session was never opened


def test_a_blocked_customer_signed_in_in_a_browser_gets_the_protocols_answer(signed_in, customer):
    key = ApiKeyFactory(user=customer)
    customer.blocked_at = timezone.now()
    customer.save(update_fields=["blocked_at"])

    handler = signed_in.get(HANDLER, {"api_key": key.raw_key, "action": "getBalance"})
    rest = signed_in.get("/api/v1/activations/", HTTP_X_API_KEY=key.raw_key)

    assert handler.status_code == 200  # not the dashboard's HTML page for a blocked account
    assert handler.content.decode().startswith("BANNED:")
    assert rest.status_code == 403
    assert rest.json()["error"]["code"] == "ACCOUNT_SUSPENDED"


@pytest.mark.parametrize(
    "path",
    [
        f"{HANDLER}?action=getBalance",
        "/api/v1/activations/",
        "/api/sms/record",
        "/smspool/request/balance",
        "/5sim/v1/user/profile",
    ],
)
def test_client_programs_keep_the_security_headers(path):
    response = Client().get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def _routes(patterns, prefix: str = "/"):
    """Every URL pattern as its route written out (regular expressions without their anchors)
    and its view."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").replace("\\", "")
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route, pattern.callback


def test_no_page_for_browsers_lies_under_the_api_paths():
    """What passes the API's middleware has no CSRF check and no session: a view there that
    expects them would lose them, so every one is exempt from CSRF, as API views are."""
    routes = list(_routes(get_resolver().url_patterns))
    under = [(route, view) for route, view in routes if route.startswith(settings.SMSBOX_API_PATHS)]

    assert len(under) > 50  # the REST API, the record link, the handler and the dialects
    assert [route for route, view in under if not getattr(view, "csrf_exempt", False)] == []
