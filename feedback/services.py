"""Writes of the feedback app: projects, API keys, feedback links (ingest: ingest.py)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from . import keys, links
from .models import ApiKey, Project

# --- projects and keys -----------------------------------------------------------------------


def project_create(
    *,
    slug: str,
    name: str,
    labels: Sequence[str] = (),
    label_names: dict | None = None,
    label_translations: dict | None = None,
) -> Project:
    """Create a project; its label set may be empty (any label accepted). `label_translations`:
    language -> label -> name shown to customers reading that language."""
    project = Project(
        slug=slug,
        name=name,
        labels=list(labels),
        label_names=label_names or {},
        label_translations=label_translations or {},
    )
    project.full_clean()
    project.save()
    return project


def api_key_scopes_clean(scopes) -> list[str]:
    """The scopes as stored (sorted, each once). ValidationError when there are none or one is
    not a known scope: every way of making or changing a key (command, admin) goes through
    here."""
    known = ", ".join(ApiKey.Scope.values)
    if isinstance(scopes, str | bytes | Mapping) or not isinstance(scopes, Iterable):
        raise ValidationError(
            gettext('Scopes are a list, e.g. ["ingest"]; choose among %(known)s.')
            % {"known": known}
        )
    scopes = list(scopes)
    unknown = sorted({str(s) for s in scopes} - set(ApiKey.Scope.values))
    if unknown or not scopes:
        among = gettext("Scopes must be among %(known)s.") % {"known": known}
        if unknown:
            names = ", ".join(unknown)
            among = gettext("Unknown scopes: %(names)s.") % {"names": names} + " " + among
        raise ValidationError(among, code="invalid_scope")
    return sorted(set(scopes))


def api_key_create(
    *, project: Project, scopes: Iterable[str], name: str = "", created_by=None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret, which is never retrievable again."""
    scopes = api_key_scopes_clean(scopes)
    full_key, prefix = keys.key_generate()
    api_key = ApiKey.objects.create(
        project=project,
        name=name,
        prefix=prefix,
        key_hash=keys.key_hash(full_key),
        scopes=scopes,
        created_by=created_by,
    )
    return api_key, full_key


def api_key_update(*, api_key: ApiKey, name: str, scopes: Iterable[str]) -> ApiKey:
    """Rename a key or change its scopes (its secret and project never change)."""
    api_key.name, api_key.scopes = name, api_key_scopes_clean(scopes)
    api_key.save(update_fields=["name", "scopes"])
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke a key from now on; returns False when it was already revoked."""
    return bool(
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


# --- feedback links --------------------------------------------------------------------------


def feedback_link_token(*, project: Project, prediction_id: int) -> tuple[str, links.LinkClaims]:
    """A signed token for the customer's feedback page, valid for the project's lifetime."""
    claims = links.link_token_create(
        project_id=project.id,
        prediction_id=prediction_id,
        lifetime=timedelta(days=project.feedback_link_days),
    )
    return links.link_token_sign(claims), claims
