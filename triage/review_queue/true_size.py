"""A category's estimated true size: how many wrong answers like its confirmed errors nobody
reported. Pure (arrays and counts in, figures out), like the ranking.

"Like it": an unreported prediction whose input is at least as close to the category's
confirmed errors (the ranking's similarity: the mean cosine to its nearest few) as those
errors typically are to each other. Of those look-alikes, the share that is wrong comes from
what reviewers found on the category's queue, with a Wilson interval. Reviewers label the
queue's best-ranked items first, which are likelier wrong than the rest of the look-alikes:
the estimate leans high, and the page says so."""

from dataclasses import asdict, dataclass

import numpy as np

from core.stats import wilson_interval

# Verdicts on a category's queue needed before its size is estimated.
MIN_REVIEWED = 5


def lookalike_level(errors: np.ndarray, *, neighbours: int) -> float:
    """The median over the errors (rows, L2-normalised) of the mean cosine to their
    `neighbours` nearest other errors; 1.0 (nothing qualifies) with fewer than two errors."""
    errors = np.asarray(errors, dtype=np.float32)
    if len(errors) < 2:
        return 1.0
    similarities = errors @ errors.T
    np.fill_diagonal(similarities, -np.inf)  # leave each error out of its own neighbours
    k = min(neighbours, len(errors) - 1)
    nearest = np.partition(similarities, -k, axis=1)[:, -k:]
    return float(np.clip(np.median(nearest.mean(axis=1)), 0, 1))


@dataclass(frozen=True)
class TrueSize:
    lookalikes: int  # unreported predictions like the category's errors, of `scanned`
    scanned: int
    reviewed: int  # verdicts on its queue
    found: int  # of them, wrong answers
    estimate: float | None  # wrong answers among the look-alikes; None until MIN_REVIEWED
    low: float | None
    high: float | None

    def as_json(self) -> dict:
        return asdict(self)


def true_size(*, lookalikes: int, scanned: int, reviewed: int, found: int) -> TrueSize:
    """The look-alikes times the share of the reviewed queue found wrong (95 % Wilson)."""
    interval = wilson_interval(found, reviewed) if reviewed >= MIN_REVIEWED else None
    if interval is None:
        return TrueSize(lookalikes, scanned, reviewed, found, None, None, None)
    return TrueSize(
        lookalikes,
        scanned,
        reviewed,
        found,
        lookalikes * found / reviewed,
        lookalikes * interval[0],
        lookalikes * interval[1],
    )
