"""Verification by the next model version: rates before/after and automatic regressions."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import AuditEvent
from feedback.models import Feedback, Prediction
from tests.factories import ErrorCategoryFactory, ModelVersionFactory, ProjectFactory, UserFactory
from triage.models import (
    CategoryVersionStat,
    ItemAssignment,
    ReviewSettings,
)
from triage.services.improvements import improvement_create, improvement_update
from triage.services.verification import category_rates_refresh, regressions_detect

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    project = ProjectFactory(labels=["card_arrival", "exchange_rate"])
    now = timezone.now()
    v1 = ModelVersionFactory(project=project, version="v1", released_at=now - timedelta(days=30))
    v2 = ModelVersionFactory(project=project, version="v2", released_at=now - timedelta(days=10))
    category = ErrorCategoryFactory(
        project=project, title="Card arrival misread",
        labels={"predicted": {"card_arrival": 5}, "corrected": {"exchange_rate": 5}},
    )  # fmt: skip
    return project, v1, v2, category


def traffic(project, version, *, predictions, complaints, category, label="card_arrival"):
    """`predictions` predictions of `label` under `version`, `complaints` of them complained
    about and placed in `category`."""
    rows = Prediction.objects.bulk_create(
        Prediction(
            project=project, model_version=version, request_id=f"{version.version}-{label}-{i}",
            input_text="where is my card", predicted_label=label, served_at=timezone.now(),
        )
        for i in range(predictions)
    )  # fmt: skip
    for prediction in rows[:complaints]:
        feedback = Feedback.objects.create(
            project=project, prediction=prediction, kind="complaint", text="still no card"
        )
        ItemAssignment.objects.create(feedback=feedback, category=category)


def fix(project, category, version):
    reviewer = UserFactory()
    point = improvement_create(
        project=project, categories=[category], actor=reviewer, title="Relabel",
        kind="training_data",
    )  # fmt: skip
    improvement_update(point=point, actor=reviewer, state="done", done_in_version=version)
    category.refresh_from_db()
    return point


def test_the_rate_is_feedback_per_thousand_predictions_of_the_labels_involved(world):
    project, v1, v2, category = world
    traffic(project, v1, predictions=400, complaints=20, category=category)
    traffic(project, v1, predictions=300, complaints=0, category=category, label="exchange_rate")

    category_rates_refresh(project=project)

    stat = CategoryVersionStat.objects.get(category=category, model_version=v1)
    assert (stat.items, stat.predictions, stat.rate) == (20, 400, pytest.approx(50.0))
    category.refresh_from_db()
    assert category.impact == pytest.approx(1000 * 20 / 700)


def test_done_with_a_version_marks_the_categories_fixed_in_it(world):
    project, v1, v2, category = world

    point = fix(project, category, v2)

    assert (category.state, category.fixed_in_version) == ("fixed", v2)
    assert point.owner_team == "data", "training data is the data team's"


def test_a_fixed_category_coming_back_turns_regressed_by_itself(world):
    project, v1, v2, category = world
    traffic(project, v1, predictions=400, complaints=20, category=category)  # 50 per 1,000
    fix(project, category, v2)
    traffic(project, v2, predictions=300, complaints=9, category=category)  # 30 per 1,000

    category_rates_refresh(project=project)
    regressed = regressions_detect(project=project)

    category.refresh_from_db()
    assert regressed == [category.id] and category.state == "regressed"
    assert "v2" in category.regression_note and "50.0" in category.regression_note
    assert AuditEvent.objects.filter(action="regressed", actor__isnull=True).exists()


def test_a_fix_that_holds_stays_fixed(world):
    project, v1, v2, category = world
    traffic(project, v1, predictions=400, complaints=20, category=category)
    fix(project, category, v2)
    traffic(project, v2, predictions=300, complaints=2, category=category)  # 6.7 per 1,000

    category_rates_refresh(project=project)

    assert regressions_detect(project=project) == []
    category.refresh_from_db()
    assert category.state == "fixed"


def test_too_little_new_traffic_is_not_judged_yet(world):
    project, v1, v2, category = world
    ReviewSettings.objects.create(project=project, regression_min_predictions=500)
    traffic(project, v1, predictions=400, complaints=20, category=category)
    fix(project, category, v2)
    traffic(project, v2, predictions=300, complaints=30, category=category)

    category_rates_refresh(project=project)

    assert regressions_detect(project=project) == []


def test_a_model_fix_cannot_be_done_without_the_version_that_shipped_it(world):
    project, v1, v2, category = world
    reviewer = UserFactory()
    point = improvement_create(
        project=project, categories=[category], actor=reviewer, title="Retrain", kind="model"
    )

    with pytest.raises(ValidationError) as raised:
        improvement_update(point=point, actor=reviewer, state="done")

    assert "done_in_version" in raised.value.message_dict


def test_a_product_fix_is_done_without_a_version(world):
    project, v1, v2, category = world
    reviewer = UserFactory()
    point = improvement_create(
        project=project, categories=[category], actor=reviewer, title="Better copy", kind="product"
    )

    improvement_update(point=point, actor=reviewer, state="done")

    category.refresh_from_db()
    assert category.state == "fixed" and category.fixed_in_version is None


def test_versions_of_another_project_are_refused(world):
    project, v1, v2, category = world
    foreign = ModelVersionFactory(project=ProjectFactory(), version="v9")
    reviewer = UserFactory()
    point = improvement_create(
        project=project, categories=[category], actor=reviewer, title="x", kind="model"
    )

    with pytest.raises(ValidationError):
        improvement_update(point=point, actor=reviewer, state="done", done_in_version=foreign)
