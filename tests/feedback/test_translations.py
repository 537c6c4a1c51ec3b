"""Every customer-facing string is translated, and the committed .mo matches the .po."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"
CUSTOMER_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "feedback"


def _string(lines: list[str], key: str) -> str | None:
    parts, collecting = [], False
    for line in lines:
        if line.startswith(key + " "):
            collecting = True
            parts.append(line[len(key) + 1 :])
        elif collecting and line.startswith('"'):
            parts.append(line)
        elif collecting:
            break
    return "".join(ast.literal_eval(part) for part in parts) if parts else None


def catalog() -> list[dict]:
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n")[1:]:
        lines = block.strip().splitlines()
        entries.append(
            {
                "msgid": _string(lines, "msgid"),
                "plural": _string(lines, "msgid_plural"),
                "msgstr": _string(lines, "msgstr") or _string(lines, "msgstr[0]"),
                "fuzzy": any(line.startswith("#,") and "fuzzy" in line for line in lines),
            }
        )
    return entries


def test_every_string_has_a_korean_translation_that_is_not_fuzzy():
    entries = catalog()

    assert len(entries) > 30
    assert [e["msgid"] for e in entries if not e["msgstr"] or e["fuzzy"]] == []


def test_the_compiled_catalogue_matches_the_source():
    with translation.override("ko"):
        for entry in catalog():
            if entry["plural"]:
                got = translation.ngettext(entry["msgid"], entry["plural"], 2)
            else:
                got = translation.gettext(entry["msgid"])
            assert got == entry["msgstr"], f"run compilemessages: {entry['msgid']!r}"


@pytest.mark.parametrize(
    "template",
    sorted(
        p.name
        for p in CUSTOMER_TEMPLATES.glob("*.html")
        # Team pages (English only) live next to the customer's.
        if p.name not in {"home.html", "project_home.html", "members.html"}
        and "import" not in p.name
    ),
)
def test_customer_templates_have_no_untranslated_text(template):
    source = (CUSTOMER_TEMPLATES / template).read_text(encoding="utf-8")
    translated_blocks = r"{% (comment|blocktranslate)\b.*?{% end\1 %}"
    without_tags = re.sub(translated_blocks, " ", source, flags=re.S)
    without_tags = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", " ", without_tags, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", without_tags)

    words = re.findall(r"[A-Za-z]{3,}", text)

    assert words == [], f"text outside {{% translate %}} in {template}"
