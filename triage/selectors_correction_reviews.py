"""Reads for judging customers' corrections on the category page and in the inbox: for a page
of feedback items, the model's confidence and top scores, the stored likely-wrong flag
(services/correction_flags.py) and reviewers' verdicts. Two queries per page whatever its
size: the predictions with their flags, then the verdicts."""

from collections import defaultdict
from dataclasses import dataclass, field

from feedback.models import Feedback, Prediction

from .models import CorrectionFlag, ReviewerLabel

# The scores shown beside the model's answer (as the review queue's page shows them).
TOP_SCORES = 3
# The predictions' columns read (never their inputs, metadata), with the flag's.
FLAG_FIELDS = tuple(
    f"correction_flag__{name}"
    for name in ("corrected_label", "p_predicted", "p_corrected", "t_predicted", "t_corrected")
)


@dataclass
class Verdict:
    reviewer: str
    label: str
    kind: str  # accept, reject or relabel, read against the item it is shown on


@dataclass
class CorrectionReview:
    """What a reviewer sees beside one feedback item about a prediction."""

    predicted: str  # the model's answer
    confidence: float | None
    scores: list[tuple[str, float]]  # the model's top scores, best first
    flag: CorrectionFlag | None  # likely wrong (only for the correction the check judged)
    verdicts: list[Verdict] = field(default_factory=list)  # latest first, skips left out
    mine: Verdict | None = None  # the reviewer's own, when they gave one
    judgeable: bool = False  # a customer's correction: accept, reject or relabel apply


def top_scores(scores, n: int = TOP_SCORES) -> list[tuple[str, float]]:
    values = scores if isinstance(scores, dict) else {}
    ranked = sorted(
        (
            (str(label), float(value))
            for label, value in values.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ),
        key=lambda pair: -pair[1],
    )
    return ranked[:n]


def _kind(label: str, item: Feedback, predicted: str) -> str:
    if item.corrected_label and label == item.corrected_label:
        return "accept"
    if label == predicted:
        return "reject"
    return "relabel"


def correction_reviews_attach(*, items: list[Feedback], reviewer: str) -> list[Feedback]:
    """Set `item.review` (a CorrectionReview, or None without a prediction) on each item;
    `reviewer` is the username whose own verdict is singled out. Returns the items."""
    ids = sorted({item.prediction_id for item in items if item.prediction_id})
    predictions = {
        p.id: p
        for p in Prediction.objects.filter(id__in=ids)
        .select_related("correction_flag")
        .only("id", "predicted_label", "confidence", "scores", *FLAG_FIELDS)
    }
    verdicts: dict[int, list[ReviewerLabel]] = defaultdict(list)
    if ids:
        for row in (
            ReviewerLabel.objects.filter(prediction_id__in=ids)
            .exclude(label="")
            .order_by("-created_at", "-id")
        ):
            verdicts[row.prediction_id].append(row)
    for item in items:
        prediction = predictions.get(item.prediction_id)
        if prediction is None:
            item.review = None
            continue
        flag = getattr(prediction, "correction_flag", None)
        is_correction = item.kind == Feedback.Kind.CORRECTION and bool(item.corrected_label)
        if flag is not None and (not is_correction or flag.corrected_label != item.corrected_label):
            flag = None  # the check judged another correction of this prediction
        review = CorrectionReview(
            predicted=prediction.predicted_label,
            confidence=prediction.confidence,
            scores=top_scores(prediction.scores),
            flag=flag,
            judgeable=is_correction,
        )
        for row in verdicts.get(prediction.id, []):
            verdict = Verdict(
                row.reviewer, row.label, _kind(row.label, item, prediction.predicted_label)
            )
            review.verdicts.append(verdict)
            if row.reviewer == reviewer and review.mine is None:
                review.mine = verdict
        item.review = review
    return items
