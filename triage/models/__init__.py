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
from .correction_flags import CorrectionFlag
from .exports import DatasetExport, ReferenceDataset
from .review import Comment, ImprovementPoint, ReviewSession, ReviewSettings
from .review_queue import InputVector, InputVectorProgress, ReviewerLabel, ReviewQueueEntry

__all__ = [
    "CategoryLineage",
    "CategorySnapshot",
    "CategoryVersionStat",
    "ClusteringRun",
    "ClusteringSettings",
    "CorrectionFlag",
    "DatasetExport",
    "Comment",
    "ErrorCategory",
    "ImprovementPoint",
    "ItemAssignment",
    "InputVector",
    "InputVectorProgress",
    "ItemVector",
    "ReviewerLabel",
    "ReviewQueueEntry",
    "ReviewSession",
    "ReferenceDataset",
    "ReviewSettings",
]
