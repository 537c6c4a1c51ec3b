"""The overview page's period, version and reference filters: GET parameters in, an
`OverviewQuery` out. An invalid field falls back to its default and is shown with its error."""

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

from django import forms
from django.core.validators import EmailValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from feedback.models import Project

from . import webhooks
from .models import AlertRule, DashboardSettings
from .quality.overview import OverviewQuery
from .quality.queries import data_end

PERIODS = [
    ("7", _("last 7 days")),
    ("28", _("last 28 days")),
    ("90", _("last 90 days")),
    ("365", _("last year")),
    ("custom", _("custom")),
]
DEFAULT_PERIOD_DAYS = 28
MAX_PERIOD_DAYS = 400
AUTO_DAILY_MAX_DAYS = 92
MAX_ALERT_EMAILS = 20
BAD_RANGE = gettext_noop("Must be after the start date.")
TOO_LONG = gettext_noop("A period is at most {days} days.")


def _day_start(value) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


class OverviewForm(forms.Form):
    period = forms.ChoiceField(
        choices=PERIODS, required=False, initial=str(DEFAULT_PERIOD_DAYS), label=_("Period")
    )
    since = forms.DateField(
        required=False, label=_("Since"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False,
        label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Inclusive."),
    )
    versions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label=_("Model versions")
    )
    bucket = forms.ChoiceField(
        choices=[("", _("auto")), ("day", _("per day")), ("week", _("per week"))],
        required=False,
        label=_("Bucket"),
        help_text=format_lazy(
            _("Auto: per day up to {days} days, per week beyond."), days=AUTO_DAILY_MAX_DAYS
        ),
    )
    reference = forms.ChoiceField(
        choices=[
            ("previous", _("previous version's first weeks")),
            ("window", _("a chosen window")),
        ],
        required=False,
        label=_("Drift reference"),
    )
    reference_since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Reference from")
    )
    reference_until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Reference to")
    )

    def __init__(self, data=None, *args, project: Project, **kwargs):
        if data is not None and not data.get("period"):
            # The selector shows the period the page is drawn for, also when only other
            # filters were given (a version, the bucket).
            data = data.copy()
            data["period"] = str(DEFAULT_PERIOD_DAYS)
        super().__init__(data, *args, **kwargs)
        self.project = project
        self.version_objects = list(project.model_versions.order_by("released_at", "id"))
        self.fields["versions"].choices = [(v.version, v.version) for v in self.version_objects]

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            since, until = data.get("since"), data.get("until")
            if not since:
                self.add_error("since", gettext("Choose a start date for a custom period."))
            if since and until and until < since:
                self.add_error("until", gettext(BAD_RANGE))
            if since and until and (until - since).days >= MAX_PERIOD_DAYS:
                self.add_error("until", gettext(TOO_LONG).format(days=MAX_PERIOD_DAYS))
        if data.get("reference") == "window":
            since, until = data.get("reference_since"), data.get("reference_until")
            if not since or not until:
                self.add_error(
                    "reference_since", gettext("Choose both dates of the reference window.")
                )
            elif until < since:
                self.add_error("reference_until", gettext(BAD_RANGE))
        return data

    def query(self) -> OverviewQuery:
        data = self.cleaned_data if self.is_bound else {}
        valid = {k: v for k, v in data.items() if k not in self.errors and v not in (None, "")}
        end = data_end(self.project) or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        if valid.get("period") == "custom" and valid.get("since"):
            since = _day_start(valid["since"])
            until = _day_start(valid["until"]) + timedelta(days=1) if valid.get("until") else end
        else:
            days = int(valid.get("period") or DEFAULT_PERIOD_DAYS)
            until, since = end, end - timedelta(days=days)
        chosen = set(valid.get("versions") or [])
        # A point per day over a year is unreadable (and thousands of table rows): weeks.
        auto = "day" if until - since <= timedelta(days=AUTO_DAILY_MAX_DAYS) else "week"
        reference_window = valid.get("reference") == "window" and "reference_since" in valid
        return OverviewQuery(
            since=since,
            until=until,
            bucket=valid.get("bucket") or auto,
            versions=[v for v in self.version_objects if v.version in chosen],
            reference="window" if reference_window else "previous",
            reference_since=_day_start(valid["reference_since"]) if reference_window else None,
            reference_until=_day_start(valid["reference_until"]) + timedelta(days=1)
            if reference_window and valid.get("reference_until")
            else None,
            project_versions=self.version_objects,
        )


