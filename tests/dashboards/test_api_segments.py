"""GET /api/v1/projects/{slug}/segments (docs/api.md): a failing channel found in the rollups."""

import random
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dashboards.models import DashboardSettings
from dashboards.services.rollups import rollup_pass
from feedback.models import ModelVersion, Prediction
from tests.factories import LABELS, FeedbackFactory

from .conftest import T0

URL = "/api/v1/projects/{}/segments"


@pytest.fixture
def kiosk_fails(project):
    """1,200 predictions over two hours: kiosk (200) corrected 40 % of the time, app and web
    (500 each) 10 %; a locale that says nothing; a session id the project ignores."""
    rng = random.Random(7)
    DashboardSettings.objects.create(project=project, segment_ignore_keys=["session"])
    version = ModelVersion.objects.get_or_create(project=project, version="v1")[0]
    channels = ["kiosk"] * 200 + ["app"] * 500 + ["web"] * 500
    predictions = Prediction.objects.bulk_create(
        Prediction(
            project=project,
            model_version=version,
            request_id=f"seg-{i}",
            input_text="text",
            predicted_label=rng.choice(LABELS[:-1]),
            served_at=T0 + timedelta(seconds=i * 6),
            metadata={"channel": channel, "locale": rng.choice(["en", "ko"]), "session": str(i)},
        )
        for i, channel in enumerate(channels)
    )
    for prediction, channel in zip(predictions, channels, strict=True):
        if rng.random() < (0.4 if channel == "kiosk" else 0.1):
            FeedbackFactory(prediction=prediction, corrected_label=LABELS[-1])
    rollup_pass()
    return project


def test_the_failing_channel_comes_first_with_its_evidence(api, kiosk_fails):
    response = api.get(URL.format(kiosk_fails.slug))

    assert response.status_code == 200
    body = response.json()
    assert body["predictions"] == 1200
    first = body["results"][0]
    assert first["segment"] == {"channel": "kiosk"}
    assert first["significant"] is True
    assert first["predictions"] == 200
    assert first["correction_rate"] == pytest.approx(first["corrections"] / 200)
    assert first["ci_low"] < first["correction_rate"] < first["ci_high"]
    rest = (body["corrections"] - first["corrections"]) / 1000
    assert first["rest_correction_rate"] == pytest.approx(rest)
    assert first["lift"] == pytest.approx(first["correction_rate"] / rest)
    assert first["q_value"] <= 0.05
    failing = [r["segment"] for r in body["results"] if r["significant"]]
    assert {"channel": "app"} not in failing and {"channel": "web"} not in failing
    # Pairs of keys with few values are there; a failing pair is worse than both its values.
    segments = [r["segment"] for r in body["results"]]
    assert {"channel": "kiosk", "locale": "en"} in segments
    rates = {
        (k, v): r["correction_rate"]
        for r in body["results"]
        if len(r["segment"]) == 1
        for k, v in r["segment"].items()
    }
    for pair in (r for r in body["results"] if r["significant"] and len(r["segment"]) == 2):
        assert all(pair["correction_rate"] > rates[item] for item in pair["segment"].items())
    # The ignored id is not a segment; the predicted label is a built-in one.
    assert not any("session" in s for s in segments)
    assert any("predicted_label" in s for s in segments)


def test_a_period_without_the_traffic_is_empty_and_a_bad_window_names_since(api, kiosk_fails):
    later = (T0 + timedelta(days=2)).isoformat()
    empty = api.get(URL.format(kiosk_fails.slug), {"since": later})
    bad = api.get(URL.format(kiosk_fails.slug), {"since": later, "until": T0.isoformat()})
    small = api.get(URL.format(kiosk_fails.slug), {"min_predictions": 0})

    assert empty.status_code == 200
    assert empty.json() == {"predictions": 0, "corrections": 0, "results": []}
    assert bad.status_code == 400
    assert "since" in str(bad.json())
    assert small.status_code == 400
    assert "min_predictions" in str(small.json())


def test_segments_need_the_read_scope(project, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=['ingest'])}")

    assert client.get(URL.format(project.slug)).status_code == 403
