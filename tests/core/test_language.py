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


def test_the_sign_in_pages_and_the_404_speak_korean(client):
    korean_browser = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}

    login_page = client.get("/accounts/login/", **korean_browser).content.decode()
    bad_link = client.get("/accounts/reset/MQ/set-password/", **korean_browser).content.decode()
    missing = client.get("/no-such-page/", **korean_browser)

    assert '<h1 class="h3 text-center mb-1">로그인</h1>' in login_page
    assert "이 링크는 더 이상 사용할 수 없습니다" in bad_link
    assert missing.status_code == 404 and "페이지를 찾을 수 없습니다" in missing.content.decode()


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "프로젝트"),
        ("/p/{slug}/imports/", "티켓 시스템에서 고객 불만 가져오기"),
        ("/p/{slug}/members/", "멤버"),
        ("/p/{slug}/privacy/", "개인정보"),
        ("/p/{slug}/settings/", "프로젝트 설정"),
    ],
)
def test_the_admin_pages_speak_the_members_language(client, project, path, heading):
    user = login(client, project, "admin")
    UserPreference.objects.create(user=user, language="ko")

    page = client.get(path.format(slug=project.slug)).content.decode()

    assert f'<h1 class="h3 mb-3">{heading}</h1>' in page
