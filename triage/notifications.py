"""Emails: @mentions in comments and the weekly digest (HTML and text parts)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from core.public_urls import public_url
from feedback.models import Membership, Project

from .models import Comment, ReviewSession
from .selectors import review_agenda


def _send(*, subject: str, template: str, context: dict, to: list[str]) -> int:
    text = render_to_string(f"triage/email/{template}.txt", context)
    html = render_to_string(f"triage/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    return message.send()


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
    for user in recipients:
        sent += _send(
            subject=f"[{comment.project.name}] {comment.author} mentioned you on “{target}”",
            template="mention",
            context={"comment": comment, "target": target, "url": public_url(path), "user": user},
            to=[user.email],
        )
    return sent


def digest_send(*, project: Project) -> int:
    """The weekly digest: the review agenda since the last review, to every member with an
    email. Returns the number of emails sent (0 when the agenda is empty)."""
    from datetime import timedelta

    from django.utils import timezone

    last = ReviewSession.objects.filter(project=project).order_by("-started_at").first()
    since = last.started_at if last else timezone.now() - timedelta(days=7)
    agenda = review_agenda(project=project, since=since)
    if not any(agenda.values()):
        return 0
    emails = sorted(
        set(
            Membership.objects.filter(project=project)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not emails:
        return 0
    context = {
        "project": project,
        "agenda": agenda,
        "since": since,
        "board_url": public_url(reverse("board", args=[project.slug])),
        "review_url": public_url(reverse("review-list", args=[project.slug])),
        "category_url": public_url(f"/p/{project.slug}/categories/"),
    }
    return _send(
        subject=f"[{project.name}] Weekly review: {sum(len(v) for v in agenda.values())} items",
        template="digest",
        context=context,
        to=emails,
    )


def digests_send() -> int:
    """The weekly digest of every project that has it on; returns the e-mails sent."""
    from .services.verification import review_settings

    return sum(
        digest_send(project=project)
        for project in Project.objects.all()
        if review_settings(project).digest
    )
