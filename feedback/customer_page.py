"""Writes of the customer page /f/<token> (source "widget").

Who "the customer" is: a feedback link is made for one prediction and sent to the customer it
was served to, so the page treats whoever holds the link as that customer, and the prediction
is the unit of "what this customer told us". There is deliberately no cookie or session
marker: the same person opening the link on a phone and later on a laptop must see what they
sent, and third-party cookies are unavailable when the page is embedded. Feedback from the
page is attributed to the prediction's customer (see `ingest.feedback_ingest`).

One current answer per kind and prediction: a rating (👍/👎), and either a correction (the
right answer, with the description if any) or a complaint (a description alone). Sending a
different answer supersedes the current one (`superseded_at` is set, the row stays as
history) and stores the new one through `feedback_ingest`, so redaction, dedup and follow-up
work apply as for every other source. Sending the same answer again changes nothing. Each
call is one transaction that holds the prediction's row lock, so two tabs sending at once
still leave one current answer of each kind.
"""

from django.db import transaction
from django.utils import timezone

from . import pii
from .ingest import IngestResult, feedback_ingest
from .models import Feedback, Prediction
from .selectors import WIDGET_SOURCE, WidgetState, widget_state_get


class WidgetRejected(Exception):
    """Ingest refused the answer; nothing was changed. `errors` is field -> [messages]."""

    def __init__(self, errors: dict):
        super().__init__("feedback rejected")
        self.errors = errors


def _locked_state(prediction: Prediction) -> WidgetState:
    # The prediction's row is the mutex for its page (a no-op on SQLite, whose IMMEDIATE
    # transactions already serialise writers).
    Prediction.objects.select_for_update().filter(id=prediction.id).values_list("id").first()
    return widget_state_get(prediction_id=prediction.id)


def _supersede(*rows: Feedback | None) -> None:
    ids = [row.id for row in rows if row is not None]
    if ids:
        Feedback.objects.filter(id__in=ids, superseded_at__isnull=True).update(
            superseded_at=timezone.now()
        )


def _store(prediction: Prediction, items: list[dict]) -> IngestResult:
    result = feedback_ingest(project=prediction.project, items=items, default_source=WIDGET_SOURCE)
    if result.rejected:
        errors: dict = {}
        for rejection in result.rejected:
            for name, messages in rejection["errors"].items():
                errors.setdefault(name, []).extend(messages)
        raise WidgetRejected(errors)
    return result


@transaction.atomic
def widget_rating_set(*, prediction: Prediction, rating: int) -> bool:
    """Make `rating` (1 or -1) the customer's current rating of the prediction. A 👍 also
    withdraws a current correction: the customer now says the answer was right. Returns
    whether anything changed; raises WidgetRejected (and changes nothing) if ingest refuses."""
    state = _locked_state(prediction)
    changed = False
    if rating == 1 and state.correction is not None:
        _supersede(state.correction)
        changed = True
    if state.rating is not None and state.rating.rating == rating:
        return changed
    _supersede(state.rating)
    _store(prediction, [{"kind": "rating", "request_id": prediction.request_id, "rating": rating}])
    return True


# What ingest will store, to compare with what is stored: redaction changes customer text.
def _stored_text(prediction: Prediction, text: str) -> str:
    return pii.redact(text) if prediction.project.pii_redaction else text


def _stored_label(prediction: Prediction, label: str) -> str:
    free_text = not prediction.project.has_label_set
    return _stored_text(prediction, label) if free_text else label


@transaction.atomic
def widget_details_set(*, prediction: Prediction, corrected_label: str, text: str) -> bool:
    """Make (corrected_label, text) the customer's current answer: a correction when a label
    is given (carrying the text), else a complaint. A correction also withdraws a current 👍.
    Returns whether anything changed; raises WidgetRejected (and changes nothing) if ingest
    refuses. At least one of the two must be given (the form guarantees it)."""
    state = _locked_state(prediction)
    stored_text = _stored_text(prediction, text)
    if corrected_label:
        unchanged = (
            state.correction is not None
            and state.complaint is None
            and state.correction.corrected_label == _stored_label(prediction, corrected_label)
            and state.correction.text == stored_text
        )
        item = {
            "kind": "correction",
            "request_id": prediction.request_id,
            "corrected_label": corrected_label,
            **({"text": text} if text else {}),
        }
    else:
        unchanged = (
            state.complaint is not None
            and state.correction is None
            and state.complaint.text == stored_text
        )
        item = {"kind": "complaint", "request_id": prediction.request_id, "text": text}
    if unchanged:
        return False
    _supersede(state.correction, state.complaint)
    if corrected_label and state.rating is not None and state.rating.rating == 1:
        _supersede(state.rating)
    _store(prediction, [item])
    return True
