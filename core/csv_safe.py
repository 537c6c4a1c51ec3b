"""Customer text in CSV files people open in spreadsheets (exports, import reports, tables).

A cell starting with one of FORMULA_STARTS would run as a formula; it gets a leading apostrophe
so the spreadsheet shows it as text. Plain Python, no Django: the pure export writers use it.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST_CHARACTERS = frozenset(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralise_cell(value):
    """Any cell of a table: text is neutralised, numbers and empty cells pass unchanged."""
    return neutralise(value) if isinstance(value, str) else value
