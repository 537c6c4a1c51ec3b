"""The language of the team's pages: the member's setting, else the browser's; the switch."""

import pytest

from core.models import UserPreference
from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_the_browser_decides_until_the_member_chooses(client, project):
    user = login(client, project, "viewer")
    korean_browser = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}

    assert 'lang="ko"' in client.get("/", **korean_browser).content.decode()

    response = client.post("/language", {"language": "en", "next": f"/p/{project.slug}/"})

    assert response.status_code == 302 and response["Location"] == f"/p/{project.slug}/"
    assert UserPreference.objects.get(user=user).language == "en"
    client.cookies.clear()  # another device: the saved setting still wins over the browser
    client.force_login(user)
    assert 'lang="en"' in client.get("/", **korean_browser).content.decode()


def test_the_switch_refuses_unknown_languages_and_foreign_redirects(client, project):
    user = login(client, project, "viewer")

    response = client.post("/language", {"language": "xx", "next": "https://evil.example/"})

    assert response["Location"] == "/"
    assert UserPreference.objects.get(user=user).language == ""


def test_the_login_page_offers_the_switch_and_follows_the_cookie(client):
    client.post("/language", {"language": "ko", "next": "/accounts/login/"})

    page = client.get("/accounts/login/").content.decode()

    assert 'lang="ko"' in page
    assert 'name="language"' in page and '<option value="ko" lang="ko" selected>' in page
