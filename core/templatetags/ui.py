"""Small presentation filters shared by every app's templates."""

from django import template
from django.utils.formats import number_format
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


@register.filter
def percent(value, digits: int = 1) -> str:
    """A share as a percentage in the locale's number format, the sign right after the number
    as English and Korean both write it: 0.0462 -> "4.6%", with `digits` decimals (`:0` for
    whole percents). No value (None, not a number) -> "—"."""
    try:
        number = float(value) * 100
        places = int(digits)
    except (TypeError, ValueError):
        return "—"
    return f"{number_format(round(number, places), decimal_pos=places)}%"
