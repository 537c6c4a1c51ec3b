"""The triage app's models, one module per capability."""

from .clustering import (
    CategoryLineage,
    CategorySnapshot,
    CategoryVersionStat,
    ClusteringRun,
    ClusteringSettings,
    ErrorCategory,
    ItemAssignment,
    ItemVector,
)
from .exports import DatasetExport, ReferenceDataset
from .review import Comment, ImprovementPoint, ReviewSession, ReviewSettings
from .review_queue import ReviewerLabel, ReviewQueueEntry

__all__ = [
    "CategoryLineage",
    "CategorySnapshot",
    "CategoryVersionStat",
    "ClusteringRun",
    "ClusteringSettings",
    "DatasetExport",
    "Comment",
    "ErrorCategory",
    "ImprovementPoint",
    "ItemAssignment",
    "ItemVector",
    "ReviewerLabel",
    "ReviewQueueEntry",
    "ReviewSession",
    "ReferenceDataset",
    "ReviewSettings",
]
