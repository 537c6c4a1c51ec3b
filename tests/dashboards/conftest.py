import random
from datetime import UTC, datetime, timedelta

import pytest

from feedback.models import Feedback, ModelVersion, Prediction, Project
from tests.factories import LABELS, ProjectFactory

# Traffic of the fixtures is served in these three hours (and feedback arrives later).
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def make_traffic(
    project: Project, *, n: int = 400, seed: int = 0, start: datetime = T0, hours: int = 3
) -> None:
    """Predictions of two versions over `hours` hours with confidences, latencies and some
    NULLs; feedback of every kind about a third of them, some superseded; unlinked
    complaints. Deterministic for a seed."""
    rng = random.Random(seed)
    versions = [
        ModelVersion.objects.get_or_create(project=project, version=name)[0]
        for name in ("v1", "v2")
    ]
    predictions = []
    for i in range(n):
        served_at = start + timedelta(seconds=rng.randrange(hours * 3600))
        if i % 50 == 0:  # bursts: several predictions in the same second
            served_at = start + timedelta(seconds=17)
        predictions.append(
            Prediction(
                project=project,
                model_version=versions[i % 2],
                request_id=f"{project.slug}-{seed}-{i}",
                input_text="text",
                predicted_label=rng.choice(LABELS[:3]) if i % 2 else rng.choice(LABELS),
                confidence=None if i % 17 == 0 else round(rng.random(), 3),
                latency_ms=None if i % 13 == 0 else rng.choice([0.0, 2.5, 40.0, 120.0, 900.0]),
                served_at=served_at,
            )
        )
    Prediction.objects.bulk_create(predictions)
    feedback = []
    for p in rng.sample(predictions, n // 3):
        kind = rng.choice(["correction", "correction", "complaint", "rating"])
        common = {
            "project": project,
            "prediction": p,
            "predicted_label": p.predicted_label,
            "model_version": p.model_version,
            "created_at": p.served_at + timedelta(minutes=rng.randrange(1, 3000)),
        }
        if kind == "correction":
            label = rng.choice([x for x in LABELS if x != p.predicted_label])
            feedback.append(Feedback(kind=kind, corrected_label=label, **common))
            if rng.random() < 0.2:  # the customer changed their mind: superseded history
                feedback.append(
                    Feedback(
                        kind=kind,
                        corrected_label=label,
                        superseded_at=common["created_at"],
                        **common,
                    )
                )
        elif kind == "complaint":
            feedback.append(Feedback(kind=kind, text="it is wrong", **common))
        else:
            feedback.append(Feedback(kind=kind, rating=rng.choice([-1, 1]), **common))
    for i in range(5):
        feedback.append(
            Feedback(
                project=project,
                kind="complaint",
                text="nothing works",
                created_at=start + timedelta(minutes=40 * i),
            )
        )
    Feedback.objects.bulk_create(feedback)


@pytest.fixture
def traffic_project(db):
    project = ProjectFactory()
    make_traffic(project)
    return project
