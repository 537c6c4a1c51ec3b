"""Gzip request bodies on the ingest API: unpacked within the same size limit, refused clearly
when broken, too big once unpacked, or in an encoding we do not read."""

import gzip

import orjson
import pytest

from feedback.models import Feedback, Prediction
from tests.factories import PredictionFactory

pytestmark = pytest.mark.django_db


def item(request_id):
    return {"request_id": request_id, "model_version": "v1", "input_text": "card not here",
            "predicted_label": "card_arrival"}  # fmt: skip


def send(api, project, body: bytes, *, endpoint="predictions", encoding="gzip",
         content_type="application/json"):  # fmt: skip
    return api.generic(
        "POST", f"/api/v1/projects/{project.slug}/{endpoint}", body,
        content_type=content_type, HTTP_CONTENT_ENCODING=encoding,
    )  # fmt: skip


def test_a_gzip_batch_is_stored_like_a_plain_one(api, project):
    body = gzip.compress(orjson.dumps({"predictions": [item("a"), item("b")]}))

    response = send(api, project, body)

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert set(Prediction.objects.values_list("request_id", flat=True)) == {"a", "b"}


def test_gzip_ndjson_feedback_is_read_line_by_line(api, project):
    prediction = PredictionFactory(project=project, request_id="r1")
    lines = [{"kind": "correction", "request_id": "r1", "corrected_label": "card_not_working"},
             {"kind": "complaint", "text": "the app froze"}]  # fmt: skip
    body = gzip.compress(b"\n".join(orjson.dumps(line) for line in lines))

    response = send(api, project, body, endpoint="feedback", content_type="application/x-ndjson")

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    assert Feedback.objects.filter(prediction=prediction, kind="correction").exists()


def test_a_body_too_big_once_unpacked_is_refused_without_being_held(api, project, settings):
    settings.VOC_API_MAX_BODY_BYTES = 100_000
    bomb = gzip.compress(b"[" + b" " * 50_000_000 + b"]")  # 50 MB of spaces in ~50 KB

    response = send(api, project, bomb)

    assert len(bomb) < settings.VOC_API_MAX_BODY_BYTES
    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_bytes"] == 100_000
    assert not Prediction.objects.exists()


@pytest.mark.parametrize(
    "body,encoding,status,code",
    [
        (b"not gzip at all", "gzip", 400, "invalid_json"),
        (gzip.compress(b'{"predictions": []}')[:-8], "gzip", 400, "invalid_json"),
        (b'{"predictions": []}', "br", 415, "unsupported_media_type"),
    ],
)
def test_broken_or_unknown_encodings_get_a_clear_error(api, project, body, encoding, status, code):
    response = send(api, project, body, encoding=encoding)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
