"""Between runs: place new feedback in the nearest category of the latest run."""

from collections import defaultdict
from functools import lru_cache

import numpy as np

from feedback.models import Feedback

from .. import selectors
from ..clustering.features import combine
from ..clustering.representations import LsaRepresentation, unpack_arrays
from ..clustering.text import item_text
from ..models import ErrorCategory
from .vectors import embedded_vectors, representation_for

# Stricter than the runs' own threshold: without the rest of the run's evidence, an item
# joins a category only when it clearly belongs; otherwise it waits for the next run.
PLACE_MIN_SIMILARITY = 0.55


@lru_cache(maxsize=8)
def _run_state(run_id: int) -> dict:
    from ..models import ClusteringRun

    blob = ClusteringRun.objects.filter(id=run_id).values_list("model_state", flat=True).first()
    return unpack_arrays(bytes(blob)) if blob else {}


def place_new_items(*, feedback_ids: list[int]) -> dict[int, tuple[int | None, float | None]]:
    """feedback id -> (category id or None, similarity) for error feedback among the ids.
    Embeddings are computed and stored on the way when the project uses them."""
    by_project = defaultdict(list)
    for feedback_id, project_id in Feedback.objects.filter(id__in=feedback_ids).values_list(
        "id", "project_id"
    ):
        by_project[project_id].append(feedback_id)
    placements = {}
    for project_id, ids in by_project.items():
        placements.update(_place(project_id, ids))
    return placements


def _place(project_id: int, ids: list[int]) -> dict:
    from feedback.models import Project

    raw = selectors.raw_items_by_id(feedback_ids=ids)
    if not raw:
        return {}
    run = selectors.latest_succeeded_run(project_id=project_id)
    state = _run_state(run.id) if run else {}
    boilerplate = state.get("boilerplate", np.array([], dtype=str)).tolist()
    texts = [
        item_text(own_text=i.own_text, input_text=i.input_text, boilerplate=boilerplate)
        for i in raw
    ]
    wanted = representation_for(Project.objects.get(id=project_id))
    if wanted == "embeddings":
        # Stored now, so the next run does not have to embed these items.
        vectors, _ = embedded_vectors(ids=[i.id for i in raw], texts=texts)
    if not run or not state:
        return {}
    run_representation = str(state["representation"][0])
    if run_representation == "embeddings" and wanted == "embeddings":
        text_vectors = vectors
    elif run_representation == "lsa" and "lsa_vocabulary" in state:
        text_vectors = LsaRepresentation.from_state(state).transform(texts)
    else:
        return {}  # the representation changed since the run: wait for the next one
    combined = combine(
        text_vectors,
        corrected=[i.corrected_label for i in raw],
        scores=[i.scores for i in raw],
        labels=state["labels"].tolist(),
        previous_space=state.get("previous_space", np.array([], dtype=np.int64)).tolist(),
    )
    categories = list(
        ErrorCategory.objects.filter(
            project_id=project_id, centroid_run=run, merged_into__isnull=True, is_unsorted=False
        ).values_list("id", "centroid")
    )
    if not categories:
        return {}
    centroids = np.vstack([np.frombuffer(bytes(blob), dtype=np.float32) for _, blob in categories])
    if centroids.shape[1] != combined.shape[1]:
        return {}
    similarity = combined @ centroids.T
    best = similarity.argmax(axis=1)
    result = {}
    for row, item in enumerate(raw):
        score = float(similarity[row, best[row]])
        if score >= PLACE_MIN_SIMILARITY:
            result[item.id] = (categories[best[row]][0], score)
    return result
