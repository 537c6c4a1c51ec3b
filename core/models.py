"""Shared records every app writes. Models of the apps are named by string ("feedback.Project"),
so this module imports none of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """Who changed what, when: every human action on categories, items, exports, members..."""

    project = models.ForeignKey("feedback.Project", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=50)
    target_type = models.CharField(max_length=50)
    target_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_time"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class SentEmail(models.Model):
    """An e-mail that went out: one row per (kind, key, recipient), written in the transaction
    that sends it (core.mail.send_once). A task that runs again after a redelivery finds the
    row and does not send that mail a second time."""

    # What sort of mail ("digest", "mention") and what it is about ("project:3:2025-W23",
    # "comment:42"): the pair names one mail, whoever receives it.
    kind = models.CharField(max_length=50)
    key = models.CharField(max_length=200)
    recipient = models.CharField(max_length=254)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key", "recipient"], name="sent_email_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} to {self.recipient}"


class PeriodicLease(models.Model):
    """When a periodic job last started, by name: the first beat message in a period claims
    it, so a second beat process (a rolling deploy, a stray `-B`) doubles no work
    (core.periodic)."""

    name = models.CharField(max_length=100, unique=True)
    # Until then the job is not started again from a beat message.
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.until:%Y-%m-%d %H:%M:%S}"


class UserPreference(models.Model):
    """A member's own settings that follow them across devices: the language of the pages
    (empty: the browser's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)

    def __str__(self) -> str:
        return f"{self.user} ({self.language or 'browser'})"
