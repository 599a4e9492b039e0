"""The site's shell in a real browser: pages render, and htmx is served by smsbox itself."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_page_renders_with_htmx_served_locally(page, live_server, screenshot):
    # given: a browser that records every request the page makes
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    # when
    page.goto("/accounts/login/")

    # then: the form is there, htmx loaded, and nothing came from another origin
    assert page.get_by_label("E-mail").is_visible()
    assert page.evaluate("typeof window.htmx") == "object"
    assert requested and all(url.startswith(live_server.url) for url in requested)
    assert all(path.stat().st_size > 0 for path in screenshot("login"))
