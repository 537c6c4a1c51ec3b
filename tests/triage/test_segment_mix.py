"""A category's segment mix against the traffic (triage/segment_mix.py), and on its page."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    MembershipFactory,
    PredictionFactory,
)
from triage.models import ItemAssignment
from triage.segment_mix import segment_mix, segment_values
from triage.selectors_categories import category_segment_mix


def test_values_are_counted_as_text_and_nested_values_left_out():
    counts, rows = segment_values(
        [{"locale": "en-IN", "tier": 2, "beta": True, "device": {"os": "ios"}}, None, "x"]
    )

    assert rows == 3
    assert counts == Counter({("locale", "en-IN"): 1, ("tier", "2"): 1, ("beta", "true"): 1})


def test_an_over_represented_value_is_found_and_a_common_one_is_not():
    category = Counter({("locale", "en-IN"): 39, ("locale", "en-US"): 11, ("channel", "app"): 45})
    traffic = Counter({("locale", "en-IN"): 120, ("locale", "en-US"): 880, ("channel", "app"): 900})

    found = segment_mix(category, 50, traffic, 1000)

    assert [(f.key, f.value) for f in found] == [("locale", "en-IN")]
    assert found[0].category_share == pytest.approx(0.78)
    assert found[0].traffic_share == pytest.approx(0.12)
    assert found[0].text == "locale = en-IN"


def test_few_items_say_nothing():
    found = segment_mix(Counter({("locale", "ko"): 4}), 4, Counter({("locale", "ko"): 1}), 1000)

    assert found == []


@pytest.mark.django_db
def test_the_category_page_says_where_the_category_comes_from(client, project):
    now = timezone.now()
    traffic = [
        PredictionFactory(
            project=project,
            served_at=now - timedelta(minutes=i),
            metadata={"locale": "en-IN" if i % 10 == 0 else "en-US"},
        )
        for i in range(100)
    ]
    category = ErrorCategoryFactory(project=project)
    for prediction in traffic[::10][:8] + traffic[1:3]:
        ItemAssignment.objects.create(
            feedback=FeedbackFactory(prediction=prediction), category=category
        )

    assert [f.text for f in category_segment_mix(category=category)] == ["locale = en-IN"]
    client.force_login(MembershipFactory(project=project).user)
    page = client.get(f"/p/{project.slug}/categories/{category.id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "80% of this category" in text
    assert "locale = en-IN" in text
