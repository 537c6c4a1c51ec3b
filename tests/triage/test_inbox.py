"""The team inbox and the feedback detail page."""

from datetime import UTC, datetime, timedelta

import pytest

from core.templatetags.ui import ident
from feedback.ingest import feedback_ingest
from feedback.models import Feedback, FeedbackRepeat
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    ModelVersionFactory,
    PredictionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.helpers import login
from triage.models import ItemAssignment
from triage.selectors_inbox import Cursor

pytestmark = pytest.mark.django_db

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def viewer(client, project):
    return login(client, project, "viewer")


def inbox(client, project, **params):
    return client.get(f"/p/{project.slug}/inbox/", params)


def ids_in(response) -> list[int]:
    return [item.id for item in response.context["page"].items]


def complaint(project, text="It is wrong", at=T0, **fields):
    return Feedback.objects.create(project=project, kind="complaint", text=text, created_at=at,
                                   **fields)  # fmt: skip


def test_the_inbox_lists_feedback_newest_first_with_its_prediction_and_category(
    client, project, viewer
):
    prediction = PredictionFactory(project=project, predicted_label="card_arrival")
    older = FeedbackFactory(prediction=prediction, created_at=T0 - timedelta(hours=1))
    newer = complaint(project, "The app crashes", at=T0)
    category = ErrorCategoryFactory(project=project, title="Card delivery confusion")
    ItemAssignment.objects.create(feedback=older, category=category)

    response = inbox(client, project)

    assert response.status_code == 200
    assert ids_in(response) == [newer.id, older.id]
    html = response.content.decode()
    assert (
        "Card delivery confusion" in html
        and "card_arrival" in html
        and f"→ {ident('card_not_working')}" in html
    )
    assert 'aria-current="page">Inbox' in html


def test_customer_text_is_escaped_in_the_list_and_on_the_detail_page(client, project, viewer):
    prediction = PredictionFactory(project=project, input_text=PAYLOAD, metadata={"x": PAYLOAD})
    item = complaint(project, PAYLOAD, prediction=prediction)

    pages = [inbox(client, project), client.get(f"/p/{project.slug}/inbox/{item.id}/")]

    for response in pages:
        html = response.content.decode()
        assert "<script>alert(2)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


