"""Staff security: the admin login locks out after repeated failures (django-axes), asks staff
for a TOTP code (django-otp) where 2FA is on, and staff sessions end after inactivity."""

import time

import pytest
from django.contrib import admin
from django.urls import reverse
from django_otp.admin import OTPAdminSite
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from smsbox.middleware import STAFF_SEEN_KEY
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "smsbox.auth_backends.UserBackend",
    ]


def login(client, email: str, password: str, **extra):
    return client.post(LOGIN, {"username": email, "password": password, "next": INDEX, **extra})


def test_the_admin_login_locks_out_after_repeated_failures(client, lockout):
    staff = StaffFactory(email="ops@example.com")
    for _ in range(2):
        assert login(client, staff.email, "wrong").status_code == 200
    assert login(client, staff.email, "wrong").status_code == 429  # the limit reached
    # then even the right password is refused
    response = login(client, staff.email, PASSWORD)
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_failures_below_the_limit_do_not_lock(client, lockout):
    staff = StaffFactory(email="ops@example.com")
    for _ in range(2):
        login(client, staff.email, "wrong")
    response = login(client, staff.email, PASSWORD)
    assert response.status_code == 302 and response.url == INDEX


def test_another_operator_is_not_locked_by_someone_elses_failures(client, lockout):
    StaffFactory(email="ops@example.com")
    other = StaffFactory(email="other@example.com")
    for _ in range(3):
        login(client, "ops@example.com", "wrong")
    assert login(client, other.email, PASSWORD).status_code == 302


def test_the_dashboard_login_locks_out_too(client, lockout):
    StaffFactory(email="ops@example.com")
    for _ in range(3):
        client.post(reverse("login"), {"username": "ops@example.com", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "ops@example.com", "password": PASSWORD})
    assert response.status_code == 429


@pytest.fixture
def two_factor(settings, monkeypatch):
    settings.SMSBOX_STAFF_2FA = True
    monkeypatch.setattr(admin.site, "__class__", OTPAdminSite)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_with_2fa_a_staff_login_needs_a_valid_totp_code(client, two_factor, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp delays the try after a wrong code
    staff = StaffFactory(email="ops@example.com")
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    # without a code, or with a wrong one: no admin
    assert login(client, staff.email, PASSWORD).status_code == 200
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    response = login(
        client, staff.email, PASSWORD, otp_device=device.persistent_id, otp_token=wrong
    )
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302
    # with the code the device shows now: in
    response = login(
        client, staff.email, PASSWORD, otp_device=device.persistent_id, otp_token=_code(device)
    )
    assert response.status_code == 302 and response.url == INDEX
    assert client.get(INDEX).status_code == 200


def test_with_2fa_a_session_without_a_verified_device_is_sent_to_login(client, two_factor):
    client.force_login(StaffFactory())
    response = client.get(reverse("backoffice:search"), {"q": "x"})
    assert response.status_code == 302 and LOGIN in response.url


def test_a_staff_session_ends_after_inactivity(client, settings):
    settings.SMSBOX_STAFF_SESSION_MINUTES = 30
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(INDEX).status_code == 200
    session = client.session
    session[STAFF_SEEN_KEY] = time.time() - 31 * 60
    session.save()
    response = client.get(INDEX)
    assert response.status_code == 302 and LOGIN in response.url
    assert "_auth_user_id" not in client.session


def test_a_staff_session_in_use_stays(client, settings):
    settings.SMSBOX_STAFF_SESSION_MINUTES = 30
    client.force_login(StaffFactory(is_superuser=True))
    client.get(INDEX)
    session = client.session
    session[STAFF_SEEN_KEY] = time.time() - 29 * 60
    session.save()
    assert client.get(INDEX).status_code == 200


def test_staff_security_is_on_by_default_without_debug():
    import subprocess
    import sys

    code = (
        "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='smsbox.settings';"
        "from django.conf import settings as s;"
        "print(s.SMSBOX_STAFF_2FA, s.SMSBOX_STAFF_LOCKOUT, s.SMSBOX_STAFF_SESSION_MINUTES,"
        " s.AXES_ENABLED)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",  # never connected
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["True", "True", "30", "True"], out.stderr[-2000:]
