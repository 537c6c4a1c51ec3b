"""Timestamps from a broken clock are refused by index like any bad field, and no timestamp
(any RFC 3339 string, any offset, or anything else) makes an ingest batch fail."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import validation
from feedback.models import Feedback, Prediction

pytestmark = pytest.mark.django_db

PREDICTION = {"model_version": "v1", "input_text": "where is my card", "predicted_label": "card_arrival"}  # fmt: skip
IDS = itertools.count()


def post_predictions(api, project, items):
    url = f"/api/v1/projects/{project.slug}/predictions"
    return api.post(url, {"predictions": items}, format="json")


def post_feedback(api, project, items):
    return api.post(f"/api/v1/projects/{project.slug}/feedback", {"feedback": items}, format="json")


def soon(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    "stamp, message",
    [
        ("9999-12-31T23:59:59-14:00", validation.TIMESTAMP_RANGE),  # no UTC instant: was a 500
        ("0001-01-01T00:00:00+14:00", validation.TIMESTAMP_RANGE),  # before the first one
        ("9999-12-31T23:59:59+00:00", validation.TIMESTAMP_RANGE),
        ("2099-01-01T00:00:00Z", validation.TIMESTAMP_RANGE),
        ("1970-06-01T00:00:00Z", validation.TIMESTAMP_RANGE),
        ("1970-12-31T23:59:59-01:00", None),  # 1971-01-01T00:59:59Z: in range
        ("2025-03-01T10:00:00", validation.BAD_TIMESTAMP),  # no offset
        ("yesterday", validation.BAD_TIMESTAMP),
    ],
)
def test_a_timestamp_out_of_range_is_refused_by_index_and_the_rest_kept(
    api, project, stamp, message
):
    predictions = post_predictions(
        api, project, [{"request_id": "good", **PREDICTION}, {"request_id": "odd", "served_at": stamp, **PREDICTION}]
    )  # fmt: skip
    feedback = post_feedback(
        api, project, [{"kind": "complaint", "text": "ok"}, {"kind": "complaint", "text": "odd", "created_at": stamp}]
    )  # fmt: skip

    for response, field in ((predictions, "served_at"), (feedback, "created_at")):
        assert response.status_code == 200
        body = response.json()
        if message is None:
            assert body["rejected"] == [] and body["accepted"] == 2
        else:
            assert body["accepted"] == 1
            assert [(r["index"], r["errors"]) for r in body["rejected"]] == [
                (1, {field: [message]})
            ]
    assert Prediction.objects.filter(project=project, request_id="good").exists()


def test_a_day_ahead_is_allowed_for_clock_skew_and_more_is_not(api, project):
    body = post_predictions(
        api, project, [{"request_id": "skewed", "served_at": soon(hours=23), **PREDICTION},
                       {"request_id": "ahead", "served_at": soon(hours=25), **PREDICTION}],
    ).json()  # fmt: skip

    assert body["accepted"] == 1
    assert body["rejected"][0]["errors"] == {"served_at": [validation.TIMESTAMP_RANGE]}


def rfc3339(moment: datetime, offset_minutes: int, fraction: str, zulu: bool) -> str:
    if zulu and offset_minutes == 0:
        zone = "Z"
    else:
        sign = "+" if offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(offset_minutes), 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + fraction + zone


STAMPS = st.one_of(
    st.builds(
        rfc3339,
        st.datetimes(),  # naive, 0001 to 9999: the offset is added below
        st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
        st.sampled_from(["", ".5", ".123456", ".123456789"]),
        st.booleans(),
    ),
    st.text(max_size=45),
    st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.none(),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stamp=STAMPS)
def test_no_timestamp_makes_a_batch_fail(api, project, stamp):
    n = next(IDS)
    predictions = post_predictions(
        api, project, [{"request_id": f"g{n}", **PREDICTION}, {"request_id": f"t{n}", "served_at": stamp, **PREDICTION}]
    )  # fmt: skip
    feedback = post_feedback(
        api, project, [{"kind": "complaint", "text": "ok"}, {"kind": "complaint", "text": "t", "created_at": stamp}]
    )  # fmt: skip

    for response, field, model, lookup in (
        (predictions, "served_at", Prediction, {"request_id": f"t{n}"}),
        (feedback, "created_at", Feedback, None),
    ):
        assert response.status_code == 200, (stamp, response.content[:300])
        body = response.json()
        assert body["accepted"] + len(body["rejected"]) == 2
        assert all(set(r["errors"]) == {field} for r in body["rejected"])
        if lookup is not None and not body["rejected"]:  # accepted: stored in range, in UTC
            stored = model.objects.get(project=project, **lookup).served_at
            assert validation.EARLIEST_TIMESTAMP <= stored <= datetime.now(UTC) + timedelta(days=1)
