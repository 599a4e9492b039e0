import pytest

from apikeys.errors import ApiKeyInvalidFormat, ApiKeyInvalidName, ApiKeyRevoked, ApiKeyTaken
from apikeys.keys import key_digest
from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.selectors import api_key_authenticate
from apikeys.services import api_key_create, api_key_ensure, api_key_regenerate, api_key_revoke
from tests.factories import ApiKeyFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
Action = ApiKeyEvent.Action


def test_create_returns_a_working_key_and_writes_an_audit_row():
    user = UserFactory()

    api_key, raw_key = api_key_create(user=user, name="  scripts ")

    api_key.refresh_from_db()
    assert api_key.name == "scripts"
    assert api_key.prefix == raw_key[:8]
    assert api_key.digest == key_digest(raw_key)
    assert api_key.revoked_at is None
    assert api_key_authenticate(raw_key) == api_key
    event = ApiKeyEvent.objects.get(api_key=api_key)
    assert (event.action, event.user, event.actor) == (Action.CREATE, user, None)


def test_a_user_may_have_several_named_keys():
    user = UserFactory()

    first, first_raw = api_key_create(user=user, name="laptop")
    second, second_raw = api_key_create(user=user, name="server")

    assert first_raw != second_raw
    assert api_key_authenticate(first_raw) == first
    assert api_key_authenticate(second_raw) == second


def test_an_operator_may_install_an_exact_key():
    user, operator = UserFactory(), StaffFactory()
    raw_key = "Demo" * 8

    api_key, returned = api_key_create(user=user, name="demo", raw_key=raw_key, actor=operator)

    assert returned == raw_key
    assert api_key.prefix == "DemoDemo"
    assert api_key_authenticate(raw_key) == api_key
    assert ApiKeyEvent.objects.get(api_key=api_key).actor == operator


@pytest.mark.parametrize("raw_key", ["a" * 31, "a" * 31 + "!", "a" * 20 + " " + "a" * 20])
def test_a_custom_key_that_is_short_or_not_alphanumeric_is_refused(raw_key):
    with pytest.raises(ApiKeyInvalidFormat):
        api_key_create(user=UserFactory(), name="demo", raw_key=raw_key)

    assert not ApiKey.objects.exists()
    assert not ApiKeyEvent.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_key_needs_a_name(name):
    with pytest.raises(ApiKeyInvalidName):
        api_key_create(user=UserFactory(), name=name)

    assert not ApiKey.objects.exists()


def test_a_live_key_string_cannot_be_installed_twice():
    raw_key = "Same" * 8
    api_key_create(user=UserFactory(), name="one", raw_key=raw_key)

    with pytest.raises(ApiKeyTaken):
        api_key_create(user=UserFactory(), name="two", raw_key=raw_key)

    assert ApiKey.objects.count() == 1
    assert ApiKeyEvent.objects.count() == 1


def test_the_database_refuses_two_live_keys_with_one_digest():
    api_key = ApiKeyFactory()

    with pytest.raises(Exception, match="apikey_live_digest_unique"):
        ApiKey.objects.create(
            user=UserFactory(), name="copy", prefix=api_key.prefix, digest=api_key.digest
        )


def test_regenerate_replaces_the_key_and_the_old_one_stops_working():
    api_key = ApiKeyFactory(name="server")
    old_raw = api_key.raw_key
    api_key_authenticate(old_raw)

    regenerated, new_raw = api_key_regenerate(api_key=api_key)

    assert new_raw != old_raw
    assert api_key_authenticate(old_raw) is None
    assert api_key_authenticate(new_raw) == api_key
    regenerated.refresh_from_db()
    assert (regenerated.pk, regenerated.name) == (api_key.pk, "server")
    assert regenerated.digest == key_digest(new_raw)
    actions = list(ApiKeyEvent.objects.filter(api_key=api_key).values_list("action", flat=True))
    assert actions == [Action.REGENERATE, Action.CREATE]


def test_a_revoked_key_cannot_be_regenerated():
    api_key = ApiKeyFactory()
    api_key_revoke(api_key=api_key)

    with pytest.raises(ApiKeyRevoked):
        api_key_regenerate(api_key=api_key)

    assert api_key_authenticate(api_key.raw_key) is None


def test_revoke_invalidates_the_key_and_records_who_did_it():
    api_key, operator = ApiKeyFactory(), StaffFactory()

    api_key_revoke(api_key=api_key, actor=operator)

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key_authenticate(api_key.raw_key) is None
    event = ApiKeyEvent.objects.filter(api_key=api_key).first()
    assert (event.action, event.actor, event.user) == (Action.REVOKE, operator, api_key.user)


def test_revoke_is_idempotent():
    api_key = ApiKeyFactory()
    api_key_revoke(api_key=api_key)
    revoked_at = ApiKey.objects.get(pk=api_key.pk).revoked_at

    api_key_revoke(api_key=api_key)

    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == revoked_at
    assert ApiKeyEvent.objects.filter(api_key=api_key, action=Action.REVOKE).count() == 1


def test_a_revoked_key_string_may_be_installed_again():
    raw_key = "Again" * 7
    first = ApiKeyFactory(raw_key=raw_key)
    api_key_revoke(api_key=first)

    second, _ = api_key_create(user=first.user, name="again", raw_key=raw_key)

    assert api_key_authenticate(raw_key) == second


def test_ensure_installs_a_key_once():
    user = UserFactory()
    raw_key = "Seed" * 8

    first, created = api_key_ensure(user=user, name="demo", raw_key=raw_key)
    again, created_again = api_key_ensure(user=user, name="demo", raw_key=raw_key)

    assert (created, created_again) == (True, False)
    assert first == again
    assert ApiKey.objects.count() == 1
    assert ApiKeyEvent.objects.count() == 1


def test_ensure_refuses_a_key_live_on_another_account():
    raw_key = "Seed" * 8
    ApiKeyFactory(raw_key=raw_key)

    with pytest.raises(ApiKeyTaken):
        api_key_ensure(user=UserFactory(), name="demo", raw_key=raw_key)


def test_ensure_refuses_a_malformed_key():
    with pytest.raises(ApiKeyInvalidFormat):
        api_key_ensure(user=UserFactory(), name="demo", raw_key="short")
