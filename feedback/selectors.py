"""Reads of the feedback app."""

from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone

from . import keys
from .models import ApiKey, Feedback, Prediction, Project

# Recording every use would turn each API call into a write; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)
_DUMMY_HASH = keys.key_hash("voc_000000000000_not-a-key")


def api_key_authenticate(*, full_key: str) -> ApiKey | None:
    """The active key matching `full_key`, or None. Compares hashes in constant time, also
    when no key has the prefix, so timing does not tell which prefixes exist."""
    prefix = keys.key_prefix(full_key)
    api_key = (
        ApiKey.objects.select_related("project").filter(prefix=prefix).first() if prefix else None
    )
    matches = keys.key_matches(full_key, api_key.key_hash if api_key else _DUMMY_HASH)
    if api_key is None or not matches or not api_key.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


def prediction_get(*, project: Project, request_id: str) -> Prediction | None:
    """A prediction of the project with its model version and feedback, or None."""
    return (
        Prediction.objects.filter(project=project, request_id=request_id)
        .select_related("model_version")
        .prefetch_related(Prefetch("feedback", queryset=Feedback.objects.order_by("created_at")))
        .first()
    )


def prediction_ids_by_request_id(*, project: Project, request_id: str) -> int | None:
    return (
        Prediction.objects.filter(project=project, request_id=request_id)
        .values_list("id", flat=True)
        .first()
    )
