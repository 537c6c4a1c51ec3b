"""The review queue's refresh: load what the ranking needs (each live category's confirmed
errors, the recent predictions nobody reported), rank them (`review_queue/ranking.py`, pure)
and store each category's best candidates, replacing the project's previous queue.

Bounded: the CANDIDATES_MAX most recent unreported predictions, ERRORS_PER_CATEGORY errors a
category (its most typical), QUEUE_PER_CATEGORY entries a category. The representation is the
light one (LSA) fitted on the errors and a sample of the candidates, or, for a project that uses
sentence embeddings, the embeddings of the inputs stored by the background pass
(`input_vectors.py`).
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from core.publish import publish
from feedback.models import Feedback, Prediction, Project

from ..clustering.representations import LsaRepresentation
from ..models import ErrorCategory, ItemAssignment, ReviewQueueEntry
from ..review_queue.ranking import Candidates, CategoryEvidence, neighbour_labels, rank
from .input_vectors import FILL_TASK, input_vectors_lookup, queue_representation
from .true_size import true_size_update

CANDIDATES_MAX = 200_000
FIT_SAMPLE = 20_000
ERRORS_PER_CATEGORY = 200
QUEUE_PER_CATEGORY = 300
# With sentence embeddings, the share of candidates that must have a stored vector for the
# refresh to rank on them (below it, LSA ranks them all).
MIN_EMBEDDED = 0.5
REFRESH_TASK = "triage.review_queue_refresh"
# Categories whose problem is settled are not looked for any more.
CLOSED_STATES = (ErrorCategory.State.FIXED, ErrorCategory.State.WONT_FIX)


@dataclass
class RefreshResult:
    categories: int = 0
    candidates: int = 0
    entries: int = 0
    representation: str = "lsa"
    # Candidates left out for want of a stored sentence embedding.
    without_vector: int = 0


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


@dataclass
class Errors:
    """A category's confirmed errors: the inputs of the predictions its items are about and
    what they were corrected to ("" when no customer said)."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _errors(categories: list[ErrorCategory]) -> dict[int, Errors]:
    """Each category's confirmed errors, most typical first. A complaint about a prediction
    that a customer also corrected carries that correction; a replaced correction carries the
    one that replaced it."""
    found: dict[int, Errors] = defaultdict(Errors)
    unlabelled: list[tuple[int, int, int]] = []  # (category, position, prediction)
    rows = (
        ItemAssignment.objects.filter(category__in=categories, feedback__prediction__isnull=False)
        .order_by("category_id", "-similarity", "feedback_id")
        .values_list(
            "category_id",
            "feedback__prediction_id",
            "feedback__prediction__input_text",
            "feedback__corrected_label",
            "feedback__superseded_at",
        )
    )
    for category_id, prediction_id, text, label, superseded_at in rows.iterator(chunk_size=5000):
        errors = found[category_id]
        if len(errors.texts) < ERRORS_PER_CATEGORY and text:
            label = label if superseded_at is None else ""
            if not label:
                unlabelled.append((category_id, len(errors.texts), prediction_id))
            errors.texts.append(text)
            errors.labels.append(label)
    latest: dict[int, str] = {}
    prediction_ids = sorted({prediction_id for _, _, prediction_id in unlabelled})
    for start in range(0, len(prediction_ids), 5000):
        latest.update(
            Feedback.objects.filter(
                prediction_id__in=prediction_ids[start : start + 5000],
                kind=Feedback.Kind.CORRECTION,
                superseded_at__isnull=True,
            )
            .exclude(corrected_label="")
            .order_by("prediction_id", "created_at", "id")
            .values_list("prediction_id", "corrected_label")
        )  # the latest of each prediction comes last and wins
    for category_id, position, prediction_id in unlabelled:
        found[category_id].labels[position] = latest.get(prediction_id, "")
    return found


