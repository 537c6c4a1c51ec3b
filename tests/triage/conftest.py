from datetime import UTC, datetime
from functools import lru_cache

import pytest

from feedback.demo import demo_load
from feedback.replay import build_replay

# Relative to today, so the replay falls inside a run's default window (the last 90 days).
REPLAY_END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@lru_cache(maxsize=2)
def cached_replay(seed: int = 0):
    return build_replay(seed=seed, end=REPLAY_END)


@pytest.fixture(scope="session")
def replay():
    return cached_replay(0)


@pytest.fixture
def replay_project(db, replay, monkeypatch):
    """The Banking77 replay ingested into a project through the ingest services."""
    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: replay)
    demo_load(slug="banking77", end=REPLAY_END)
    from feedback.models import Project

    return Project.objects.get(slug="banking77")
