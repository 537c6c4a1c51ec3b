"""Forms of the CSV import pages (team pages, en and ko)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import csvparse

ENCODING_CHOICES = [
    ("utf-8", _('UTF-8 (most tools; Excel\'s "CSV UTF-8")')),
    ("cp949", _('CP949 / EUC-KR (Korean Excel\'s plain "CSV")')),
]
DELIMITER_CHOICES = [
    (",", _("comma ,")),
    (";", _("semicolon ;")),
    ("\t", _("tab")),
    ("|", _("pipe |")),
]
COMMON_TIMEZONES = ["UTC", "Asia/Seoul", "Asia/Tokyo", "Europe/London", "Europe/Berlin",
                    "America/New_York", "America/Los_Angeles"]  # fmt: skip
FIELD_LABELS = {
    "text": _("Complaint text"),
    "created_at": _("Date and time"),
    "request_id": _("Request id of the prediction (optional)"),
    "customer_ref": _("Customer reference (optional)"),
    "external_id": _("Ticket id (optional, recommended)"),
}


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(choices=ENCODING_CHOICES, initial="utf-8", label=_("Encoding"))
    delimiter = forms.ChoiceField(choices=DELIMITER_CHOICES, initial=",", label=_("Separator"))


class ImportMappingForm(forms.Form):
    """One select per item field over the file's header; the timezone of naive times."""

    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        label=_("Timezone"),
        help_text=_("For dates written without an offset."),
        widget=forms.TextInput(attrs={"list": "timezones"}),
    )

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(name, name) for name in header]
        for name in csvparse.FIELDS:
            self.fields[name] = forms.ChoiceField(
                choices=choices,
                required=name in csvparse.REQUIRED_FIELDS,
                label=FIELD_LABELS[name],
            )
        self.order_fields([*csvparse.FIELDS, "timezone"])

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in csvparse.FIELDS}
