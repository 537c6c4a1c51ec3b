"""Changes to a project's dashboard settings (SLA, target correction rate, segment keys to
ignore), audited."""

from django.db import transaction
from django.utils import timezone

from core.audit import audit
from feedback.models import Project

from ..models import DashboardSettings


@transaction.atomic
def settings_update(
    *,
    project: Project,
    actor,
    sla_latency_p95_ms: float | None,
    target_correction_rate: float,
    segment_ignore_keys: list[str] | None = None,
) -> DashboardSettings:
    """`segment_ignore_keys` None: left as it is (applies to the hours counted from now on)."""
    current, _ = DashboardSettings.objects.select_for_update().get_or_create(project=project)
    before = {
        "sla_latency_p95_ms": current.sla_latency_p95_ms,
        "target_correction_rate": current.target_correction_rate,
        "segment_ignore_keys": current.segment_ignore_keys,
    }
    if segment_ignore_keys is not None:
        current.segment_ignore_keys = segment_ignore_keys
    current.sla_latency_p95_ms = sla_latency_p95_ms
    current.target_correction_rate = target_correction_rate
    current.updated_at = timezone.now()
    current.full_clean()
    current.save()
    after = {
        "sla_latency_p95_ms": sla_latency_p95_ms,
        "target_correction_rate": target_correction_rate,
        "segment_ignore_keys": current.segment_ignore_keys,
    }
    if after != before:
        audit(
            project=project,
            actor=actor,
            action="dashboard_settings_update",
            target=current,
            before=before,
            after=after,
        )
    return current
