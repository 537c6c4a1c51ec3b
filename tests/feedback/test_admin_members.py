"""Memberships are shown in the admin but changed only where they are audited (the Members
page, `add_member`): the admin cannot add, change or delete them, nor edit them inline."""

import pytest

from feedback.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_the_admin_shows_memberships_but_does_not_change_them(admin_client, project):
    membership = MembershipFactory(project=project, role="viewer")
    page = f"/admin/feedback/membership/{membership.id}/change/"

    assert admin_client.get("/admin/feedback/membership/").status_code == 200
    assert admin_client.get("/admin/feedback/membership/add/").status_code == 403
    admin_client.post(page, {"user": membership.user_id, "project": project.id, "role": "admin"})
    admin_client.post(f"/admin/feedback/membership/{membership.id}/delete/", {"post": "yes"})

    membership.refresh_from_db()
    assert membership.role == "viewer"


def test_the_project_page_lists_members_without_forms_for_them(admin_client, project):
    membership = MembershipFactory(project=project)

    html = admin_client.get(f"/admin/feedback/project/{project.id}/change/").content.decode()

    assert membership.user.get_username() in html
    assert 'name="memberships-0-role"' not in html
    assert Membership.objects.filter(project=project).count() == 1
