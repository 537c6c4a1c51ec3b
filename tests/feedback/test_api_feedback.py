import pytest

from feedback import validation
from feedback.models import Feedback
from tests.factories import PredictionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prediction(project):
    return PredictionFactory(project=project, request_id="r1", predicted_label="card_arrival")


def post(api, project, items):
    return api.post(f"/api/v1/projects/{project.slug}/feedback", {"feedback": items}, format="json")


def test_it_stores_each_kind_of_feedback(api, project, prediction):
    response = post(
        api,
        project,
        [
            {"kind": "complaint", "text": "Still no card after two weeks"},
            {"kind": "correction", "request_id": "r1", "corrected_label": "card_not_working"},
            {"kind": "rating", "request_id": "r1", "rating": -1, "source": "app"},
        ],
    )

    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    stored = {f.kind: f for f in Feedback.objects.filter(project=project)}
    assert stored["complaint"].prediction is None
    assert stored["correction"].prediction == prediction
    assert stored["rating"].rating == -1 and stored["rating"].source == "app"
    assert stored["complaint"].source == "api"
    assert {f.triage_state for f in stored.values()} == {"new"}


def test_a_retried_batch_with_external_ids_stores_nothing_twice(api, project, prediction):
    batch = [
        {"kind": "complaint", "text": "wrong", "external_id": "t-1"},
        {"kind": "rating", "request_id": "r1", "rating": 1, "external_id": "t-2"},
    ]
    post(api, project, batch)

    response = post(api, project, batch)

    assert response.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert Feedback.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "praise"}, "kind", validation.BAD_KIND),
        ({"kind": "complaint"}, "text", validation.REQUIRED),
        ({"kind": "complaint", "text": "x" * 5001}, "text", validation.TOO_LONG.format(limit=5000)),
        ({"kind": "correction", "corrected_label": "exchange_rate"}, "request_id",
         validation.REQUEST_ID_REQUIRED_FOR.format(kind="correction")),
        ({"kind": "correction", "request_id": "r1"}, "corrected_label", validation.REQUIRED),
        ({"kind": "correction", "request_id": "r1", "corrected_label": "nope"}, "corrected_label",
         validation.NOT_IN_LABEL_SET.format(value="nope")),
        ({"kind": "correction", "request_id": "r1", "corrected_label": "card_arrival"},
         "corrected_label", validation.SAME_AS_PREDICTED),
        ({"kind": "rating", "request_id": "r1", "rating": 5}, "rating", validation.BAD_RATING),
        ({"kind": "rating", "request_id": "r1", "rating": True}, "rating", validation.BAD_RATING),
        ({"kind": "rating", "request_id": "r1"}, "rating", validation.REQUIRED),
        ({"kind": "rating", "request_id": "elsewhere", "rating": 1}, "request_id",
         validation.UNKNOWN_PREDICTION),
        ({"kind": "complaint", "text": "x", "created_at": "2025-01-01"}, "created_at",
         validation.BAD_TIMESTAMP),
    ],
)  # fmt: skip
def test_bad_feedback_is_rejected_with_the_field_named(
    api, project, prediction, fields, field, message
):
    response = post(api, project, [{"kind": "complaint", "text": "ok"}, fields])

    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["errors"][field] == [message]


def test_feedback_cannot_point_at_another_projects_prediction(api, project):
    PredictionFactory(request_id="theirs")

    response = post(api, project, [{"kind": "rating", "request_id": "theirs", "rating": 1}])

    assert response.json()["rejected"][0]["errors"] == {
        "request_id": [validation.UNKNOWN_PREDICTION]
    }


def test_new_feedback_is_handed_to_the_followup_tasks_after_commit(
    api, project, prediction, django_capture_on_commit_callbacks, settings
):
    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # nothing published; only the hook is observed

    with django_capture_on_commit_callbacks() as callbacks:
        post(api, project, [{"kind": "complaint", "text": "a"}, {"kind": "complaint", "text": "b"}])

    assert len(callbacks) == 1
    assert callbacks[0].args == (
        list(Feedback.objects.order_by("id").values_list("id", flat=True)),
    )
