"""The audit log: one call for every app."""

from .actors import user_or_none
from .models import AuditEvent


def audit(*, project, actor, action: str, target, **data) -> AuditEvent:
    """Record who did what to which object (`data`: JSON details, never customer text)."""
    return AuditEvent.objects.create(
        project=project,
        actor=user_or_none(actor),
        action=action,
        target_type=type(target).__name__.lower(),
        target_id=target.pk,
        data=data,
    )
