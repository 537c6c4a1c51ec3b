"""Sentence embeddings of prediction inputs, for the review queue of a project that uses
sentence embeddings: each distinct input embedded once (keyed by a hash of its text, so
repeats cost nothing), in the background for new traffic, in bounded passes.

A pass (`input_vectors_fill`, a quick-queue task every minute) reads the predictions logged
since the last pass, at most READ_MAX of the newest (the refresh ranks no older ones; those
passed over are counted), and embeds their distinct inputs that have no vector yet for at most
TIME_BUDGET seconds: the most repeated inputs first, then in the order of their hash, a
uniform random order, so what a pass has no time for is left out as a uniform sample and
counted. An input left out gets its chance again when it comes back in new traffic.

Once an hour a pass deletes the vectors stored before the queue's window (the newest READ_MAX
predictions) by more than PRUNE_MARGIN: an input still in use is embedded again when it comes
back; the vectors of categories' errors are kept fresh by each refresh that uses them.
"""

import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.db.models import Q
from django.utils import timezone

from feedback.models import Prediction, Project

from ..clustering.representations import EmbeddingRepresentation
from ..models import InputVector, InputVectorProgress
from .vectors import embedding_model, representation_for, text_hash

FILL_TASK = "triage.input_vectors_fill"
# The newest predictions a pass reads: the review queue's refresh ranks no more
# (review_queue.CANDIDATES_MAX), so older unread ones would never be ranked anyway.
READ_MAX = 200_000
# Embedding time a pass may spend. Every minute on the quick queue, 20 s keeps a third of
# one quick worker process for this (placement of new feedback must not wait behind it):
# ~9,000 distinct inputs a pass on an idle 2-core machine, ~1,000 on one busy with other
# work (BENCHMARKS.md, benchmarks/input_vectors.py).
TIME_BUDGET = 20.0
# Inputs per call to the model, written (committed) after each: progress survives a kill.
EMBED_BATCH = 256
# Ingest transactions commit out of id order: a pass reads only predictions received this
# long ago, so an id below the cursor is never still uncommitted.
SETTLE = timedelta(seconds=30)
# Longer than the task's hard time limit (tasks.INPUT_VECTORS_HARD_LIMIT): a lease never
# runs out under a pass still working.
LEASE = timedelta(minutes=3)
PRUNE_EVERY = timedelta(hours=1)
PRUNE_MARGIN = timedelta(days=1)
LOOKUP_CHUNK = 5000


@dataclass
class FillResult:
    read: int = 0
    distinct_new: int = 0
    embedded: int = 0
    skipped_inputs: int = 0
    skipped_predictions: int = 0
    pruned: int = 0
    busy: bool = False


