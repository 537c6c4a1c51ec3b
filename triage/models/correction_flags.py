"""Likely-wrong corrections, stored: the check exports run (triage/exports/checks.py), run over
each project's resolved corrections in the background after a clustering run, so the category
page and the inbox show the flag without computing anything."""

from django.db import models
from django.utils import timezone

from feedback.models import Prediction, Project


class CorrectionFlag(models.Model):
    """A prediction whose resolved correction the check found likely wrong: the model was sure
    of its answer and not of the customer's, and similar corrected inputs do not back the
    customer. Only flagged corrections have a row; the job replaces a project's rows."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    prediction = models.OneToOneField(
        Prediction, on_delete=models.CASCADE, related_name="correction_flag"
    )
    # The correction the check judged (the prediction's resolved corrected label): a later
    # correction to another label is not covered by this flag.
    corrected_label = models.CharField(max_length=200)
    # The evidence shown with the flag: the model's scores for its answer and for the
    # customer's label, and the class thresholds they were held against.
    p_predicted = models.FloatField()
    p_corrected = models.FloatField()
    t_predicted = models.FloatField()
    t_corrected = models.FloatField()
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "checked_at"], name="correction_flag_project")]

    def __str__(self) -> str:
        return f"prediction {self.prediction_id}: correction to {self.corrected_label} likely wrong"
