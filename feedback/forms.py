from django import forms

from .validation import Limits

LIMITS = Limits()


class CustomerFeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[("1", "👍 Yes"), ("-1", "👎 No")],
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
        label="Was this right?",
    )
    corrected_label = forms.CharField(required=False, max_length=200, label="The right answer")
    text = forms.CharField(
        required=False,
        max_length=LIMITS.max_feedback_text,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="What went wrong?",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        if project.has_label_set:
            self.fields["corrected_label"] = forms.ChoiceField(
                required=False,
                label="The right answer",
                choices=[("", "—")]
                + [(label, project.label_display(label)) for label in project.labels],
            )

    def clean(self):
        data = super().clean()
        if data.get("rating") is None and not data.get("corrected_label") and not data.get("text"):
            raise forms.ValidationError("Tell us whether the answer was right, or what went wrong.")
        return data

    def feedback_items(self, *, request_id: str) -> list[dict]:
        """The API feedback items this submission stands for."""
        data = self.cleaned_data
        items = []
        if data.get("rating") is not None:
            items.append({"kind": "rating", "request_id": request_id, "rating": data["rating"]})
        if data.get("corrected_label"):
            items.append(
                {
                    "kind": "correction",
                    "request_id": request_id,
                    "corrected_label": data["corrected_label"],
                    **({"text": data["text"]} if data.get("text") else {}),
                }
            )
        elif data.get("text"):
            items.append({"kind": "complaint", "request_id": request_id, "text": data["text"]})
        return items
