"""The transport rules of PROTOCOLS.md §1, on every path the handler is served at."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.services import api_key_revoke
from tests.handler.conftest import URL, fund

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/stubs/handler_api.php", "/stubs/handler_api"])
def test_both_paths_answer(path, api_key, customer):
    fund(customer, "12.5")
    response = Client().get(path, {"api_key": api_key.raw_key, "action": "getBalance"})
    assert response.status_code == 200
    assert response.content == b"ACCESS_BALANCE:12.50"


def test_text_answers_have_no_trailing_newline_and_are_text_plain(handler):
    response = handler("getBalance")
    assert response["Content-Type"].startswith("text/plain")
    assert not response.content.endswith(b"\n")
    assert response.content == b"ACCESS_BALANCE:0.00"


def test_json_answers_are_application_json(handler):
    response = handler("getCountries")
    assert response["Content-Type"] == "application/json"
    assert response.json()["187"]["eng"] == "USA"


def test_post_with_query_parameters(api_key):
    response = Client().post(f"{URL}?api_key={api_key.raw_key}&action=getBalance")
    assert response.status_code == 200 and response.content == b"ACCESS_BALANCE:0.00"


def test_post_with_a_form_body(api_key):
    response = Client().post(URL, {"api_key": api_key.raw_key, "action": "getBalance"})
    assert response.content == b"ACCESS_BALANCE:0.00"


def test_post_mixing_query_and_form(api_key):
    response = Client().post(f"{URL}?action=getBalance", {"api_key": api_key.raw_key})
    assert response.content == b"ACCESS_BALANCE:0.00"


def test_a_json_body_is_not_read(api_key):
    response = Client().post(
        f"{URL}?action=getBalance",
        {"api_key": api_key.raw_key},
        content_type="application/json",
    )
    assert response.content == b"BAD_KEY"


def test_whitespace_in_names_and_values_is_stripped(api_key):
    query = f"api_key%20={api_key.raw_key}%20&%20action=%20getOperators&country%20=%200%20"
    response = Client().get(f"{URL}?{query}")
    assert response.json()["status"] == "success"
    assert "mts" in response.json()["countryOperators"]["0"]


def test_unknown_parameters_are_ignored(handler):
    response = handler("getBalance", ref="abc", ref_id="1", json="1", userID="7", start="0")
    assert response.content == b"ACCESS_BALANCE:0.00"


@pytest.mark.parametrize("action", ["", "noSuchAction", "getbalance"])
def test_unknown_or_missing_action_is_bad_action(handler, action):
    assert handler(action).content == b"BAD_ACTION"


def test_missing_key_is_bad_key():
    response = Client().get(URL, {"action": "getBalance"})
    assert response.status_code == 200 and response.content == b"BAD_KEY"


def test_wrong_key_is_bad_key():
    assert Client().get(URL, {"action": "getBalance", "api_key": "x" * 40}).content == b"BAD_KEY"


def test_revoked_key_is_bad_key(api_key):
    api_key_revoke(api_key=api_key)
    response = Client().get(URL, {"action": "getBalance", "api_key": api_key.raw_key})
    assert response.content == b"BAD_KEY"


def test_bad_key_of_a_json_action_is_a_json_error():
    response = Client().get(URL, {"action": "getNumberV2", "api_key": "x" * 40})
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "error", "message": "BAD_KEY"}


def test_banned_account(handler, customer):
    customer.banned_until = timezone.now() + timedelta(days=2)
    customer.save(update_fields=["banned_until"])
    from django.core.cache import cache

    cache.clear()  # the cached key check carries the user
    body = handler("getBalance").content.decode()
    assert body.startswith("BANNED:")
    expected = timezone.localtime(customer.banned_until).strftime("%Y-%m-%d %H-%M-%S")
    assert body == f"BANNED:{expected}"


def test_other_methods_are_refused_with_200(api_key):
    response = Client().put(URL, f"api_key={api_key.raw_key}&action=getBalance")
    assert response.status_code == 200 and response.content == b"BAD_ACTION"


def test_an_unexpected_failure_is_a_protocol_error_not_a_500(handler, monkeypatch):
    from rentals.handler import views

    def boom(call):
        raise RuntimeError("bug")

    monkeypatch.setitem(views.ACTIONS, "getBalance", views.Action(boom))
    response = handler("getBalance")
    assert response.status_code == 200 and response.content == b"ERROR_SQL"
