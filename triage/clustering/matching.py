"""Keep categories' identity across runs.

A new run's clusters are matched one-to-one to the existing categories (optimal assignment,
scipy's linear_sum_assignment) by a score that blends item overlap (the same feedback was in
that category before) with centroid similarity (for categories whose items are outside this
run). Unmatched clusters become new categories. Lineage is recorded when a category's items
split across clusters or two categories' items end up in one.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

MIN_MATCH_SCORE = 0.3
# Centroid similarity counts only above this, rescaled to 0..1 (cosines of unrelated
# clusters are far from 0 in a space of short texts).
CENTROID_FLOOR = 0.75
SPLIT_MIN_SHARE = 0.25  # a new cluster took this share of an old category's items
MERGE_MIN_SHARE = 0.5  # most of an old category's items went into another's cluster
ABSORB_MIN_SHARE = 0.6  # a human-merged category absorbs clusters mostly made of its items
MIN_LINEAGE_ITEMS = 2


@dataclass
class ExistingCategory:
    id: int
    members: set[int] = field(default_factory=set)  # item ids currently in it, in this run
    centroid: np.ndarray | None = None  # in this run's space, when comparable
    absorbs: bool = False  # formed by a human merge: must stay one category


@dataclass
class Match:
    cluster_to_category: dict[int, int]
    lineage: list[tuple[str, int | str, int | str]]  # (kind, parent, child); "c3" = cluster 3


def _scores(cluster_members: list[set[int]], centroids: np.ndarray, existing) -> np.ndarray:
    known = set().union(*(category.members for category in existing)) if existing else set()
    scores = np.zeros((len(cluster_members), len(existing)))
    for i, members in enumerate(cluster_members):
        previously_known = len(members & known)
        for j, category in enumerate(existing):
            common = len(members & category.members)
            if common:
                # Geometric mean of "share of the cluster's known items from j" and "share of
                # j's items that went to this cluster": high only when both agree.
                scores[i, j] = np.sqrt(
                    common / max(previously_known, 1) * common / len(category.members)
                )
            elif category.centroid is not None and len(centroids):
                cosine = float(centroids[i] @ category.centroid)
                scores[i, j] = max(0.0, (cosine - CENTROID_FLOOR) / (1 - CENTROID_FLOOR))
    return scores


def match_clusters(
    cluster_members: list[set[int]], centroids: np.ndarray, existing: list[ExistingCategory]
) -> Match:
    cluster_to_category: dict[int, int] = {}
    lineage: list[tuple[str, int | str, int | str]] = []
    if not cluster_members:
        return Match(cluster_to_category, lineage)
    scores = _scores(cluster_members, centroids, existing) if existing else None
    if scores is not None and scores.size:
        rows, cols = linear_sum_assignment(-scores)
        for i, j in zip(rows, cols, strict=True):
            if scores[i, j] >= MIN_MATCH_SCORE:
                cluster_to_category[int(i)] = existing[j].id
        # Human merges stay merged: a category a person formed absorbs the clusters that are
        # mostly its own items.
        for i, members in enumerate(cluster_members):
            if i in cluster_to_category:
                continue
            for category in existing:
                common = len(members & category.members)
                if category.absorbs and common >= ABSORB_MIN_SHARE * len(members):
                    cluster_to_category[i] = category.id
                    break
        lineage = _lineage(cluster_members, existing, cluster_to_category)
    return Match(cluster_to_category, lineage)


def _lineage(cluster_members, existing, cluster_to_category):
    events = []
    for category in existing:
        if not category.members:
            continue
        for i, members in enumerate(cluster_members):
            common = len(members & category.members)
            if common < MIN_LINEAGE_ITEMS:
                continue
            share = common / len(category.members)
            target = cluster_to_category.get(i)
            if target is None and share >= SPLIT_MIN_SHARE:
                # Part of this category became a new one.
                events.append(("split", category.id, f"c{i}"))
            elif target is not None and target != category.id and share >= MERGE_MIN_SHARE:
                # Most of this category now lives in another one.
                events.append(("merge", category.id, target))
    return events
