"""Small presentation filters shared by every app's templates."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def ident(value) -> str:
    """An identifier (a label like `card_delivery_estimate`, a version) that may wrap only
    after its underscores, dots, slashes and hyphens, never inside a word: the text is escaped
    first, then a <wbr> break opportunity follows each separator."""
    text = escape("" if value is None else str(value))
    for separator in ("_", ".", "/", "-"):
        text = text.replace(separator, separator + "<wbr>")
    return mark_safe(f'<span class="ident">{text}</span>')