class KeyListField(forms.CharField):
    """Metadata keys written comma- or line-separated, kept as a list."""

    MAX_KEYS = 50

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        keys = [k.strip() for k in (value or "").replace("\n", ",").split(",") if k.strip()]
        if len(keys) > self.MAX_KEYS or any(len(k) > 100 for k in keys):
            raise forms.ValidationError(
                _("At most %(count)d keys of at most 100 characters each."),
                params={"count": self.MAX_KEYS},
            )
        return list(dict.fromkeys(keys))


class SettingsForm(forms.ModelForm):
    segment_ignore_keys = KeyListField(
        required=False,
        label=_("Segment keys to ignore"),
        help_text=_(
            "Metadata keys the segments leave out (ids, free text), separated by commas; applies "
            "to the hours counted from then on."
        ),
    )

    class Meta:
        model = DashboardSettings
        fields = ["sla_latency_p95_ms", "target_correction_rate", "segment_ignore_keys"]
        labels = {
            "sla_latency_p95_ms": _("Latency SLA, p95 (ms)"),
            "target_correction_rate": _("Target correction rate"),
        }
        help_texts = {
            "sla_latency_p95_ms": _(
                "Latency p95 the service promises, in milliseconds (empty: no SLA)."
            ),
            "target_correction_rate": _(
                "Correction rate acceptable for automatic answers (0 to 1)."
            ),
        }


class AlertRuleForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label=_("Webhook URL")
    )

    class Meta:
        model = AlertRule
        fields = AlertRule.EDITABLE_FIELDS
        labels = {
            "name": _("Name"),
            "metric": _("Metric"),
            "comparator": _("Comparison"),
            "threshold": _("Threshold"),
            "window_hours": _("Window (hours)"),
            "min_volume": _("Minimum predictions in the window"),
            "segment_key": _("Only where the metadata key"),
            "segment_value": _("has the value"),
            "email_to": _("Email to"),
            "webhook_url": _("Webhook URL"),
            "enabled": _("Enabled"),
        }
        help_texts = {
            "email_to": _("Addresses to notify, separated by commas."),
            "segment_key": _("Optional: a slice of the traffic, e.g. channel (rates only)."),
            "segment_value": _("e.g. kiosk"),
        }
        widgets = {"email_to": forms.TextInput(attrs={"placeholder": "oncall@example.com"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The empty choice says what to do, not "---------".
        metric = self.fields["metric"]
        metric.choices = [("", _("Choose a metric")), *(c for c in metric.choices if c[0])]

    def clean_email_to(self):
        value = self.cleaned_data.get("email_to") or ""
        addresses = [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]
        if len(addresses) > MAX_ALERT_EMAILS:
            raise forms.ValidationError(
                gettext("At most %(count)s addresses.") % {"count": MAX_ALERT_EMAILS}
            )
        validator = EmailValidator()
        for address in addresses:
            try:
                validator(address)
            except forms.ValidationError as error:
                raise forms.ValidationError(
                    gettext("“%(address)s” is not an email address.") % {"address": address[:100]}
                ) from error
        return ", ".join(addresses)

    def clean_webhook_url(self):
        url = (self.cleaned_data.get("webhook_url") or "").strip()
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise forms.ValidationError(webhooks.BAD_SCHEME)
        return url

    def clean_threshold(self):
        threshold = self.cleaned_data.get("threshold")
        metric = self.data.get("metric")
        rates = ("correction_rate", "complaint_rate", "top_label_share")
        if threshold is not None and metric in rates and threshold > 1:
            raise forms.ValidationError(gettext("A rate or share is between 0 and 1."))
        return threshold


class AllowListForm(forms.Form):
    webhook_allow_list = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "10.0.0.0/8\nalerts.internal"}),
        label=_("Webhook allow list"),
        help_text=_(
            "Internal webhook receivers to allow: one IP, network (10.0.0.0/8) or host name per "
            "line. Cloud metadata addresses are always refused."
        ),
    )

    def clean_webhook_allow_list(self):
        text = self.cleaned_data.get("webhook_allow_list") or ""
        try:
            webhooks.AllowList.parse(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        return text
