"""Unexpected failures answer in each interface's own format: JSON under /api/ (INTERNAL with
the logged error id, or 503 SERVICE_UNAVAILABLE with Retry-After for a lost database), the
handler's ERROR_SQL, the dialects' own error shapes, plain pages on the dashboard. Failures
in a view and failures in the middleware before it (e.g. the session store) alike."""

import logging

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.middleware.common import CommonMiddleware
from django.test import Client

from rentals.api import activations as activation_api
from rentals.dialects import common as dialects
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_key(db) -> str:
    return ApiKeyFactory(user=UserFactory()).raw_key


@pytest.fixture
def browser() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def session_store_down(monkeypatch, browser):
    """The session store's database query fails: in the middleware, before any view."""

    def read(self):
        raise OperationalError("server closed the connection unexpectedly")

    # The database read under both the db and the cached_db engines (the cache misses on an
    # unknown session key)
    monkeypatch.setattr(SessionStore, "_get_session_from_db", read)
    browser.cookies["sessionid"] = "x" * 32
    return browser


def test_an_unexpected_exception_in_an_api_view_is_json_internal_with_the_logged_id(
    browser, raw_key, monkeypatch, caplog
):
    def broken(self, request, *args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(activation_api.ActivationListApi, "get", broken)
    with caplog.at_level(logging.ERROR, logger="smsbox.errors"):
        response = browser.get("/api/v1/activations/", HTTP_X_API_KEY=raw_key)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "INTERNAL" and error["message"]
    error_id = error["details"]["id"]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info[0] is ZeroDivisionError


def test_a_lost_database_in_an_api_view_is_503_with_retry_after(browser, raw_key, monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(activation_api.ActivationListApi, "get", broken)
    response = browser.get("/api/v1/activations/", HTTP_X_API_KEY=raw_key)

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


@pytest.fixture
def middleware_down(monkeypatch, browser):
    """A middleware that client programs' requests pass through too fails on the database,
    before any view."""

    def process_request(self, request):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CommonMiddleware, "process_request", process_request)
    return browser


def test_a_lost_database_before_the_api_view_is_json_503_too(middleware_down):
    response = middleware_down.get("/api/v1/wallet/")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_lost_database_before_the_handler_answers_error_sql(middleware_down, raw_key):
    response = middleware_down.get(
        "/stubs/handler_api.php", {"api_key": raw_key, "action": "getBalance"}
    )

    assert (response.status_code, response.content) == (200, b"ERROR_SQL")


def test_client_programs_never_open_the_session(session_store_down, raw_key):
    rest = session_store_down.get("/api/v1/wallet/", HTTP_X_API_KEY=raw_key)
    handler = session_store_down.get(
        "/stubs/handler_api.php", {"api_key": raw_key, "action": "getBalance"}
    )

    assert rest.status_code == 200
    assert handler.content.startswith(b"ACCESS_BALANCE:")


def test_a_lost_database_in_the_handler_key_check_answers_error_sql(browser, raw_key, monkeypatch):
    from rentals.handler import views

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "api_key_check_admit", broken)
    response = browser.get("/stubs/handler_api.php", {"api_key": raw_key, "action": "getBalance"})

    assert (response.status_code, response.content) == (200, b"ERROR_SQL")


@pytest.fixture
def dialect_key_check_down(monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dialects, "api_key_check_admit", broken)


def test_a_lost_database_answers_smspool_its_own_error_with_503(
    browser, raw_key, dialect_key_check_down
):
    response = browser.get("/smspool/request/balance", {"key": raw_key})

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["success"] == 0 and body["message"]


def test_a_lost_database_answers_5sim_its_own_error_with_503(
    browser, raw_key, dialect_key_check_down
):
    response = browser.get("/5sim/v1/user/profile", HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"internal error"


def test_the_dashboard_shows_a_plain_503_page_when_the_database_is_lost(session_store_down):
    response = session_store_down.get("/")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"].startswith("text/html")
    assert b"Briefly unavailable" in response.content
    assert b"Traceback" not in response.content


def test_the_dashboard_shows_a_plain_500_page_with_the_error_id(browser, monkeypatch, caplog):
    from smsbox import views

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(views, "render", broken)  # what the sign-up-done page calls
    with caplog.at_level(logging.ERROR, logger="smsbox.errors"):
        response = browser.get("/accounts/signup/done/")

    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"ZeroDivisionError" not in response.content
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    error_id = logged[0].args[0]
    assert error_id.encode() in response.content
