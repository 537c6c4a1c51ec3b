"""Resolving the corrections customers gave one prediction into one label (or a conflict)."""

from collections import Counter
from dataclasses import dataclass

LATEST = "latest"
MAJORITY = "majority"
UNANIMOUS = "unanimous"
POLICIES = (LATEST, MAJORITY, UNANIMOUS)


@dataclass(frozen=True, slots=True)
class Resolved:
    label: str | None  # None: an unresolved conflict under the policy
    agreement: float  # share of the corrections that gave `label` (0 for a conflict)


def resolve(labels: list[str], policy: str) -> Resolved:
    """`labels`: the corrected labels of one prediction, oldest first (at least one).

    - latest: the most recent correction wins;
    - majority: the label more corrections gave than any other; a tie is a conflict;
    - unanimous: every correction gave the same label, else a conflict.
    """
    if not labels:
        raise ValueError("resolve() needs at least one correction")
    if len(labels) == 1:
        return Resolved(labels[0], 1.0)
    counts = Counter(labels)
    n = len(labels)
    if policy == LATEST:
        label = labels[-1]
        return Resolved(label, counts[label] / n)
    if policy == MAJORITY:
        ranked = counts.most_common(2)
        label, votes = ranked[0]
        if len(ranked) > 1 and ranked[1][1] == votes:
            return Resolved(None, 0.0)
        return Resolved(label, votes / n)
    if policy == UNANIMOUS:
        return Resolved(labels[0], 1.0) if len(counts) == 1 else Resolved(None, 0.0)
    raise ValueError(f"unknown resolution policy {policy!r}")
