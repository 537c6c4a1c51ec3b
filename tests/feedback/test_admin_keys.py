"""The API-key admin makes, changes and revokes keys through feedback.services only."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from feedback import keys, services
from feedback.models import ApiKey

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/feedback/apikey/add/"
LIST_URL = "/admin/feedback/apikey/"


@pytest.fixture
def spy(monkeypatch):
    """Record the calls of a service function the admin must go through (still running it)."""
    calls: dict[str, list[dict]] = {}

    def watch(name):
        real = getattr(services, name)

        def recorded(**kwargs):
            calls.setdefault(name, []).append(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(services, name, recorded)

    for name in ("api_key_create", "api_key_update", "api_key_revoke"):
        watch(name)
    return calls


def test_adding_a_key_with_an_unknown_scope_is_refused_with_a_form_error(
    admin_client, project, spy
):
    response = admin_client.post(
        ADD_URL, {"project": project.id, "name": "ci", "scopes": '["ingest", "admin"]'}
    )

    assert response.status_code == 200  # the form again, not a redirect
    errors = response.context["adminform"].form.errors
    assert errors["scopes"] == [
        "Unknown scopes: admin. Scopes must be among ingest, read, export, privacy, review."
    ]
    assert ApiKey.objects.count() == 0 and "api_key_create" not in spy


@pytest.mark.parametrize("scopes", ['"ingest"', "[]", "[1]", '{"ingest": true}'])
def test_scopes_that_are_not_a_list_of_known_names_are_refused(admin_client, project, scopes):
    response = admin_client.post(ADD_URL, {"project": project.id, "name": "", "scopes": scopes})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"]
    assert ApiKey.objects.count() == 0


def test_adding_a_key_goes_through_the_service_and_shows_the_secret_once(
    admin_client, admin_user, project, spy
):
    response = admin_client.post(
        ADD_URL, {"project": project.id, "name": "ci", "scopes": '["read", "ingest", "read"]'}
    )

    assert response.status_code == 302
    api_key = ApiKey.objects.get()
    assert spy["api_key_create"] == [
        {"project": project, "scopes": ["ingest", "read"], "name": "ci", "created_by": admin_user}
    ]
    assert (api_key.scopes, api_key.created_by) == (["ingest", "read"], admin_user)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    full_key = next(m.split(": ", 1)[1] for m in shown if m.startswith("The new key"))
    assert keys.key_prefix(full_key) == api_key.prefix
    assert keys.key_matches(full_key, api_key.key_hash)


def test_changing_a_key_checks_its_scopes_and_keeps_its_project(admin_client, project, spy):
    api_key, _ = services.api_key_create(project=project, scopes=["ingest"], name="old")
    url = f"{LIST_URL}{api_key.id}/change/"

    refused = admin_client.post(url, {"name": "new", "scopes": '["root"]'})
    assert refused.context["adminform"].form.errors["scopes"]
    assert "project" not in refused.context["adminform"].form.fields

    admin_client.post(url, {"name": "new", "scopes": '["read"]'})
    api_key.refresh_from_db()
    assert (api_key.name, api_key.scopes, api_key.project) == ("new", ["read"], project)
    assert len(spy["api_key_update"]) == 1


def test_revoking_in_the_admin_goes_through_the_service(admin_client, project, spy):
    active, _ = services.api_key_create(project=project, scopes=["ingest"])
    revoked, _ = services.api_key_create(project=project, scopes=["read"])
    services.api_key_revoke(api_key=revoked)
    revoked.refresh_from_db()
    spy.clear()

    response = admin_client.post(
        LIST_URL, {"action": "revoke", "_selected_action": [active.id, revoked.id]}, follow=True
    )

    assert sorted(call["api_key"].id for call in spy["api_key_revoke"]) == sorted(
        [active.id, revoked.id]
    )
    assert "Revoked 1 key(s)." in [str(m) for m in response.context["messages"]]
    before = revoked.revoked_at
    active.refresh_from_db()
    revoked.refresh_from_db()
    assert active.revoked_at is not None
    assert revoked.revoked_at == before  # revoking again keeps the first time


def test_the_service_refuses_unknown_or_missing_scopes(project):
    for scopes in (["admin"], [], "ingest"):
        with pytest.raises(ValidationError):
            services.api_key_create(project=project, scopes=scopes)
    assert ApiKey.objects.count() == 0
