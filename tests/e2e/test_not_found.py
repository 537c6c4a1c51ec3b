"""What a browser gets for an address that does not exist, and the files every page asks for."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_unknown_address_gets_a_plain_not_found_page(page):
    response = page.goto("/no/such/page/")

    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert "urlpatterns" not in page.content() and "URLconf" not in page.content()
    assert page.get_by_role("link", name="Go to your projects").count() == 1


def test_the_login_page_asks_for_no_missing_file_and_has_an_icon(page):
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))

    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    icon = page.goto("/favicon.ico")

    assert failed == []
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg")
