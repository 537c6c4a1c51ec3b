"""A project's settings in one place for its admins: what customers see (label names, the
input, embedding, links), privacy (redaction, retention) and the team's targets (SLA,
correction rate, review and regression thresholds). Spans the apps, hence here, above them."""

from django import forms
from django.db import transaction
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from core.audit import audit
from dashboards.forms import SettingsForm as DashboardForm  # the quality page's own
from dashboards.models import DashboardSettings
from feedback.models import Project
from triage.models import ReviewSettings

NAME_LINE = gettext_noop("Line {line}: write label = Name.")
UNKNOWN_LABEL = gettext_noop("Line {line}: {label} is not one of the labels above.")


class ProjectForm(forms.ModelForm):
    labels = forms.CharField(
        required=False,
        label=_("Labels"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("The labels the model answers with, one per line. Empty: any label."),
    )
    label_names = forms.CharField(
        required=False,
        strip=False,  # line numbers in errors count from the first line as typed
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("Names shown to customers"),
        help_text=_(
            "One per line: label = Name (card_arrival = Card delivery). A label without "
            "a name is shown with its underscores as spaces."
        ),
    )

    label_names_ko = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("Names shown to customers reading Korean"),
        help_text=_(
            "One per line: label = 이름 (card_arrival = 카드 배송). A label without one is "
            "shown with its name above."
        ),
    )

    class Meta:
        model = Project
        fields = [
            "name", "labels", "label_names", "show_input_to_customer", "frame_ancestors",
            "feedback_link_days", "pii_redaction", "prediction_retention_days",
        ]  # fmt: skip
        labels = {
            "name": _("Name"),
            "show_input_to_customer": _("Show the model's input on the feedback page"),
            "frame_ancestors": _("Sites allowed to embed the feedback page"),
            "feedback_link_days": _("Feedback links stay valid (days)"),
            "pii_redaction": _("Redact emails, phone and card numbers"),
            "prediction_retention_days": _("Keep predictions without feedback (days)"),
        }
        # The models' help texts are English; the page's are translated here.
        help_texts = {
            "show_input_to_customer": _("Show the model's input on the customer's feedback page."),
            "frame_ancestors": _(
                "Origins allowed to embed the feedback page, space-separated "
                "(e.g. https://shop.example.com). Empty: no framing."
            ),
            "feedback_link_days": _("How long a feedback link sent to a customer stays valid."),
            "pii_redaction": _("Redact emails, phone and card numbers from customer text."),
            "prediction_retention_days": _(
                "Predictions without feedback are deleted this many days after they were "
                "served (counts on the quality pages stay). Empty: keep them all."
            ),
        }

    def __init__(self, *args, instance: Project, **kwargs):
        initial = {
            "labels": "\n".join(instance.labels),
            "label_names": "\n".join(f"{k} = {v}" for k, v in instance.label_names.items()),
            "label_names_ko": "\n".join(
                f"{k} = {v}" for k, v in instance.label_translations.get("ko", {}).items()
            ),
        }
        super().__init__(*args, instance=instance, initial=initial, **kwargs)

    def clean_labels(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["labels"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self):
        data = super().clean()
        labels = set(data.get("labels") or [])
        for field in ("label_names", "label_names_ko"):
            names, problems = {}, []
            for number, line in enumerate((data.get(field) or "").splitlines(), 1):
                if not line.strip():
                    continue
                label, equals, name = line.partition("=")
                label, name = label.strip(), name.strip()
                if not equals or not label or not name:
                    problems.append(gettext(NAME_LINE).format(line=number))
                elif labels and label not in labels:
                    problems.append(gettext(UNKNOWN_LABEL).format(line=number, label=label))
                else:
                    names[label] = name
            if problems:
                self.add_error(field, problems)
            data[field] = names
        return data

    def save(self, commit=True):
        translations = dict(self.instance.label_translations)
        translations["ko"] = self.cleaned_data.get("label_names_ko") or {}
        self.instance.label_translations = {k: v for k, v in translations.items() if v}
        return super().save(commit)


class ReviewForm(forms.ModelForm):
    class Meta:
        model = ReviewSettings
        fields = ["big_category_size", "regression_share", "regression_min_predictions", "digest"]
        labels = {
            "big_category_size": _("Big category size"),
            "regression_share": _("Regression share"),
            "regression_min_predictions": _("Regression min predictions"),
            "digest": _("Digest"),
        }
        help_texts = {
            "big_category_size": _("Categories at least this big need an owner (review agenda)."),
            "regression_share": _(
                "A fixed category regresses when its rate comes back to this share of its "
                "rate before the fix (0.5 = the fix removed less than half of the errors)."
            ),
            "regression_min_predictions": _(
                "Predictions of the category's labels needed before judging."
            ),
            "digest": _("Send the weekly digest email."),
        }


def settings_forms(project: Project, data=None) -> dict[str, forms.ModelForm]:
    dashboard = DashboardSettings.objects.filter(project=project).first()
    review = ReviewSettings.objects.filter(project=project).first()
    return {
        "project": ProjectForm(data, instance=project, prefix="project"),
        "dashboard": DashboardForm(
            data, instance=dashboard or DashboardSettings(project=project), prefix="dashboard"
        ),
        "review": ReviewForm(
            data, instance=review or ReviewSettings(project=project), prefix="review"
        ),
    }


def settings_save(*, project: Project, forms_: dict[str, forms.ModelForm], actor) -> list[str]:
    """Save valid forms together and audit what changed; returns the changed fields' names."""
    changed = [f"{part}.{name}" for part, form in forms_.items() for name in form.changed_data]
    with transaction.atomic():
        for form in forms_.values():
            form.save()
        if changed:
            audit(project=project, actor=actor, action="settings_change", target=project,
                  fields=changed)  # fmt: skip
    return changed