def _vectors(
    project: Project, texts: list[str], error_texts: list[str], *, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Vectors of the candidates and of the errors in one space, a mask of the candidates
    that have one, and the space's name.

    With sentence embeddings, candidates are ranked on the vectors the background pass stored
    (`input_vectors.py`); one without a vector is left out rather than given an LSA vector,
    whose cosines are on another scale and would not compare with the others'. What is left
    out is then the pass's uniform sample of what it had no time for. The errors, a few
    hundred a category, are embedded here when they have no vector. While fewer than
    MIN_EMBEDDED of the candidates have one (embeddings just turned on, a long outage),
    LSA ranks them all instead."""
    if queue_representation(project) == "embeddings":
        vectors, have = input_vectors_lookup(project=project, texts=texts)
        if have.mean() >= MIN_EMBEDDED:
            error_vectors, _ = input_vectors_lookup(
                project=project, texts=error_texts, compute_missing=True
            )
            return vectors, error_vectors, have, "embeddings"
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(texts), size=min(FIT_SAMPLE, len(texts)), replace=False)
    representation = LsaRepresentation(seed=seed).fit(
        error_texts + [texts[i] for i in sorted(sample.tolist())]
    )
    return (
        representation.transform(texts),
        representation.transform(error_texts),
        np.ones(len(texts), dtype=bool),
        "lsa",
    )


def _start_labels(category: ErrorCategory) -> Counter:
    return Counter(
        {
            pair["predicted"]: pair.get("count", 1)
            for pair in (category.top_confusions or [])
            if pair.get("predicted")
        }
    )


def review_queue_refresh(*, project: Project, seed: int = 0) -> RefreshResult:
    """Rank the project's unreported predictions for each live category and replace its
    queue; each entry keeps the corrected labels of its nearest corrected errors (any live
    category's). Idempotent: the same data gives the same queue."""
    result = RefreshResult()
    live = _live_categories(project)
    errors = _errors(live)
    categories = [c for c in live if errors[c.id].texts]
    # Each category's unreported look-alikes and the candidates scanned (its true size).
    lookalikes: dict[int, tuple[int, int]] = {}
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
        texts = [row[1] for row in rows]
        error_texts = [text for c in categories for text in errors[c.id].texts]
        vectors, error_vectors, eligible, result.representation = _vectors(
            project, texts, error_texts, seed=seed
        )
        result.without_vector = int(len(rows) - eligible.sum())
        candidates = Candidates(
            vectors=vectors,
            predicted=[row[2] for row in rows],
            confidence=np.asarray(
                [math.nan if row[3] is None else row[3] for row in rows], dtype=float
            ),
            margin=np.asarray([_margin(row[4]) for row in rows], dtype=float),
        )
        evidence, offset = [], 0
        for c in categories:
            size = len(errors[c.id].texts)
            evidence.append(
                CategoryEvidence(
                    category_id=c.id,
                    vectors=error_vectors[offset : offset + size],
                    start_labels=_start_labels(c),
                )
            )
            offset += size
        ranked = rank(candidates, evidence, top=QUEUE_PER_CATEGORY, eligible=eligible)
        # Suggested labels from the nearest corrected errors of every live category: a
        # prediction queued for one category may be nearest to another's corrections.
        queued = sorted({row for r in ranked for row in r.rows.tolist()})
        error_labels = [label for c in categories for label in errors[c.id].labels]
        corrected = np.flatnonzero([bool(label) for label in error_labels])
        suggested = dict(
            zip(
                queued,
                neighbour_labels(
                    vectors[queued],
                    error_vectors[corrected],
                    [error_labels[i] for i in corrected],
                    [candidates.predicted[row] for row in queued],
                ),
                strict=True,
            )
        )
        now = timezone.now()
        for r in ranked:
            lookalikes[r.category_id] = (r.lookalikes, int(eligible.sum()))
            entries.extend(
                ReviewQueueEntry(
                    project=project,
                    category_id=r.category_id,
                    prediction_id=rows[row][0],
                    score=float(score),
                    similarity=float(similar),
                    uncertainty=float(unsure),
                    label_affinity=float(label),
                    neighbour_labels=suggested[row],
                    computed_at=now,
                )
                for row, score, similar, unsure, label in zip(
                    r.rows.tolist(), r.scores, r.similarity, r.uncertainty, r.label, strict=True
                )
            )
    with transaction.atomic():
        # One writer at a time per project (a run's refresh and the hourly one may overlap).
        Project.objects.select_for_update(no_key=True).filter(id=project.id).first()
        _claims_keep(project, entries)
        ReviewQueueEntry.objects.filter(project=project).delete()
        ReviewQueueEntry.objects.bulk_create(entries, batch_size=2000)
    _statistics_refresh()
    true_size_update(
        project=project,
        category_ids=[c.id for c in live],
        lookalikes={c.id: lookalikes.get(c.id, (0, len(rows))) for c in live},
    )
    result.entries = len(entries)
    return result


def _claims_keep(project: Project, entries: list[ReviewQueueEntry]) -> None:
    """The claims reviewers hold carry over to the new entries of their predictions (else a
    refresh would hand an item someone has open to another reviewer)."""
    held = dict(
        (prediction_id, (user_id, until))
        for prediction_id, user_id, until in ReviewQueueEntry.objects.filter(
            project=project, claimed_until__gt=timezone.now()
        ).values_list("prediction_id", "claimed_by_id", "claimed_until")
    )
    for entry in entries:
        if entry.prediction_id in held:
            entry.claimed_by_id, entry.claimed_until = held.pop(entry.prediction_id)


def _statistics_refresh() -> None:
    """The whole table was just rewritten: without fresh statistics PostgreSQL plans the
    labelling page's claim as if it were empty (373 ms instead of 12 ms at 60,000 entries,
    until autovacuum comes by)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{ReviewQueueEntry._meta.db_table}"')


def review_queue_refresh_project(*, project_id: int) -> RefreshResult | None:
    project = Project.objects.filter(id=project_id).first()
    return review_queue_refresh(project=project) if project is not None else None


def _live_project_ids() -> list[int]:
    return list(
        ErrorCategory.objects.filter(merged_into__isnull=True, is_unsorted=False)
        .exclude(state__in=CLOSED_STATES)
        .values_list("project_id", flat=True)
        .distinct()
    )


def review_queue_refresh_all() -> int:
    """Ask for a refresh of every project with live categories; returns how many."""
    return sum(publish(REFRESH_TASK, project_id) for project_id in _live_project_ids())


def review_queue_vectors_schedule() -> int:
    """Ask for a pass of the background embedding of new inputs (`input_vectors.py`) for
    every project with live categories that ranks on sentence embeddings; returns how many."""
    return sum(
        publish(FILL_TASK, project.id)
        for project in Project.objects.filter(id__in=_live_project_ids())
        if queue_representation(project) == "embeddings"
    )