@pytest.fixture
def varied(project):
    """One item per filter value, so each filter must pick exactly its own."""
    v1 = ModelVersionFactory(project=project, version="v1")
    v2 = ModelVersionFactory(project=project, version="v2")
    p1 = PredictionFactory(project=project, model_version=v1, predicted_label="card_arrival")
    p2 = PredictionFactory(project=project, model_version=v2, predicted_label="exchange_rate")
    items = {
        "complaint": complaint(project, "Card never came", at=T0 - timedelta(days=5)),
        "correction": FeedbackFactory(prediction=p1, corrected_label="lost_or_stolen_card",
                                      created_at=T0 - timedelta(days=1)),
        "rating": FeedbackFactory(prediction=p2, kind="rating", rating=-1, corrected_label="",
                                  source="widget", created_at=T0,
                                  triage_state=Feedback.TriageState.NOT_AN_ERROR),
    }  # fmt: skip
    return items, v2


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "correction"}, ["correction"]),
        ({"predicted_label": "exchange_rate"}, ["rating"]),
        ({"corrected_label": "lost_or_stolen_card"}, ["correction"]),
        ({"source": "widget"}, ["rating"]),
        ({"triage_state": "not_an_error"}, ["rating"]),
        ({"q": "NEVER came"}, ["complaint"]),
        ({"since": "2025-03-09", "until": "2025-03-09"}, ["correction"]),
        ({"since": "2025-03-09"}, ["rating", "correction"]),
        ({"until": "2025-03-05"}, ["complaint"]),
        ({"q": "nothing like this"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, project, viewer, varied, params, expected):
    items, _ = varied

    response = inbox(client, project, **params)

    assert ids_in(response) == [items[name].id for name in expected]


def test_the_model_version_filter_uses_the_versions_of_the_project(client, project, viewer, varied):
    items, v2 = varied

    response = inbox(client, project, model_version=str(v2.id))

    assert ids_in(response) == [items["rating"].id]
    assert f'<option value="{v2.id}" selected>v2</option>' in response.content.decode()


def test_bad_filter_values_are_shown_and_ignored(client, project, viewer, varied):
    response = inbox(client, project, since="2025-03-09", until="2025-03-01", kind="praise")

    assert response.status_code == 200
    assert "Must be on or after the start date." in response.content.decode()
    assert len(ids_in(response)) == 2  # since applies; the bad until and kind do not


def test_changed_answers_are_hidden_unless_asked_for(client, project, viewer):
    current = complaint(project, "now")
    old = complaint(project, "before", at=T0 - timedelta(hours=1), superseded_at=T0)

    assert ids_in(inbox(client, project)) == [current.id]
    assert ids_in(inbox(client, project, include_superseded="on")) == [current.id, old.id]


def test_pages_follow_keysets_in_both_directions(client, project, viewer):
    items = [complaint(project, f"n{i}", at=T0 - timedelta(minutes=i // 2)) for i in range(120)]
    newest_first = sorted(items, key=lambda f: (f.created_at, f.id), reverse=True)

    first = inbox(client, project)
    second = inbox(client, project, older=first.context["page"].older.encode())
    third = inbox(client, project, older=second.context["page"].older.encode())
    back = inbox(client, project, newer=third.context["page"].newer.encode())

    assert ids_in(first) + ids_in(second) + ids_in(third) == [f.id for f in newest_first]
    assert third.context["page"].older is None
    assert ids_in(back) == ids_in(second)
    assert first.context["page"].count == 120 and not first.context["page"].count_capped
    assert "newer=" not in first.content.decode()


def test_a_broken_cursor_shows_the_first_page(client, project, viewer):
    item = complaint(project)

    for cursor in ("garbage", "!!", "MjAyNS0wMS0wMXwx", Cursor(T0, 1).encode() + "x" * 200):
        assert ids_in(inbox(client, project, older=cursor)) == [item.id]


def test_the_count_is_capped_instead_of_counting_everything(client, project, viewer, settings):
    import triage.selectors_inbox as selectors

    Feedback.objects.bulk_create(
        [
            Feedback(project=project, kind="complaint", text=f"t{i}", created_at=T0)
            for i in range(12)
        ]
    )
    original = selectors.COUNT_CAP
    selectors.COUNT_CAP = 10
    try:
        page = inbox(client, project).context["page"]
    finally:
        selectors.COUNT_CAP = original

    assert (page.count, page.count_capped) == (10, True)


def test_htmx_requests_get_only_the_results(client, project, viewer):
    complaint(project)

    response = client.get(
        f"/p/{project.slug}/inbox/", {"kind": "complaint"}, HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="inbox-results",
    )  # fmt: skip

    assert b"<html" not in response.content and b"<table" in response.content


def test_the_list_costs_the_same_queries_for_5_or_50_items(
    client, project, viewer, django_assert_max_num_queries
):
    category = ErrorCategoryFactory(project=project, title="c")

    def add(n):
        for _ in range(n):
            prediction = PredictionFactory(project=project)
            feedback = FeedbackFactory(prediction=prediction)
            ItemAssignment.objects.create(feedback=feedback, category=category)

    add(5)
    with django_assert_max_num_queries(10) as few:
        inbox(client, project)
    add(45)
    with django_assert_max_num_queries(10) as many:
        response = inbox(client, project)

    assert len(ids_in(response)) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


# --- detail ----------------------------------------------------------------------------------


def test_the_detail_page_shows_the_prediction_next_to_all_its_feedback(client, project, viewer):
    prediction = PredictionFactory(
        project=project,
        request_id="req-77",
        input_text="Where is my new card?",
        scores={"card_arrival": 0.61, "card_not_working": 0.3},
        confidence=0.61,
        customer_hash="h" * 64,
    )
    feedback_ingest(
        project=project,
        items=[
            {"kind": "rating", "request_id": "req-77", "rating": -1, "created_at": "2025-03-10T10:00:00Z"},
            {"kind": "complaint", "request_id": "req-77", "text": "Wrong!", "created_at": "2025-03-10T10:01:00Z"},
            {"kind": "complaint", "request_id": "req-77", "text": "wrong", "created_at": "2025-03-10T11:00:00Z"},
        ],
    )  # fmt: skip
    old = FeedbackFactory(prediction=prediction, corrected_label="exchange_rate",
                          created_at=T0 - timedelta(days=1), superseded_at=T0)  # fmt: skip
    rating = Feedback.objects.get(kind="rating")

    response = client.get(f"/p/{project.slug}/inbox/{rating.id}/", {"back": "kind=rating&q=x"})

    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("req-77", "Where is my new card?", "v1", "0.610", ident("card_not_working"),
                     "Wrong!", "Said 2 times by the same customer", ident("exchange_rate"),
                     "The customer changed this answer", "The answer was wrong"):  # fmt: skip
        assert expected in html, expected
    thread = response.context["detail"].thread
    assert [f.id for f in thread] == [old.id] + list(
        Feedback.objects.filter(superseded_at__isnull=True)
        .order_by("created_at")
        .values_list("id", flat=True)
    )
    assert FeedbackRepeat.objects.count() == 1
    assert f'href="/p/{project.slug}/inbox/?kind=rating&amp;q=x"' in html


def test_feedback_without_a_prediction_has_a_detail_page_too(client, project, viewer):
    item = complaint(project, "General complaint")

    response = client.get(f"/p/{project.slug}/inbox/{item.id}/")

    assert response.status_code == 200
    assert b"not linked to a logged prediction" in response.content


def test_the_back_link_never_leaves_the_inbox(client, project, viewer):
    item = complaint(project)

    response = client.get(f"/p/{project.slug}/inbox/{item.id}/", {"back": "javascript:alert(1)//"})

    assert 'href="/p/' + project.slug + "/inbox/?javascript" in response.content.decode()


def test_other_projects_feedback_and_non_members_get_404(client, project, viewer):
    theirs = complaint(ProjectFactory())

    assert client.get(f"/p/{project.slug}/inbox/{theirs.id}/").status_code == 404
    client.force_login(UserFactory())
    assert client.get(f"/p/{project.slug}/inbox/").status_code == 404
