"""Reviewers judge customers' corrections: the likely-wrong flag computed in the background
and stored, shown with the model's scores and verdicts on category items and in the inbox;
accept / reject / relabel from there, stored as the reviewer's ReviewerLabel."""

import pytest
from django.core.exceptions import ValidationError

from core.models import AuditEvent
from feedback.models import Feedback
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    PredictionFactory,
    ProjectFactory,
)
from tests.helpers import login, member
from triage.models import CorrectionFlag, ItemAssignment, ReviewerLabel
from triage.services.correction_flags import correction_flags_refresh
from triage.services.correction_reviews import (
    LABEL_REQUIRED,
    NOT_A_CORRECTION,
    correction_verdict_set,
)

pytestmark = pytest.mark.django_db

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
LABELS = ["card_arrival", "card_not_working", "lost_or_stolen_card"]


@pytest.fixture
def world(db):
    """As tests/triage/test_export_checks.py: the model answers "where is my card" queries
    with card_arrival, confidently and rightly. One careless customer corrects such an answer
    to card_not_working; four customers rightly correct "my card does not work" queries the
    model got wrong. The items are in one category."""
    project = ProjectFactory(labels=LABELS)
    category = ErrorCategoryFactory(project=project, title="Card questions")
    sure = {"card_arrival": 0.9, "card_not_working": 0.05, "lost_or_stolen_card": 0.03}
    for n in range(12):
        PredictionFactory(project=project, input_text=f"where is my card {n}", confidence=0.9,
                          scores=sure)  # fmt: skip
    for n in range(3):
        PredictionFactory(project=project, input_text=f"card broken {n}", confidence=0.8,
                          predicted_label="card_not_working",
                          scores={"card_not_working": 0.8})  # fmt: skip
    careless = PredictionFactory(
        project=project, input_text="where is my card now", confidence=0.9, scores=sure
    )
    items = [FeedbackFactory(prediction=careless, corrected_label="card_not_working", text=PAYLOAD)]
    unsure = {"card_arrival": 0.35, "card_not_working": 0.3}
    for n in range(4):
        prediction = PredictionFactory(project=project, input_text=f"my card does not work {n}",
                                       confidence=0.35, scores=unsure)  # fmt: skip
        items.append(FeedbackFactory(prediction=prediction, corrected_label="card_not_working"))
    for item in items:
        ItemAssignment.objects.create(feedback=item, category=category)
    return project, category, items


# --- the background check ----------------------------------------------------------------------


def test_the_background_check_flags_the_careless_correction_with_its_evidence(world):
    project, _, items = world

    result = correction_flags_refresh(project=project)

    assert (result.checked, result.flagged) == (5, 1)
    flag = CorrectionFlag.objects.get()
    assert flag.prediction_id == items[0].prediction_id
    assert flag.corrected_label == "card_not_working"
    assert (flag.p_predicted, flag.p_corrected) == pytest.approx((0.9, 0.05))
    # card_arrival's answers average 0.9 * 13/17 + 0.35 * 4/17; card_not_working's 0.8.
    assert flag.t_predicted == pytest.approx((0.9 * 13 + 0.35 * 4) / 17)
    assert flag.t_corrected == pytest.approx(0.8)


def test_a_refresh_replaces_the_project_flags_and_is_idempotent(world):
    project, _, items = world
    other = ProjectFactory()
    correction_flags_refresh(project=project)
    first = set(CorrectionFlag.objects.values_list("prediction_id", "corrected_label"))

    assert correction_flags_refresh(project=project).removed == 0
    assert set(CorrectionFlag.objects.values_list("prediction_id", "corrected_label")) == first
    assert CorrectionFlag.objects.count() == 1
    assert correction_flags_refresh(project=other).checked == 0  # none of the other's touched
    assert CorrectionFlag.objects.count() == 1

    # Marked "not a model error": no longer a correction an export takes, so no flag either.
    Feedback.objects.filter(id=items[0].id).update(triage_state="not_an_error")
    assert correction_flags_refresh(project=project).removed == 1
    assert not CorrectionFlag.objects.exists()