def _stored_hashes(project: Project, model: str, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        found.update(
            InputVector.objects.filter(
                project=project, model=model, text_hash__in=hashes[start : start + LOOKUP_CHUNK]
            ).values_list("text_hash", flat=True)
        )
    return found


def _store(project: Project, model: str, texts: list[str], hashes: list[str]) -> np.ndarray:
    vectors = EmbeddingRepresentation(model).transform(texts)
    InputVector.objects.bulk_create(
        [
            InputVector(project=project, model=model, text_hash=h, vector=v.tobytes())
            for h, v in zip(hashes, vectors, strict=True)
        ],
        ignore_conflicts=True,  # another pass or a refresh stored it meanwhile: same vector
    )
    return vectors


def input_vectors_fill(
    *, project: Project, budget: float = TIME_BUDGET, now=None, clock=time.monotonic
) -> FillResult:
    """One pass over the project's new predictions (see the module's docstring). Idempotent
    and safe to run twice at once: a pass leases the project (a second one returns `busy`),
    vectors are inserted once, and the cursor moves only after the pass's vectors are stored.
    Returns what the pass read, embedded and left out."""
    result = FillResult()
    now = now or timezone.now()
    InputVectorProgress.objects.get_or_create(project=project)
    claimed = (
        InputVectorProgress.objects.filter(project=project)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .update(leased_until=now + LEASE)
    )
    if not claimed:
        result.busy = True
        return result
    try:
        progress = InputVectorProgress.objects.get(project=project)  # as the last pass left it
        model = embedding_model()
        new = Prediction.objects.filter(
            project=project, id__gt=progress.last_prediction_id, received_at__lte=now - SETTLE
        )
        rows = list(new.order_by("-id").values_list("id", "input_text")[:READ_MAX])
        result.read = len(rows)
        if len(rows) == READ_MAX:
            result.skipped_predictions = new.filter(id__lt=rows[-1][0]).count()
        counts = Counter(text for _, text in rows if text)
        by_hash = {text_hash(text): text for text in counts}
        stored = _stored_hashes(project, model, list(by_hash))
        todo = sorted(
            (h for h in by_hash if h not in stored), key=lambda h: (-counts[by_hash[h]], h)
        )
        result.distinct_new = len(todo)
        started = clock()
        for start in range(0, len(todo), EMBED_BATCH):
            if clock() - started >= budget:
                break
            batch = todo[start : start + EMBED_BATCH]
            _store(project, model, [by_hash[h] for h in batch], batch)
            result.embedded += len(batch)
        result.skipped_inputs = len(todo) - result.embedded
        last = rows[0][0] if rows else progress.last_prediction_id
        InputVectorProgress.objects.filter(
            project=project, last_prediction_id=progress.last_prediction_id
        ).update(
            last_prediction_id=last,
            embedded=progress.embedded + result.embedded,
            skipped_inputs=progress.skipped_inputs + result.skipped_inputs,
            skipped_predictions=progress.skipped_predictions + result.skipped_predictions,
            updated_at=timezone.now(),
        )
        if progress.pruned_at is None or progress.pruned_at <= now - PRUNE_EVERY:
            result.pruned = _prune(project, now)
            InputVectorProgress.objects.filter(project=project).update(pruned_at=now)
    finally:
        InputVectorProgress.objects.filter(project=project).update(leased_until=None)
    return result


def _prune(project: Project, now) -> int:
    """Delete the project's vectors stored PRUNE_MARGIN before the queue's window began."""
    logged = Prediction.objects.filter(project=project)
    window = list(logged.order_by("-id").values_list("received_at", flat=True)[READ_MAX - 1 :][:1])
    start = (
        window[0] if window else logged.order_by("id").values_list("received_at", flat=True).first()
    )
    cutoff = min(start or now, now) - PRUNE_MARGIN
    return InputVector.objects.filter(project=project, used_at__lt=cutoff).delete()[0]


def input_vectors_fill_project(*, project_id: int) -> FillResult | None:
    project = Project.objects.filter(id=project_id).first()
    if project is None or queue_representation(project) != "embeddings":
        return None
    return input_vectors_fill(project=project)


def queue_representation(project: Project) -> str:
    """ "embeddings" or "lsa": the project's representation (`vectors.representation_for`),
    LSA when it wants embeddings that are not installed here: the queue is derived work and
    ranks on the light one rather than not at all."""
    try:
        return representation_for(project)
    except RuntimeError:
        return "lsa"


def input_vectors_lookup(
    *, project: Project, texts: list[str], compute_missing: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The stored vectors of `texts` (rows; zeros where there is none) and a mask of the rows
    that have one. With `compute_missing` (for a few: a category's errors), inputs without a
    vector are embedded and stored on the way, and those found are marked as just used, so
    that pruning keeps them however old their predictions are."""
    model = embedding_model()
    hashes = [text_hash(text) for text in texts]
    distinct = sorted(set(hashes))
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(distinct), LOOKUP_CHUNK):
        for h, vector in InputVector.objects.filter(
            project=project, model=model, text_hash__in=distinct[start : start + LOOKUP_CHUNK]
        ).values_list("text_hash", "vector"):
            found[h] = np.frombuffer(bytes(vector), dtype=np.float32)
    if compute_missing:
        used = sorted(found)
        for start in range(0, len(used), LOOKUP_CHUNK):
            InputVector.objects.filter(
                project=project, model=model, text_hash__in=used[start : start + LOOKUP_CHUNK]
            ).update(used_at=timezone.now())
        missing = sorted({h for h in hashes if h not in found})
        text_of = dict(zip(hashes, texts, strict=True))
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            vectors = _store(project, model, [text_of[h] for h in batch], batch)
            found.update(zip(batch, vectors, strict=True))
    have = np.asarray([h in found for h in hashes], dtype=bool)
    if not found:
        return np.zeros((len(texts), 0), dtype=np.float32), have
    size = len(next(iter(found.values())))
    vectors = np.zeros((len(texts), size), dtype=np.float32)
    for i, h in enumerate(hashes):
        if h in found:
            vectors[i] = found[h]
    return vectors, have
