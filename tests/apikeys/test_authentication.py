from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication, api_key_from_request
from apikeys.models import ApiKey
from apikeys.services import api_key_regenerate, api_key_revoke
from smsbox.models import User
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class WhoAmI(APIView):
    """A tiny view behind the project's default authentication and IsAuthenticated."""

    def get(self, request):
        return Response({"email": request.user.email, "key": request.auth.pk})

    def post(self, request):
        return Response({"email": request.user.email, "key": request.auth.pk})


def plain_view(request):
    return HttpResponse(api_key_from_request(request) or "-")


urlpatterns = [
    path("whoami", WhoAmI.as_view()),
    path("plain", plain_view),
]


@pytest.fixture
def api_key():
    return ApiKeyFactory()


def _ok(response, api_key):
    assert response.status_code == 200, response.content
    assert response.json() == {"email": api_key.user.email, "key": api_key.pk}


def test_the_default_authentication_is_the_api_key():
    from rest_framework.settings import api_settings

    configured = api_settings.DEFAULT_AUTHENTICATION_CLASSES

    assert configured == [ApiKeyAuthentication]


def test_x_api_key_header(client, api_key):
    _ok(client.get("/whoami", headers={"X-API-Key": api_key.raw_key}), api_key)


def test_bearer_header(client, api_key):
    _ok(client.get("/whoami", headers={"Authorization": f"Bearer {api_key.raw_key}"}), api_key)


def test_bearer_scheme_is_case_insensitive(client, api_key):
    _ok(client.get("/whoami", headers={"Authorization": f"bearer {api_key.raw_key}"}), api_key)


def test_api_key_query_parameter(client, api_key):
    _ok(client.get("/whoami", {"api_key": api_key.raw_key}), api_key)


def test_api_key_form_parameter(client, api_key):
    _ok(client.post("/whoami", {"api_key": api_key.raw_key, "other": "1"}), api_key)


def test_api_key_urlencoded_form_parameter(client, api_key):
    body = f"api_key={api_key.raw_key}&action=getBalance"
    response = client.post("/whoami", body, content_type="application/x-www-form-urlencoded")

    _ok(response, api_key)


def test_a_json_body_is_not_a_place_for_the_key(client, api_key):
    response = client.post("/whoami", {"api_key": api_key.raw_key}, content_type="application/json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "x" * 40},
        {"X-API-Key": "short"},
        {"Authorization": "Bearer " + "x" * 40},
        {"Authorization": "Bearer not a key at all"},
    ],
)
def test_a_wrong_key_is_refused_with_401(client, api_key, headers):
    response = client.get("/whoami", headers=headers)

    assert response.status_code == 401
    assert "Invalid or revoked API key." in response.content.decode()  # not "no credentials"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_wrong_query_parameter_is_refused_with_401(client, api_key):
    response = client.get("/whoami", {"api_key": "x" * 40})

    assert response.status_code == 401
    assert "Invalid or revoked API key." in response.content.decode()


def test_no_key_answers_401_and_asks_for_one(client, api_key):
    response = client.get("/whoami")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_another_authorization_scheme_is_left_to_other_authenticators(rf):
    request = rf.get("/whoami", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert ApiKeyAuthentication().authenticate(_drf(request)) is None


def test_a_revoked_key_is_refused(client, api_key):
    api_key_revoke(api_key=api_key)

    response = client.get("/whoami", headers={"X-API-Key": api_key.raw_key})

    assert response.status_code == 401
    assert "Invalid or revoked API key." in response.content.decode()


def test_a_regenerated_key_replaces_the_old_one(client, api_key):
    _, new_raw = api_key_regenerate(api_key=api_key)

    assert client.get("/whoami", headers={"X-API-Key": api_key.raw_key}).status_code == 401
    _ok(client.get("/whoami", headers={"X-API-Key": new_raw}), api_key)


def test_the_key_of_an_inactive_user_is_refused(client):
    api_key = ApiKeyFactory(user=UserFactory(is_active=False))

    assert client.get("/whoami", headers={"X-API-Key": api_key.raw_key}).status_code == 401


def test_requests_write_last_used_at_once_not_on_every_request(client, api_key):
    for _ in range(3):
        _ok(client.get("/whoami", headers={"X-API-Key": api_key.raw_key}), api_key)
    first_use = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first_use is not None

    for _ in range(3):
        _ok(client.get("/whoami", headers={"X-API-Key": api_key.raw_key}), api_key)

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first_use


def test_a_request_records_the_users_activity(client, api_key):
    long_ago = timezone.now() - timedelta(days=30)
    User.objects.filter(pk=api_key.user.pk).update(last_activity_at=long_ago)

    _ok(client.get("/whoami", headers={"X-API-Key": api_key.raw_key}), api_key)

    assert User.objects.get(pk=api_key.user.pk).last_activity_at > long_ago


# api_key_from_request, on plain Django requests as the handler protocol will use it


def test_key_from_a_plain_request_in_each_accepted_form(client):
    key = "K" * 40

    assert client.get("/plain", headers={"X-API-Key": key}).content.decode() == key
    assert client.get("/plain", headers={"Authorization": f"Bearer {key}"}).content.decode() == key
    assert client.get("/plain", {"api_key": key}).content.decode() == key
    assert client.post("/plain", {"api_key": key}).content.decode() == key


def test_no_key_in_a_plain_request(client):
    assert client.get("/plain").content.decode() == "-"
    assert client.get("/plain", {"api_key": ""}).content.decode() == "-"
    assert client.get("/plain", headers={"Authorization": "Bearer "}).content.decode() == "-"
    assert client.get("/plain", headers={"Authorization": "Token abc"}).content.decode() == "-"


def test_the_header_wins_over_the_parameters():
    request = RequestFactory().post(
        "/plain?api_key=fromquery", {"api_key": "fromform"}, headers={"X-API-Key": "fromheader"}
    )

    assert api_key_from_request(request) == "fromheader"


def test_the_query_wins_over_the_form():
    request = RequestFactory().post("/plain?api_key=fromquery", {"api_key": "fromform"})

    assert api_key_from_request(request) == "fromquery"


def _drf(request):
    from rest_framework.request import Request

    return Request(request)


def test_the_openapi_document_offers_the_three_ways_to_pass_a_key():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)

    assert schema["components"]["securitySchemes"] == {
        "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    assert schema["paths"]["/whoami"]["get"]["security"] == [
        {"apiKeyHeader": []},
        {"bearerAuth": []},
        {"apiKeyQuery": []},
    ]
