import pytest

from config.celery_app import app

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker")} == {
        "status": "ok", "database": "ok", "broker": "ok"
    }  # fmt: skip
    assert "no-cache" in response["Cache-Control"]


def test_healthz_details_name_the_representation_and_the_latest_run(client, project, settings):
    from triage.models import ClusteringRun

    settings.VOC_EMBEDDINGS = "off"
    ClusteringRun.objects.create(
        project=project, status="succeeded", representation="lsa", n_items=40, n_categories=3,
        finished_at="2026-12-01T10:00:00Z",
    )  # fmt: skip

    details = client.get("/healthz").json()["details"]

    assert details["clustering"]["representation"] == "lsa"
    assert details["clustering"]["latest_run"]["representation"] == "lsa"
    assert details["clustering"]["latest_run"]["n_categories"] == 3
    assert details["clustering"]["pending_runs"] == 0
    assert details["rollup_last_pass"] is None  # no pass yet: beat or the worker is not running
    assert project.slug not in str(details)


def test_healthz_fails_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:9/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "unreachable"
    assert response.json()["database"] == "ok"
