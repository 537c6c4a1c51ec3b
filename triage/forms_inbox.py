"""The inbox's filter form: GET parameters in, `InboxFilters` out."""

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import Feedback, Project

from .selectors_inbox import InboxFilters, model_version_choices

KNOWN_SOURCES = ["widget", "api", "import"]


class InboxFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search text"),
        widget=forms.SearchInput(attrs={"placeholder": _("words the customer wrote")}),
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", _("any kind")), *Feedback.Kind.choices], label=_("Kind")
    )
    model_version = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Model version")
    )
    predicted_label = forms.CharField(
        required=False,
        max_length=200,
        label=_("Predicted"),
        widget=forms.TextInput(attrs={"list": "inbox-labels"}),
    )
    corrected_label = forms.CharField(
        required=False,
        max_length=200,
        label=_("Corrected to"),
        widget=forms.TextInput(attrs={"list": "inbox-labels"}),
    )
    source = forms.CharField(
        required=False,
        max_length=30,
        label=_("Source"),
        widget=forms.TextInput(attrs={"list": "inbox-sources"}),
    )
    since = forms.DateField(
        required=False, label=_("Since"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    triage_state = forms.ChoiceField(
        required=False,
        choices=[("", _("any state")), *Feedback.TriageState.choices],
        label=_("State"),
    )
    include_superseded = forms.BooleanField(required=False, label=_("Include changed answers"))

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        versions = model_version_choices(project=project)
        self.fields["model_version"].choices = [("", _("any version")), *versions]
        self.labels = list(project.labels)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("Must be on or after the start date."))
        return data

    def filters(self) -> InboxFilters:
        """The valid filters; an invalid field is ignored (and shown with its error)."""
        data = self.cleaned_data if self.is_bound else {}
        valid = {name: value for name, value in data.items() if name not in self.errors}
        return InboxFilters(
            kind=valid.get("kind") or "",
            model_version_id=valid.get("model_version"),
            predicted_label=(valid.get("predicted_label") or "").strip(),
            corrected_label=(valid.get("corrected_label") or "").strip(),
            source=(valid.get("source") or "").strip(),
            since=valid.get("since"),
            until=valid.get("until"),
            triage_state=valid.get("triage_state") or "",
            q=(valid.get("q") or "").strip(),
            include_superseded=bool(valid.get("include_superseded")),
        )


class CorrectionVerdictForm(forms.Form):
    """A verdict from the category page or the inbox: the button pressed names the item and
    the verdict (`judge` = "<feedback id>:<accept|reject|relabel>"); a relabel reads the
    item's own label box (`label-<feedback id>`). The service checks the rest."""

    judge = forms.CharField(max_length=40)

    def clean(self):
        from .services.correction_reviews import UNKNOWN_VERDICT, VERDICTS

        cleaned = super().clean()
        item, _sep, verdict = (cleaned.get("judge") or "").partition(":")
        if not (item.isascii() and item.isdigit() and len(item) < 19) or verdict not in VERDICTS:
            raise forms.ValidationError(UNKNOWN_VERDICT)
        cleaned["item"], cleaned["verdict"] = int(item), verdict
        label = self.data.get(f"label-{int(item)}", "")
        cleaned["label"] = label if isinstance(label, str) else ""
        return cleaned
