from datetime import UTC, datetime, timedelta

import pytest

from feedback import dedup
from feedback.ingest import feedback_ingest
from feedback.models import Feedback, FeedbackRepeat
from feedback.pii import EMAIL
from tests.factories import PredictionFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def complaint(text, customer="cust-1", at=T0, **extra):
    item = {"kind": "complaint", "text": text, "created_at": at.isoformat(), **extra}
    if customer:
        item["customer_ref"] = customer
    return item


def test_normalisation_ignores_case_width_punctuation_emoji_and_spacing():
    assert dedup.normalise("  The APP crashes!!! 😡 ") == "the app crashes"
    assert dedup.normalise("앱이   계속 꺼져요…") == dedup.normalise("앱이 계속 꺼져요")
    assert dedup.normalise("ＡＰＰ crashes") == "app crashes"
    assert dedup.normalise("can't pay") != dedup.normalise("can pay")


def test_a_customer_repeating_a_complaint_is_recorded_once_with_a_count(project):
    first = feedback_ingest(project=project, items=[complaint("The app crashes!")])
    again = feedback_ingest(
        project=project,
        items=[complaint("the app   crashes", at=T0 + timedelta(hours=3))],
    )

    assert (first.accepted, again.accepted, again.duplicates, again.repeats) == (1, 1, 0, 1)
    stored = Feedback.objects.get(project=project)
    assert stored.repeat_count == 2
    assert stored.text == "The app crashes!"
    assert list(stored.repeats.values_list("created_at", flat=True)) == [T0 + timedelta(hours=3)]


def test_repeats_within_one_batch_collapse_into_one_row(project):
    items = [complaint("card declined", at=T0 + timedelta(minutes=m)) for m in (0, 5, 50)]

    result = feedback_ingest(project=project, items=items)

    assert (result.accepted, result.repeats) == (3, 2)
    assert list(Feedback.objects.values_list("repeat_count", flat=True)) == [3]
    assert len(result.inserted) == 1


@pytest.mark.parametrize(
    "second",
    [
        complaint("card declined", customer="cust-2"),  # another customer
        complaint("card declined", at=T0 + timedelta(hours=25)),  # outside the window
        complaint("card was declined"),  # another complaint
    ],
)
def test_different_customers_complaints_or_times_are_separate_items(project, second):
    feedback_ingest(project=project, items=[complaint("card declined"), second])

    assert sorted(Feedback.objects.values_list("repeat_count", flat=True)) == [1, 1]


def test_the_window_is_counted_from_the_first_occurrence(project, settings):
    settings.VOC_FEEDBACK_DEDUP_WINDOW_HOURS = 2
    times = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=3)]

    feedback_ingest(project=project, items=[complaint("late", at=t) for t in times])

    assert sorted(Feedback.objects.values_list("created_at", "repeat_count")) == [
        (T0, 2),
        (T0 + timedelta(hours=3), 1),
    ]


def test_complaints_without_a_known_customer_are_never_merged(project):
    feedback_ingest(project=project, items=[complaint("wrong", customer=None)] * 2)

    assert Feedback.objects.count() == 2


def test_complaints_on_a_prediction_are_attributed_to_its_customer(project):
    prediction = PredictionFactory(project=project, request_id="r1", customer_hash="h" * 64)
    other = PredictionFactory(project=project, request_id="r2", customer_hash="h" * 64)
    items = [
        complaint("wrong answer", customer=None, request_id="r1"),
        complaint("WRONG answer.", customer=None, request_id="r1"),
        complaint("wrong answer", customer=None, request_id="r2"),
    ]

    feedback_ingest(project=project, items=items)

    stored = {f.prediction_id: f for f in Feedback.objects.all()}
    assert stored[prediction.id].repeat_count == 2
    assert stored[other.id].repeat_count == 1, "another prediction is other evidence"
    assert stored[prediction.id].customer_hash == "h" * 64


def test_a_retried_repeat_with_an_external_id_is_counted_once(project):
    batch = [
        complaint("no refund yet", external_id="ticket-1"),
        complaint("No refund yet!", external_id="ticket-2", at=T0 + timedelta(hours=1)),
    ]
    feedback_ingest(project=project, items=batch)

    retry = feedback_ingest(project=project, items=batch)

    assert (retry.accepted, retry.duplicates) == (0, 2)
    assert list(Feedback.objects.values_list("repeat_count", flat=True)) == [2]
    assert FeedbackRepeat.objects.get().external_id == "ticket-2"


def test_superseded_complaints_are_not_matched(project):
    feedback_ingest(project=project, items=[complaint("slow")])
    Feedback.objects.update(superseded_at=T0)

    feedback_ingest(project=project, items=[complaint("slow")])

    assert sorted(Feedback.objects.values_list("repeat_count", flat=True)) == [1, 1]


def test_redaction_happens_before_storage_and_before_the_key(project):
    project.pii_redaction = True
    project.save()

    feedback_ingest(
        project=project,
        items=[complaint("write to a@example.com"), complaint("write to b@example.com")],
    )

    stored = Feedback.objects.get()
    assert stored.text == f"write to {EMAIL}"
    assert stored.repeat_count == 2


def test_without_the_setting_text_is_stored_as_sent(project):
    feedback_ingest(project=project, items=[complaint("write to a@example.com")])

    assert Feedback.objects.get().text == "write to a@example.com"


def test_free_text_answers_are_redacted_when_the_project_has_no_label_set(project):
    project.pii_redaction, project.labels = True, []
    project.save()
    PredictionFactory(project=project, request_id="r1", predicted_label="x")

    feedback_ingest(
        project=project,
        items=[{"kind": "correction", "request_id": "r1", "corrected_label": "call 010-1234-5678"}],
    )

    assert Feedback.objects.get().corrected_label == "call [PHONE]"


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(
    project, django_assert_max_num_queries
):
    def batch(n, offset):
        return [
            complaint(
                f"complaint {offset}-{i % 50}", customer=f"c{i % 7}", external_id=f"e{offset + i}"
            )
            for i in range(n)
        ]

    with django_assert_max_num_queries(20) as small:
        feedback_ingest(project=project, items=batch(400, 0))
    with django_assert_max_num_queries(20) as large:
        feedback_ingest(project=project, items=batch(4000, 1000))

    assert len(large.captured_queries) == len(small.captured_queries)
    assert Feedback.objects.filter(repeat_count__gt=1).exists()
