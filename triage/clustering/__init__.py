"""The clustering engine: pure functions, arrays and lists in, labels/centroids/keywords out.

No ORM, no Celery: `triage.services.clustering` loads the rows, calls `cluster_feedback`, and
writes the outcome. Everything is seeded, so the same input gives the same categories.
"""

from .engine import ClusteringOutcome, EngineConfig, ExistingCategory, Item, cluster_feedback

__all__ = ["ClusteringOutcome", "EngineConfig", "ExistingCategory", "Item", "cluster_feedback"]
