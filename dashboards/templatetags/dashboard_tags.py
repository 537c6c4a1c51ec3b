"""Rendering of the figures tables: a year per day is thousands of cells, which a template
loop renders in hundreds of milliseconds; this does the same escaping in a few."""

import html
import math

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()


def _cell(value) -> str:
    if isinstance(value, int | float):  # numbers need no escaping (the common case)
        return str(value)
    return html.escape(str(value), quote=True)


@register.filter
def figure_rows(table: dict) -> str:
    """The <tbody> rows of a section table (`display`: (row, flagged) pairs); every cell is
    escaped (labels and versions come from outside)."""
    rows = table.get("display") or []
    if not rows:
        span = len(table.get("columns") or []) or 1
        empty = gettext("No data in this period.")
        return mark_safe(f'<tr><td colspan="{span}" class="muted">{html.escape(empty)}</td></tr>')
    out = []
    for row, flagged in rows:
        cells = "".join(f"<td>{_cell(cell)}</td>" for cell in row)
        out.append(f'<tr class="flagged">{cells}</tr>' if flagged else f"<tr>{cells}</tr>")
    return mark_safe("\n".join(out))


@register.filter
def heat(share) -> str:
    """A matrix cell's shade, its share of the largest cell (0 to 1), as one of the classes
    heat-0 … heat-9 of app.css: 0 only for an empty cell, 9 for the largest."""
    try:
        share = float(share)
    except (TypeError, ValueError):
        return "heat-0"
    if share <= 0:
        return "heat-0"
    return f"heat-{min(9, max(1, math.ceil(share * 9)))}"
