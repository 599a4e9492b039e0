"""Every dashboard page: behind the login, rendered for its customer, with a CSP and in Russian
when the browser asks for it."""

import pytest

from smsbox.middleware import CONTENT_SECURITY_POLICY

PAGES = [
    "/",
    "/?service=tg&country=187",
    "/rent/",
    "/rent/?country=187",
    "/rent/?country=187&hours=36",
    "/numbers/",
    "/numbers/live/",
    "/history/",
    "/history/?kind=rentals",
    "/balance/",
    "/api-access/",
    "/developer/",
    "/account/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_for_its_customer(client_in, simulator, path):
    response = client_in.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.django_db
def test_the_csp_allows_no_other_origin(client_in):
    policy = client_in.get("/")["Content-Security-Policy"]
    sources = [word for part in policy.split(";") for word in part.split()[1:]]
    assert set(sources) <= {"'self'", "'none'", "data:"}


@pytest.mark.django_db
def test_the_pages_speak_russian_when_the_browser_asks(client_in, simulator):
    response = client_in.get("/numbers/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    assert 'lang="ru"' in response.content.decode()
    assert "Мои номера" in response.content.decode()
    assert "language" not in "".join(response.cookies)


@pytest.mark.django_db
def test_the_admin_and_api_docs_keep_their_own_rules(client_in):
    assert "Content-Security-Policy" not in client_in.get("/api/docs/")
