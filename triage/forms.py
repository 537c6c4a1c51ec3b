from django import forms

from .models import ErrorCategory


class RenameForm(forms.Form):
    title = forms.CharField(max_length=200)


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, category):
        return f"#{category.pk} {category.title} ({category.size})"


class MergeForm(forms.Form):
    target = CategoryChoiceField(queryset=ErrorCategory.objects.none(), label="Merge into")

    def __init__(self, *args, category: ErrorCategory, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = ErrorCategory.objects.filter(
            project=category.project, merged_into__isnull=True, is_unsorted=False
        ).exclude(pk=category.pk)


class ItemsActionForm(forms.Form):
    """One form for the bulk actions on selected items of a category."""

    ACTIONS = [
        ("move", "Move to"),
        ("split", "Split into a new category"),
        ("not_error", "Not a model error"),
    ]

    action = forms.ChoiceField(choices=ACTIONS)
    items = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    target = CategoryChoiceField(queryset=ErrorCategory.objects.none(), required=False)
    title = forms.CharField(max_length=200, required=False, label="New category title")

    def __init__(self, *args, category: ErrorCategory, item_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i, i) for i in item_ids]
        self.fields["target"].queryset = ErrorCategory.objects.filter(
            project=category.project, merged_into__isnull=True, is_unsorted=False
        ).exclude(pk=category.pk)

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("target"):
            self.add_error("target", "Choose the category to move the items to.")
        return data
