"""Forms of the customer page. Every message a customer can see is translated (en, ko)."""

import difflib

from django import forms
from django.utils.translation import gettext_lazy as _

from .dedup import normalise
from .models import Project
from .validation import Limits

LIMITS = Limits()
MAX_SUGGESTIONS = 8

PICK_FROM_LIST = _("Please pick one of the answers from the list.")
SAME_AS_OUR_ANSWER = _("That is the answer we gave. If it was right, press 👍 instead.")
SAY_SOMETHING = _("Tell us the right answer, or describe the problem.")
SAVE_FAILED = _("We could not save this. Please try again.")
HONEYPOT_FIELD = "website"


class CustomerForm(forms.Form):
    """Shared by both forms of the page: the honeypot (a field people never see or fill:
    hidden by CSS, out of the tab order, ignored by autofill) and the page's form key, which
    the view checks (`links.form_key_valid`)."""

    form_key = forms.CharField(widget=forms.HiddenInput, max_length=200)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    @property
    def filled_honeypot(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD))


class RatingForm(CustomerForm):
    rating = forms.TypedChoiceField(
        choices=[("1", _("Yes")), ("-1", _("No"))], coerce=int, label=_("Was this right?")
    )


def label_options(project: Project) -> list[tuple[str, str]]:
    """(label, name shown to customers) for the project's label set, in its order."""
    return [(label, project.label_display(label)) for label in project.labels]


class DetailsForm(CustomerForm):
    """The right answer and/or a description. With a label set the answer must be one of its
    labels: typed (matched on the label or its name, ignoring case and punctuation) or picked
    from the suggestions the page offers when the typed text matches none."""

    corrected_label = forms.CharField(required=False, max_length=200, label=_("The right answer"))
    pick = forms.CharField(required=False, max_length=200)
    text = forms.CharField(
        required=False,
        max_length=LIMITS.max_feedback_text,
        label=_("Describe the problem (optional)"),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": LIMITS.max_feedback_text}),
    )

    def __init__(self, *args, project: Project, predicted_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.predicted_label = predicted_label
        self.options = label_options(project)
        self.suggestions: list[tuple[str, str]] = []
        if not project.has_label_set:
            self.fields["corrected_label"].label = _("What should the answer have been?")

    def _resolve(self, value: str) -> str | None:
        wanted = normalise(value)
        for label, name in self.options:
            if wanted in (normalise(label), normalise(name)):
                return label
        return None

    def _suggest(self, value: str) -> list[tuple[str, str]]:
        wanted = normalise(value)
        names = {normalise(name): (label, name) for label, name in self.options}
        found = [option for key, option in names.items() if wanted and wanted in key]
        close = difflib.get_close_matches(wanted, list(names), n=MAX_SUGGESTIONS, cutoff=0.5)
        found += [names[key] for key in close if names[key] not in found]
        return [option for option in found if option[0] != self.predicted_label][:MAX_SUGGESTIONS]

    def clean(self):
        data = super().clean()
        typed = (data.get("corrected_label") or "").strip()
        picked = data.get("pick") or ""
        label = ""
        if self.project.has_label_set:
            if picked:
                label = picked if picked in self.project.labels else ""
                if not label:
                    self.add_error("corrected_label", PICK_FROM_LIST)
            elif typed:
                label = self._resolve(typed) or ""
                if not label:
                    self.suggestions = self._suggest(typed)
                    self.add_error("corrected_label", PICK_FROM_LIST)
        else:
            label = typed
        if label and label == self.predicted_label:
            self.add_error("corrected_label", SAME_AS_OUR_ANSWER)
            label = ""
        data["corrected_label"] = label
        data["text"] = (data.get("text") or "").strip()
        if not self.errors and not label and not data["text"]:
            raise forms.ValidationError(SAY_SOMETHING)
        return data