def test_the_flags_are_refreshed_on_the_heavy_queue_after_each_successful_run(
    world, settings, monkeypatch
):
    from triage import tasks
    from triage.services import clustering

    project, _, _ = world
    published = []
    monkeypatch.setattr(clustering, "_compute", lambda run: (None, {}))
    monkeypatch.setattr(clustering, "clustering_results_write", lambda *args: None)
    monkeypatch.setattr(clustering, "publish", lambda name, *args: published.append(name))
    run, _ = clustering.clustering_run_request(project=project)

    assert clustering.clustering_run_execute(run_id=run.id, task_id="t") == "succeeded"
    assert "triage.correction_flags_refresh" in published
    assert settings.CELERY_TASK_ROUTES["triage.correction_flags_refresh"] == {"queue": "heavy"}
    tasks.correction_flags_refresh(project.id)
    tasks.correction_flags_refresh(10**9)  # a project deleted meanwhile: nothing to do
    assert CorrectionFlag.objects.filter(project=project).count() == 1


# --- verdicts (service) ---------------------------------------------------------------------------


def test_accept_reject_and_relabel_store_the_reviewers_label_and_a_change_of_mind_replaces_it(
    world,
):
    project, category, items = world
    mina = member(project, "reviewer", username="mina")
    item = items[0]

    accepted = correction_verdict_set(
        project=project, feedback_id=item.id, verdict="accept", actor=mina
    )
    assert (accepted.reviewer, accepted.label, accepted.category_id) == (
        "mina", "card_not_working", category.id,
    )  # fmt: skip
    correction_verdict_set(project=project, feedback_id=item.id, verdict="reject", actor=mina)
    assert ReviewerLabel.objects.get().label == "card_arrival"  # the model's answer
    correction_verdict_set(
        project=project, feedback_id=item.id, verdict="relabel", label="lost_or_stolen_card",
        actor=mina,
    )  # fmt: skip

    verdict = ReviewerLabel.objects.get()  # one per reviewer and prediction
    assert (verdict.label, verdict.prediction_id) == ("lost_or_stolen_card", item.prediction_id)
    assert verdict.created_at >= accepted.created_at
    events = AuditEvent.objects.filter(action="judge_correction").order_by("id")
    assert [(e.data["verdict"], e.data["previous"]) for e in events] == [
        ("accept", None), ("reject", "card_not_working"), ("relabel", "card_arrival"),
    ]  # fmt: skip
    assert {e.target_type for e in events} == {"feedback"}
    # Another reviewer's verdict stands beside it.
    joon = member(project, "reviewer", username="joon")
    correction_verdict_set(project=project, feedback_id=item.id, verdict="accept", actor=joon)
    assert ReviewerLabel.objects.count() == 2


@pytest.mark.parametrize(
    ("verdict", "label", "message"),
    [
        ("relabel", "", LABEL_REQUIRED),
        ("relabel", "no_such_label", "'no_such_label' is not in the project's label set."),
        ("relabel", "x" * 201, "At most 200 characters."),
        ("approve", "", "Choose accept, reject or relabel."),
    ],
)
def test_a_bad_verdict_is_refused_with_a_message(world, verdict, label, message):
    project, _, items = world
    mina = member(project, "reviewer")

    with pytest.raises(ValidationError) as refused:
        correction_verdict_set(
            project=project, feedback_id=items[0].id, verdict=verdict, label=label, actor=mina
        )

    assert refused.value.messages == [str(message)]
    assert not ReviewerLabel.objects.exists()


def test_only_a_correction_of_the_project_can_be_judged(world):
    project, _, _ = world
    mina = member(project, "reviewer")
    complaint = FeedbackFactory(
        prediction=PredictionFactory(project=project),
        kind="complaint",
        corrected_label="",
        text="no",
    )
    elsewhere = FeedbackFactory()

    for feedback in (complaint, elsewhere):
        with pytest.raises(ValidationError) as refused:
            correction_verdict_set(
                project=project, feedback_id=feedback.id, verdict="accept", actor=mina
            )
        assert refused.value.messages == [str(NOT_A_CORRECTION)]


# --- pages -----------------------------------------------------------------------------------------


def verdict_url(project) -> str:
    return f"/p/{project.slug}/inbox/verdict"


