import orjson
import pytest
from rest_framework.test import APIClient

from core.api import FORBIDDEN
from feedback import validation
from feedback.api_auth import BAD_KEY
from feedback.models import ModelVersion, Prediction
from feedback.services import api_key_create, api_key_revoke
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def item(request_id="r-1", **fields):
    return {
        "request_id": request_id,
        "model_version": "v1",
        "input_text": "my card has not arrived",
        "predicted_label": "card_arrival",
        **fields,
    }


def post(api, project, items, **kwargs):
    return api.post(
        f"/api/v1/projects/{project.slug}/predictions", {"predictions": items}, format="json",
        **kwargs,
    )  # fmt: skip


def test_it_stores_a_valid_batch(api, project):
    response = post(api, project, [item("a", scores={"card_arrival": 0.9}, confidence=0.9),
                                   item("b", served_at="2025-03-01T10:00:00+09:00")])  # fmt: skip

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    stored = Prediction.objects.get(project=project, request_id="b")
    assert stored.served_at.isoformat() == "2025-03-01T01:00:00+00:00"
    assert stored.model_version.version == "v1"
    assert Prediction.objects.get(request_id="a").scores == {"card_arrival": 0.9}


def test_it_returns_duplicates_for_a_retried_batch(api, project):
    batch = [item("a"), item("b"), item("c")]
    post(api, project, batch)

    response = post(api, project, batch)

    assert response.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert Prediction.objects.filter(project=project).count() == 3


def test_a_repeated_request_id_inside_one_batch_is_a_duplicate(api, project):
    response = post(api, project, [item("a"), item("a", predicted_label="exchange_rate")])

    assert response.json()["duplicates"] == 1
    assert Prediction.objects.get(request_id="a").predicted_label == "card_arrival"


def test_one_bad_item_does_not_stop_the_good_ones(api, project):
    response = post(api, project, [item("good"), item("bad", predicted_label="not_a_label")])

    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 1,
            "request_id": "bad",
            "errors": {
                "predicted_label": [validation.NOT_IN_LABEL_SET.format(value="not_a_label")]
            },
        }
    ]
    assert list(Prediction.objects.values_list("request_id", flat=True)) == ["good"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"confidence": "high"}, "confidence", validation.NOT_A_NUMBER),
        ({"confidence": 1.5}, "confidence", validation.CONFIDENCE_RANGE),
        ({"confidence": True}, "confidence", validation.NOT_A_NUMBER),
        ({"latency_ms": -1}, "latency_ms", validation.NEGATIVE),
        ({"served_at": "yesterday"}, "served_at", validation.BAD_TIMESTAMP),
        ({"served_at": "2025-03-01T10:00:00"}, "served_at", validation.BAD_TIMESTAMP),
        ({"scores": [0.1]}, "scores", validation.NOT_AN_OBJECT),
        ({"predicted_label": 7}, "predicted_label", validation.NOT_A_STRING),
        ({"request_id": ""}, "request_id", validation.EMPTY),
        ({"request_id": "x" * 201}, "request_id", validation.TOO_LONG.format(limit=200)),
        ({"model_version": None}, "model_version", validation.REQUIRED),
        ({"input_text": "a\x00b"}, "input_text", validation.NUL_BYTE),
        ({"input_text": "x" * 20_001}, "input_text", validation.TOO_LONG.format(limit=20_000)),
        ({"metadata": {"k": "\x00"}}, "metadata", validation.NUL_BYTE),
        ({"metadata": "channel=app"}, "metadata", validation.NOT_AN_OBJECT),
        ({"customer_ref": {"id": 1}}, "customer_ref", validation.NOT_A_STRING),
    ],
)
def test_bad_fields_are_named_in_the_rejection(api, project, fields, field, message):
    response = post(api, project, [item(**{"request_id": "x", **fields})])

    assert response.status_code == 200
    assert response.json()["rejected"][0]["errors"][field] == [message]
    assert not Prediction.objects.exists()


def test_deeply_nested_metadata_is_rejected_not_a_crash(api, project):
    nested: dict = {}
    cursor = nested
    for _ in range(50):
        cursor["x"] = {}
        cursor = cursor["x"]

    response = post(api, project, [item("x", metadata=nested)])

    assert response.json()["rejected"][0]["errors"]["metadata"] == [
        validation.TOO_DEEP.format(limit=validation.MAX_JSON_DEPTH)
    ]


