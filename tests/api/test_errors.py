"""The one error body of the REST API, for every kind of error."""

import pytest
from django.test import override_settings

from tests.api.conftest import assert_error
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_not_authenticated(anonymous):
    assert_error(anonymous.get("/api/v1/wallet/"), 401, "NOT_AUTHENTICATED")


def test_a_wrong_key_is_401_authentication_failed(anonymous):
    anonymous.credentials(HTTP_X_API_KEY="x" * 40)
    assert_error(anonymous.get("/api/v1/wallet/"), 401, "AUTHENTICATION_FAILED")


def test_a_revoked_key_is_refused(anonymous):
    from apikeys.services import api_key_revoke

    key = ApiKeyFactory()
    api_key_revoke(api_key=key)
    anonymous.credentials(HTTP_X_API_KEY=key.raw_key)
    assert_error(anonymous.get("/api/v1/wallet/"), 401, "AUTHENTICATION_FAILED")


def test_wrong_method_is_405(client):
    assert_error(client.delete("/api/v1/countries/"), 405, "METHOD_NOT_ALLOWED")


def test_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing/"), 404, "NOT_FOUND")
    assert client.get("/api/v1/no-such-thing").json()["error"]["details"] == {}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/activations", "/api/v1/wallet", "/api/v1/activations/12", "/api/v1/rentals/7/extend"],
)
def test_a_path_missing_its_trailing_slash_is_told_the_path_to_send(client, path):
    """The REST API's paths end in a slash; without it nothing is served, nor redirected (a
    redirect of a POST becomes a GET without its body in most clients), but the 404 names the
    path to send."""
    response = client.post(path) if path.endswith("extend") else client.get(path)
    assert_error(response, 404, "NOT_FOUND")
    error = response.json()["error"]
    assert error["details"] == {"path": path + "/"}
    assert error["message"].endswith(path + "/")


def test_malformed_json_is_400_parse_error(client):
    response = client.put("/api/v1/webhook/", data="{not json", content_type="application/json")
    assert_error(response, 400, "PARSE_ERROR")


def test_validation_errors_name_the_fields(client):
    error = assert_error(client.get("/api/v1/quote/"), 400, "INVALID_INPUT")
    assert set(error["details"]["fields"]) == {"service", "country"}


def test_application_errors_carry_code_message_and_details(client):
    error = assert_error(
        client.get("/api/v1/quote/?service=zz-none&country=US"), 400, "BAD_SERVICE"
    )
    assert error["details"] == {"service": "zz-none"}


def test_page_out_of_range_is_404(client):
    assert_error(client.get("/api/v1/wallet/transactions/?page=99"), 404, "NOT_FOUND")


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=1)
def test_throttled_is_429_with_retry_after_and_code(client):
    import time_machine

    with time_machine.travel(1_800_000_000, tick=False):
        assert client.get("/api/v1/services/").status_code == 200
        response = client.get("/api/v1/services/")
    assert_error(response, 429, "RATE_LIMITED")
    assert response["Retry-After"] == "1"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*"])
def test_requests_that_take_json_get_json(client, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client.get("/api/v1/wallet/", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_a_request_that_takes_no_json_is_406(client):
    assert_error(client.get("/api/v1/wallet/", HTTP_ACCEPT="text/html"), 406, "NOT_ACCEPTABLE")
