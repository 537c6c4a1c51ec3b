"""Text vectors for feedback items: which representation a project uses, and the store of
sentence embeddings (each item embedded once, reused by every run)."""

import hashlib
from collections.abc import Callable

import numpy as np
from django.conf import settings

from feedback.models import Project

from ..clustering.representations import EmbeddingRepresentation, embeddings_available
from ..models import ClusteringSettings, ItemVector

# Items embedded per call to the model: big enough for throughput, small enough to keep the
# run's heartbeat ticking between batches.
EMBED_BATCH = 256
LOAD_CHUNK = 5000


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def embedding_model() -> str | None:
    """The configured model (a local path or a model name), else the bundled MiniLM."""
    from ..clustering.representations import default_embedding_model

    return settings.VOC_EMBEDDING_MODEL or default_embedding_model()


def clustering_settings(project: Project) -> ClusteringSettings:
    found = ClusteringSettings.objects.filter(project=project).first()
    return found or ClusteringSettings(project=project)


def representation_for(project: Project) -> str:
    """ "embeddings" or "lsa": what the project asks for, embeddings only when installed."""
    wanted = clustering_settings(project).representation
    if settings.VOC_EMBEDDINGS == "off" or wanted == ClusteringSettings.Representation.LSA:
        return "lsa"
    available = embeddings_available(embedding_model())
    if wanted == ClusteringSettings.Representation.EMBEDDINGS and not available:
        raise RuntimeError(
            "This project clusters with sentence embeddings, which are not installed here "
            "(make setup-embeddings)."
        )
    return "embeddings" if available else "lsa"


def _stored_vectors(model: str, ids: list[int], project_id: int | None):
    """(feedback id, text hash, vector) of the stored vectors of `ids` (and, with a project,
    of the project's other items in their id range)."""
    if project_id is not None and ids:
        # A run's items: one streamed join over the project's id range is ~3x faster than
        # lists of ids (100,000 vectors: 2.4 s instead of 6 s).
        yield from (
            ItemVector.objects.filter(
                feedback__project_id=project_id,
                feedback_id__gte=min(ids),
                feedback_id__lte=max(ids),
                model=model,
            )
            .values_list("feedback_id", "text_hash", "vector")
            .iterator(chunk_size=LOAD_CHUNK)
        )
        return
    for start in range(0, len(ids), LOAD_CHUNK):
        yield from ItemVector.objects.filter(
            feedback_id__in=ids[start : start + LOAD_CHUNK], model=model
        ).values_list("feedback_id", "text_hash", "vector")


def embedded_vectors(
    *,
    ids: list[int],
    texts: list[str],
    on_batch: Callable[[int], None] | None = None,
    project_id: int | None = None,
) -> tuple[np.ndarray, int]:
    """Embeddings of the items' texts, from the store when the stored vector embeds the same
    text with the same model, computed (and stored) otherwise. Returns (vectors, n_computed).
    Pass the items' project when they are many (a run's items)."""
    model = embedding_model()
    hashes = [text_hash(text) for text in texts]
    wanted = set(ids)
    stored: dict[int, tuple[str, bytes]] = {}
    for feedback_id, stored_hash, vector in _stored_vectors(model, ids, project_id):
        if feedback_id in wanted:
            stored[feedback_id] = (stored_hash, bytes(vector))
    missing = [
        i for i, feedback_id in enumerate(ids) if stored.get(feedback_id, ("",))[0] != hashes[i]
    ]
    vectors: list[np.ndarray | None] = [
        np.frombuffer(stored[feedback_id][1], dtype=np.float32)
        if stored.get(feedback_id, ("",))[0] == hashes[i]
        else None
        for i, feedback_id in enumerate(ids)
    ]
    representation = EmbeddingRepresentation(model)
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        computed = representation.transform([texts[i] for i in batch])
        ItemVector.objects.bulk_create(
            [
                ItemVector(
                    feedback_id=ids[i], model=model, text_hash=hashes[i], vector=vector.tobytes()
                )
                for i, vector in zip(batch, computed, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["feedback"],
            update_fields=["model", "text_hash", "vector"],
        )
        for i, vector in zip(batch, computed, strict=True):
            vectors[i] = vector
        if on_batch:
            on_batch(start + len(batch))
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.vstack(vectors).astype(np.float32), len(missing)
