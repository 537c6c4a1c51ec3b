"""The names customers see for a project's labels, per language: read and changed through the
API (the settings page and `create_project --labels-file` set them too)."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from core.audit import audit

from .models import Project

MAX_NAME = 200
NOT_A_LABEL = gettext_noop("{label} is not one of the project's labels.")
NOT_A_LANGUAGE = gettext_noop("{language} is not a language of this site ({languages}).")
NOT_TEXT = gettext_noop("A name is a text of at most {limit} characters; empty removes it.")
NOT_AN_OBJECT = gettext_noop("An object of label → name.")


@dataclass(frozen=True)
class LabelName:
    label: str
    name: str  # the default name ("" when none is set)
    translations: dict[str, str]  # language -> name


def other_languages() -> list[str]:
    """Languages a name can be given in beside the default one."""
    return [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def label_names_list(project: Project) -> list[LabelName]:
    """Every label of the set in its order; without a set, every label that has a name."""
    named = set(project.label_names)
    for names in project.label_translations.values():
        named |= set(names)
    labels = project.labels or sorted(named)
    return [
        LabelName(
            label=label,
            name=project.label_names.get(label, ""),
            translations={
                language: names[label]
                for language, names in sorted(project.label_translations.items())
                if label in names
            },
        )
        for label in labels
    ]


def _merged(current: dict, changes, project: Project, field: str, errors: dict) -> dict:
    if not isinstance(changes, dict):
        errors[field] = [gettext(NOT_AN_OBJECT)]
        return current
    merged = dict(current)
    for label, name in changes.items():
        where = f"{field}.{label}"
        if project.has_label_set and label not in project.labels:
            errors[where] = [gettext(NOT_A_LABEL).format(label=label)]
        elif not isinstance(name, str) or len(name) > MAX_NAME:
            errors[where] = [gettext(NOT_TEXT).format(limit=MAX_NAME)]
        elif name.strip():
            merged[label] = name.strip()
        else:
            merged.pop(label, None)
    return merged


def label_names_update(
    *, project: Project, names=None, translations=None, api_key=None, actor=None
) -> Project:
    """Set or remove names (an empty name removes one); labels not mentioned keep theirs.
    Nothing changes unless every name is valid: errors name the field as `names.<label>` or
    `translations.<language>.<label>`."""
    errors: dict[str, list[str]] = {}
    new_names = _merged(project.label_names, names or {}, project, "names", errors)
    new_translations = dict(project.label_translations)
    if not isinstance(translations or {}, dict):
        errors["translations"] = [gettext(NOT_AN_OBJECT)]
        translations = {}
    for language, changes in (translations or {}).items():
        if language not in other_languages():
            errors[f"translations.{language}"] = [
                gettext(NOT_A_LANGUAGE).format(
                    language=language, languages=", ".join(other_languages())
                )
            ]
            continue
        current = project.label_translations.get(language, {})
        merged = _merged(current, changes, project, f"translations.{language}", errors)
        new_translations[language] = merged
    if errors:
        raise ValidationError(errors)
    new_translations = {k: v for k, v in new_translations.items() if v}
    if (new_names, new_translations) == (project.label_names, project.label_translations):
        return project
    with transaction.atomic():
        project.label_names, project.label_translations = new_names, new_translations
        project.save(update_fields=["label_names", "label_translations"])
        audit(
            project=project,
            actor=actor,
            action="label_names_change",
            target=project,
            languages=sorted(["default", *new_translations]),
            **({"api_key": api_key.prefix} if api_key is not None else {}),
        )
    return project
