from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_noop

register = template.Library()


@register.simple_tag
def sparkline(values, width: int = 96, height: int = 22):
    """A small inline SVG line of the sizes over the last runs (numbers only, no user text)."""
    from django.utils.html import format_html

    points = [float(v) for v in (values or []) if isinstance(v, int | float)]
    if len(points) < 2:
        return ""
    top = max(points) or 1
    step = (width - 2) / (len(points) - 1)
    coordinates = " ".join(
        f"{1 + i * step:.1f},{height - 1 - (v / top) * (height - 2):.1f}"
        for i, v in enumerate(points)
    )
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="size over the last {} runs: {}"><polyline fill="none" points="{}"/></svg>',
        width, height, width, height, len(points), ", ".join(str(int(v)) for v in points),
        coordinates,
    )  # fmt: skip


@register.filter
def markdown(text):
    from triage.markdown import render_markdown

    return render_markdown(text)


@register.filter
def signed_percent(value):
    """A growth as whole percents with its sign, written like `percent`: 0.5 -> "+50%"."""
    try:
        number = round(float(value) * 100)
    except (TypeError, ValueError):
        return ""
    return f"{'+' if number >= 0 else '-'}{number_format(abs(number))}%"


@register.filter
def humanize_key(value) -> str:
    """A manifest key as words: "predictions_with_corrections" -> "Predictions with corrections",
    in the reader's language when the catalogue has it (MANIFEST_KEYS)."""
    return gettext(str(value).replace("_", " ").capitalize())


# The export manifest's count keys as humanize_key shows them, marked for the catalogue.
MANIFEST_KEYS = (
    gettext_noop("Predictions with corrections"),
    gettext_noop("Corrections"),
    gettext_noop("Conflicts"),
    gettext_noop("Dismissed corrections"),
    gettext_noop("Agrees with prediction"),
    gettext_noop("Label filter"),
    gettext_noop("Flagged"),
    gettext_noop("In reference"),
    gettext_noop("Reviewer labels"),
    gettext_noop("Source filter"),
    gettext_noop("Reviewer says model right"),
)


@register.simple_tag
def state_options(states, current):
    """The <option>s of a card's state select with `current` selected, built in Python: the
    board renders one select per card, and as template loops they were a third of its time."""
    from django.utils.html import format_html, format_html_join
    from django.utils.text import capfirst

    return format_html_join(
        "",
        "<option{}>{}</option>",
        (
            (format_html(' value="{}" selected', value) if value == current
             else format_html(' value="{}"', value), capfirst(label))
            for value, label in states
        ),
    )  # fmt: skip


@register.filter
def audit_sentence(event) -> str:
    """An audit event on a category, as a sentence (triage/audit_text.py)."""
    from triage.audit_text import event_sentence
    from triage.models import ErrorCategory

    states = {state: name.lower() for state, name in ErrorCategory.State.choices}  # mid-sentence
    return event_sentence(event.action, event.data or {}, states)
