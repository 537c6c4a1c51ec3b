from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import ErrorCategory, ImprovementPoint


class RenameForm(forms.Form):
    # Its own id: the bulk actions' "New category title" is on the same page.
    title = forms.CharField(
        max_length=200, label=_("Title"), widget=forms.TextInput(attrs={"id": "id_rename_title"})
    )


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, category):
        return f"#{category.pk} {category.title} ({category.size})"


class MergeForm(forms.Form):
    target = CategoryChoiceField(queryset=ErrorCategory.objects.none(), label=_("Merge into"))

    def __init__(self, *args, category: ErrorCategory, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = ErrorCategory.objects.filter(
            project=category.project, merged_into__isnull=True, is_unsorted=False
        ).exclude(pk=category.pk)


class ItemsActionForm(forms.Form):
    """One form for the bulk actions on selected items of a category."""

    ACTIONS = [
        ("move", _("Move to")),
        ("split", _("Split into a new category")),
        ("not_error", _("Not a model error")),
    ]

    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    items = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True, label=_("Items"))
    target = CategoryChoiceField(
        queryset=ErrorCategory.objects.none(), required=False, label=_("Target")
    )
    title = forms.CharField(
        max_length=200,
        required=False,
        label=_("New category title"),
        widget=forms.TextInput(attrs={"id": "id_split_title"}),
    )

    def __init__(self, *args, category: ErrorCategory, item_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i, i) for i in item_ids]
        self.fields["target"].queryset = ErrorCategory.objects.filter(
            project=category.project, merged_into__isnull=True, is_unsorted=False
        ).exclude(pk=category.pk)

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("target"):
            self.add_error("target", _("Choose the category to move the items to."))
        return data


class BoardFilterForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label=_("All versions"),
        label=_("Model version"),
    )
    label = forms.CharField(
        required=False,
        max_length=200,
        label=_("Label"),
        widget=forms.TextInput(attrs={"list": "board-labels"}),
        help_text=_("A label's name or id, as predicted or corrected."),
    )
    team = forms.ChoiceField(
        required=False,
        label=_("Owner team"),
        choices=[
            ("", _("Any owner")),
            ("model", _("Model team")),
            ("data", _("Data team")),
            ("none", _("No owner")),
        ],
    )
    min_size = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**9,
        label=_("Min. size"),
    )
    show = forms.ChoiceField(
        required=False,
        label=_("Show"),
        choices=[("", _("All")), ("new", _("New only")), ("growing", _("Growing"))],
    )
    sort = forms.ChoiceField(
        required=False,
        label=_("Sort by"),
        choices=[
            ("impact", _("Impact (traffic × correction rate)")),
            ("growth", _("Size × growth")),
            ("size", _("Size")),
            ("estimated", _("Estimated unreported (review queue)")),
            ("recent", _("Newest")),
        ],
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["version"].queryset = project.model_versions.order_by("-released_at")

    def label_choices(self) -> list[tuple[str, str]]:
        """(id, name) of the project's labels, for the label box's suggestions."""
        return [(label, self.project.label_display(label)) for label in self.project.labels]

    def clean_label(self) -> str:
        """The label's id, also when its name was typed ("Card arrival" -> card_arrival)."""
        typed = (self.cleaned_data.get("label") or "").strip()
        folded = typed.casefold().replace(" ", "_")
        for label, name in self.label_choices():
            if (
                typed.casefold() in (label.casefold(), name.casefold())
                or folded == label.casefold()
            ):
                return label
        return typed


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=ErrorCategory.State.choices, label=_("State"))


class AssignForm(forms.Form):
    owner_team = forms.ChoiceField(
        required=False,
        label=_("Owner team"),
        choices=[("", _("No owner team")), *ErrorCategory.Team.choices],
    )
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Nobody"), label=_("Assignee")
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, label="")


class ImprovementForm(forms.ModelForm):
    """Fields of an improvement point; saved through triage.services.improvements."""

    categories = CategoryChoiceField(queryset=None, required=True)

    class Meta:
        from .models import ImprovementPoint

        model = ImprovementPoint
        fields = [
            "title", "kind", "description", "categories", "owner_team", "assignee", "state",
            "target_version", "done_in_version", "decision_date", "due_date",
        ]  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 9}),
            "decision_date": forms.DateInput(attrs={"type": "date"}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
        }
        help_texts = {"description": _("Markdown.")}
        labels = {
            "title": _("Title"),
            "kind": _("Kind"),
            "description": _("Description"),
            "owner_team": _("Owner team"),
            "assignee": _("Assignee"),
            "state": _("State"),
            "target_version": _("Target version"),
            "decision_date": _("Decision date"),
            "due_date": _("Due date"),
        }

    def __init__(self, *args, project, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"] = forms.ModelMultipleChoiceField(
            queryset=ErrorCategory.objects.filter(
                project=project, merged_into__isnull=True, is_unsorted=False
            ).order_by("-size"),
            required=False,
            label=_("Categories"),
            widget=forms.SelectMultiple(attrs={"size": 6}),
            help_text=_("None: a project-wide point."),
        )
        versions = project.model_versions.order_by("-released_at")
        self.fields["target_version"].queryset = versions
        self.fields["done_in_version"].queryset = versions
        self.fields["done_in_version"].label = _("Done in version")
        self.fields["assignee"].queryset = members
        # Say what an empty choice means instead of Django's "---------".
        self.fields["kind"].choices = [("", _("Choose a kind")), *ImprovementPoint.Kind.choices]
        self.fields["owner_team"].choices = [
            ("", _("No owner team")),
            *((team, capfirst(name)) for team, name in ErrorCategory.Team.choices),
        ]
        self.fields["assignee"].empty_label = _("Nobody yet")
        self.fields["target_version"].empty_label = _("No target version")
        self.fields["done_in_version"].empty_label = _("Not done yet")


class ReviewForm(forms.Form):
    attendees = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label=_("Attendees")
    )
    decisions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("Decisions"),
        help_text=_("Markdown."),
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = members