def test_a_reviewer_judges_from_the_category_page_and_goes_back_to_the_item(client, world):
    project, category, items = world
    login(client, project, "reviewer", username="mina")
    page = f"/p/{project.slug}/categories/{category.id}/?page=1"

    response = client.post(
        verdict_url(project),
        {"judge": f"{items[1].id}:relabel", f"label-{items[1].id}": "lost_or_stolen_card",
         f"label-{items[2].id}": "card_arrival", "next": page},
    )  # fmt: skip

    assert response.status_code == 302 and response["Location"] == f"{page}#item-{items[1].id}"
    assert ReviewerLabel.objects.get().label == "lost_or_stolen_card"
    shown = client.get(page).content.decode()
    assert "mina relabelled" in shown and "Relabelled: lost_or_stolen_card." in shown


@pytest.mark.parametrize(
    "data",
    [
        {"judge": "1:approve"},
        {"judge": "abc"},
        {"judge": "99999999999999999999999999:accept"},
        {},
        {"judge": "{item}:relabel", "label-{item}": "no_such_label"},
        {"judge": "{item}:relabel", "label-{item}": "a\x00b"},
    ],
)
def test_a_bad_verdict_from_a_page_is_a_message_never_a_500(client, world, data):
    project, _, items = world
    login(client, project, "reviewer")
    data = {
        k.format(item=items[0].id): v.format(item=items[0].id) if isinstance(v, str) else v
        for k, v in data.items()
    }

    response = client.post(verdict_url(project), data, follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert not ReviewerLabel.objects.exists()


def test_a_viewer_cannot_judge_nor_see_the_buttons(client, world):
    project, category, items = world
    login(client, project, "viewer")

    response = client.post(verdict_url(project), {"judge": f"{items[0].id}:accept"})

    assert response.status_code == 403
    assert not ReviewerLabel.objects.exists()
    for url in (f"/p/{project.slug}/categories/{category.id}/", f"/p/{project.slug}/inbox/"):
        page = client.get(url).content.decode()
        assert "item-verdicts" not in page and "data-verdict" not in page


def test_back_goes_only_to_a_page_of_this_site(client, world):
    project, _, items = world
    login(client, project, "reviewer")

    for target in ("https://evil.example/x", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            verdict_url(project), {"judge": f"{items[0].id}:accept", "next": target}
        )
        assert response["Location"] == f"/p/{project.slug}/inbox/#item-{items[0].id}"


@pytest.mark.parametrize("where", ["category", "inbox"])
def test_items_show_the_flag_the_models_scores_and_verdicts_escaped(client, world, where):
    project, category, items = world
    correction_flags_refresh(project=project)
    joon = member(project, "reviewer", username="joon")
    correction_verdict_set(project=project, feedback_id=items[0].id, verdict="reject", actor=joon)
    login(client, project, "reviewer", username="mina")
    url = (
        f"/p/{project.slug}/categories/{category.id}/"
        if where == "category"
        else f"/p/{project.slug}/inbox/"
    )

    page = client.get(url).content.decode()

    assert page.count("likely wrong</span>") == 1
    assert "The model was 90.0% sure of" in page
    assert "joon rejected: the model was right" in page
    assert "90.0% sure" in page and "35.0% sure" in page
    assert page.count('data-verdict="accept"') == 5
    assert "verdict-keys" in page and "verdicts.js" in page
    assert PAYLOAD not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


@pytest.mark.parametrize("where", ["category", "inbox"])
def test_the_pages_cost_the_same_queries_for_5_or_50_judged_items(
    client, world, where, django_assert_max_num_queries
):
    project, category, items = world
    login(client, project, "reviewer", username="mina")
    url = (
        f"/p/{project.slug}/categories/{category.id}/"
        if where == "category"
        else f"/p/{project.slug}/inbox/"
    )
    joon = member(project, "reviewer", username="joon")

    def judged(n):
        for _ in range(n):
            item = FeedbackFactory(prediction=PredictionFactory(project=project))
            ItemAssignment.objects.create(feedback=item, category=category)
            correction_verdict_set(
                project=project, feedback_id=item.id, verdict="accept", actor=joon
            )
        correction_flags_refresh(project=project)

    judged(0)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    judged(45)
    with django_assert_max_num_queries(40) as many:
        page = client.get(url).content.decode()

    assert page.count("joon accepted") >= 45
    assert len(many.captured_queries) == len(few.captured_queries)
