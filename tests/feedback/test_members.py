"""Team onboarding without the admin site: add_member, the Members page, and their rules."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from feedback.members import LAST_ADMIN, member_change, member_remove
from feedback.models import Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
LINK = re.compile(r"https?://\S+/accounts/reset/\S+/")


def run_add_member(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("add_member", *args, stdout=out)
    return out.getvalue()


def roles(project) -> dict[str, tuple[str, str]]:
    return {
        m.user.username: (m.role, m.team)
        for m in Membership.objects.filter(project=project).select_related("user")
    }


def test_add_member_creates_the_account_and_prints_a_link_that_sets_its_password_once(
    client, project
):
    output = run_add_member(
        project.slug, "mina", "--role", "reviewer", "--team", "data", "--email", "mina@example.com"
    )

    user = User.objects.get(username="mina")
    assert (user.email, user.has_usable_password()) == ("mina@example.com", False)
    assert roles(project) == {"mina": ("reviewer", "data")}
    link = LINK.search(output).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200 and b"Choose a password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-pass-phrase-9", "new_password2": "a-long-pass-phrase-9"},
    )
    assert done.status_code == 302
    assert client.login(username="mina", password="a-long-pass-phrase-9")
    client.logout()
    again = client.get("/" + path, follow=True)
    assert b"no longer works" in again.content
    (event,) = AuditEvent.objects.filter(project=project, action="member_add")
    assert event.data == {
        "user": "mina", "role": "reviewer", "team": "data", "account_created": True
    }  # fmt: skip


def test_add_member_adds_an_existing_account_without_touching_its_password(project):
    existing = UserFactory(username="jun")

    output = run_add_member(project.slug, "jun", "--role", "admin")

    existing.refresh_from_db()
    assert existing.check_password("pw-for-tests")
    assert roles(project) == {"jun": ("admin", "")}
    assert "Set-password link" not in output


def test_add_member_refuses_a_second_membership_and_an_unknown_project(project):
    MembershipFactory(project=project, user=UserFactory(username="jun"))

    with pytest.raises(CommandError, match="already a member"):
        run_add_member(project.slug, "jun", "--role", "admin")
    with pytest.raises(CommandError, match="No project"):
        run_add_member("no-such-project", "jun")
    assert roles(project) == {"jun": ("viewer", "")}


def test_the_last_admin_can_be_neither_demoted_nor_removed(project):
    admin = MembershipFactory(project=project, role="admin")

    with pytest.raises(Exception, match=LAST_ADMIN):
        member_change(membership=admin, actor=None, role="reviewer", team="")
    with pytest.raises(Exception, match=LAST_ADMIN):
        member_remove(membership=admin, actor=None)
    assert Membership.objects.get(id=admin.id).role == "admin"

    MembershipFactory(project=project, role="admin")
    member_change(membership=admin, actor=None, role="viewer", team="model")
    assert Membership.objects.get(id=admin.id).role == "viewer"


class TestMembersPage:
    @pytest.fixture
    def admin(self, client, project):
        membership = MembershipFactory(project=project, role="admin")
        client.force_login(membership.user)
        return membership

    def test_an_admin_adds_a_member_by_username_and_sees_the_link(self, client, project, admin):
        response = client.post(
            f"/p/{project.slug}/members/",
            {"username": "sora", "email": "", "role": "viewer", "team": "model"},
            follow=True,
        )

        assert response.status_code == 200
        assert roles(project)["sora"] == ("viewer", "model")
        assert LINK.search(response.content.decode())

    def test_an_admin_adds_an_existing_account_by_email(self, client, project, admin):
        UserFactory(username="hana", email="Hana@Example.com")

        client.post(
            f"/p/{project.slug}/members/", {"email": "hana@example.com", "role": "reviewer"}
        )

        assert roles(project)["hana"] == ("reviewer", "")

    def test_an_unknown_email_is_an_error_on_the_form_and_adds_nobody(self, client, project, admin):
        response = client.post(
            f"/p/{project.slug}/members/", {"email": "nobody@example.com", "role": "viewer"}
        )

        assert response.status_code == 200
        assert b"No account with the e-mail address" in response.content
        assert set(roles(project)) == {admin.user.username}

    def test_an_admin_changes_a_role_and_a_team_and_removes_a_member(self, client, project, admin):
        other = MembershipFactory(project=project, role="viewer")

        client.post(
            f"/p/{project.slug}/members/{other.id}/role", {"role": "reviewer", "team": "data"}
        )
        assert roles(project)[other.user.username] == ("reviewer", "data")
        client.post(f"/p/{project.slug}/members/{other.id}/remove")

        assert other.user.username not in roles(project)
        actions = list(
            AuditEvent.objects.filter(project=project).order_by("id").values_list("action", "data")
        )
        assert actions == [
            ("member_change", {"user": other.user.username, "before": {"role": "viewer",
             "team": ""}, "role": "reviewer", "team": "data"}),
            ("member_remove", {"user": other.user.username, "role": "reviewer", "team": "data"}),
        ]  # fmt: skip

    def test_the_page_refuses_to_demote_or_remove_the_last_admin(self, client, project, admin):
        demote = client.post(
            f"/p/{project.slug}/members/{admin.id}/role", {"role": "viewer", "team": ""},
            follow=True,
        )  # fmt: skip
        remove = client.post(f"/p/{project.slug}/members/{admin.id}/remove", follow=True)

        assert LAST_ADMIN.encode() in demote.content
        assert LAST_ADMIN.encode() in remove.content
        assert roles(project) == {admin.user.username: ("admin", "")}
        assert not AuditEvent.objects.filter(project=project).exists()

    def test_a_member_of_another_project_cannot_be_changed_from_this_one(
        self, client, project, admin
    ):
        elsewhere = MembershipFactory(role="viewer")

        response = client.post(
            f"/p/{project.slug}/members/{elsewhere.id}/role", {"role": "admin", "team": ""}
        )

        assert response.status_code == 404
        assert Membership.objects.get(id=elsewhere.id).role == "viewer"


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_viewers_and_reviewers_cannot_manage_members(client, project, role):
    me = MembershipFactory(project=project, role=role)
    admin = MembershipFactory(project=project, role="admin")
    client.force_login(me.user)
    before = roles(project)

    page = client.get(f"/p/{project.slug}/members/")
    add = client.post(f"/p/{project.slug}/members/", {"username": "x", "role": "admin"})
    promote = client.post(f"/p/{project.slug}/members/{me.id}/role", {"role": "admin", "team": ""})
    remove = client.post(f"/p/{project.slug}/members/{admin.id}/remove")

    assert [r.status_code for r in (page, add, promote, remove)] == [403, 403, 403, 403]
    assert roles(project) == before
    assert not User.objects.filter(username="x").exists()
    assert not AuditEvent.objects.filter(project=project).exists()
    assert b"/members/" not in client.get(f"/p/{project.slug}/").content
