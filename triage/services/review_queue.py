"""The review queue's refresh: load what the ranking needs (each live category's confirmed
errors, the recent predictions nobody reported), rank them (`review_queue/ranking.py`, pure)
and store each category's best candidates, replacing the project's previous queue.

Bounded: the CANDIDATES_MAX most recent unreported predictions, ERRORS_PER_CATEGORY errors a
category (its most typical), QUEUE_PER_CATEGORY entries a category; the representation is the
light one (LSA) fitted on the errors and a sample of the candidates.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.publish import publish
from feedback.models import Prediction, Project

from ..clustering.representations import LsaRepresentation
from ..models import ErrorCategory, ItemAssignment, ReviewQueueEntry
from ..review_queue.ranking import Candidates, CategoryEvidence, rank

CANDIDATES_MAX = 200_000
FIT_SAMPLE = 20_000
ERRORS_PER_CATEGORY = 200
QUEUE_PER_CATEGORY = 300
REFRESH_TASK = "triage.review_queue_refresh"
# Categories whose problem is settled are not looked for any more.
CLOSED_STATES = (ErrorCategory.State.FIXED, ErrorCategory.State.WONT_FIX)


@dataclass
class RefreshResult:
    categories: int = 0
    candidates: int = 0
    entries: int = 0


def _margin(scores: dict | None) -> float:
    """Top score minus the second (the top alone when there is one); NaN when unknown."""
    values = sorted(
        (v for v in (scores or {}).values() if isinstance(v, int | float) and math.isfinite(v)),
        reverse=True,
    )
    if not values:
        return math.nan
    return values[0] - (values[1] if len(values) > 1 else 0.0)


def _live_categories(project: Project) -> list[ErrorCategory]:
    return list(
        ErrorCategory.objects.filter(
            project=project, merged_into__isnull=True, is_unsorted=False
        ).exclude(state__in=CLOSED_STATES)
    )


def _errors(categories: list[ErrorCategory]) -> dict[int, list[str]]:
    """Each category's confirmed errors: the inputs of the predictions its items are about,
    most typical first."""
    texts: dict[int, list[str]] = defaultdict(list)
    rows = (
        ItemAssignment.objects.filter(category__in=categories, feedback__prediction__isnull=False)
        .order_by("category_id", "-similarity", "feedback_id")
        .values_list("category_id", "feedback__prediction__input_text")
    )
    for category_id, text in rows.iterator(chunk_size=5000):
        if len(texts[category_id]) < ERRORS_PER_CATEGORY and text:
            texts[category_id].append(text)
    return texts


def review_queue_refresh(*, project: Project, seed: int = 0) -> RefreshResult:
    """Rank the project's unreported predictions for each live category and replace its
    queue. Idempotent: the same data gives the same queue."""
    result = RefreshResult()
    categories = [c for c in _live_categories(project)]
    errors = _errors(categories)
    categories = [c for c in categories if errors.get(c.id)]
    rows = list(
        Prediction.objects.filter(project=project, feedback__isnull=True)
        # What a reviewer labelled or skipped is not asked again.
        .filter(reviewer_labels__isnull=True)
        .order_by("-served_at", "-id")
        .values_list("id", "input_text", "predicted_label", "confidence", "scores")[:CANDIDATES_MAX]
    )
    result.categories, result.candidates = len(categories), len(rows)
    entries: list[ReviewQueueEntry] = []
    if categories and rows:
        rng = np.random.default_rng(seed)
        texts = [row[1] for row in rows]
        sample = rng.choice(len(texts), size=min(FIT_SAMPLE, len(texts)), replace=False)
        error_texts = [text for c in categories for text in errors[c.id]]
        representation = LsaRepresentation(seed=seed).fit(
            error_texts + [texts[i] for i in sorted(sample.tolist())]
        )
        candidates = Candidates(
            vectors=representation.transform(texts),
            predicted=[row[2] for row in rows],
            confidence=np.asarray(
                [math.nan if row[3] is None else row[3] for row in rows], dtype=float
            ),
            margin=np.asarray([_margin(row[4]) for row in rows], dtype=float),
        )
        evidence = [
            CategoryEvidence(
                category_id=c.id,
                vectors=representation.transform(errors[c.id]),
                start_labels=Counter(
                    {
                        pair["predicted"]: pair.get("count", 1)
                        for pair in (c.top_confusions or [])
                        if pair.get("predicted")
                    }
                ),
            )
            for c in categories
        ]
        now = timezone.now()
        for ranked in rank(candidates, evidence, top=QUEUE_PER_CATEGORY):
            entries.extend(
                ReviewQueueEntry(
                    project=project,
                    category_id=ranked.category_id,
                    prediction_id=rows[row][0],
                    score=float(score),
                    similarity=float(similar),
                    uncertainty=float(unsure),
                    label_affinity=float(label),
                    computed_at=now,
                )
                for row, score, similar, unsure, label in zip(
                    ranked.rows.tolist(),
                    ranked.scores,
                    ranked.similarity,
                    ranked.uncertainty,
                    ranked.label,
                    strict=True,
                )
            )
    with transaction.atomic():
        # One writer at a time per project (a run's refresh and the hourly one may overlap).
        Project.objects.select_for_update(no_key=True).filter(id=project.id).first()
        ReviewQueueEntry.objects.filter(project=project).delete()
        ReviewQueueEntry.objects.bulk_create(entries, batch_size=2000)
    result.entries = len(entries)
    return result


def review_queue_refresh_project(*, project_id: int) -> RefreshResult | None:
    project = Project.objects.filter(id=project_id).first()
    return review_queue_refresh(project=project) if project is not None else None


def review_queue_refresh_all() -> int:
    """Ask for a refresh of every project with live categories; returns how many."""
    project_ids = (
        ErrorCategory.objects.filter(merged_into__isnull=True, is_unsorted=False)
        .exclude(state__in=CLOSED_STATES)
        .values_list("project_id", flat=True)
        .distinct()
    )
    count = 0
    for project_id in project_ids:
        count += publish(REFRESH_TASK, project_id)
    return count
