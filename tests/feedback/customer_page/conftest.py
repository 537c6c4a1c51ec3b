"""The customer page's tests: a prediction behind a link, and room under the rate limits."""

import pytest

from tests.factories import PredictionFactory
from tests.feedback.customer_page.helpers import LABEL_NAMES


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    # Every test client shares 127.0.0.1; the rate-limit tests set their own limits.
    settings.VOC_FEEDBACK_RATE_PER_ADDRESS = (100_000, 600)
    settings.VOC_FEEDBACK_RATE_PER_TOKEN = (100_000, 3600)


@pytest.fixture
def prediction(project):
    project.label_names = LABEL_NAMES
    project.save()
    return PredictionFactory(
        project=project,
        input_text="My card got declined at the shop",
        predicted_label="card_arrival",
        customer_hash="c" * 64,
    )
