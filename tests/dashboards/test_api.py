"""GET /api/v1/projects/{slug}/metrics (docs/api.md)."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dashboards import metrics
from dashboards.services.rollups import rollup_pass
from feedback.models import Feedback, Prediction
from tests.factories import (
    FeedbackFactory,
    ModelVersionFactory,
    PredictionFactory,
    ProjectFactory,
)

from .conftest import T0

URL = "/api/v1/projects/{}/metrics"


@pytest.fixture
def two_days(project):
    """v1: 10 predictions on day 1 (4 corrected, 1 complaint, ratings +1/-1); v2: 20
    predictions on day 2 (2 corrected, one of them twice)."""
    v1 = [
        PredictionFactory(project=project, served_at=T0 + timedelta(minutes=i)) for i in range(10)
    ]
    for p in v1[:4]:
        FeedbackFactory(prediction=p)
    FeedbackFactory(prediction=v1[5], kind="complaint", text="wrong", corrected_label="")
    FeedbackFactory(prediction=v1[6], kind="rating", rating=1, corrected_label="")
    FeedbackFactory(prediction=v1[7], kind="rating", rating=-1, corrected_label="")
    version_2 = ModelVersionFactory(project=project, version="v2")
    v2 = [
        PredictionFactory(
            project=project,
            model_version=version_2,
            served_at=T0 + timedelta(days=1, hours=3, minutes=i),
        )
        for i in range(20)
    ]
    FeedbackFactory(prediction=v2[0])
    FeedbackFactory(prediction=v2[0], corrected_label="exchange_rate")
    FeedbackFactory(prediction=v2[1])
    rollup_pass()
    return project


def test_daily_rows_per_version_with_rates_and_intervals(api, two_days):
    response = api.get(URL.format(two_days.slug))

    assert response.status_code == 200
    rows = response.json()
    assert [(r["bucket_start"], r["model_version"]) for r in rows] == [
        ("2025-03-03T00:00:00Z", "v1"),
        ("2025-03-04T00:00:00Z", "v2"),
    ]
    first, second = rows
    assert {k: first[k] for k in ("predictions", "corrections", "complaints")} == {
        "predictions": 10,
        "corrections": 4,
        "complaints": 1,
    }
    assert (first["ratings_up"], first["ratings_down"]) == (1, 1)
    assert first["correction_rate"] == 0.4
    assert first["correction_rate_ci"] == pytest.approx(list(metrics.wilson_interval(4, 10)))
    assert first["predictions_with_feedback"] == 7
    assert first["online_accuracy_among_feedback"] == pytest.approx(1 - 4 / 7)
    # A prediction corrected twice counts once.
    assert (second["predictions"], second["corrections"], second["correction_rate"]) == (
        20,
        2,
        0.1,
    )


def test_weekly_buckets_version_filter_and_window(api, two_days):
    weekly = api.get(URL.format(two_days.slug), {"bucket": "week"}).json()
    assert [(r["bucket_start"], r["model_version"], r["predictions"]) for r in weekly] == [
        ("2025-03-03T00:00:00Z", "v1", 10),
        ("2025-03-03T00:00:00Z", "v2", 20),
    ]
    only_v2 = api.get(URL.format(two_days.slug), {"model_version": "v2"}).json()
    assert [r["model_version"] for r in only_v2] == ["v2"]
    both = api.get(f"{URL.format(two_days.slug)}?model_version=v1&model_version=v2").json()
    assert len(both) == 2
    window = api.get(
        URL.format(two_days.slug), {"since": "2025-03-04T00:00:00Z", "until": "2025-03-05T00:00Z"}
    ).json()
    assert [r["model_version"] for r in window] == ["v2"]
    assert api.get(URL.format(two_days.slug), {"model_version": "v9"}).json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bucket": "hour"}, "bucket"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-13-01"}, "until"),
        ({"since": "2025-03-05T00:00:00Z", "until": "2025-03-04T00:00:00Z"}, "since"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(api, project, params, field):
    response = api.get(URL.format(project.slug), params)

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_request" and field in body["details"]


def test_keys_need_the_read_scope_of_the_same_project(project, make_key, two_days):
    client = APIClient()
    assert client.get(URL.format(project.slug)).status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert client.get(URL.format(project.slug)).status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=['ingest'])}")
    assert client.get(URL.format(project.slug)).status_code == 403
    other = ProjectFactory()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other, scopes=['read'])}")
    assert client.get(URL.format(project.slug)).status_code == 403
    assert client.get(URL.format(other.slug)).json() == []


def test_the_api_reads_rollups_not_raw_rows(api, two_days, django_assert_max_num_queries):
    # Raw rows deleted after the pass: the figures stay until the hours are recomputed.
    Feedback.objects.all().delete()
    Prediction.objects.all().delete()
    with django_assert_max_num_queries(4):
        rows = api.get(URL.format(two_days.slug)).json()
    assert sum(r["predictions"] for r in rows) == 30


def test_the_schema_documents_the_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/projects/{slug}/metrics"]["get"]
    assert operation["operationId"] == "metrics_list"
    names = {p["name"] for p in operation["parameters"]}
    assert {"model_version", "bucket", "since", "until"} <= names