def test_json_nested_beyond_the_parser_limit_is_a_400(api, project):
    body = b'{"predictions": [' + b"[" * 5000 + b"]" * 5000 + b"]}"

    response = api.generic(
        "POST", f"/api/v1/projects/{project.slug}/predictions", body, "application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_an_item_without_input_is_rejected(api, project):
    bare = item("x")
    del bare["input_text"]

    response = post(api, project, [bare])

    assert response.json()["rejected"][0]["errors"] == {"input_text": [validation.INPUT_MISSING]}


def test_structured_input_alone_is_enough(api, project):
    bare = item("x", input_data={"image_id": "abc", "fields": [1, 2]})
    del bare["input_text"]

    assert post(api, project, [bare]).json()["accepted"] == 1
    assert Prediction.objects.get().input_data == {"image_id": "abc", "fields": [1, 2]}


def test_a_project_without_a_label_set_accepts_any_label(api, project):
    project.labels = []
    project.save()

    assert post(api, project, [item("x", predicted_label="anything")]).json()["accepted"] == 1


def test_customer_refs_are_stored_only_as_a_keyed_hash(api, project):
    post(api, project, [item("x", customer_ref="alice@example.com")])

    stored = Prediction.objects.get()
    assert stored.customer_hash and len(stored.customer_hash) == 64
    assert "alice" not in stored.customer_hash
    assert "alice" not in orjson.dumps(list(Prediction.objects.values())).decode()


def test_model_versions_are_created_on_first_use(api, project):
    post(api, project, [item("a", model_version="v7"), item("b", model_version="v7")])

    assert list(ModelVersion.objects.filter(project=project).values_list("version", flat=True)) == [
        "v7"
    ]


# --- body shape, size and parsing ------------------------------------------------------------


def test_malformed_json_is_a_400_with_the_error_shape(api, project):
    response = api.generic(
        "POST", f"/api/v1/projects/{project.slug}/predictions", b'{"predictions": [', "application/json"
    )  # fmt: skip

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert error["message"].startswith("Malformed JSON")


@pytest.mark.parametrize("body", [[], {"items": []}, {"predictions": {"a": 1}}, "text"])
def test_a_body_of_the_wrong_shape_is_a_400(api, project, body):
    response = api.post(f"/api/v1/projects/{project.slug}/predictions", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_too_many_items_is_a_413_naming_the_limit(api, project, settings):
    settings.VOC_API_MAX_BATCH_ITEMS = 3

    response = post(api, project, [item(str(i)) for i in range(4)])

    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_items"] == 3
    assert not Prediction.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_a_body_over_the_byte_limit_is_a_413(api, project, settings, content_type):
    settings.VOC_API_MAX_BODY_BYTES = 1000
    if content_type == "application/json":
        body = orjson.dumps({"predictions": [item(str(i)) for i in range(20)]})
    else:
        body = b"\n".join(orjson.dumps(item(str(i))) for i in range(20))

    response = api.generic(
        "POST", f"/api/v1/projects/{project.slug}/predictions", body, content_type
    )

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "The request body exceeds 1000 bytes.",
        "details": {"max_bytes": 1000, "max_items": 10_000},
    }


def test_ndjson_batches_are_accepted_and_a_bad_line_is_reported_by_index(api, project):
    body = b"\n".join(
        [orjson.dumps(item("a")), b"{not json", b"", orjson.dumps(item("b")), b"[1, 2]"]
    )

    response = api.generic(
        "POST", f"/api/v1/projects/{project.slug}/predictions", body, "application/x-ndjson"
    )

    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3]
    assert body["rejected"][0]["errors"]["item"][0].startswith("Malformed JSON")
    assert body["rejected"][1]["errors"]["item"] == [validation.ITEM_NOT_OBJECT]


def test_an_unsupported_content_type_is_a_415(api, project):
    response = api.generic(
        "POST", f"/api/v1/projects/{project.slug}/predictions", b"a,b", "text/csv"
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


# --- authentication and authorisation --------------------------------------------------------


def test_a_request_without_a_key_is_a_401(project):
    response = post(APIClient(), project, [item()])

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Bearer voc_000000000000_abc", "Token x", "Bearer", "Bearer a b"]
)
def test_a_wrong_key_is_a_401(project, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = post(client, project, [item()])

    assert response.status_code == 401
    assert response.json()["error"]["message"] == BAD_KEY


def test_a_revoked_key_is_a_401(project):
    api_key, full_key = api_key_create(project=project, scopes=["ingest"])
    api_key_revoke(api_key=api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")

    assert post(client, project, [item()]).status_code == 401


def test_a_key_of_another_project_is_a_403_that_reveals_nothing(api, make_key):
    other = ProjectFactory()

    existing = post(api, other, [item()])
    missing = api.post("/api/v1/projects/no-such-project/predictions", {}, format="json")

    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()
    assert existing.json()["error"]["message"] == FORBIDDEN
    assert not Prediction.objects.filter(project=other).exists()


def test_a_key_without_the_ingest_scope_is_a_403(project, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=['read'])}")

    assert post(client, project, [item()]).status_code == 403


def test_the_body_cannot_choose_the_project(api, project):
    other = ProjectFactory()

    post(api, project, [item("x", project=other.slug, project_id=other.id)])

    assert Prediction.objects.get().project == project


def test_keys_are_stored_only_as_hashes(project):
    api_key, full_key = api_key_create(project=project, scopes=["ingest"])

    api_key.refresh_from_db()
    assert full_key not in str(vars(api_key))
    assert full_key.split("_")[1] == api_key.prefix


def test_repeated_wrong_keys_are_throttled_with_retry_after(project, settings, make_key, figures):
    settings.VOC_API_AUTH_FAILURES = 3
    good = make_key(project)
    client = APIClient(REMOTE_ADDR="203.0.113.77")
    client.credentials(HTTP_AUTHORIZATION="Bearer voc_000000000000_wrong")

    codes = [post(client, project, [item()]).status_code for _ in range(4)]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    blocked = post(client, project, [item()])

    assert codes == [401, 401, 401, 429]
    assert blocked.status_code == 429 and 0 < int(blocked["Retry-After"]) <= 60
    assert blocked.json()["error"]["code"] == "rate_limited"
    other = APIClient(REMOTE_ADDR="203.0.113.78")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    figures.update(wrong_keys_sent=4, answered_401=codes.count(401), answered_429=codes.count(429))
    assert post(other, project, [item()]).status_code == 200, "only the guessing client waits"
