"""Reads of the feedback app."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.utils import timezone

from . import keys, links
from .models import ApiKey, Feedback, ImportJob, Membership, Prediction, Project

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


# --- the customer page -----------------------------------------------------------------------

WIDGET_SOURCE = "widget"


def prediction_for_link(*, claims: links.LinkClaims) -> Prediction | None:
    """The prediction a verified link is for; None when it is gone or belongs to another
    project than the one the link was signed for."""
    return (
        Prediction.objects.select_related("project", "model_version")
        .filter(id=claims.prediction_id, project_id=claims.project_id)
        .first()
    )


@dataclass
class WidgetState:
    """What the customer sent about one prediction through its page: the current answer of
    each kind, and the earlier answers they replaced (newest first)."""

    rating: Feedback | None = None
    correction: Feedback | None = None
    complaint: Feedback | None = None
    history: list[Feedback] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        return bool(self.rating or self.correction or self.complaint)

    @property
    def text(self) -> str:
        fix = self.correction or self.complaint
        return fix.text if fix else ""


def widget_state_get(*, prediction_id: int) -> WidgetState:
    state = WidgetState()
    rows = Feedback.objects.filter(prediction_id=prediction_id, source=WIDGET_SOURCE).order_by(
        "-created_at", "-id"
    )
    for feedback in rows:
        if feedback.superseded_at is not None:
            state.history.append(feedback)
        elif getattr(state, feedback.kind) is None:
            setattr(state, feedback.kind, feedback)
    return state


# --- CSV imports -----------------------------------------------------------------------------


def project_frame_ancestors(*, project_id: int) -> str:
    """The origins a project lets embed its customer page (its setting, as stored)."""
    return (
        Project.objects.filter(id=project_id).values_list("frame_ancestors", flat=True).first()
        or ""
    )


def import_jobs_recent(*, project: Project, limit: int = 50) -> list[ImportJob]:
    return list(
        ImportJob.objects.filter(project=project)
        .select_related("created_by", "api_key")
        .order_by("-created_at", "-id")[:limit]
    )


def import_job_get(*, project: Project, job_id: int) -> ImportJob | None:
    """A job of the project, or None (another project's job is as good as missing)."""
    return ImportJob.objects.filter(project=project, id=job_id).first()


def project_memberships(*, project: Project):
    """The project's team, admins first, then by username; with each user (one query)."""
    rank = Case(
        *[When(role=role, then=Value(-rank)) for role, rank in Membership.RANK.items()],
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by(rank, "user__username")
    )
