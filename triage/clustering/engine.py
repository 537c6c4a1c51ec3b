"""One clustering pass over a project's feedback items."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from . import describe
from .features import combine, label_space
from .hangul import has_hangul
from .matching import ExistingCategory, match_clusters
from .partition import partition

# Cosine distance at which the dendrogram is cut, per representation (chosen on the
# Banking77 replay; see BENCHMARKS.md). Each granularity step moves it by GRANULARITY_STEP:
# positive = more, finer categories.
THRESHOLDS = {"embeddings": 0.5, "lsa": 0.6}
GRANULARITY_STEP = 0.05

__all__ = ["ClusteringOutcome", "EngineConfig", "ExistingCategory", "Item", "cluster_feedback"]


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    text: str  # the representation text (input + own words without boilerplate)
    predicted_label: str = ""
    corrected_label: str = ""
    scores: dict | None = None
    created_at: datetime | None = None
    previous_category: int | None = None  # where the item was before this run


@dataclass(frozen=True)
class EngineConfig:
    representation: str = "lsa"
    granularity: int = 0  # -2 (fewer categories) .. 2 (more)
    seed: int = 0
    labels: Sequence[str] = ()
    display: Callable[[str], str] = str
    # Label names by language, for titles of clusters whose items are in that language.
    display_in: Mapping[str, Callable[[str], str]] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return THRESHOLDS[self.representation] - GRANULARITY_STEP * self.granularity


@dataclass
class Cluster:
    index: int
    category_id: int | None  # the existing category it continues, None for a new one
    item_ids: list[int]
    centroid: np.ndarray
    keywords: list[str]
    top_confusions: list[dict]
    labels: dict
    representative_ids: list[int]
    auto_title: str
    first_seen: datetime | None
    last_seen: datetime | None

    @property
    def size(self) -> int:
        return len(self.item_ids)


@dataclass
class ClusteringOutcome:
    clusters: list[Cluster]
    noise_ids: list[int]
    similarity: dict[int, float]  # item id -> cosine to its cluster's centre
    lineage: list[tuple[str, int | str, int | str]]
    labels: list[str]  # the label space of the item vectors
    previous_space: list[int] = field(default_factory=list)  # order of the prior block
    vectors: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    language: str = "en"  # "ko" when most of the run's items are Korean


def cluster_feedback(
    items: Sequence[Item],
    text_vectors: np.ndarray,
    *,
    config: EngineConfig,
    existing: Sequence[ExistingCategory] = (),
) -> ClusteringOutcome:
    """Cluster items (one text vector each, L2-normalised), describe the clusters and match
    them to the existing categories. Deterministic for a given config.seed."""
    if not items:
        return ClusteringOutcome(clusters=[], noise_ids=[], similarity={}, lineage=[], labels=[])
    labels = label_space(
        config.labels,
        [label for item in items for label in (item.corrected_label, *(item.scores or {}))],
    )
    previous_space = sorted({item.previous_category for item in items} - {None})
    vectors = combine(
        text_vectors,
        corrected=[item.corrected_label for item in items],
        scores=[item.scores for item in items],
        labels=labels,
        previous=[item.previous_category for item in items],
        previous_space=previous_space,
    )
    result = partition(vectors, threshold=config.threshold, seed=config.seed)
    ids = np.array([item.id for item in items])
    members = [np.flatnonzero(result.labels == c) for c in range(result.n_clusters)]
    texts_per_cluster = [[items[i].text for i in rows] for rows in members]
    words = describe.keywords(texts_per_cluster)
    phrases = describe.title_phrases(texts_per_cluster, words)
    existing = list(existing)
    for category in existing:
        if category.centroid is None and category.members:
            rows = np.flatnonzero(np.isin(ids, list(category.members)))
            if len(rows):
                mean = vectors[rows].mean(axis=0)
                category.centroid = mean / (np.linalg.norm(mean) or 1)
    match = match_clusters(
        [set(ids[rows].tolist()) for rows in members], result.centroids, existing
    )
    clusters = []
    for c, rows in enumerate(members):
        cluster_items = [items[i] for i in rows]
        involved = describe.labels_involved(
            [item.predicted_label for item in cluster_items],
            [item.corrected_label for item in cluster_items],
        )
        seen = [item.created_at for item in cluster_items if item.created_at]
        clusters.append(
            Cluster(
                index=c,
                category_id=match.cluster_to_category.get(c),
                item_ids=ids[rows].tolist(),
                centroid=result.centroids[c],
                keywords=words[c],
                top_confusions=describe.top_confusions(
                    [(item.predicted_label, item.corrected_label) for item in cluster_items]
                ),
                labels=involved,
                representative_ids=describe.representatives(
                    ids[rows], result.similarity[rows], [item.text for item in cluster_items]
                ),
                auto_title=_title(config, involved, words[c], phrases[c], texts_per_cluster[c]),
                first_seen=min(seen) if seen else None,
                last_seen=max(seen) if seen else None,
            )
        )
    # No two clusters of a run keep the same automatic title ("...: wrong answers" twice).
    titles = describe.distinct_titles([cluster.auto_title for cluster in clusters], words)
    for cluster, title in zip(clusters, titles, strict=True):
        cluster.auto_title = title
    return ClusteringOutcome(
        clusters=clusters,
        noise_ids=ids[result.labels < 0].tolist(),
        similarity=dict(zip(ids.tolist(), result.similarity.tolist(), strict=True)),
        lineage=match.lineage,
        labels=labels,
        previous_space=previous_space,
        vectors=vectors,
        language="ko" if sum(has_hangul(item.text) for item in items) * 2 > len(items) else "en",
    )


def _title(config: EngineConfig, labels: dict, keywords, phrase: str, texts) -> str:
    """The automatic title, in Korean when most of the cluster's items are."""
    korean = sum(map(has_hangul, texts)) * 2 > len(texts)
    language = "ko" if korean else "en"
    display = config.display_in.get(language, config.display)
    return describe.auto_title(
        labels=labels, keywords=keywords, display=display, phrase=phrase, language=language
    )
