"""What the fuzzer found, pinned: odd input gets a 4xx in the API's error shape."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_id_that_is_not_a_number_is_a_json_404(api, project):
    response = api.get(f"/api/v1/projects/{project.slug}/clustering-runs/null,null")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_pages_outside_the_api_keep_the_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("body", ["null", "[null, null]", '"since"'])
def test_a_clustering_run_body_must_be_an_object(api, project, body):
    response = api.post(
        f"/api/v1/projects/{project.slug}/clustering-runs", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize("page_size", ["null", "0", "-3", "1e3", "٣"])
def test_an_unreadable_page_size_is_named(api, project, page_size):
    response = api.get(f"/api/v1/projects/{project.slug}/categories", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["details"]


def test_an_unreadable_flag_is_named(api, project):
    response = api.post(
        f"/api/v1/projects/{project.slug}/predictions?feedback_links=maybe",
        {"predictions": []},
        format="json",
    )
    assert response.status_code == 400
    assert "feedback_links" in response.json()["error"]["details"]
