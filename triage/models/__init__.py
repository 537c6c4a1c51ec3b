"""The triage app's models, one module per capability."""

from .clustering import (
    AuditEvent,
    CategoryLineage,
    CategorySnapshot,
    ClusteringRun,
    ClusteringSettings,
    ErrorCategory,
    ItemAssignment,
    ItemVector,
)
from .review import Comment, ImprovementPoint

__all__ = [
    "AuditEvent",
    "CategoryLineage",
    "CategorySnapshot",
    "ClusteringRun",
    "ClusteringSettings",
    "Comment",
    "ErrorCategory",
    "ImprovementPoint",
    "ItemAssignment",
    "ItemVector",
]
