"""Long multi-selects get a filter box (a progressive enhancement of the native control)."""

import pytest

from feedback.models import Membership
from tests.e2e.conftest import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LABELS = [f"card_{thing}" for thing in ("arrival", "linking", "payment", "swallowed")] + [
    f"transfer_{n}" for n in range(12)
]


def visible(page, select) -> list[str]:
    return page.evaluate(
        "(select) => [...select.options].filter((o) => !o.hidden).map((o) => o.value)", select
    )


def test_typing_in_the_filter_box_narrows_a_long_multi_select(page, project):
    project.labels = LABELS
    project.save()
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="reviewer")
    log_in(page, user)
    page.goto(f"/p/{project.slug}/exports/")
    select = page.locator("select[name=labels]").element_handle()
    box = page.locator("input.select-filter[aria-controls=id_labels]")

    box.fill("card pay")
    narrowed = visible(page, select)
    page.select_option("select[name=labels]", "card_payment")
    box.fill("transfer 1")
    kept = visible(page, select)
    box.fill("")

    assert narrowed == ["card_payment"]
    assert "card_payment" in kept and "card_arrival" not in kept and "transfer_11" in kept
    assert len(visible(page, select)) == len(LABELS)
    assert page.locator(".select-chosen").first.inner_text() == f"1 / {len(LABELS)}"
    assert page.errors == []
