"""Reviewers judge customers' corrections: accept (the customer's label is right), reject (the
model's answer was right) or relabel (another label of the project's set). Stored as the
reviewer's ReviewerLabel on the prediction, like a verdict of the review queue, so an export
gives it the same precedence; unlike the queue's API (where a reviewer's first verdict
stands), a reviewer changing their mind here replaces their own verdict.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import audit
from feedback.models import Feedback, Project
from feedback.validation import NOT_IN_LABEL_SET, NUL_BYTE, TOO_LONG

from ..models import ItemAssignment, ReviewerLabel, ReviewQueueEntry

ACCEPT, REJECT, RELABEL = "accept", "reject", "relabel"
VERDICTS = (ACCEPT, REJECT, RELABEL)
MAX_LABEL = 200

NOT_A_CORRECTION = _("Only a customer's correction of a logged prediction can be judged.")
UNKNOWN_VERDICT = _("Choose accept, reject or relabel.")
LABEL_REQUIRED = _("Choose the right label to relabel this correction.")


def _label(project: Project, feedback: Feedback, verdict: str, label: str) -> str:
    if verdict == ACCEPT:
        return feedback.corrected_label
    if verdict == REJECT:
        return feedback.prediction.predicted_label
    if verdict != RELABEL:
        raise ValidationError(gettext(UNKNOWN_VERDICT), code="verdict")
    label = (label or "").strip()
    if not label:
        raise ValidationError(gettext(LABEL_REQUIRED), code="label")
    if len(label) > MAX_LABEL:
        raise ValidationError(gettext(TOO_LONG).format(limit=MAX_LABEL), code="label")
    if "\x00" in label:
        raise ValidationError(gettext(NUL_BYTE), code="label")
    if project.has_label_set and label not in project.labels:
        raise ValidationError(gettext(NOT_IN_LABEL_SET).format(value=label), code="label")
    return label


@transaction.atomic
def correction_verdict_set(
    *, project: Project, feedback_id: int, verdict: str, actor, label: str = ""
) -> ReviewerLabel:
    """Record `actor`'s verdict on a customer's correction (a feedback item of the project of
    kind correction, about a logged prediction): their ReviewerLabel on its prediction, with
    the item's category when it has one, replacing their earlier verdict on that prediction.
    Audited on the feedback item. Raises ValidationError (a message for people) for anything
    else: another project's item, not a correction, an unknown verdict, a label outside the
    project's label set."""
    feedback = (
        Feedback.objects.select_related("prediction")
        .filter(
            project=project,
            id=feedback_id,
            kind=Feedback.Kind.CORRECTION,
            prediction__isnull=False,
        )
        .first()
    )
    if feedback is None:
        raise ValidationError(gettext(NOT_A_CORRECTION), code="feedback")
    value = _label(project, feedback, verdict, label)
    category_id = (
        ItemAssignment.objects.filter(feedback=feedback)
        .values_list("category_id", flat=True)
        .first()
    )
    row, old = _upsert(project, feedback, actor.get_username(), value, category_id)
    # Out of the review queue at once (the queue skips labelled predictions), claims let go.
    ReviewQueueEntry.objects.filter(prediction_id=feedback.prediction_id).update(
        claimed_by=None, claimed_until=None
    )
    audit(
        project=project,
        actor=actor,
        action="judge_correction",
        target=feedback,
        verdict=verdict,
        label=value,
        previous=old,
    )
    return row


def _upsert(
    project, feedback, reviewer: str, label: str, category_id
) -> tuple[ReviewerLabel, str | None]:
    """The reviewer's verdict on the feedback's prediction set to `label`; returns it and the
    label it had before (None: it is new). Locked: two submissions of one reviewer at once
    leave one verdict, the later one."""
    mine = ReviewerLabel.objects.select_for_update().filter(
        prediction_id=feedback.prediction_id, reviewer=reviewer
    )
    row = mine.first()
    if row is None:
        try:
            with transaction.atomic():
                return ReviewerLabel.objects.create(
                    project=project,
                    prediction_id=feedback.prediction_id,
                    reviewer=reviewer,
                    label=label,
                    category_id=category_id,
                ), None
        except IntegrityError:  # the same reviewer's other submission came first
            row = mine.get()
    old = row.label
    # A new created_at: the latest verdict is the one that counts.
    row.label, row.category_id, row.created_at = label, category_id, timezone.now()
    row.save(update_fields=["label", "category", "created_at"])
    return row, old
