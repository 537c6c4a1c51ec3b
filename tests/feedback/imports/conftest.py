import pytest

from tests.factories import PredictionFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def prediction(project):
    return PredictionFactory(project=project, request_id="r-1")
