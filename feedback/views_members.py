"""The Members page of a project, under /p/<slug>/members/ (project admins)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.access import project_view

from . import members
from .models import Membership
from .selectors import project_memberships

ADMIN = Membership.Role.ADMIN
TEAM_CHOICES = [("", gettext_lazy("No team")), *Membership.Team.choices]
# The role as the flash messages name it, in the reader's language.
ROLE_NAMES = {
    Membership.Role.VIEWER: gettext_lazy("viewer"),
    Membership.Role.REVIEWER: gettext_lazy("reviewer"),
    Membership.Role.ADMIN: gettext_lazy("admin"),
}


class MemberAddForm(forms.Form):
    username = forms.CharField(
        required=False,
        max_length=150,
        label=gettext_lazy("Username"),
        help_text=gettext_lazy("New or existing."),
    )
    email = forms.EmailField(
        required=False,
        label=gettext_lazy("Email"),
        help_text=gettext_lazy("Finds an existing account by e-mail."),
    )
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.VIEWER, label=gettext_lazy("Role")
    )
    team = forms.ChoiceField(choices=TEAM_CHOICES, required=False, label=gettext_lazy("Team"))

    def clean(self):
        data = super().clean()
        if not data.get("username") and not data.get("email"):
            raise ValidationError(members.NEED_USER)
        return data


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, label=gettext_lazy("Role"))
    team = forms.ChoiceField(choices=TEAM_CHOICES, required=False, label=gettext_lazy("Team"))


def _membership_or_404(request, membership_id: int) -> Membership:
    found = project_memberships(project=request.project).filter(id=membership_id).first()
    if found is None:
        raise Http404(_("No such member of this project."))
    return found


def _flash_errors(request, invalid: ValidationError) -> None:
    for message in invalid.messages:
        messages.error(request, message)


@project_view(role=ADMIN)
def member_list(request):
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = members.member_add(
                project=request.project, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            name = added.membership.user.get_username()
            role = ROLE_NAMES.get(added.membership.role, added.membership.role)
            messages.success(
                request,
                _("%(name)s is now %(role)s of this project.") % {"name": name, "role": role},
            )
            if added.set_password_url:
                messages.info(
                    request,
                    _("Send %(name)s this one-time link to set a password: %(url)s")
                    % {"name": name, "url": added.set_password_url},
                )
            return redirect("member-list", slug=request.project.slug)
    rows = [
        (membership, MemberChangeForm(initial={"role": membership.role, "team": membership.team}))
        for membership in project_memberships(project=request.project)
    ]
    context = {"form": form, "rows": rows, "section": "members"}
    return render(request, "feedback/members.html", context)


@require_POST
@project_view(role=ADMIN)
def member_change(request, membership_id: int):
    membership = _membership_or_404(request, membership_id)
    form = MemberChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role and a team from the lists."))
    else:
        try:
            members.member_change(membership=membership, actor=request.user, **form.cleaned_data)
        except ValidationError as invalid:
            _flash_errors(request, invalid)
        else:
            messages.success(
                request,
                _("%(name)s's role is saved.") % {"name": membership.user.get_username()},
            )
    return redirect("member-list", slug=request.project.slug)


@require_POST
@project_view(role=ADMIN)
def member_remove(request, membership_id: int):
    membership = _membership_or_404(request, membership_id)
    try:
        members.member_remove(membership=membership, actor=request.user)
    except ValidationError as invalid:
        _flash_errors(request, invalid)
    else:
        messages.success(
            request, _("%(name)s left the project.") % {"name": membership.user.get_username()}
        )
    return redirect("member-list", slug=request.project.slug)
