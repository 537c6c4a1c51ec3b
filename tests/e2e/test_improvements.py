"""Improvement points in the browser: a project-wide one, and a form that says what its empty
choices mean."""

import pytest

from feedback.models import Membership
from tests.e2e.conftest import log_in
from tests.factories import ErrorCategoryFactory, UserFactory
from triage.models import ImprovementPoint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_project_wide_point_is_created_from_a_form_without_placeholders(page, project):
    ErrorCategoryFactory(project=project)
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="reviewer")
    log_in(page, user)
    page.goto(f"/p/{project.slug}/improvements/new")

    options = page.locator("form select option").all_inner_texts()
    kinds = page.locator("#id_kind option").all_inner_texts()
    page.fill("#id_title", "Relabel the whole training set with the new guideline")
    page.select_option("#id_kind", "labeling_guideline")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/improvements/*/")

    point = ImprovementPoint.objects.get()
    assert "---------" not in options
    assert kinds == ["Choose a kind", "Model", "Training data", "Evaluation data",
                     "Labeling guideline", "Product"]  # fmt: skip
    assert (point.kind, list(point.categories.all())) == ("labeling_guideline", [])
    assert "Project-wide: no category." in page.inner_text("main")
    assert page.errors == []
