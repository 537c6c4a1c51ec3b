"""Emails: @mentions in comments and the weekly digest (HTML and text parts).

Each mail goes to one recipient through core.mail.send_once, which records it: the tasks are
acknowledged late and may run twice, and nobody gets the same mention or digest twice.
"""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.language import languages_of
from core.mail import send_once
from core.public_urls import public_url
from feedback.models import Membership, Project

from .models import Comment, ReviewSession
from .selectors import review_agenda


def _render(template: str, context: dict) -> tuple[str, str]:
    return (
        render_to_string(f"triage/email/{template}.txt", context),
        render_to_string(f"triage/email/{template}.html", context),
    )


def _message(*, subject: str, body: tuple[str, str], to: str) -> EmailMultiAlternatives:
    text, html = body
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


def mentions_notify(*, comment_id: int, user_ids: list[int]) -> int:
    """Tell mentioned members about a comment. Returns the number of emails sent."""
    comment = Comment.objects.select_related("author", "category", "improvement", "project").get(
        id=comment_id
    )
    target = comment.category or comment.improvement
    if comment.category:
        path = reverse("category-detail", args=[comment.project.slug, target.id])
    else:
        path = reverse("improvement-detail", args=[comment.project.slug, target.id])
    # Only members, checked again: a mention never reaches someone outside the project.
    recipients = (
        get_user_model()
        .objects.filter(id__in=user_ids, memberships__project=comment.project)
        .exclude(email="")
    )
    sent = 0
    recipients = list(recipients)
    languages = languages_of(user.id for user in recipients)
    for user in recipients:
        # In the recipient's language (their setting, else the site's), not the sender's.
        with translation.override(languages[user.id]):
            subject = _("[%(project)s] %(author)s mentioned you on “%(target)s”") % {
                "project": comment.project.name,
                "author": comment.author,
                "target": target,
            }
            context = {"comment": comment, "target": target, "url": public_url(path), "user": user}
            message = _message(subject=subject, body=_render("mention", context), to=user.email)
        sent += send_once(message, kind="mention", key=f"comment:{comment.id}")
    return sent


def digest_key(*, project: Project, day: date) -> str:
    """Names the digest of the project's week: one per member and ISO week, however often
    the task runs."""
    year, week, _ = day.isocalendar()
    return f"project:{project.id}:{year}-W{week:02d}"


def digest_send(*, project: Project) -> int:
    """The weekly digest: the review agenda since the last review, to every member with an
    email, one mail each. Returns the number of emails sent now (0 when the agenda is empty
    or every member already has this week's)."""
    last = ReviewSession.objects.filter(project=project).order_by("-started_at").first()
    since = last.started_at if last else timezone.now() - timedelta(days=7)
    agenda = review_agenda(project=project, since=since)
    if not any(agenda.values()):
        return 0
    members = dict(
        Membership.objects.filter(project=project)
        .exclude(user__email="")
        .values_list("user__email", "user_id")
    )
    if not members:
        return 0
    languages = languages_of(members.values())
    context = {
        "project": project,
        "agenda": agenda,
        "since": since,
        "board_url": public_url(reverse("board", args=[project.slug])),
        "review_url": public_url(reverse("review-list", args=[project.slug])),
        "category_url": public_url(f"/p/{project.slug}/categories/"),
    }
    count = sum(len(v) for v in agenda.values())
    key = digest_key(project=project, day=timezone.localdate())
    rendered = {}  # language -> (subject, body): one rendering per language, not per member
    sent = 0
    for email, user_id in sorted(members.items()):
        language = languages[user_id]
        if language not in rendered:
            with translation.override(language):
                subject = ngettext(
                    "[%(project)s] Weekly review: %(count)d item",
                    "[%(project)s] Weekly review: %(count)d items",
                    count,
                ) % {"project": project.name, "count": count}
                rendered[language] = (subject, _render("digest", context))
        subject, body = rendered[language]
        sent += send_once(_message(subject=subject, body=body, to=email), kind="digest", key=key)
    return sent


def digests_send() -> int:
    """The weekly digest of every project that has it on; returns the e-mails sent."""
    from .services.verification import review_settings

    return sum(
        digest_send(project=project)
        for project in Project.objects.all()
        if review_settings(project).digest
    )
