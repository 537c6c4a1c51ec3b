"""The export form of the team pages: the API's filters and options as form fields."""

from django import forms
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from .models import DatasetExport, ErrorCategory, ImprovementPoint, ReferenceDataset

BAD_SHARE = gettext_noop("The validation share must be between 0 and 1 (exclusive), e.g. 0.2.")


class _CategoryChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, category):
        return f"#{category.pk} {category.title} ({category.size})"


class _PointChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, point):
        return f"#{point.pk} {point.title}"


class _ReferenceChoice(forms.ModelChoiceField):
    def label_from_instance(self, dataset):
        if not dataset.is_ready:  # the export is refused, saying so, until it is read
            return gettext("%(name)s (being read, not ready yet)") % {"name": dataset.name}
        return gettext("%(name)s (%(count)s inputs, %(date)s)") % {
            "name": dataset.name,
            "count": f"{dataset.key_count:,}",
            "date": f"{dataset.created_at:%Y-%m-%d}",
        }


class ReferenceUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Training set file"),
        help_text=_(
            "CSV (with a header row), JSON Lines or Parquet; only its text column is read, "
            "in the background."
        ),
    )
    text_column = forms.CharField(
        max_length=200,
        initial="text",
        label=_("Text column"),
        help_text=_("The column that holds the input texts."),
    )


class ExportForm(forms.Form):
    """Prefilled from the query string (?categories=1&improvement_points=2) by the buttons on
    a category's and an improvement point's page. `to_request()` gives export_request()'s
    keyword arguments; the service checks everything again against the project."""

    format = forms.ChoiceField(
        choices=DatasetExport.Format.choices,
        initial="jsonl",
        label=_("Format"),
        widget=forms.RadioSelect,
    )
    resolution = forms.ChoiceField(
        choices=DatasetExport.Resolution.choices,
        initial="latest",
        label=_("When customers disagree"),
        help_text=_(
            "Conflicts the policy cannot resolve are left out and counted in the manifest."
        ),
    )
    categories = _CategoryChoice(
        queryset=ErrorCategory.objects.none(), required=False, label=_("Categories")
    )
    improvement_points = _PointChoice(
        queryset=ImprovementPoint.objects.none(), required=False, label=_("Improvement points")
    )
    model_versions = forms.MultipleChoiceField(
        choices=[], required=False, label=_("Model versions")
    )
    labels = forms.MultipleChoiceField(
        choices=[],
        required=False,
        label=_("Labels"),
        help_text=_("Rows whose predicted or corrected label is one of these."),
    )
    since = forms.DateTimeField(
        required=False,
        label=_("Served from (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        required=False,
        label=_("Served before (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reviewed_only = forms.BooleanField(
        required=False,
        label=_("Reviewed only"),
        help_text=_("Only predictions whose feedback is in a category someone has triaged."),
    )
    sources = forms.MultipleChoiceField(
        choices=[("customer", _("Customers' corrections")), ("reviewer", _("Reviewers' labels"))],
        initial=["customer", "reviewer"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Labels from"),
        help_text=_(
            "A reviewer's label wins over customers' corrections of the same prediction; "
            "none ticked takes both."
        ),
    )
    validation = forms.FloatField(
        required=False,
        label=_("Validation share"),
        help_text=_(
            "Optional seeded train/validation split, e.g. 0.2; near-duplicates stay on one side."
        ),
    )
    flagged = forms.ChoiceField(
        choices=[
            ("mark", _("Mark them (a flagged column)")),
            ("exclude", _("Leave them out")),
            ("ignore", _("Do not check")),
        ],
        initial="mark",
        label=_("Likely-wrong corrections"),
        help_text=_(
            "Corrections the model confidently disagrees with and that similar inputs do not back."
        ),
    )
    seed = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, initial=0, label=_("Seed")
    )
    reference = _ReferenceChoice(
        queryset=ReferenceDataset.objects.none(),
        required=False,
        empty_label=_("None"),
        label=_("Reference dataset"),
        help_text=_(
            "Your current training set (uploaded below): rows whose input it already "
            "holds, near-duplicates included, are not new samples."
        ),
    )
    reference_handling = forms.ChoiceField(
        choices=[
            ("mark", _("Mark them (an in_reference column)")),
            ("exclude", _("Leave them out")),
        ],
        initial="mark",
        required=False,
        label=_("Rows in the reference dataset"),
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].queryset = ErrorCategory.objects.filter(
            project=project, merged_into__isnull=True
        ).order_by("-size", "id")
        self.fields["improvement_points"].queryset = ImprovementPoint.objects.filter(
            project=project
        ).order_by("-id")
        versions = project.model_versions.order_by("-released_at").values_list("version", flat=True)
        self.fields["model_versions"].choices = [(v, v) for v in versions]
        self.fields["labels"].choices = [
            (label, project.label_display(label)) for label in project.labels
        ]
        if not project.has_label_set:
            del self.fields["labels"]
        # Failed ones can never be used; those being read are listed, and refused by name.
        self.fields["reference"].queryset = ReferenceDataset.objects.filter(
            project=project
        ).exclude(status=ReferenceDataset.Status.FAILED)

    def clean_validation(self):
        share = self.cleaned_data.get("validation")
        if share is not None and not 0 < share < 1:
            raise forms.ValidationError(gettext(BAD_SHARE))
        return share

    def to_request(self) -> dict:
        data = self.cleaned_data
        filters = {
            "categories": [c.id for c in data["categories"]],
            "improvement_points": [p.id for p in data["improvement_points"]],
            "model_versions": data["model_versions"],
            "labels": data.get("labels") or [],
            "since": data["since"],
            "until": data["until"],
            "reviewed_only": data["reviewed_only"],
            "sources": data["sources"],
        }
        split = None
        if data["validation"] is not None:
            split = {"validation": data["validation"], "seed": data["seed"] or 0}
        return {
            "format": data["format"],
            "filters": filters,
            "resolution_policy": data["resolution"],
            "split": split,
            "flagged": data["flagged"],
            "reference": data["reference"].id if data["reference"] else None,
            "reference_handling": data["reference_handling"] or "mark",
        }
