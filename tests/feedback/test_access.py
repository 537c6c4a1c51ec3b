import pytest

from tests.factories import ProjectFactory
from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_a_member_sees_the_project_and_its_name_is_escaped(client, project):
    project.name = "<script>alert(1)</script>"
    project.save()
    login(client, project, "viewer")

    response = client.get(f"/p/{project.slug}/")

    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_a_non_member_cannot_tell_the_project_exists(client, project):
    login(client, ProjectFactory(), "viewer")

    existing = client.get(f"/p/{project.slug}/")
    missing = client.get("/p/no-such-project/")

    assert existing.status_code == missing.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, project):
    response = client.get(f"/p/{project.slug}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_home_page_lists_only_the_users_projects(client, project):
    other = ProjectFactory()
    login(client, project, "viewer")

    response = client.get("/")

    assert project.name.encode() in response.content
    assert other.name.encode() not in response.content


def test_every_page_carries_a_strict_content_security_policy(client, project):
    login(client, project, "viewer")

    for url in ["/", f"/p/{project.slug}/", "/accounts/login/", "/api/docs/"]:
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self';" in policy, url
        if url != "/api/docs/":  # Swagger UI sets style attributes (only there)
            assert "style-src 'self';" in policy, url  # no inline style attribute or element
        assert "frame-ancestors 'none'" in policy, url
