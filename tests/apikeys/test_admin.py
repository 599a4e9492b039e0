import pytest
from django.urls import reverse

from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.services import api_key_revoke
from tests.factories import ApiKeyFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/apikeys/apikey/"


@pytest.fixture
def operator_client(client):
    operator = StaffFactory()
    client.force_login(operator)
    client.operator = operator
    return client


def test_the_changelist_shows_keys_without_their_digest(operator_client):
    api_key = ApiKeyFactory(user=UserFactory(email="alice@example.com"), name="scripts")

    response = operator_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "alice@example.com" in html
    assert "scripts" in html
    assert api_key.prefix in html
    assert api_key.digest not in html
    assert api_key.raw_key not in html


@pytest.mark.parametrize("query", ["alice@example", "scripts", "PrefixAA"])
def test_search_by_email_prefix_or_name(operator_client, query):
    ApiKeyFactory(
        user=UserFactory(email="alice@example.com"), name="scripts", raw_key="PrefixAA" + "a" * 32
    )
    ApiKeyFactory(user=UserFactory(email="bob@example.com"), name="other", raw_key="Zz" * 20)

    response = operator_client.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert response.context["cl"].result_list[0].user.email == "alice@example.com"


def test_filter_revoked(operator_client):
    live, revoked = ApiKeyFactory(), ApiKeyFactory()
    api_key_revoke(api_key=revoked)

    revoked_only = operator_client.get(CHANGELIST, {"revoked": "yes"})
    live_only = operator_client.get(CHANGELIST, {"revoked": "no"})

    assert list(revoked_only.context["cl"].result_list) == [revoked]
    assert list(live_only.context["cl"].result_list) == [live]


def test_the_change_form_shows_the_key_and_its_events_but_never_the_digest(operator_client):
    api_key = ApiKeyFactory(name="scripts")
    api_key_revoke(api_key=api_key, actor=operator_client.operator)

    response = operator_client.get(f"{CHANGELIST}{api_key.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert api_key.prefix in html
    assert "Revoked" in html and "Created" in html  # the events inline
    assert api_key.digest not in html
    assert "digest" not in html.lower()
    assert api_key.raw_key not in html


def test_keys_are_not_added_edited_or_deleted_in_the_admin(operator_client):
    api_key = ApiKeyFactory(name="scripts")

    assert operator_client.get(f"{CHANGELIST}add/").status_code == 403
    assert operator_client.get(f"{CHANGELIST}{api_key.pk}/delete/").status_code == 403
    edit = operator_client.post(f"{CHANGELIST}{api_key.pk}/change/", {"name": "renamed"})
    assert edit.status_code == 403
    assert ApiKey.objects.get(pk=api_key.pk).name == "scripts"


def test_the_revoke_action_revokes_and_records_the_operator(operator_client):
    chosen, untouched = ApiKeyFactory(), ApiKeyFactory()

    response = operator_client.post(
        CHANGELIST, {"action": "revoke_keys", "_selected_action": [chosen.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "Revoked 1 API key(s)." in response.content.decode()
    chosen.refresh_from_db()
    untouched.refresh_from_db()
    assert chosen.revoked_at is not None
    assert untouched.revoked_at is None
    event = ApiKeyEvent.objects.get(api_key=chosen, action=ApiKeyEvent.Action.REVOKE)
    assert event.actor == operator_client.operator
    assert event.user == chosen.user


def test_the_revoke_action_leaves_revoked_keys_alone(operator_client):
    api_key = ApiKeyFactory()
    api_key_revoke(api_key=api_key)

    operator_client.post(CHANGELIST, {"action": "revoke_keys", "_selected_action": [api_key.pk]})

    assert ApiKeyEvent.objects.filter(api_key=api_key, action="revoke").count() == 1


def test_a_customer_cannot_reach_the_admin(client):
    customer = UserFactory()
    client.force_login(customer)

    response = client.get(CHANGELIST)

    assert response.status_code == 302


def test_the_key_audit_trail_is_searchable_by_customer(client):
    operator = StaffFactory()
    client.force_login(operator)
    mine, other = ApiKeyFactory(), ApiKeyFactory()

    response = client.get(reverse("admin:apikeys_apikeyevent_changelist"), {"q": mine.user.email})

    assert response.status_code == 200
    assert mine.user.email.encode() in response.content
    assert other.user.email.encode() not in response.content
    event = ApiKeyEvent.objects.filter(api_key=mine).first()
    change = client.post(reverse("admin:apikeys_apikeyevent_change", args=[event.pk]), {})
    assert change.status_code == 403
