"""Sign-up, e-mail verification, log-in, log-out and password reset through the web pages."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from smsbox.models import User
from smsbox.services import user_verification_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "plum-river-otter-42"


def sign_up(client, email: str = "New.Customer@Example.com"):
    return client.post(
        reverse("signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def log_in(client, email: str = "new.customer@example.com", password: str = PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_sign_up_then_verify_then_log_in(client):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("signup-done")
    user = User.objects.get()
    assert user.email == "new.customer@example.com"
    assert not user.is_verified

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.customer@example.com"]
    link = link_in(mail.outbox[0])
    assert link.startswith("http://testserver/accounts/verify/")

    response = client.get(link.removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.is_verified and user.verified_at is not None

    response = log_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"new.customer@example.com" in home.content


def test_log_in_is_refused_before_verification(client):
    sign_up(client)
    response = log_in(client)
    assert response.status_code == 200
    assert b"Confirm your e-mail address first" in response.content
    assert "_auth_user_id" not in client.session


def test_a_tampered_link_is_refused(client):
    sign_up(client)
    token = user_verification_token(user=User.objects.get())
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = client.get(reverse("verify-email", kwargs={"token": tampered}))

    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert not User.objects.get().is_verified


def test_a_link_for_another_address_is_refused(client):
    user = UserFactory(is_verified=False, verified_at=None)
    token = user_verification_token(user=user)
    user.email = "changed@example.com"
    user.save(update_fields=["email"])

    response = client.get(reverse("verify-email", kwargs={"token": token}))

    assert response.status_code == 400
    assert not User.objects.get(pk=user.pk).is_verified


def test_an_expired_link_is_refused(client, settings):
    settings.SMSBOX_VERIFICATION_LINK_HOURS = 48
    sign_up(client)
    link = link_in(mail.outbox[0]).removeprefix("http://testserver")

    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        response = client.get(link)

    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert b"Send a new link" in response.content
    assert not User.objects.get().is_verified


def test_the_link_works_until_it_expires(client):
    sign_up(client)
    link = link_in(mail.outbox[0]).removeprefix("http://testserver")
    with time_machine.travel(timezone.now() + timedelta(hours=47)):
        assert client.get(link).status_code == 302
    assert User.objects.get().is_verified


def test_a_new_link_can_be_requested_without_telling_whether_the_account_exists(client, settings):
    sign_up(client)
    mail.outbox.clear()
    from django.core.cache import cache

    cache.clear()  # the one-a-minute limit of the sign-up e-mail

    response = client.post(reverse("verify-email-resend"), {"email": "NEW.customer@example.com"})
    unknown = client.post(reverse("verify-email-resend"), {"email": "nobody@example.com"})

    assert response.status_code == unknown.status_code == 302
    assert len(mail.outbox) == 1
    assert client.get(link_in(mail.outbox[0]).removeprefix("http://testserver")).status_code == 302


def test_sign_up_with_a_taken_address_answers_as_for_a_new_one_and_tells_the_owner(client):
    owner = UserFactory(email="taken@example.com")
    before = owner.password

    taken = sign_up(client, "TAKEN@example.com")
    fresh = sign_up(client, "fresh@example.com")

    # The same answer: off to the "check your e-mail" page, nothing on the page differs.
    assert taken.status_code == fresh.status_code == 302
    assert taken["Location"] == fresh["Location"] == reverse("signup-done")
    assert client.get(taken["Location"]).content == client.get(fresh["Location"]).content
    # No second account, and the owner's password is untouched.
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.password == before
    # The owner hears of it, the new address gets its verification link.
    to_owner, to_fresh = mail.outbox
    assert to_owner.to == ["taken@example.com"]
    assert "tried to sign up" in to_owner.subject
    assert "http://testserver/accounts/password/reset/" in to_owner.body
    assert "/accounts/verify/" not in to_owner.body
    assert to_fresh.to == ["fresh@example.com"]
    assert "/accounts/verify/" in link_in(to_fresh)


def test_repeated_sign_ups_with_a_taken_address_do_not_flood_its_owner(client):
    UserFactory(email="taken@example.com")
    for _ in range(3):
        assert sign_up(client, "taken@example.com")["Location"] == reverse("signup-done")
    assert len(mail.outbox) == 1


def test_an_unconfirmed_owner_is_pointed_to_a_new_confirmation_link(client):
    UserFactory(email="pending@example.com", is_verified=False, verified_at=None)
    response = sign_up(client, "pending@example.com")
    assert response["Location"] == reverse("signup-done")
    (notice,) = mail.outbox
    assert "http://testserver/accounts/verify/resend/" in notice.body


def test_an_anonymised_account_gets_no_notice(client):
    UserFactory(email="gone@example.com", is_active=False, deleted_at=timezone.now())
    response = sign_up(client, "gone@example.com")
    assert response["Location"] == reverse("signup-done")
    assert mail.outbox == []


def test_the_owner_notice_with_the_mail_server_down_is_still_the_same_answer(client, settings):
    UserFactory(email="taken@example.com")
    settings.EMAIL_BACKEND = "tests.smsbox.test_signup.RefusingBackend"
    response = sign_up(client, "taken@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("signup-done")


def test_sign_up_refuses_a_weak_password(client):
    weak = client.post(
        reverse("signup"), {"email": "x@example.com", "password1": "123", "password2": "123"}
    )
    assert weak.status_code == 200
    assert b"too short" in weak.content
    assert not User.objects.filter(email="x@example.com").exists()


def test_sign_up_with_bad_input_is_a_form_error_not_a_500(client):
    response = client.post(reverse("signup"), {"email": "not an address", "password1": "a"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


def test_forms_need_csrf(client):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    response = csrf_client.post(
        reverse("signup"), {"email": "a@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 403
    page = csrf_client.get(reverse("login"))
    assert b"csrfmiddlewaretoken" in page.content


def test_log_out_is_a_post(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_dashboard_needs_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_the_session_and_csrf_cookies_are_set(client):
    sign_up(client)
    client.get(link_in(mail.outbox[0]).removeprefix("http://testserver"))
    client.get(reverse("login"))
    log_in(client)
    client.get("/")
    assert set(client.cookies) <= {"sessionid", "csrftoken"}
    assert "sessionid" in client.cookies


def test_password_reset(client):
    user = UserFactory(email="forgetful@example.com")

    response = client.post(reverse("password_reset"), {"email": "Forgetful@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = link_in(mail.outbox[0]).removeprefix("http://testserver")
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "new-plum-river-77", "new_password2": "new-plum-river-77"},
    )
    assert done.status_code == 302

    assert log_in(client, "forgetful@example.com", "new-plum-river-77").status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-plum-river-77")


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_log_in_records_activity(client):
    user = UserFactory()
    assert user.last_activity_at is None
    log_in(client, user.email, "correct horse battery staple")
    user.refresh_from_db()
    assert user.last_activity_at is not None


class RefusingBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_a_mail_server_that_is_down_is_a_clear_message_not_a_500(client, settings):
    settings.EMAIL_BACKEND = "tests.smsbox.test_signup.RefusingBackend"

    signed_up = sign_up(client)
    assert signed_up.status_code == 302  # the account exists; the link can be sent again
    assert User.objects.filter(email="new.customer@example.com").exists()

    response = client.post(
        reverse("verify-email-resend"), {"email": "new.customer@example.com"}, follow=True
    )
    assert response.status_code == 200
    assert b"We could not send the e-mail just now" in response.content
