"""Who is on a project's team: add people (creating their account when needed), change their
role and team, remove them. Every change is audited; a project always keeps an admin."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext, gettext_noop

from core.audit import audit
from core.public_urls import public_url

from .models import Membership, Project

LAST_ADMIN = gettext_noop("A project keeps at least one admin: make someone else admin first.")
ALREADY_MEMBER = gettext_noop("{user} is already a member of this project.")
NO_SUCH_USER = gettext_noop(
    "No account with the e-mail address {email}; give a username to create one."
)
AMBIGUOUS_EMAIL = gettext_noop("Several accounts use {email}; give the username instead.")
NEED_USER = gettext_noop("Give a username or an e-mail address.")
BAD_ROLE = gettext_noop("Choose a role: viewer, reviewer or admin.")
BAD_TEAM = gettext_noop("Choose a team: model or data (or none).")


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    user_created: bool
    # For an account without a usable password: a one-time link to set it (else None).
    set_password_url: str | None


def _check_choices(role: str, team: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": gettext(BAD_ROLE)})
    if team and team not in Membership.Team.values:
        raise ValidationError({"team": gettext(BAD_TEAM)})


def set_password_url(user, request=None) -> str:
    """A link that lets `user` choose a password. One-time: Django's token is made from the
    password hash and the last login, so it stops working once used (or after
    PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return public_url(reverse("password_reset_confirm", args=[uid, token]), request)


def _find_or_create_user(*, username: str, email: str):
    User = get_user_model()
    username, email = username.strip(), email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as invalid:
            raise ValidationError({"email": invalid.messages}) from invalid
    if username:
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user, False
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        return user, True
    if not email:
        raise ValidationError({"username": gettext(NEED_USER)})
    found = list(User.objects.filter(email__iexact=email)[:2])
    if not found:
        raise ValidationError({"email": gettext(NO_SUCH_USER).format(email=email)})
    if len(found) > 1:
        raise ValidationError({"email": gettext(AMBIGUOUS_EMAIL).format(email=email)})
    return found[0], False


def member_add(
    *, project: Project, actor, username: str = "", email: str = "", role: str, team: str = "",
    request=None,
) -> MemberAdded:  # fmt: skip
    """Add a user to the project with `role` (and `team`), creating the account when the
    username is new. Raises ValidationError (by field) when the input is wrong or the user is
    already a member; nothing is written then."""
    _check_choices(role, team)
    with transaction.atomic():
        user, created = _find_or_create_user(username=username, email=email)
        if Membership.objects.filter(project=project, user=user).exists():
            raise ValidationError(
                {"username": gettext(ALREADY_MEMBER).format(user=user.get_username())}
            )
        membership = Membership.objects.create(project=project, user=user, role=role, team=team)
        audit(
            project=project, actor=actor, action="member_add", target=membership,
            user=user.get_username(), role=role, team=team, account_created=created,
        )  # fmt: skip
    link = set_password_url(user, request) if not user.has_usable_password() else None
    return MemberAdded(membership=membership, user_created=created, set_password_url=link)


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(project_id=membership.project_id, role=Membership.Role.ADMIN)
        .exclude(id=membership.id)
        .exists()
    )


def _lock_admins(project_id: int) -> None:
    # Two admins demoting each other at once must not leave the project without one.
    admins = Membership.objects.filter(project_id=project_id, role=Membership.Role.ADMIN)
    list(admins.select_for_update().values_list("id", flat=True))


def member_change(*, membership: Membership, actor, role: str, team: str) -> Membership:
    """Set a member's role and team. The last admin cannot be demoted (ValidationError)."""
    _check_choices(role, team)
    with transaction.atomic():
        _lock_admins(membership.project_id)
        membership = Membership.objects.select_for_update().get(id=membership.id)
        if (membership.role, membership.team) == (role, team):
            return membership
        demoting = membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN
        if demoting and not _other_admins(membership):
            raise ValidationError({"role": gettext(LAST_ADMIN)})
        before = {"role": membership.role, "team": membership.team}
        membership.role, membership.team = role, team
        membership.save(update_fields=["role", "team"])
        audit(
            project=membership.project, actor=actor, action="member_change", target=membership,
            user=membership.user.get_username(), before=before, role=role, team=team,
        )  # fmt: skip
    return membership


def member_remove(*, membership: Membership, actor) -> None:
    """Take a user off the project (their account stays). Not the last admin."""
    with transaction.atomic():
        _lock_admins(membership.project_id)
        membership = Membership.objects.select_for_update().get(id=membership.id)
        if membership.role == Membership.Role.ADMIN and not _other_admins(membership):
            raise ValidationError({"role": gettext(LAST_ADMIN)})
        audit(
            project=membership.project, actor=actor, action="member_remove", target=membership,
            user=membership.user.get_username(), role=membership.role, team=membership.team,
        )  # fmt: skip
        membership.delete()
