"""Loads the Banking77 replay into a project through the same services as the API."""

from datetime import datetime
from pathlib import Path

from .ingest import feedback_ingest, prediction_ingest
from .models import ModelVersion, Project
from .replay import build_replay

BATCH = 2_000


def demo_load(
    *,
    data_dir: Path | None = None,
    slug: str = "banking77",
    seed: int = 0,
    repeat: int = 1,
    end: datetime | None = None,
    language: str = "en",
) -> dict:
    """Create (or reuse) the demo project and ingest the replay; idempotent. Returns counts.
    `language` "ko" loads the Korean replay (Korean queries, complaints and label names)."""
    replay = build_replay(data_dir, seed=seed, end=end, repeat=repeat, language=language)
    project, _ = Project.objects.get_or_create(
        slug=slug,
        defaults={
            "name": "Banking77 상담 도우미" if language == "ko" else "Banking77 assistant",
            "labels": replay.labels,
            "label_names": replay.label_names,
            "label_translations": replay.label_translations,
        },
    )
    for version in replay.versions:
        ModelVersion.objects.update_or_create(
            project=project,
            version=version["version"],
            defaults={
                "released_at": version["released_at"],
                "offline_metrics": version["offline_metrics"],
                "notes": version["notes"],
            },
        )
    new_predictions = new_feedback = 0
    for start in range(0, len(replay.predictions), BATCH):
        result = prediction_ingest(project=project, items=replay.predictions[start : start + BATCH])
        new_predictions += result.accepted
    for start in range(0, len(replay.feedback), BATCH):
        result = feedback_ingest(project=project, items=replay.feedback[start : start + BATCH])
        new_feedback += result.accepted
    return {
        "project": project.slug,
        "predictions": len(replay.predictions),
        "new_predictions": new_predictions,
        "feedback": len(replay.feedback),
        "new_feedback": new_feedback,
    }
